/**
 * The scaling report as an SVG: predicted iteration time (left) and examples per second
 * (right) against world size, one line per pipeline kind, both axes logarithmic. Pure:
 * data in, SVG text out (bench/scaling-report.ts runs the simulations).
 *
 * @example
 * const svg = renderScalingSvg({ title: 'medium DLRM on dgx-a100', subtitle: '…', series: [{ kind: 'sparse-dist', points: [{ worldSize: 8, iterationMs: 40, examplesPerSecond: 1e5 }] }] });
 */

export interface ScalingPoint {
  worldSize: number;
  iterationMs: number;
  examplesPerSecond: number;
}

export interface ScalingSeries {
  kind: string;
  points: readonly ScalingPoint[];
}

export interface ScalingChart {
  title: string;
  subtitle: string;
  series: readonly ScalingSeries[];
}

const COLORS = ['#1f77b4', '#d62728', '#2ca02c', '#9467bd', '#ff7f0e', '#8c564b', '#17becf'];
const W = 1100;
const H = 520;
const PANEL_W = 470;
const PANEL_H = 340;
const TOP = 90;
const LEFTS = [80, 610];

function esc(s: string): string {
  return s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');
}

function fmtNumber(x: number): string {
  if (x >= 1e9) return `${+(x / 1e9).toPrecision(3)}G`;
  if (x >= 1e6) return `${+(x / 1e6).toPrecision(3)}M`;
  if (x >= 1e3) return `${+(x / 1e3).toPrecision(3)}k`;
  return `${+x.toPrecision(3)}`;
}

/** Powers of 10 (and 2× / 5× between them when the range is narrow) covering [lo, hi]. */
function logTicks(lo: number, hi: number): number[] {
  const out: number[] = [];
  for (let e = Math.floor(Math.log10(lo)); e <= Math.ceil(Math.log10(hi)); e++)
    for (const m of hi / lo < 100 ? [1, 2, 5] : [1]) {
      const v = m * 10 ** e;
      if (v >= lo && v <= hi) out.push(v);
    }
  return out;
}

function panel(
  left: number,
  label: string,
  series: readonly ScalingSeries[],
  value: (p: ScalingPoint) => number,
  worlds: readonly number[],
): string {
  const values = series.flatMap((s) => s.points.map(value)).filter((v) => v > 0);
  const lo = Math.min(...values) / 1.3;
  const hi = Math.max(...values) * 1.3;
  const x = (w: number) =>
    left + (Math.log2(w / worlds[0]) / Math.log2(worlds[worlds.length - 1] / worlds[0])) * PANEL_W;
  const y = (v: number) => TOP + PANEL_H - (Math.log(v / lo) / Math.log(hi / lo)) * PANEL_H;
  const parts: string[] = [];
  parts.push(
    `<rect x="${left}" y="${TOP}" width="${PANEL_W}" height="${PANEL_H}" fill="none" stroke="#999"/>`,
  );
  for (const w of worlds) {
    parts.push(
      `<line x1="${x(w).toFixed(1)}" y1="${TOP + PANEL_H}" x2="${x(w).toFixed(1)}" y2="${TOP + PANEL_H + 5}" stroke="#666"/>`,
      `<text x="${x(w).toFixed(1)}" y="${TOP + PANEL_H + 18}" font-size="11" text-anchor="middle">${w}</text>`,
    );
  }
  for (const v of logTicks(lo, hi)) {
    parts.push(
      `<line x1="${left}" y1="${y(v).toFixed(1)}" x2="${left + PANEL_W}" y2="${y(v).toFixed(1)}" stroke="#eee"/>`,
      `<text x="${left - 6}" y="${(y(v) + 4).toFixed(1)}" font-size="11" text-anchor="end">${fmtNumber(v)}</text>`,
    );
  }
  parts.push(
    `<text x="${left + PANEL_W / 2}" y="${TOP + PANEL_H + 38}" font-size="12" text-anchor="middle">world size (ranks, log scale)</text>`,
    `<text x="${left + PANEL_W / 2}" y="${TOP - 10}" font-size="13" font-weight="bold" text-anchor="middle">${esc(label)}</text>`,
  );
  series.forEach((s, i) => {
    const color = COLORS[i % COLORS.length];
    const pts = s.points.filter((p) => value(p) > 0);
    parts.push(
      `<polyline fill="none" stroke="${color}" stroke-width="2" points="${pts.map((p) => `${x(p.worldSize).toFixed(1)},${y(value(p)).toFixed(1)}`).join(' ')}"/>`,
      ...pts.map(
        (p) =>
          `<circle cx="${x(p.worldSize).toFixed(1)}" cy="${y(value(p)).toFixed(1)}" r="3" fill="${color}"><title>${esc(s.kind)}, ${p.worldSize} ranks: ${fmtNumber(value(p))}</title></circle>`,
      ),
    );
  });
  return parts.join('\n');
}

/**
 * Render the chart (see the module doc).
 *
 * @example
 * writeFileSync('scaling.svg', renderScalingSvg(chart));
 */
export function renderScalingSvg(chart: ScalingChart): string {
  const worlds = [...new Set(chart.series.flatMap((s) => s.points.map((p) => p.worldSize)))].sort(
    (a, b) => a - b,
  );
  const legend = chart.series
    .map((s, i) => {
      const lx = 80 + i * 170;
      return `<line x1="${lx}" y1="${H - 30}" x2="${lx + 24}" y2="${H - 30}" stroke="${COLORS[i % COLORS.length]}" stroke-width="3"/><text x="${lx + 30}" y="${H - 26}" font-size="12">${esc(s.kind)}</text>`;
    })
    .join('\n');
  return [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${W}" height="${H}" viewBox="0 0 ${W} ${H}" font-family="sans-serif">`,
    `<rect width="${W}" height="${H}" fill="white"/>`,
    `<text x="${W / 2}" y="26" font-size="16" font-weight="bold" text-anchor="middle">${esc(chart.title)}</text>`,
    `<text x="${W / 2}" y="46" font-size="12" text-anchor="middle" fill="#444">${esc(chart.subtitle)}</text>`,
    panel(
      LEFTS[0],
      'predicted iteration time (virtual ms)',
      chart.series,
      (p) => p.iterationMs,
      worlds,
    ),
    panel(
      LEFTS[1],
      'predicted examples per second',
      chart.series,
      (p) => p.examplesPerSecond,
      worlds,
    ),
    legend,
    '</svg>',
    '',
  ].join('\n');
}
