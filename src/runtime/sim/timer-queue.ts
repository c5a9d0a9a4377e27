/**
 * A min-heap of timers ordered by `(time, seq)`: the earliest time first, and among timers
 * due at the same time, the one created first. This total order is what makes the virtual
 * clock deterministic.
 *
 * Internal to the sim scheduler (not exported from the runtime barrel).
 *
 * @example
 * const q = new TimerQueue();
 * q.push({ time: 5, seq: 0, fn: () => {}, cancelled: false });
 * q.pop()?.time; // 5
 */
export interface TimerEntry {
  readonly time: number;
  readonly seq: number;
  readonly fn: () => void;
  cancelled: boolean;
}

function before(a: TimerEntry, b: TimerEntry): boolean {
  return a.time < b.time || (a.time === b.time && a.seq < b.seq);
}

export class TimerQueue {
  private readonly heap: TimerEntry[] = [];
  private live = 0;

  /** Number of timers that are neither fired nor cancelled. */
  get size(): number {
    return this.live;
  }

  push(entry: TimerEntry): void {
    const h = this.heap;
    this.live++;
    // Sift up: move parents down into the hole until `entry` fits.
    let i = h.length;
    h.push(entry);
    while (i > 0) {
      const parent = (i - 1) >> 1;
      if (!before(entry, h[parent])) break;
      h[i] = h[parent];
      i = parent;
    }
    h[i] = entry;
  }

  /** Marks `entry` cancelled; it is dropped lazily when it reaches the top. */
  cancel(entry: TimerEntry): void {
    if (entry.cancelled) return;
    entry.cancelled = true;
    this.live--;
  }

  /** The earliest live timer, without removing it. */
  peek(): TimerEntry | undefined {
    this.dropCancelled();
    return this.heap[0];
  }

  /** Removes and returns the earliest live timer. */
  pop(): TimerEntry | undefined {
    this.dropCancelled();
    const top = this.removeTop();
    if (top) this.live--;
    return top;
  }

  private dropCancelled(): void {
    while (this.heap.length > 0 && this.heap[0].cancelled) this.removeTop();
  }

  private removeTop(): TimerEntry | undefined {
    const h = this.heap;
    if (h.length === 0) return undefined;
    const top = h[0];
    const last = h.pop()!;
    const n = h.length;
    if (n > 0) {
      // Sift down: move the earlier child up into the hole until `last` fits.
      let i = 0;
      for (;;) {
        const l = 2 * i + 1;
        if (l >= n) break;
        const r = l + 1;
        const c = r < n && before(h[r], h[l]) ? r : l;
        if (!before(h[c], last)) break;
        h[i] = h[c];
        i = c;
      }
      h[i] = last;
    }
    return top;
  }
}
