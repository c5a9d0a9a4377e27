import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import type { PipelineEvent } from '../../src/protocol/index.ts';
import { toChromeTrace, type ChromeTraceEvent } from '../../src/trace/chrome-trace.ts';
import { scriptedRun } from '../visualizations/scripted-run.ts';

const body = (events: ChromeTraceEvent[]) => events.filter((e) => e.ph !== 'M');

/** Per (pid, tid): B/E form a well-nested sequence with matching names. */
function expectWellNested(events: ChromeTraceEvent[]): void {
  const stacks = new Map<string, string[]>();
  for (const e of events) {
    const key = `${e.pid}|${e.tid}`;
    const stack = stacks.get(key) ?? [];
    stacks.set(key, stack);
    if (e.ph === 'B') stack.push(e.name);
    if (e.ph === 'E')
      expect(
        stack.pop(),
        `E '${e.name}' on ${key} at ${e.ts} closes nothing or the wrong span`,
      ).toBe(e.name);
  }
  for (const [key, stack] of stacks) expect(stack, `spans left open on ${key}`).toEqual([]);
}

describe('toChromeTrace', () => {
  const events = scriptedRun({ ranks: 2, batches: 3 });
  const trace = toChromeTrace(events);

  it('names one process per rank and one thread per stream', () => {
    const meta = trace.traceEvents.filter((e) => e.ph === 'M');
    expect(meta.filter((e) => e.name === 'process_name').map((e) => [e.pid, e.args?.name])).toEqual(
      [
        [0, 'rank 0'],
        [1, 'rank 1'],
      ],
    );
    const threadNames = meta
      .filter((e) => e.name === 'thread_name' && e.pid === 1)
      .map((e) => [e.tid, e.args?.name]);
    expect(threadNames).toEqual([
      [0, 'host'],
      [1, 'memcpy'],
      [2, 'dataDist'],
      [3, 'default'],
    ]);
    expect(trace.displayTimeUnit).toBe('ms');
    expect(JSON.parse(JSON.stringify(trace))).toEqual(trace);
  });

  it('turns span pairs into B/E on their stream, dist split at dist.splits', () => {
    const rank0 = body(trace.traceEvents).filter((e) => e.pid === 0 && e.ph !== 'i');
    const firstBatch = rank0
      .filter((e) => e.args?.batch === 0)
      .map((e) => `${e.ph} ${e.name} tid${e.tid} ${e.ts}`);
    expect(firstBatch).toEqual([
      'B copy tid1 0',
      'E copy tid1 4000',
      'B dist splits tid2 4000',
      'E dist splits tid2 6000',
      'B dist data tid2 6000',
      'E dist data tid2 9000',
      'B forward tid3 10000',
      'E forward tid3 13000',
      'B backward tid3 13000',
      'E backward tid3 17000',
      'B optimizer tid3 17000',
      'E optimizer tid3 19000',
    ]);
    expectWellNested(trace.traceEvents);
  });

  it('makes point events thread-scoped instants with their fields and args.batch', () => {
    const step = body(trace.traceEvents).find((e) => e.name === 'optimizer.step' && e.pid === 1)!;
    expect(step).toMatchObject({
      ph: 'i',
      s: 't',
      tid: 0,
      ts: 18500,
      args: { batch: 0, microBatches: 1 },
    });
    const state = body(trace.traceEvents).find((e) => e.name === 'actor.state')!;
    expect(state.args).toEqual({ actor: 'coordinator', from: '', to: 'idle' });
    expect(state.cat).toBe('state');
  });

  it('keeps the order events happened in, and args.batch on everything that had one', () => {
    const out = body(trace.traceEvents);
    // dist.splits becomes an E and a B; everything else maps one to one.
    const splits = events.filter((e) => e.type === 'dist.splits').length;
    expect(out).toHaveLength(events.length + splits);
    for (let i = 1; i < out.length; i++) expect(out[i].ts).toBeGreaterThanOrEqual(out[i - 1].ts);
    const withBatch = events.filter((e) => e.batch !== undefined).length;
    expect(out.filter((e) => e.args?.batch !== undefined)).toHaveLength(withBatch + splits);
  });

  it('moves overlapping dists of two modules to a second dataDist thread and a dist without splits is one span', () => {
    const t = toChromeTrace(scriptedRun({ ranks: 1, batches: 1, twoModules: true }));
    const dist = body(t.traceEvents)
      .filter((e) => e.name.startsWith('dist'))
      .map((e) => `${e.ph} ${e.name} ${e.args?.module} tid${e.tid}`);
    expect(dist).toEqual([
      'B dist splits sparse tid2',
      'B dist sparse2 tid12',
      'E dist splits sparse tid2',
      'B dist data sparse tid2',
      'E dist sparse2 tid12',
      'E dist data sparse tid2',
    ]);
    expect(t.traceEvents.find((e) => e.ph === 'M' && e.tid === 12)?.args?.name).toBe('dataDist #2');
    expectWellNested(t.traceEvents);
  });

  it('closes spans still open at the end of the log, flagged unfinished', () => {
    const t = toChromeTrace([
      { type: 'forward.start', rank: 0, t: 1, batch: 4 },
      { type: 'pipeline.failed', rank: 0, t: 3, error: 'boom', batch: 4 },
    ]);
    const last = t.traceEvents[t.traceEvents.length - 1];
    expect(last).toMatchObject({
      ph: 'E',
      name: 'forward',
      ts: 3000,
      args: { batch: 4, unfinished: true },
    });
  });

  it('always nests B/E per thread, whatever the interleaving of spans', () => {
    const kinds = ['copy', 'dist', 'forward', 'backward', 'optimizer'] as const;
    fc.assert(
      fc.property(
        fc.array(
          fc.record({
            kind: fc.constantFrom(...kinds),
            rank: fc.nat(1),
            module: fc.constantFrom('a', 'b'),
          }),
          { maxLength: 12 },
        ),
        fc.array(fc.nat(), { maxLength: 40 }),
        (spans, picks) => {
          // Each span: start, (splits for dist), end — interleaved in a random order that keeps each span's own order.
          const queues = spans.map((s, batch) =>
            (s.kind === 'dist'
              ? ['dist.start', 'dist.splits', 'dist.end']
              : [`${s.kind}.start`, `${s.kind}.end`]
            ).map((type) => ({
              type,
              rank: s.rank,
              batch,
              ...(s.kind === 'dist' ? { module: s.module } : {}),
            })),
          );
          const events: PipelineEvent[] = [];
          let t = 0;
          let p = 0;
          while (queues.some((q) => q.length > 0)) {
            const live = queues.filter((q) => q.length > 0);
            const q = live[(picks[p++] ?? 0) % live.length];
            events.push({ ...q.shift()!, t: t++ } as PipelineEvent);
          }
          const trace = toChromeTrace(events);
          expectWellNested(trace.traceEvents);
          expect(body(trace.traceEvents).filter((e) => e.ph === 'B')).toHaveLength(
            spans.length + spans.filter((s) => s.kind === 'dist').length,
          );
        },
      ),
    );
  });
});
