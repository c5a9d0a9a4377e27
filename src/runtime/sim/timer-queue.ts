/**
 * A min-heap of timers ordered by `(time, seq)`: the earliest time first, and among timers
 * due at the same time, the one created first. This total order is what makes the virtual
 * clock deterministic.
 *
 * Cancelled timers are dropped lazily, but their callbacks are released at once, and the
 * heap is rebuilt without them when they outnumber the live ones (long collective
 * timeouts, cancelled on success, would otherwise pile up for the whole timeout).
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
  /** The callback (replaced by a no-op once cancelled, so it can be collected). */
  fn: () => void;
  cancelled: boolean;
}

/** Dead entries tolerated before a rebuild is considered. */
const COMPACT_MIN = 64;

const noop = (): void => {};

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
    entry.fn = noop;
    this.live--;
    const dead = this.heap.length - this.live;
    if (dead > COMPACT_MIN && dead > this.live) this.compact();
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
    if (h.length > 0) this.siftDown(0, last);
    return top;
  }

  /** Put `entry` at the hole `i`, moving the earlier child up until it fits. */
  private siftDown(i: number, entry: TimerEntry): void {
    const h = this.heap;
    const n = h.length;
    for (;;) {
      const l = 2 * i + 1;
      if (l >= n) break;
      const r = l + 1;
      const c = r < n && before(h[r], h[l]) ? r : l;
      if (!before(h[c], entry)) break;
      h[i] = h[c];
      i = c;
    }
    h[i] = entry;
  }

  /** Drop every cancelled entry and restore the heap order (bottom-up, O(n)). */
  private compact(): void {
    const h = this.heap;
    let n = 0;
    for (const e of h) if (!e.cancelled) h[n++] = e;
    h.length = n;
    for (let i = (n >> 1) - 1; i >= 0; i--) this.siftDown(i, h[i]);
  }
}
