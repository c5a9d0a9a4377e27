/**
 * `RowCache`: the fast tier of a cached embedding table — a bounded set of slots holding
 * rows of a {@link SlowTier}, with their fused-optimizer state.
 *
 * - `acquire(owner, rows)` makes every row resident (loading misses, evicting by the
 *   policy, writing dirty victims back) and pins them for `owner` (one in-flight batch);
 *   `release(owner)` unpins. A pinned row is never evicted, nor is a row the caller marks
 *   protected (one holding a not yet applied gradient).
 * - When every slot holds a pinned or protected row, the cache grows past its capacity
 *   rather than fail (counted in `stats.overflowSlots`); it shrinks back to capacity as those
 *   rows are released and evicted.
 * - The optimizer the cache is given is indexed by slot: its per-row state moves with the
 *   row between tiers, so updates applied to cached rows are the updates of the full table.
 * - `markDirty(slot)` after an update; dirty rows are written back on eviction and `flush()`.
 *
 * @example
 * const cache = new RowCache({ tier, capacity: 100, policy: 'lru', optimizer, isProtected: (row) => false });
 * cache.acquire(batchCtx, Int32Array.from([3, 7, 3]));   // 2 misses
 * const slot = cache.slotOf(7);                            // cache.weights[slot * width ..]
 * cache.release(batchCtx);
 */
import type { FusedSparseOptimizer } from '../embedding/fused-optimizers.ts';
import type { CachePolicy } from './cache-config.ts';
import { EvictionOrder } from './eviction-order.ts';
import type { SlowTier } from './slow-tier.ts';

/** Counters since the cache was created. */
export interface CacheStats {
  /** Rows found resident (counted once per row per acquire). */
  hits: number;
  /** Rows loaded from the slow tier. */
  misses: number;
  /** Rows evicted to make room. */
  evictions: number;
  /** Dirty rows written to the slow tier (on eviction or flush). */
  writeBacks: number;
  /** Bytes read from the slow tier. */
  bytesLoaded: number;
  /** Peak rows resident beyond capacity (rows in-flight batches pinned at once). */
  overflowSlots: number;
}

export interface RowCacheOptions {
  tier: SlowTier;
  capacity: number;
  policy: CachePolicy;
  /** Fused optimizer whose rows are this cache's slots (grown with the cache). */
  optimizer: FusedSparseOptimizer;
  /** Rows (block-local) that must stay resident although no batch pins them. */
  isProtected: (row: number) => boolean;
  /** For error messages. */
  name?: string;
}

export class RowCache {
  readonly capacity: number;
  readonly tier: SlowTier;
  private readonly optimizer: FusedSparseOptimizer;
  private readonly isProtected: (row: number) => boolean;
  private readonly order: EvictionOrder;
  private readonly name: string;
  private slots = 0;
  private w: Float32Array;
  private rowOfSlot: Int32Array;
  private pins: Int32Array;
  private dirty: Uint8Array;
  private readonly slotByRow = new Map<number, number>();
  private readonly free: number[] = [];
  private readonly owners = new Map<object, number[]>();
  private readonly scratchState: Float32Array;
  readonly stats: CacheStats = {
    hits: 0,
    misses: 0,
    evictions: 0,
    writeBacks: 0,
    bytesLoaded: 0,
    overflowSlots: 0,
  };

  constructor(opts: RowCacheOptions) {
    this.capacity = opts.capacity;
    this.tier = opts.tier;
    this.optimizer = opts.optimizer;
    this.isProtected = opts.isProtected;
    this.order = new EvictionOrder(opts.policy);
    this.name = opts.name ?? 'row cache';
    this.w = new Float32Array(0);
    this.rowOfSlot = new Int32Array(0);
    this.pins = new Int32Array(0);
    this.dirty = new Uint8Array(0);
    this.scratchState = new Float32Array(Math.max(1, this.tier.stateWidth));
    this.grow(Math.min(opts.capacity, 1024));
  }

  /** Weights of every slot, row-major `[slotCount, width]` (re-read after `acquire`: it may grow). */
  get weights(): Float32Array {
    return this.w;
  }

  /** Slots allocated (≥ resident rows). */
  get slotCount(): number {
    return this.slots;
  }

  /** Rows resident now. */
  get residentRows(): number {
    return this.slotByRow.size;
  }

  /** The slot of a resident row (block-local), or -1. */
  lookup(row: number): number {
    return this.slotByRow.get(row) ?? -1;
  }

  /** The slot of a resident row; throws if the row is not resident (a missing acquire). */
  slotOf(row: number): number {
    const s = this.slotByRow.get(row);
    if (s === undefined)
      throw new Error(`${this.name}: row ${row} is not resident (no batch acquired it)`);
    return s;
  }

  /** How many of `rows` are not resident now (duplicates counted once). */
  countMissing(rows: Iterable<number>): number {
    const seen = new Set<number>();
    let n = 0;
    for (const r of rows) {
      if (seen.has(r)) continue;
      seen.add(r);
      if (!this.slotByRow.has(r)) n++;
    }
    return n;
  }

  /**
   * Make `rows` (block-local) resident and pin them for `owner`; returns this call's hits and
   * misses. `count: false` leaves hits out of the statistics (a re-check of rows already counted).
   */
  acquire(
    owner: object,
    rows: Iterable<number>,
    { count = true }: { count?: boolean } = {},
  ): { hits: number; misses: number } {
    let pinned = this.owners.get(owner);
    if (!pinned) {
      pinned = [];
      this.owners.set(owner, pinned);
    }
    const seen = new Set<number>();
    let hits = 0;
    let misses = 0;
    this.order.beginSearch();
    try {
      this.acquireEach(rows, seen, pinned, (hit) => (hit ? hits++ : misses++));
    } finally {
      this.order.endSearch();
    }
    if (count) this.stats.hits += hits;
    this.stats.misses += misses;
    return { hits, misses };
  }

  private acquireEach(
    rows: Iterable<number>,
    seen: Set<number>,
    pinned: number[],
    counted: (hit: boolean) => void,
  ): void {
    for (const row of rows) {
      if (seen.has(row)) continue;
      seen.add(row);
      if (row < 0 || row >= this.tier.rows)
        throw new RangeError(`${this.name}: row ${row} outside [0, ${this.tier.rows})`);
      let slot = this.slotByRow.get(row);
      if (slot === undefined) {
        slot = this.load(row);
        counted(false);
      } else {
        counted(true);
        this.order.use(slot);
      }
      this.pins[slot]++;
      pinned.push(slot);
    }
  }

  /** Unpin every row `owner` acquired; then shrink toward capacity if the cache overflowed. */
  release(owner: object): void {
    const pinned = this.owners.get(owner);
    if (pinned) {
      this.owners.delete(owner);
      for (const s of pinned) this.pins[s]--;
    }
    this.trim();
  }

  /** Rows pinned by some owner now. */
  get pinnedRows(): number {
    let n = 0;
    for (let s = 0; s < this.slots; s++) if (this.pins[s] > 0) n++;
    return n;
  }

  /** Whether `row` is resident and pinned by an in-flight owner. */
  isPinned(row: number): boolean {
    const s = this.slotByRow.get(row);
    return s !== undefined && this.pins[s] > 0;
  }

  /** The slot's row was updated in the fast tier (write it back before dropping it). */
  markDirty(slot: number): void {
    this.dirty[slot] = 1;
  }

  /** Write every dirty row back to the slow tier (rows stay resident); returns rows written. */
  flush(): number {
    let n = 0;
    for (let s = 0; s < this.slots; s++) {
      if (this.dirty[s] && this.rowOfSlot[s] >= 0) {
        this.writeBack(s);
        n++;
      }
    }
    return n;
  }

  /** Forget every resident row without writing back (after the slow tier was overwritten). */
  invalidate(): void {
    if (this.owners.size > 0)
      throw new Error(`${this.name}: cannot drop the cache while batches hold rows in it`);
    this.slotByRow.clear();
    this.free.length = 0;
    for (let s = this.slots - 1; s >= 0; s--) {
      if (this.rowOfSlot[s] >= 0) this.order.remove(s);
      this.rowOfSlot[s] = -1;
      this.dirty[s] = 0;
      this.free.push(s);
    }
  }

  private load(row: number): number {
    let slot = this.free.pop();
    if (slot === undefined && this.slots < this.capacity) {
      this.grow(Math.min(this.capacity, Math.max(this.slots * 2, 16)));
      slot = this.free.pop();
    }
    if (slot === undefined) {
      const v = this.order.victim((s) => this.evictable(s));
      if (v >= 0) {
        this.evict(v);
        slot = v;
      } else {
        this.grow(this.slots + Math.max(16, this.slots >> 2));
        slot = this.free.pop()!;
      }
    }
    const W = this.tier.width;
    this.tier.readRow(row, this.w, slot * W, this.scratchState, 0);
    if (this.tier.stateWidth > 0) this.optimizer.writeRowState(slot, this.scratchState, 0);
    this.rowOfSlot[slot] = row;
    this.slotByRow.set(row, slot);
    this.dirty[slot] = 0;
    this.order.load(slot);
    this.stats.bytesLoaded += this.tier.rowBytes;
    const over = this.slotByRow.size - this.capacity;
    if (over > this.stats.overflowSlots) this.stats.overflowSlots = over;
    return slot;
  }

  private evictable(slot: number): boolean {
    return this.pins[slot] === 0 && !this.isProtected(this.rowOfSlot[slot]);
  }

  private evict(slot: number): void {
    if (this.dirty[slot]) this.writeBack(slot);
    this.slotByRow.delete(this.rowOfSlot[slot]);
    this.rowOfSlot[slot] = -1;
    this.order.remove(slot);
    this.stats.evictions++;
  }

  private writeBack(slot: number): void {
    const W = this.tier.width;
    if (this.tier.stateWidth > 0) this.optimizer.readRowState(slot, this.scratchState, 0);
    this.tier.writeRow(this.rowOfSlot[slot], this.w, slot * W, this.scratchState, 0);
    this.dirty[slot] = 0;
    this.stats.writeBacks++;
  }

  /** Evict unpinned, unprotected rows while more rows are resident than the capacity. */
  private trim(): void {
    if (this.slotByRow.size <= this.capacity) return;
    this.order.beginSearch();
    try {
      while (this.slotByRow.size > this.capacity) {
        const v = this.order.victim((s) => this.evictable(s));
        if (v < 0) return;
        this.evict(v);
        this.free.push(v);
      }
    } finally {
      this.order.endSearch();
    }
  }

  private grow(n: number): void {
    if (n <= this.slots) return;
    const W = this.tier.width;
    const w = new Float32Array(n * W);
    w.set(this.w);
    this.w = w;
    const rowOfSlot = new Int32Array(n).fill(-1);
    rowOfSlot.set(this.rowOfSlot);
    this.rowOfSlot = rowOfSlot;
    const pins = new Int32Array(n);
    pins.set(this.pins);
    this.pins = pins;
    const dirty = new Uint8Array(n);
    dirty.set(this.dirty);
    this.dirty = dirty;
    this.optimizer.growRows(n);
    for (let s = n - 1; s >= this.slots; s--) this.free.push(s);
    this.slots = n;
  }
}
