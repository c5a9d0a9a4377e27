/**
 * The batch spec a pipeline validates against when none is given: derived from the model,
 * so that a library user who never heard of `batchSpec` still gets a typed error naming
 * the batch, field and reason for NaN dense features or an id outside its table, instead
 * of NaN losses or a bare `RangeError` deep in a kernel.
 *
 * - `denseDim`: the model's `denseIn` (DLRM and models shaped like it);
 * - `keys`: the model's `featureNames` when it has them (the order its sparse arch reads),
 *   otherwise every feature of its embedding modules, in module and table order;
 * - `rowsPerKey`: each feature's table size, from the modules that hold embedding tables
 *   (sharded or not: anything with a `tables` list of `{ rows, features }`).
 *
 * A model that does not say its dense width, or whose features have no table, gets no
 * default spec (undefined): give `batchSpec` yourself.
 *
 * @example
 * defaultBatchSpec(model); // { denseDim: 13, keys: ['f0', 'f1', 'f2', 'f3'], rowsPerKey: { f0: 1000, … } }
 */
import type { Module } from '../modules/module.ts';
import type { BatchSpec } from '../tensors/index.ts';

interface TableLike {
  rows: number;
  features: readonly string[];
}

function tablesOf(m: object): readonly TableLike[] {
  if (!('tables' in m) || !Array.isArray(m.tables)) return [];
  return m.tables.filter(
    (t: unknown): t is TableLike =>
      typeof t === 'object' &&
      t !== null &&
      'rows' in t &&
      typeof t.rows === 'number' &&
      'features' in t &&
      Array.isArray(t.features),
  );
}

export function defaultBatchSpec(model: Module): BatchSpec | undefined {
  if (!('denseIn' in model) || typeof model.denseIn !== 'number') return undefined;
  const rowsPerKey: Record<string, number> = {};
  const tableKeys: string[] = [];
  for (const [, m] of model.namedModules()) {
    for (const t of tablesOf(m)) {
      for (const f of t.features) {
        if (f in rowsPerKey) continue;
        rowsPerKey[f] = t.rows;
        tableKeys.push(f);
      }
    }
  }
  const named: unknown[] | null =
    'featureNames' in model && Array.isArray(model.featureNames) ? model.featureNames : null;
  const keys = named?.filter((k): k is string => typeof k === 'string') ?? tableKeys;
  if (named && keys.length !== named.length) return undefined;
  if (keys.length === 0 || keys.some((k) => !(k in rowsPerKey))) return undefined;
  return { denseDim: model.denseIn, keys, rowsPerKey };
}
