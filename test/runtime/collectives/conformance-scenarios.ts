/**
 * Per-rank scenarios of the process-group conformance suite.
 *
 * A scenario is `(pg, params) => Promise<Json>`, run on every rank of a fresh group; its
 * results travel as JSON, so a multi-process backend (worker threads, MPI) runs the very
 * same functions in each rank's own thread/process: the rank host imports this module,
 * looks the scenario up by name, calls {@link runScenarioOnRank} with its own
 * `ProcessGroup`, and posts the outcome back. `conformance.ts` checks the outcomes
 * centrally against the expectations below (pure functions of rank and world size).
 *
 * @example
 * // inside a worker that owns rank r:
 * const outcome = await runScenarioOnRank('allReduceSum', pg, { timeoutMs: 200 });
 * parentPort.postMessage(outcome);
 */
import type { ProcessGroup } from '../../../src/protocol/index.ts';

export type Json = null | boolean | number | string | Json[] | { [key: string]: Json };

/** Parameters every scenario receives. */
export interface ScenarioParams {
  /** Timeout for calls that are expected to time out (ms: virtual on sim, wall otherwise). */
  timeoutMs: number;
}

/** What one rank's run of a scenario gave: a JSON value, or the error it threw. */
export type RankOutcome =
  | { ok: true; value: Json }
  | { ok: false; error: { name: string; message: string; missingRanks?: number[] } };

// ---- deterministic inputs, shared by the scenarios and the expectations ----

/** Splits rank i sends to rank j. */
export const splitOf = (i: number, j: number): number => 10 * i + j;

/** allToAllV element counts rank i sends to rank j (uneven, with zeros). */
export const countInt = (i: number, j: number): number => (i + 2 * j + 1) % 3;
export const countFloat = (i: number, j: number): number => (i * 7 + j * 3) % 5;
/** The k-th element rank i sends to rank j. */
export const valueInt = (i: number, j: number, k: number): number => i * 10_000 + j * 100 + k - 50;
export const valueFloat = (i: number, j: number, k: number): number =>
  Math.fround(i + j / 16 + k / 256 - 1.5);
/** allReduce input of rank r at index k (values whose float32 sum depends on the order). */
export const reduceInput = (r: number, k: number): number =>
  Math.fround(0.1 * (r + 1) * (k + 1) + (r % 2 === 0 ? 1e6 : -1e6) * (k % 2));
export const REDUCE_LENGTH = 7;
/** Length of the large in-place allReduce (past any small-payload shortcut of a backend). */
export const LARGE_REDUCE_LENGTH = 3000;

/**
 * FNV-1a over the float32 bits of `values`, hex: a large result reported in a short line
 * (MPI ranks report through mpirun's output, where long lines of two ranks can interleave).
 */
export function floatBitsDigest(values: ArrayLike<number>): string {
  const bits = new Uint32Array(Float32Array.from(values).buffer);
  let h = 0x811c9dc5;
  for (const word of bits) {
    for (let shift = 0; shift < 32; shift += 8) {
      h ^= (word >>> shift) & 0xff;
      h = Math.imul(h, 0x01000193) >>> 0;
    }
  }
  return h.toString(16).padStart(8, '0');
}

function vInputs(
  rank: number,
  worldSize: number,
  count: (i: number, j: number) => number,
  value: (i: number, j: number, k: number) => number,
) {
  const sendCounts = Int32Array.from({ length: worldSize }, (_, j) => count(rank, j));
  const recvCounts = Int32Array.from({ length: worldSize }, (_, j) => count(j, rank));
  const data: number[] = [];
  for (let j = 0; j < worldSize; j++)
    for (let k = 0; k < count(rank, j); k++) data.push(value(rank, j, k));
  return { sendCounts, recvCounts, data };
}

function reduceData(rank: number, length = REDUCE_LENGTH): Float32Array {
  return Float32Array.from({ length }, (_, k) => reduceInput(rank, k));
}

async function allToAllVOf(pg: ProcessGroup, dtype: 'int32' | 'float32'): Promise<Json> {
  const [count, value] = dtype === 'int32' ? [countInt, valueInt] : [countFloat, valueFloat];
  const { sendCounts, recvCounts, data } = vInputs(pg.rank, pg.worldSize, count, value);
  const input = dtype === 'int32' ? Int32Array.from(data) : Float32Array.from(data);
  const before = Array.from(input);
  const out = await pg.allToAllV(input, sendCounts, recvCounts);
  return {
    type: out instanceof Float32Array ? 'float32' : out instanceof Int32Array ? 'int32' : 'other',
    values: Array.from(out),
    inputUnchanged: JSON.stringify(Array.from(input)) === JSON.stringify(before),
  };
}

async function allReduceOf(pg: ProcessGroup, op: 'sum' | 'avg'): Promise<Json> {
  const input = reduceData(pg.rank);
  const out = await pg.allReduce(input, op);
  return {
    values: Array.from(out),
    inputUnchanged: Array.from(input).every((v, k) => v === reduceInput(pg.rank, k)),
    aliasesInput: out === input,
  };
}

/** Every scenario by name (the names are the contract with remote rank hosts). */
export const conformanceScenarios = {
  async splitsExchange(pg: ProcessGroup): Promise<Json> {
    const send = Int32Array.from({ length: pg.worldSize }, (_, j) => splitOf(pg.rank, j));
    const recv = await pg.allToAllSplits(send);
    return Array.from(recv);
  },
  allToAllVInt32: (pg: ProcessGroup) => allToAllVOf(pg, 'int32'),
  allToAllVFloat32: (pg: ProcessGroup) => allToAllVOf(pg, 'float32'),
  async allToAllVAllZero(pg: ProcessGroup): Promise<Json> {
    const zeros = new Int32Array(pg.worldSize);
    const a = await pg.allToAllV(new Float32Array(0), zeros, zeros);
    const b = await pg.allToAllV(new Int32Array(0), zeros, zeros);
    return [a.length, b.length, a instanceof Float32Array, b instanceof Int32Array];
  },
  allReduceSum: (pg: ProcessGroup) => allReduceOf(pg, 'sum'),
  allReduceAvg: (pg: ProcessGroup) => allReduceOf(pg, 'avg'),
  async allReduceInPlace(pg: ProcessGroup): Promise<Json> {
    const out: Json[] = [];
    for (const [op, length] of [
      ['sum', REDUCE_LENGTH],
      ['avg', LARGE_REDUCE_LENGTH],
    ] as const) {
      const input = reduceData(pg.rank, length);
      const result = await pg.allReduce(input, op, { inPlace: true });
      out.push({
        length: result.length,
        bits: floatBitsDigest(result),
        aliasesInput: result === input,
      });
    }
    return out;
  },
  async barrier(pg: ProcessGroup): Promise<Json> {
    for (let i = 0; i < 3; i++) await pg.barrier();
    return 'passed';
  },
  async concurrentIssue(pg: ProcessGroup): Promise<Json> {
    // several collectives issued before awaiting any: they still pair up by call order
    const a = pg.allReduce(reduceData(pg.rank), 'sum');
    const b = pg.barrier();
    const c = pg.allToAllSplits(
      Int32Array.from({ length: pg.worldSize }, (_, j) => splitOf(pg.rank, j)),
    );
    const [ra, , rc] = await Promise.all([a, b, c]);
    return { sum: Array.from(ra), splits: Array.from(rc) };
  },
  async mixedSequence(pg: ProcessGroup): Promise<Json> {
    const out: Json[] = [];
    const splits = await pg.allToAllSplits(
      Int32Array.from({ length: pg.worldSize }, (_, j) => countInt(pg.rank, j)),
    );
    out.push(Array.from(splits));
    const v = vInputs(pg.rank, pg.worldSize, countInt, valueInt);
    out.push(Array.from(await pg.allToAllV(Int32Array.from(v.data), v.sendCounts, splits)));
    out.push(Array.from(await pg.allReduce(reduceData(pg.rank), 'sum')));
    await pg.barrier();
    out.push(Array.from(await pg.allReduce(reduceData(pg.rank), 'avg')));
    const f = vInputs(pg.rank, pg.worldSize, countFloat, valueFloat);
    out.push(Array.from(await pg.allToAllV(Float32Array.from(f.data), f.sendCounts, f.recvCounts)));
    return out;
  },
  async lastRankNeverArrives(pg: ProcessGroup, params: ScenarioParams): Promise<Json> {
    if (pg.rank === pg.worldSize - 1) return 'absent';
    await pg.allReduce(reduceData(pg.rank), 'sum', { timeoutMs: params.timeoutMs, label: 'grads' });
    return 'completed without the last rank';
  },
} satisfies Record<string, (pg: ProcessGroup, params: ScenarioParams) => Promise<Json>>;

export type ScenarioName = keyof typeof conformanceScenarios;

/**
 * Run scenario `name` on one rank, catching its error into a JSON-safe outcome.
 *
 * @example
 * const outcome = await runScenarioOnRank('barrier', pg, { timeoutMs: 100 });
 */
export async function runScenarioOnRank(
  name: ScenarioName,
  pg: ProcessGroup,
  params: ScenarioParams,
): Promise<RankOutcome> {
  const scenario = conformanceScenarios[name];
  if (!scenario) throw new Error(`unknown conformance scenario "${String(name)}"`);
  try {
    return { ok: true, value: await scenario(pg, params) };
  } catch (e) {
    const err = e as { name?: unknown; message?: unknown; missingRanks?: unknown };
    const error: { name: string; message: string; missingRanks?: number[] } = {
      name: typeof err?.name === 'string' ? err.name : 'Error',
      message: typeof err?.message === 'string' ? err.message : String(e),
    };
    if (Array.isArray(err?.missingRanks)) error.missingRanks = [...(err.missingRanks as number[])];
    return { ok: false, error };
  }
}

// ---- expectations (computed centrally) ----

/** What rank `rank` must get from each scenario that succeeds. */
export const expected = {
  splitsExchange: (rank: number, n: number): Json =>
    Array.from({ length: n }, (_, j) => splitOf(j, rank)),
  allToAllV(rank: number, n: number, dtype: 'int32' | 'float32'): number[] {
    const [count, value] = dtype === 'int32' ? [countInt, valueInt] : [countFloat, valueFloat];
    const out: number[] = [];
    for (let j = 0; j < n; j++)
      for (let k = 0; k < count(j, rank); k++) out.push(value(j, rank, k));
    return out;
  },
  allReduce(n: number, op: 'sum' | 'avg', length = REDUCE_LENGTH): number[] {
    const out: number[] = [];
    for (let k = 0; k < length; k++) {
      let acc = reduceInput(0, k);
      for (let r = 1; r < n; r++) acc = Math.fround(acc + reduceInput(r, k));
      out.push(op === 'avg' ? Math.fround(acc / n) : acc);
    }
    return out;
  },
};
