/**
 * The process-group conformance suite: the same tests for every backend (tfjs-core's
 * idea). A backend plugs in with a factory giving, for a world size, a
 * {@link ConformanceBackend} that runs a named per-rank scenario (from
 * `conformance-scenarios.ts`) on every rank of a *fresh* group and returns the JSON
 * outcomes in rank order; the checks happen here, centrally.
 *
 * - In-process backends (sim) wrap their groups with {@link inProcessBackend}.
 * - Multi-process backends (threads, MPI) start one rank host per rank (or reuse a pool);
 *   each host imports `conformance-scenarios.ts`, calls `runScenarioOnRank(name, pg, params)`
 *   with its own group and posts the outcome back. The factory is called once per test.
 *
 * @example
 * describeProcessGroupConformance('sim', async (worldSize) => {
 *   const scheduler = new SimScheduler();
 *   return inProcessBackend(createSimProcessGroups({ worldSize, scheduler }));
 * });
 */
import { describe, expect, it } from 'vitest';
import type { ProcessGroup } from '../../../src/protocol/index.ts';
import {
  expected,
  floatBitsDigest,
  LARGE_REDUCE_LENGTH,
  REDUCE_LENGTH,
  runScenarioOnRank,
  type Json,
  type RankOutcome,
  type ScenarioName,
  type ScenarioParams,
} from './conformance-scenarios.ts';

/** What a backend provides to the suite for one world size. */
export interface ConformanceBackend {
  /** Run scenario `name` on every rank concurrently; outcomes in rank order. */
  run(name: ScenarioName, params: ScenarioParams): Promise<RankOutcome[]>;
  /** Release workers / processes. */
  close?(): Promise<void>;
}

export interface ConformanceOptions {
  /** World sizes to cover (default 1, 2, 3, 4, 8). */
  worldSizes?: readonly number[];
  /** Timeout for the never-arriving-rank test (ms; default 100). */
  timeoutMs?: number;
}

/**
 * A {@link ConformanceBackend} over groups living in this process.
 *
 * @example
 * const backend = inProcessBackend(createSimProcessGroups({ worldSize: 2, scheduler }));
 */
export function inProcessBackend(
  groups: readonly ProcessGroup[],
  close?: () => Promise<void>,
): ConformanceBackend {
  return {
    run: (name, params) => Promise.all(groups.map((pg) => runScenarioOnRank(name, pg, params))),
    close,
  };
}

function values(outcomes: RankOutcome[]): Json[] {
  return outcomes.map((o, rank) => {
    if (!o.ok) throw new Error(`rank ${rank} failed: ${o.error.name}: ${o.error.message}`);
    return o.value;
  });
}

/**
 * Register the suite for one backend.
 *
 * @example
 * describeProcessGroupConformance('threads', (worldSize) => startWorkerBackend(worldSize), { worldSizes: [1, 2, 4] });
 */
export function describeProcessGroupConformance(
  name: string,
  makeBackend: (worldSize: number) => Promise<ConformanceBackend>,
  options: ConformanceOptions = {},
): void {
  const worldSizes = options.worldSizes ?? [1, 2, 3, 4, 8];
  const params: ScenarioParams = { timeoutMs: options.timeoutMs ?? 100 };

  async function run(worldSize: number, scenario: ScenarioName): Promise<RankOutcome[]> {
    const backend = await makeBackend(worldSize);
    try {
      const outcomes = await backend.run(scenario, params);
      expect(outcomes).toHaveLength(worldSize);
      return outcomes;
    } finally {
      await backend.close?.();
    }
  }

  describe(`ProcessGroup conformance: ${name}`, () => {
    for (const n of worldSizes) {
      describe(`world size ${n}`, () => {
        it('allToAllSplits exchanges one int per peer', async () => {
          const got = values(await run(n, 'splitsExchange'));
          expect(got).toEqual(got.map((_, r) => expected.splitsExchange(r, n)));
        });

        for (const dtype of ['int32', 'float32'] as const) {
          it(`allToAllV ${dtype} with uneven and zero counts, inputs untouched`, async () => {
            const got = values(
              await run(n, dtype === 'int32' ? 'allToAllVInt32' : 'allToAllVFloat32'),
            );
            expect(got).toEqual(
              got.map((_, r) => ({
                type: dtype,
                values: expected.allToAllV(r, n, dtype),
                inputUnchanged: true,
              })),
            );
          });
        }

        it('allToAllV where every count is zero returns empty arrays of the right type', async () => {
          expect(values(await run(n, 'allToAllVAllZero'))).toEqual(
            Array.from({ length: n }, () => [0, 0, true, true]),
          );
        });

        for (const op of ['sum', 'avg'] as const) {
          it(`allReduce ${op}: bitwise rank-order result on every rank, input not modified or aliased`, async () => {
            const got = values(await run(n, op === 'sum' ? 'allReduceSum' : 'allReduceAvg'));
            const want = {
              values: expected.allReduce(n, op),
              inputUnchanged: true,
              aliasesInput: false,
            };
            expect(got).toEqual(got.map(() => want));
          });
        }

        it('allReduce inPlace: the same bitwise result, written into the input, which is returned', async () => {
          const want = [
            { length: REDUCE_LENGTH, bits: floatBitsDigest(expected.allReduce(n, 'sum')) },
            {
              length: LARGE_REDUCE_LENGTH,
              bits: floatBitsDigest(expected.allReduce(n, 'avg', LARGE_REDUCE_LENGTH)),
            },
          ].map((w) => ({ ...w, aliasesInput: true }));
          const got = values(await run(n, 'allReduceInPlace'));
          expect(got).toEqual(got.map(() => want));
        });

        it('barrier completes on every rank', async () => {
          expect(values(await run(n, 'barrier'))).toEqual(
            Array.from({ length: n }, () => 'passed'),
          );
        });

        it('collectives issued before awaiting pair up in call order', async () => {
          const got = values(await run(n, 'concurrentIssue'));
          expect(got).toEqual(
            got.map((_, r) => ({
              sum: expected.allReduce(n, 'sum'),
              splits: expected.splitsExchange(r, n),
            })),
          );
        });

        it('a sequence of mixed calls', async () => {
          const got = values(await run(n, 'mixedSequence'));
          expect(got).toEqual(
            got.map((_, r) => [
              Array.from({ length: n }, (_, j) => (j + 2 * r + 1) % 3),
              expected.allToAllV(r, n, 'int32'),
              expected.allReduce(n, 'sum'),
              expected.allReduce(n, 'avg'),
              expected.allToAllV(r, n, 'float32'),
            ]),
          );
        });

        if (n > 1) {
          it('a rank that never arrives: the others time out naming it', async () => {
            const outcomes = await run(n, 'lastRankNeverArrives');
            const absent = n - 1;
            expect(outcomes[absent]).toEqual({ ok: true, value: 'absent' });
            for (const o of outcomes.slice(0, absent)) {
              expect(o.ok).toBe(false);
              if (o.ok) continue;
              expect(o.error.name).toBe('CollectiveTimeoutError');
              expect(o.error.missingRanks).toEqual([absent]);
              expect(o.error.message).toContain(`rank(s) ${absent} never arrived`);
            }
          });
        }
      });
    }
  });
}
