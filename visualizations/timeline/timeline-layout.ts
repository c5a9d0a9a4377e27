/**
 * Places a {@link Timeline} on a canvas: one group of rows per rank (memcpy, dataDist
 * splits, dataDist data, default), spans as bars at `x = left + (t - start) · pxPerMs`,
 * overlapping spans of one row stacked in sub-rows, iteration boundaries as vertical
 * lines, and axis ticks at a 1-2-5 step. Pure geometry (the SVG renderer and tests use it).
 *
 * @example
 * const layout = timelineLayout(timelineSpans(events), { pxPerMs: 10 });
 * layout.bars.find((b) => b.span.lane === 'forward')?.x;
 */
import type { Rank } from '../../src/protocol/index.ts';
import type { Timeline, TimelineLane, TimelineSpan } from './timeline-spans.ts';

/** The rows of one rank, top to bottom, and the lanes each shows. */
export const TIMELINE_ROWS: ReadonlyArray<{
  id: string;
  label: string;
  lanes: readonly TimelineLane[];
  /** Drawn only when some span of the run is in it. */
  optional?: boolean;
}> = [
  { id: 'memcpy', label: 'memcpy', lanes: ['copy'] },
  { id: 'dataDist.splits', label: 'dataDist splits', lanes: ['distSplits'] },
  { id: 'dataDist.data', label: 'dataDist data', lanes: ['distData'] },
  { id: 'default', label: 'default', lanes: ['forward', 'backward', 'optimizer'] },
  // The fused / semi-sync pipelines' look-ahead lookup (on the stream its events name).
  { id: 'lookup', label: 'lookup ahead', lanes: ['lookup'], optional: true },
  // The prefetch pipeline's cache fill of the next batch.
  { id: 'prefetch', label: 'prefetch', lanes: ['prefetch'], optional: true },
  // A staged pipeline's stages (named in the tooltip), by stream.
  { id: 'stages.memcpy', label: 'stages: memcpy', lanes: ['stageMemcpy'], optional: true },
  { id: 'stages.dataDist', label: 'stages: dataDist', lanes: ['stageDataDist'], optional: true },
  { id: 'stages.default', label: 'stages: default', lanes: ['stageDefault'], optional: true },
];

export interface TimelineLayoutOptions {
  /** Horizontal scale; default: fit the run into `plotWidth`. */
  pxPerMs?: number;
  /** Width of the plot area when `pxPerMs` is not given (default 1000). */
  plotWidth?: number;
}

export interface TimelineRowBox {
  rank: Rank;
  row: string;
  label: string;
  /** 0 for the row's first sub-row. */
  subRow: number;
  y: number;
  height: number;
}

export interface TimelineBar {
  span: TimelineSpan;
  x: number;
  y: number;
  width: number;
  height: number;
}

export interface TimelineLayout {
  width: number;
  height: number;
  left: number;
  top: number;
  pxPerMs: number;
  start: number;
  end: number;
  rows: TimelineRowBox[];
  bars: TimelineBar[];
  iterationLines: Array<{ rank: Rank; batch: number; x: number; y1: number; y2: number }>;
  ranks: Array<{ rank: Rank; y: number; height: number }>;
  ticks: Array<{ t: number; x: number; label: string }>;
  /** Time → x. */
  x(t: number): number;
}

export const LAYOUT = {
  left: 150,
  right: 24,
  top: 44,
  rowHeight: 16,
  subRowGap: 2,
  rowGap: 4,
  rankGap: 16,
  legendHeight: 34,
} as const;

/** Room for the legend even when the run is short. */
const MIN_WIDTH = 820;

/**
 * Computes the geometry of a timeline.
 *
 * @example
 * const { x } = timelineLayout(tl, { pxPerMs: 2 });
 * x(tl.start); // LAYOUT.left
 */
export function timelineLayout(
  timeline: Timeline,
  options: TimelineLayoutOptions = {},
): TimelineLayout {
  const span = Math.max(timeline.end - timeline.start, 1e-9);
  const pxPerMs = options.pxPerMs ?? (options.plotWidth ?? 1000) / span;
  if (!(pxPerMs > 0) || !Number.isFinite(pxPerMs)) {
    throw new RangeError(
      `timelineLayout: pxPerMs must be a positive number, got ${String(options.pxPerMs)}`,
    );
  }
  const x = (t: number): number => LAYOUT.left + (t - timeline.start) * pxPerMs;
  const rows: TimelineRowBox[] = [];
  const bars: TimelineBar[] = [];
  const rankBoxes: TimelineLayout['ranks'] = [];
  let y = LAYOUT.top;
  for (const rank of timeline.ranks) {
    const rankTop = y;
    for (const row of TIMELINE_ROWS) {
      if (row.optional && !timeline.spans.some((s) => row.lanes.includes(s.lane))) continue;
      const inRow = timeline.spans.filter((s) => s.rank === rank && row.lanes.includes(s.lane));
      const subRowOf = assignSubRows(inRow);
      const subRows = Math.max(1, ...[...subRowOf.values()].map((n) => n + 1));
      for (let k = 0; k < subRows; k++) {
        rows.push({
          rank,
          row: row.id,
          label: row.label,
          subRow: k,
          y: y + k * (LAYOUT.rowHeight + LAYOUT.subRowGap),
          height: LAYOUT.rowHeight,
        });
      }
      for (const s of inRow) {
        const k = subRowOf.get(s) ?? 0;
        bars.push({
          span: s,
          x: x(s.start),
          y: y + k * (LAYOUT.rowHeight + LAYOUT.subRowGap),
          width: (s.end - s.start) * pxPerMs,
          height: LAYOUT.rowHeight,
        });
      }
      y += subRows * (LAYOUT.rowHeight + LAYOUT.subRowGap) - LAYOUT.subRowGap + LAYOUT.rowGap;
    }
    y -= LAYOUT.rowGap;
    rankBoxes.push({ rank, y: rankTop, height: y - rankTop });
    y += LAYOUT.rankGap;
  }
  const plotBottom = timeline.ranks.length > 0 ? y - LAYOUT.rankGap : y;
  const iterationLines = timeline.iterations.flatMap((it) => {
    const box = rankBoxes.find((r) => r.rank === it.rank);
    if (!box) return []; // an iteration of a rank with no lane drawn
    return {
      rank: it.rank,
      batch: it.batch,
      x: x(it.t),
      y1: box.y - 3,
      y2: box.y + box.height + 3,
    };
  });
  const ticks = axisTicks(timeline.start, timeline.end).map((t) => ({
    t,
    x: x(t),
    label: `${formatMs(t)} ms`,
  }));
  return {
    width: Math.max(LAYOUT.left + span * pxPerMs + LAYOUT.right, MIN_WIDTH),
    height: plotBottom + 8 + LAYOUT.legendHeight,
    left: LAYOUT.left,
    top: LAYOUT.top,
    pxPerMs,
    start: timeline.start,
    end: timeline.end,
    rows,
    bars,
    iterationLines,
    ranks: rankBoxes,
    ticks,
    x,
  };
}

/** Greedy interval colouring: each span goes to the first sub-row free at its start. */
function assignSubRows(spans: readonly TimelineSpan[]): Map<TimelineSpan, number> {
  const ordered = [...spans].sort((a, b) => a.start - b.start || a.end - b.end);
  const freeAt: number[] = [];
  const out = new Map<TimelineSpan, number>();
  for (const s of ordered) {
    let k = freeAt.findIndex((t) => t <= s.start);
    if (k < 0) {
      k = freeAt.length;
      freeAt.push(0);
    }
    freeAt[k] = s.end;
    out.set(s, k);
  }
  return out;
}

/**
 * Tick times at a 1-2-5 step giving about eight ticks over `[start, end]`.
 *
 * @example
 * axisTicks(0, 100); // [0, 20, 40, 60, 80, 100]
 */
export function axisTicks(start: number, end: number): number[] {
  const range = end - start;
  if (!(range > 0)) return [start];
  const raw = range / 8;
  const mag = 10 ** Math.floor(Math.log10(raw));
  const step = [1, 2, 5, 10].map((m) => m * mag).find((s) => s >= raw) ?? 10 * mag;
  const ticks: number[] = [];
  for (let i = Math.ceil(start / step); i * step <= end + step * 1e-9; i++)
    ticks.push(roundTo(i * step, step));
  return ticks;
}

function roundTo(v: number, step: number): number {
  const decimals = Math.max(0, -Math.floor(Math.log10(step)) + 1);
  return Number(v.toFixed(decimals));
}

/** `12`, `12.5`, `0.25`: at most three decimals, no trailing zeros. */
export function formatMs(t: number): string {
  return String(Number(t.toFixed(3)));
}
