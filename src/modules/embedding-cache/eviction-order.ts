/**
 * `EvictionOrder`: which occupied cache slot to evict next, for LRU (oldest use first) and
 * LFU (fewest uses since the row was loaded, oldest use breaking ties).
 *
 * One binary min-heap serves both policies: every use pushes `(uses, tick)` for the slot
 * (`uses` is 0 under LRU) and older entries of the slot go stale; a victim search pops
 * entries, drops stale ones, and sets aside slots the caller says may not be evicted (rows
 * of in-flight batches), which are pushed back afterwards. The heap is rebuilt from the
 * live entries when stale ones outnumber them.
 *
 * @example
 * const order = new EvictionOrder('lru');
 * order.use(0); order.use(1); order.use(0);
 * order.victim(() => true); // 1
 * order.victim((slot) => slot !== 1); // 0
 */
import type { CachePolicy } from './cache-config.ts';

export class EvictionOrder {
  private tick = 0;
  /** Per slot: uses since loaded and tick of the last use (-1: slot not in the order). */
  private uses: number[] = [];
  private lastTick: number[] = [];
  /** Heap entries, parallel arrays. */
  private hKey: number[] = [];
  private hTick: number[] = [];
  private hSlot: number[] = [];
  private live = 0;
  private searching = false;
  private aside: Array<[number, number, number]> = [];

  constructor(readonly policy: CachePolicy) {}

  /** A row was loaded into `slot` (a fresh count under LFU). */
  load(slot: number): void {
    if (this.lastTick[slot] !== undefined && this.lastTick[slot] >= 0) this.live--;
    this.uses[slot] = 0;
    this.lastTick[slot] = -1;
    this.use(slot);
  }

  /** `slot`'s row was used. */
  use(slot: number): void {
    if (this.lastTick[slot] === undefined || this.lastTick[slot] < 0) this.live++;
    this.uses[slot] = (this.uses[slot] ?? 0) + 1;
    const t = this.tick++;
    this.lastTick[slot] = t;
    this.push(this.policy === 'lfu' ? this.uses[slot] : 0, t, slot);
    if (this.hKey.length > 4 * this.live + 64) this.rebuild();
  }

  /** `slot` no longer holds a row. */
  remove(slot: number): void {
    if (this.lastTick[slot] !== undefined && this.lastTick[slot] >= 0) this.live--;
    this.lastTick[slot] = -1;
  }

  /**
   * Start a run of victim searches (one `acquire` or `trim`): slots found not evictable are
   * set aside until {@link endSearch} instead of being pushed back after every search, so a
   * run costs O(set-aside · log n) however many victims it takes.
   */
  beginSearch(): void {
    this.searching = true;
  }

  /** End the run: the slots set aside go back into the order (unless used or removed meanwhile). */
  endSearch(): void {
    this.searching = false;
    const aside = this.aside;
    this.aside = [];
    for (const [k, t, s] of aside) if (this.lastTick[s] === t) this.push(k, t, s);
  }

  /** The slot to evict among those `evictable` allows, or -1 when none may be evicted. */
  victim(evictable: (slot: number) => boolean): number {
    const aside: Array<[number, number, number]> = this.searching ? this.aside : [];
    let found = -1;
    while (this.hKey.length > 0) {
      const key = this.hKey[0];
      const t = this.hTick[0];
      const slot = this.hSlot[0];
      this.pop();
      if (this.lastTick[slot] !== t) continue; // stale
      if (evictable(slot)) {
        found = slot;
        this.push(key, t, slot); // stays until the caller loads another row into the slot
        break;
      }
      aside.push([key, t, slot]);
    }
    if (!this.searching) for (const [k, t, s] of aside) this.push(k, t, s);
    return found;
  }

  private less(i: number, j: number): boolean {
    return (
      this.hKey[i] < this.hKey[j] ||
      (this.hKey[i] === this.hKey[j] && this.hTick[i] < this.hTick[j])
    );
  }

  private swap(i: number, j: number): void {
    [this.hKey[i], this.hKey[j]] = [this.hKey[j], this.hKey[i]];
    [this.hTick[i], this.hTick[j]] = [this.hTick[j], this.hTick[i]];
    [this.hSlot[i], this.hSlot[j]] = [this.hSlot[j], this.hSlot[i]];
  }

  private push(key: number, t: number, slot: number): void {
    this.hKey.push(key);
    this.hTick.push(t);
    this.hSlot.push(slot);
    let i = this.hKey.length - 1;
    while (i > 0) {
      const p = (i - 1) >> 1;
      if (!this.less(i, p)) break;
      this.swap(i, p);
      i = p;
    }
  }

  private pop(): void {
    const last = this.hKey.length - 1;
    this.swap(0, last);
    this.hKey.pop();
    this.hTick.pop();
    this.hSlot.pop();
    const n = this.hKey.length;
    let i = 0;
    for (;;) {
      const l = 2 * i + 1;
      const r = l + 1;
      let m = i;
      if (l < n && this.less(l, m)) m = l;
      if (r < n && this.less(r, m)) m = r;
      if (m === i) break;
      this.swap(i, m);
      i = m;
    }
  }

  private rebuild(): void {
    const slots: number[] = [];
    for (let s = 0; s < this.lastTick.length; s++) if (this.lastTick[s] >= 0) slots.push(s);
    this.hKey = [];
    this.hTick = [];
    this.hSlot = [];
    for (const s of slots) this.push(this.policy === 'lfu' ? this.uses[s] : 0, this.lastTick[s], s);
  }
}
