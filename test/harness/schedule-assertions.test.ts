/**
 * Schedule assertions: pass and fail on hand-made logs with messages that name events,
 * ranks, batches and times; then the seed's relations and the P1 bound on a real sim run.
 */
import { beforeAll, describe, expect, it } from 'vitest';
import type { PipelineEvent } from '../../src/protocol/index.ts';
import { CostModel } from '../../src/runtime/index.ts';
import {
  assertSchedule,
  boundFor,
  happensBefore,
  overlaps,
  ScheduleAssertionError,
  spanInterval,
  steadyStateIterationMs,
  withinBound,
} from '../../src/testing/schedule-assertions.ts';
import { simulateCluster } from '../../src/testing/simulate-cluster.ts';
import { TINY_DLRM, stageCostModel, useWasm } from './fixtures.ts';

beforeAll(useWasm);

const ev = (type: string, t: number, batch?: number, rank = 0): PipelineEvent =>
  ({ type, t, batch, rank }) as PipelineEvent;

/** Two ranks; on rank 1 dist.start(3) comes before copy.end(3). */
const log: PipelineEvent[] = [
  ev('copy.start', 0, 3, 0),
  ev('copy.start', 0, 3, 1),
  ev('dist.start', 1, 3, 1),
  ev('copy.end', 2, 3, 0),
  ev('copy.end', 2, 3, 1),
  ev('dist.start', 2, 3, 0),
  ev('forward.start', 2, 1, 0),
  ev('forward.end', 5, 1, 0),
];

describe('happensBefore', () => {
  it('holds when every a-event precedes the first b-event, per rank when no rank is named', () => {
    const c = happensBefore(
      log,
      { type: 'copy.end', batch: 3, rank: 0 },
      { type: 'dist.start', batch: 3, rank: 0 },
    );
    expect(c).toEqual({
      ok: true,
      message:
        'copy.end (batch 3, rank 0) (t=2 ms) happens before dist.start (batch 3, rank 0) (t=2 ms)',
    });
  });

  it('fails on the first rank where it does not hold, naming event positions and times', () => {
    const c = happensBefore(log, { type: 'copy.end', batch: 3 }, { type: 'dist.start', batch: 3 });
    expect(c.ok).toBe(false);
    expect(c.message).toBe(
      'rank 1: expected copy.end (batch 3) before dist.start (batch 3), but dist.start was event #2 at t=1 ms and the last copy.end event #4 at t=2 ms',
    );
    expect(() => assertSchedule(c)).toThrow(ScheduleAssertionError);
  });

  it('fails when nothing matches either side', () => {
    expect(
      happensBefore(
        log,
        { type: 'copy.end', batch: 9, rank: 0 },
        { type: 'dist.start', batch: 3, rank: 0 },
      ).message,
    ).toBe(
      'expected copy.end (batch 9, rank 0) before dist.start (batch 3, rank 0), but no event matches copy.end (batch 9, rank 0)',
    );
    expect(happensBefore([], { type: 'copy.end' }, { type: 'dist.start' })).toEqual({
      ok: false,
      message: 'the event log is empty',
    });
  });
});

describe('overlaps and spanInterval', () => {
  it('measures a span from its first start to its last end', () => {
    expect(spanInterval(log, { span: 'copy', batch: 3, rank: 0 })).toEqual({ start: 0, end: 2 });
    expect(spanInterval(log, { span: 'dist', batch: 3, rank: 0 })).toBe(
      'no dist.end event for dist (batch 3, rank 0)',
    );
  });

  it('passes for spans sharing time, fails for spans that only touch or are apart', () => {
    const more = [
      ...log,
      ev('backward.start', 5, 1),
      ev('backward.end', 9, 1),
      ev('copy.start', 4, 4),
      ev('copy.end', 6, 4),
    ];
    expect(
      overlaps(more, { span: 'copy', batch: 4, rank: 0 }, { span: 'forward', batch: 1, rank: 0 }),
    ).toEqual({
      ok: true,
      message:
        'copy (batch 4, rank 0) [4, 6] ms and forward (batch 1, rank 0) [2, 5] ms overlap by 1 ms',
    });
    expect(
      overlaps(
        more,
        { span: 'forward', batch: 1, rank: 0 },
        { span: 'backward', batch: 1, rank: 0 },
      ).message,
    ).toBe(
      'expected forward (batch 1, rank 0) [2, 5] ms and backward (batch 1, rank 0) [5, 9] ms to overlap, but they only touch',
    );
    expect(
      overlaps(more, { span: 'copy', batch: 3, rank: 0 }, { span: 'backward', batch: 1, rank: 0 })
        .message,
    ).toMatch(/are 3 ms apart$/);
  });
});

describe('steadyStateIterationMs, boundFor, withinBound', () => {
  it('takes the median gap between iteration ends over the second half, slowest rank', () => {
    // rank 0 iterations end at 0, 10, 20, 28, 36, 44 → second-half gaps 8, 8 (and 8) → 8; rank 1 every 9 ms
    const ends = [0, 10, 20, 28, 36, 44];
    const l = [
      ...ends.map((t, b) => ev('backward.end', t, b, 0)),
      ...ends.map((_, b) => ev('optimizer.end', b * 9, b, 1)),
    ];
    expect(steadyStateIterationMs(l, { rank: 0 })).toBe(8);
    expect(steadyStateIterationMs(l, { rank: 1 })).toBe(9);
    expect(steadyStateIterationMs(l)).toBe(9);
    expect(steadyStateIterationMs({ log: [ev('forward.end', 1, 0)] })).toBeNaN();
  });

  it('bounds each pipeline kind by its overlapped stages', () => {
    const cm = stageCostModel();
    expect(boundFor(cm).ms).toBe(8);
    expect(boundFor(cm).limitedBy).toBe('compute');
    expect(boundFor(cm).describe()).toBe('sparseDist: max(copy 2, dist 5, fwd+bwd+opt 8) = 8 ms');
    expect(boundFor(cm, 'base').ms).toBe(13);
    expect(boundFor(cm, 'none').ms).toBe(15);
    expect(boundFor(stageCostModel('copy=2,distSplits=6,distData=4,fwd=1')).ms).toBe(10);
    expect(boundFor(stageCostModel('copy=2,distSplits=6,distData=4,fwd=1')).limitedBy).toBe('dist');
    expect(() => boundFor(new CostModel())).toThrow(/no fixed stage costs/);
  });

  it('withinBound reads as a sentence either way', () => {
    const l = [0, 8, 16, 24, 33, 42].map((t, b) => ev('backward.end', t, b));
    const c = withinBound(l, stageCostModel());
    expect(c.ok).toBe(false);
    expect(c.message).toBe(
      'steady-state iteration 9 ms exceeds 1.01 × bound (sparseDist: max(copy 2, dist 5, fwd+bwd+opt 8) = 8 ms) = 8.08 ms by 12.5% over the bound',
    );
    expect(withinBound(l, stageCostModel(), { tolerance: 0.2 }).ok).toBe(true);
  });
});

describe('on a simulated run (world 2, copy 2, dist 5, fwd 3, bwd 4, opt 1)', () => {
  it('the seed’s order holds for every batch, stages overlap, and the iteration reaches the 8 ms bound', async () => {
    const costModel = stageCostModel();
    const result = await simulateCluster({
      worldSize: 2,
      batches: 10,
      globalBatchSize: 16,
      dlrm: TINY_DLRM,
      costModel,
    });
    expect(result.ok, result.summary()).toBe(true);
    for (let i = 0; i < 10; i++) {
      assertSchedule(
        happensBefore(result, { type: 'copy.end', batch: i }, { type: 'dist.start', batch: i }),
      );
      assertSchedule(
        happensBefore(result, { type: 'dist.end', batch: i }, { type: 'forward.start', batch: i }),
      );
      assertSchedule(
        happensBefore(
          result,
          { type: 'forward.end', batch: i },
          { type: 'backward.start', batch: i },
        ),
      );
      if (i + 1 < 10)
        assertSchedule(
          happensBefore(
            result,
            { type: 'forward.start', batch: i },
            { type: 'forward.start', batch: i + 1 },
          ),
        );
    }
    for (let i = 2; i < 8; i++) {
      assertSchedule(
        overlaps(result, { span: 'copy', batch: i + 2 }, { span: 'forward', batch: i }),
      );
      assertSchedule(
        overlaps(result, { span: 'dist', batch: i + 1 }, { span: 'backward', batch: i }),
      );
    }
    assertSchedule(withinBound(result, costModel));
    expect(result.iterationMs()).toBeGreaterThanOrEqual(8);
  });
});
