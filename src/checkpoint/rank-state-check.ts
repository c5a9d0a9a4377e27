/**
 * A structural check of a decoded rank state: the fields {@link RankCheckpointState} needs,
 * with the right kinds of values. Deeper checks (sizes against the model) happen when the
 * state is restored.
 *
 * @example
 * checkRankState(decoded, 0); // undefined, or e.g. '.dense.optimizer.kind: missing'
 */
import type { RankCheckpointState } from './rank-state.ts';

type Check = (value: unknown, path: string) => string | undefined;

const isObject = (v: unknown): v is Record<string, unknown> =>
  typeof v === 'object' && v !== null && !Array.isArray(v) && !ArrayBuffer.isView(v);

const integer: Check = (v, p) =>
  Number.isInteger(v) && (v as number) >= 0
    ? undefined
    : `${p}: expected an integer ≥ 0, got ${JSON.stringify(v)}`;
const number: Check = (v, p) =>
  typeof v === 'number' && Number.isFinite(v)
    ? undefined
    : `${p}: expected a number, got ${JSON.stringify(v)}`;
const string: Check = (v, p) =>
  typeof v === 'string' ? undefined : `${p}: expected a string, got ${JSON.stringify(v)}`;
const f32: Check = (v, p) =>
  v instanceof Float32Array ? undefined : `${p}: expected a float32 array reference`;
const f64: Check = (v, p) =>
  v instanceof Float64Array ? undefined : `${p}: expected a float64 array reference`;
const i32: Check = (v, p) =>
  v instanceof Int32Array ? undefined : `${p}: expected an int32 array reference`;
const anyObject: Check = (v, p) => (isObject(v) ? undefined : `${p}: expected an object`);
const optional =
  (check: Check): Check =>
  (v, p) =>
    v === undefined || v === null ? undefined : check(v, p);

function shape(fields: Record<string, Check>): Check {
  return (v, p) => {
    if (!isObject(v)) return `${p}: expected an object`;
    for (const [k, check] of Object.entries(fields)) {
      const r = check(v[k], `${p}.${k}`);
      if (r) return v[k] === undefined ? `${p}.${k}: missing` : r;
    }
    return undefined;
  };
}

function recordOf(check: Check): Check {
  return (v, p) => {
    if (!isObject(v)) return `${p}: expected an object`;
    for (const [k, x] of Object.entries(v)) {
      const r = check(x, `${p}.${k}`);
      if (r) return r;
    }
    return undefined;
  };
}

function arrayOf(check: Check): Check {
  return (v, p) => {
    if (!Array.isArray(v)) return `${p}: expected an array`;
    for (let i = 0; i < v.length; i++) {
      const r = check(v[i], `${p}[${i}]`);
      if (r) return r;
    }
    return undefined;
  };
}

const block = {
  table: string,
  rowStart: integer,
  rowEnd: integer,
  colStart: integer,
  colEnd: integer,
};

const rankState = shape({
  rank: integer,
  pipeline: shape({
    calls: integer,
    windowSize: integer,
    batchesTrained: integer,
    nextBatch: integer,
  }),
  gradScaler: optional(anyObject),
  dense: shape({
    params: recordOf(f32),
    optimizer: shape({
      kind: string,
      lr: number,
      hyper: recordOf(number),
      stepCount: integer,
      slots: recordOf(recordOf(f32)),
      accumulated: recordOf(f32),
    }),
  }),
  sparse: shape({
    state: shape({
      kind: string,
      rank: integer,
      plan: anyObject,
      shards: arrayOf(
        shape({
          ...block,
          weights: f32,
          optimizer: shape({ kind: string, momentum: optional(f32) }),
        }),
      ),
      featureProcessors: recordOf(f32),
    }),
    grads: arrayOf(shape({ ...block, width: integer, rows: i32, values: f64 })),
  }),
});

/**
 * `undefined` when `value` has the shape of a {@link RankCheckpointState} for `rank`,
 * else the path and problem (`.sparse.grads[2].values: expected a float64 array reference`).
 *
 * @example
 * const problem = checkRankState(state, 1);
 */
export function checkRankState(value: unknown, rank: number): string | undefined {
  const problem = rankState(value, '');
  if (problem) return problem;
  const s = value as RankCheckpointState;
  if (s.rank !== rank) return `.rank: is ${s.rank}, expected ${rank}`;
  return undefined;
}
