/**
 * Interpreter policy: a pipeline's actors run XState's own interpreter unless
 * `interpreter: 'compiled'` opts in (and even then an inspection observer gets XState's).
 * Both give the same training: test/actors/interpreters-agree.test.ts.
 */
import { beforeAll, describe, expect, it } from 'vitest';
import { isMachineSnapshot, StateMachine } from 'xstate';
import {
  buildCluster,
  localBatches,
  syntheticFor,
  tinyConfig,
  trainAll,
  useWasm,
} from './fixtures.ts';

beforeAll(useWasm);

const coordinatorOf = (extra: Parameters<typeof buildCluster>[3]) => {
  const { ranks } = buildCluster('sparseDist', 1, tinyConfig(), extra);
  return ranks[0];
};

describe('interpreter policy', () => {
  it("runs XState's interpreter by default", async () => {
    const rank = coordinatorOf({});
    const { coordinator } = rank.pipeline;
    expect(coordinator.logic).toBeInstanceOf(StateMachine);
    expect(isMachineSnapshot(coordinator.getSnapshot())).toBe(true);
    const data = syntheticFor(tinyConfig());
    const losses = await trainAll([rank], [localBatches(data, 16, 3, 0, 1)]);
    expect(losses[0]).toHaveLength(3);
    rank.pipeline.dispose();
  });

  it("runs the compiled form only when asked for with interpreter: 'compiled'", () => {
    const rank = coordinatorOf({ interpreter: 'compiled' });
    expect(rank.pipeline.coordinator.logic).not.toBeInstanceOf(StateMachine);
    rank.pipeline.dispose();
  });

  it("an inspection observer always gets XState's interpreter", () => {
    const rank = coordinatorOf({ interpreter: 'compiled', inspect: () => {} });
    expect(rank.pipeline.coordinator.logic).toBeInstanceOf(StateMachine);
    rank.pipeline.dispose();
  });
});
