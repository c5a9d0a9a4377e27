/**
 * Deterministic, shard-independent initialisation of embedding tables.
 *
 * Every element `(row, col)` of table `name` gets a value from a counter-based hash of
 * `(seed, name, row, col)`, so any shard (a row block, a column block or the whole table)
 * can be initialised on its own and still equal the same slice of the unsharded table.
 * This is what makes "sharded == unsharded for the same seed" hold from step 0.
 *
 * Uniform init: `low + (high - low) * u` with `u = (h >>> 8) / 2^24 ∈ [0, 1)`, computed in
 * float64 and stored as float32.
 *
 * @example
 * const full = initTableSlice(cfg, 7, { rowStart: 0, rowEnd: cfg.rows, colStart: 0, colEnd: cfg.dim });
 * const block = initTableSlice(cfg, 7, { rowStart: 10, rowEnd: 20, colStart: 2, colEnd: 4 });
 * block[0] === full[10 * cfg.dim + 2]; // true
 */
import { defaultInit, type EmbeddingBagConfig } from './config.ts';
import { fmix32 } from '../../tensors/counter-prng.ts';

/** A rectangular block of a table: rows `[rowStart, rowEnd)`, columns `[colStart, colEnd)`. */
export interface TableBlock {
  rowStart: number;
  rowEnd: number;
  colStart: number;
  colEnd: number;
}

/**
 * 32-bit FNV-1a hash of a string (used to give each table its own stream).
 *
 * @example
 * hashString('t_user') !== hashString('t_item'); // true
 */
export function hashString(s: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < s.length; i++) {
    h ^= s.charCodeAt(i);
    h = Math.imul(h, 0x01000193);
  }
  return h >>> 0;
}

/**
 * Uniform [0, 1) value for element `(row, col)` of a table stream.
 *
 * @example
 * const u = elementUniform(tableKey(3, 't'), 5, 1); // same on every call and every rank
 */
export function elementUniform(key: number, row: number, col: number): number {
  // rows may exceed 2^32 / dim, so fold row and column separately
  const hi = Math.floor(row / 0x100000000);
  let h = fmix32(key ^ fmix32((row >>> 0) + 0x9e3779b9));
  h = fmix32(h ^ fmix32(hi + 0x7f4a7c15));
  h = fmix32(h ^ Math.imul(col + 1, 0x27d4eb2f));
  return (h >>> 8) / 16777216;
}

/** The stream key of a table for a seed. */
export function tableKey(seed: number, tableName: string): number {
  return fmix32((seed >>> 0) ^ fmix32(hashString(tableName) ^ Math.floor(seed / 0x100000000)));
}

/**
 * Initial values of a block of a table, row-major `[rowEnd-rowStart, colEnd-colStart]`,
 * written into `out` when given (zero-filled, of that length: e.g. table memory from
 * `allocateTableMemory`).
 *
 * @example
 * const w = initTableSlice({ name: 't', rows: 4, dim: 2, pooling: 'sum', features: ['f'] }, 1,
 *   { rowStart: 0, rowEnd: 4, colStart: 0, colEnd: 2 });
 * w.length; // 8
 */
export function initTableSlice(
  table: EmbeddingBagConfig,
  seed: number,
  block: TableBlock,
  out = new Float32Array((block.rowEnd - block.rowStart) * (block.colEnd - block.colStart)),
): Float32Array {
  const nRows = block.rowEnd - block.rowStart;
  const width = block.colEnd - block.colStart;
  if (out.length !== nRows * width)
    throw new Error(
      `initTableSlice: table '${table.name}' block needs ${nRows * width} values, the array has ${out.length}`,
    );
  const init = table.init ?? defaultInit(table.rows);
  if (init.kind === 'constant') {
    out.fill(init.value);
    return out;
  }
  const key = tableKey(seed, table.name);
  const span = init.high - init.low;
  let k = 0;
  for (let r = block.rowStart; r < block.rowEnd; r++) {
    for (let c = block.colStart; c < block.colEnd; c++)
      out[k++] = init.low + span * elementUniform(key, r, c);
  }
  return out;
}
