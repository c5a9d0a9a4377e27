/**
 * Renders a timeline as a standalone SVG Gantt chart: a time axis in ms, one group of rows
 * per rank (memcpy / dataDist splits / dataDist data / default), bars labelled with their
 * batch index (`b3`), iteration boundaries as dashed lines, optimizer steps as ticks, and
 * a legend. Deterministic output for the same events.
 *
 * @example
 * writeFileSync('timeline.svg', renderTimelineSvg(timelineSpans(events)));
 */
import type { PipelineEvent } from '../../src/protocol/index.ts';
import {
  TIMELINE_ROWS,
  timelineLayout,
  type TimelineLayoutOptions,
  formatMs,
} from './timeline-layout.ts';
import { timelineSpans, type Timeline, type TimelineLane } from './timeline-spans.ts';

export const LANE_COLORS: Record<TimelineLane, string> = {
  copy: '#0ea5e9',
  distSplits: '#f59e0b',
  distData: '#ea580c',
  forward: '#16a34a',
  backward: '#7c3aed',
  optimizer: '#db2777',
  lookup: '#0d9488',
  prefetch: '#65a30d',
  stageMemcpy: '#38bdf8',
  stageDataDist: '#fb923c',
  stageDefault: '#a3a3a3',
};

const LANE_NAMES: Record<TimelineLane, string> = {
  copy: 'copy (H2D)',
  distSplits: 'dist splits',
  distData: 'dist data',
  forward: 'forward',
  backward: 'backward',
  optimizer: 'optimizer',
  lookup: 'lookup ahead',
  prefetch: 'prefetch (cache fill)',
  stageMemcpy: 'stage on memcpy',
  stageDataDist: 'stage on dataDist',
  stageDefault: 'stage on default',
};

const FONT = `ui-monospace, Menlo, Consolas, 'DejaVu Sans Mono', monospace`;

export interface TimelineSvgOptions extends TimelineLayoutOptions {
  title?: string;
}

function num(v: number): string {
  const r = Math.round(v * 10) / 10;
  return Object.is(r, -0) ? '0' : String(r);
}

function esc(text: string): string {
  return text
    .replace(/&/g, '&amp;')
    .replace(/</g, '&lt;')
    .replace(/>/g, '&gt;')
    .replace(/"/g, '&quot;');
}

/**
 * Renders a timeline (or an event log) as SVG.
 *
 * @example
 * const svg = renderTimelineSvg(events, { title: 'sparseDist, world 2', pxPerMs: 4 });
 */
export function renderTimelineSvg(
  input: Timeline | readonly PipelineEvent[],
  options: TimelineSvgOptions = {},
): string {
  const timeline = Array.isArray(input)
    ? timelineSpans(input as readonly PipelineEvent[])
    : (input as Timeline);
  const L = timelineLayout(timeline, options);
  const out: string[] = [];
  out.push(
    `<svg xmlns="http://www.w3.org/2000/svg" class="timeline" width="${num(L.width)}" height="${num(L.height)}" ` +
      `viewBox="0 0 ${num(L.width)} ${num(L.height)}" font-family="${esc(FONT)}" font-size="10">`,
  );
  out.push(`<title>${esc(options.title ?? 'pipeline timeline')}</title>`);
  out.push(`<rect width="100%" height="100%" fill="#ffffff"/>`);
  if (options.title)
    out.push(
      `<text x="8" y="14" font-size="12" font-weight="bold" fill="#0f172a">${esc(options.title)}</text>`,
    );

  const plotBottom = L.height - 34;
  // Axis and grid.
  out.push('<g class="axis">');
  out.push(
    `<line x1="${num(L.left)}" y1="${L.top - 10}" x2="${num(L.width - 24)}" y2="${L.top - 10}" stroke="#94a3b8"/>`,
  );
  for (const tick of L.ticks) {
    out.push(
      `<line x1="${num(tick.x)}" y1="${L.top - 14}" x2="${num(tick.x)}" y2="${num(plotBottom)}" stroke="#e2e8f0"/>` +
        `<text x="${num(tick.x)}" y="${L.top - 18}" text-anchor="middle" fill="#475569">${esc(tick.label)}</text>`,
    );
  }
  out.push('</g>');

  // Rank groups and row labels.
  for (const r of L.ranks) {
    out.push(
      `<rect class="rank" x="4" y="${num(r.y - 3)}" width="${num(L.width - 8)}" height="${num(r.height + 6)}" ` +
        `fill="none" stroke="#cbd5e1" rx="4"/>` +
        `<text x="10" y="${num(r.y + 11)}" font-weight="bold" fill="#0f172a">rank ${r.rank}</text>`,
    );
  }
  for (const row of L.rows) {
    if (row.subRow === 0) {
      out.push(
        `<text x="${L.left - 6}" y="${num(row.y + row.height - 4)}" text-anchor="end" fill="#334155">${esc(row.label)}</text>`,
      );
    }
    out.push(
      `<rect x="${num(L.left)}" y="${num(row.y)}" width="${num(L.width - L.left - 24)}" height="${row.height}" fill="#f8fafc"/>`,
    );
  }

  // Bars.
  out.push('<g class="spans">');
  for (const bar of L.bars) {
    const s = bar.span;
    const label = `b${s.batch}`;
    const tip = `${LANE_NAMES[s.lane]} b${s.batch}${s.module ? ` ${s.module}` : ''} rank ${s.rank}: ${formatMs(s.start)}–${formatMs(s.end)} ms${s.open ? ' (running)' : ''}`;
    out.push(
      `<g class="span" data-lane="${s.lane}" data-batch="${s.batch}" data-rank="${s.rank}"><title>${esc(tip)}</title>` +
        `<rect x="${num(bar.x)}" y="${num(bar.y)}" width="${num(Math.max(bar.width, 0.8))}" height="${bar.height}" ` +
        `fill="${LANE_COLORS[s.lane]}" fill-opacity="${s.open ? 0.45 : 0.9}" stroke="#ffffff" stroke-width="0.5"/>` +
        (bar.width >= label.length * 6.2 + 4
          ? `<text x="${num(bar.x + bar.width / 2)}" y="${num(bar.y + bar.height - 4)}" text-anchor="middle" fill="#ffffff">${label}</text>`
          : '') +
        '</g>',
    );
  }
  out.push('</g>');

  // Iteration boundaries.
  out.push('<g class="iterations">');
  for (const line of L.iterationLines) {
    out.push(
      `<line x1="${num(line.x)}" y1="${num(line.y1)}" x2="${num(line.x)}" y2="${num(line.y2)}" stroke="#0f172a" stroke-width="0.8" stroke-dasharray="3 2"/>` +
        `<text x="${num(line.x + 2)}" y="${num(line.y1 + 1)}" font-size="8" fill="#0f172a">it ${line.batch}</text>`,
    );
  }
  out.push('</g>');

  // Optimizer steps / skips as ticks on the default row.
  out.push('<g class="points">');
  for (const p of timeline.points) {
    if (p.type !== 'optimizer.step' && p.type !== 'optimizer.skipped') continue;
    const row = L.rows.find((r) => r.rank === p.rank && r.row === 'default' && r.subRow === 0);
    if (!row) continue;
    const x = L.x(p.t);
    const color = p.type === 'optimizer.step' ? '#0f172a' : '#dc2626';
    out.push(
      `<path d="M${num(x - 3)},${num(row.y - 4)} L${num(x + 3)},${num(row.y - 4)} L${num(x)},${num(row.y)} z" fill="${color}">` +
        `<title>${esc(`${p.type}${p.batch === undefined ? '' : ` b${p.batch}`} rank ${p.rank} @ ${formatMs(p.t)} ms`)}</title></path>`,
    );
  }
  out.push('</g>');

  // Legend.
  let lx = L.left;
  const ly = plotBottom + 14;
  out.push('<g class="legend">');
  // Lanes of optional rows (look-ahead lookup, prefetch) only when the run has them.
  const optional = new Set(TIMELINE_ROWS.filter((r) => r.optional).flatMap((r) => r.lanes));
  const shown = (Object.keys(LANE_COLORS) as TimelineLane[]).filter(
    (lane) => !optional.has(lane) || timeline.spans.some((sp) => sp.lane === lane),
  );
  for (const lane of shown) {
    out.push(
      `<rect x="${num(lx)}" y="${num(ly)}" width="12" height="10" fill="${LANE_COLORS[lane]}"/>` +
        `<text x="${num(lx + 16)}" y="${num(ly + 9)}" fill="#334155">${esc(LANE_NAMES[lane])}</text>`,
    );
    lx += 16 + LANE_NAMES[lane].length * 6.2 + 16;
  }
  out.push(
    `<line x1="${num(lx)}" y1="${num(ly)}" x2="${num(lx)}" y2="${num(ly + 10)}" stroke="#0f172a" stroke-dasharray="3 2"/>` +
      `<text x="${num(lx + 4)}" y="${num(ly + 9)}" fill="#334155">iteration (forward start)</text>`,
  );
  lx += 4 + 25 * 6.2 + 16;
  out.push(
    `<path d="M${num(lx)},${num(ly + 1)} L${num(lx + 6)},${num(ly + 1)} L${num(lx + 3)},${num(ly + 6)} z" fill="#0f172a"/>` +
      `<text x="${num(lx + 10)}" y="${num(ly + 9)}" fill="#334155">optimizer step</text>`,
  );
  out.push('</g>');
  out.push('</svg>');
  return `${out.join('\n')}\n`;
}
