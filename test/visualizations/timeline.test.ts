import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import type { PipelineEvent } from '../../src/protocol/index.ts';
import { timelineSpans } from '../../visualizations/timeline/timeline-spans.ts';
import {
  axisTicks,
  LAYOUT,
  timelineLayout,
} from '../../visualizations/timeline/timeline-layout.ts';
import { renderTimelineSvg } from '../../visualizations/timeline/render-timeline-svg.ts';
import { scriptedRun } from './scripted-run.ts';

const overlaps = (a: { start: number; end: number }, b: { start: number; end: number }) =>
  a.start < b.end && b.start < a.end;

describe('timelineSpans', () => {
  const tl = timelineSpans(scriptedRun({ ranks: 2, batches: 3 }));
  const find = (rank: number, lane: string, batch: number) =>
    tl.spans.find((s) => s.rank === rank && s.lane === lane && s.batch === batch)!;

  it('pairs every span of every rank on its stream', () => {
    expect(tl.ranks).toEqual([0, 1]);
    expect(tl.spans).toHaveLength(2 * 3 * 6);
    expect(find(0, 'copy', 1)).toMatchObject({ stream: 'memcpy', start: 10, end: 14, open: false });
    expect(find(1, 'forward', 2)).toMatchObject({ stream: 'default', start: 30.5, end: 33.5 });
    expect(find(0, 'optimizer', 0)).toMatchObject({ stream: 'default', start: 17, end: 19 });
    expect(tl.unmatched).toEqual([]);
  });

  it('splits dist into the splits and the data exchange at dist.splits', () => {
    expect(find(0, 'distSplits', 2)).toMatchObject({
      stream: 'dataDist',
      module: 'sparse',
      start: 24,
      end: 26,
    });
    expect(find(0, 'distData', 2)).toMatchObject({
      stream: 'dataDist',
      module: 'sparse',
      start: 26,
      end: 29,
    });
  });

  it('marks an iteration boundary at each forward.start', () => {
    expect(tl.iterations.filter((i) => i.rank === 0)).toEqual([
      { rank: 0, batch: 0, t: 10 },
      { rank: 0, batch: 1, t: 20 },
      { rank: 0, batch: 2, t: 30 },
    ]);
  });

  it('shows the pipelining: copy(i+1) overlaps forward(i), dist(i+1) overlaps backward(i)', () => {
    expect(overlaps(find(0, 'copy', 1), find(0, 'forward', 0))).toBe(true);
    expect(overlaps(find(0, 'distSplits', 1), find(0, 'backward', 0))).toBe(true);
    expect(overlaps(find(0, 'forward', 1), find(0, 'backward', 0))).toBe(false);
  });

  it('leaves unfinished spans open until the last event and reports stray ends', () => {
    const events: PipelineEvent[] = [
      { type: 'forward.start', rank: 0, t: 1, batch: 0 },
      { type: 'copy.end', rank: 0, t: 2, batch: 5 },
      { type: 'dist.start', rank: 0, t: 3, batch: 1 },
      { type: 'dist.end', rank: 0, t: 4, batch: 1 },
      { type: 'pipeline.drain', rank: 0, t: 7 },
    ];
    const t = timelineSpans(events);
    expect(t.spans).toEqual([
      { rank: 0, stream: 'default', lane: 'forward', batch: 0, start: 1, end: 7, open: true },
      { rank: 0, stream: 'dataDist', lane: 'distData', batch: 1, start: 3, end: 4, open: false },
    ]);
    expect(t.unmatched.map((e) => e.type)).toEqual(['copy.end']);
    expect(t.points).toEqual([{ rank: 0, type: 'pipeline.drain', t: 7 }]);
    expect(timelineSpans([])).toMatchObject({ spans: [], ranks: [], start: 0, end: 0 });
  });

  it('never loses a span: every start yields exactly one span, closed iff its end was seen', () => {
    const kinds = ['copy', 'forward', 'backward', 'optimizer'] as const;
    fc.assert(
      fc.property(
        fc.array(
          fc.record({
            kind: fc.constantFrom(...kinds),
            batch: fc.nat(3),
            rank: fc.nat(2),
            ends: fc.boolean(),
          }),
          { maxLength: 30 },
        ),
        (items) => {
          const events: PipelineEvent[] = [];
          items.forEach((it, i) =>
            events.push({
              type: `${it.kind}.start`,
              rank: it.rank,
              batch: it.batch,
              t: i,
            } as PipelineEvent),
          );
          items.forEach((it, i) => {
            if (it.ends)
              events.push({
                type: `${it.kind}.end`,
                rank: it.rank,
                batch: it.batch,
                t: 100 + i,
              } as PipelineEvent);
          });
          const t = timelineSpans(events);
          expect(t.spans).toHaveLength(items.length);
          expect(t.spans.filter((s) => !s.open)).toHaveLength(items.filter((i) => i.ends).length);
          expect(t.unmatched).toEqual([]);
          for (const s of t.spans) expect(s.end).toBeGreaterThanOrEqual(s.start);
        },
      ),
    );
  });
});

describe('timelineLayout', () => {
  const tl = timelineSpans(scriptedRun({ ranks: 2, batches: 3 }));
  const layout = timelineLayout(tl, { pxPerMs: 10 });
  const bar = (rank: number, lane: string, batch: number) =>
    layout.bars.find(
      (b) => b.span.rank === rank && b.span.lane === lane && b.span.batch === batch,
    )!;

  it('puts spans at x = left + (t - start) · pxPerMs', () => {
    expect(tl.start).toBe(0);
    expect(bar(0, 'forward', 0)).toMatchObject({ x: LAYOUT.left + 100, width: 30 });
    expect(bar(1, 'forward', 0)).toMatchObject({ x: LAYOUT.left + 105, width: 30 });
    expect(bar(0, 'copy', 2).x).toBe(LAYOUT.left + 200);
    expect(layout.iterationLines.filter((l) => l.rank === 0).map((l) => l.x)).toEqual([
      LAYOUT.left + 100,
      LAYOUT.left + 200,
      LAYOUT.left + 300,
    ]);
  });

  it('stacks rows per rank: memcpy, dist splits, dist data, default; rank 1 below rank 0', () => {
    const rows0 = layout.rows.filter((r) => r.rank === 0).map((r) => r.row);
    expect(rows0).toEqual(['memcpy', 'dataDist.splits', 'dataDist.data', 'default']);
    const y = (rank: number, row: string) =>
      layout.rows.find((r) => r.rank === rank && r.row === row)!.y;
    expect(y(0, 'memcpy')).toBeLessThan(y(0, 'dataDist.splits'));
    expect(y(0, 'dataDist.data')).toBeLessThan(y(0, 'default'));
    expect(y(0, 'default')).toBeLessThan(y(1, 'memcpy'));
    expect(bar(0, 'forward', 0).y).toBe(y(0, 'default'));
    // Overlapping in time, on different rows: copy(1) and forward(0) share x but not y.
    expect(bar(0, 'copy', 1).x).toBe(bar(0, 'forward', 0).x);
    expect(bar(0, 'copy', 1).y).not.toBe(bar(0, 'forward', 0).y);
  });

  it('gives overlapping spans of one row their own sub-rows (two modules distributing at once)', () => {
    const l = timelineLayout(
      timelineSpans(scriptedRun({ ranks: 1, batches: 1, twoModules: true })),
      { pxPerMs: 10 },
    );
    const data = l.bars.filter((b) => b.span.lane === 'distData');
    expect(data.map((b) => b.span.module)).toEqual(['sparse2', 'sparse']);
    expect(data[0].y).not.toBe(data[1].y);
    expect(l.rows.filter((r) => r.row === 'dataDist.data')).toHaveLength(2);
  });

  it('chooses 1-2-5 axis ticks', () => {
    expect(axisTicks(0, 100)).toEqual([0, 20, 40, 60, 80, 100]);
    expect(axisTicks(0, 7)).toEqual([0, 1, 2, 3, 4, 5, 6, 7]);
    expect(axisTicks(3, 3)).toEqual([3]);
    expect(layout.ticks[1]).toMatchObject({ t: 5, x: LAYOUT.left + 50, label: '5 ms' });
  });
});

describe('renderTimelineSvg', () => {
  it('draws one labelled bar per span, iteration lines and a legend, deterministically', () => {
    const events = scriptedRun({ ranks: 2, batches: 3 });
    const svg = renderTimelineSvg(events, { title: 'scripted', pxPerMs: 10 });
    expect(svg).toBe(renderTimelineSvg(events, { title: 'scripted', pxPerMs: 10 }));
    expect(svg.match(/class="span"/g)).toHaveLength(36);
    expect(svg).toContain('data-lane="forward" data-batch="2" data-rank="1"');
    expect(svg).toContain('>b2</text>');
    expect(svg).toContain('>it 1</text>');
    expect(svg).toContain('>rank 1</text>');
    expect(svg).toContain('>dist splits</text>');
    expect(svg).toContain('>10 ms</text>');
    expect(svg).not.toMatch(/href=|url\(/);
  });
});
