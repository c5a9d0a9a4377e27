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
    h.push(entry);
    this.live++;
    let i = h.length - 1;
    while (i > 0) {
      const parent = (i - 1) >> 1;
      if (!before(h[i], h[parent])) break;
      [h[i], h[parent]] = [h[parent], h[i]];
      i = parent;
    }
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
    if (h.length > 0) {
      h[0] = last;
      let i = 0;
      for (;;) {
        const l = 2 * i + 1;
        const r = l + 1;
        let m = i;
        if (l < h.length && before(h[l], h[m])) m = l;
        if (r < h.length && before(h[r], h[m])) m = r;
        if (m === i) break;
        [h[i], h[m]] = [h[m], h[i]];
        i = m;
      }
    }
    return top;
  }
}
