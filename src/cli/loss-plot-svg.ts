/**
 * The loss curve of a run as a standalone SVG (`sparsepipe train --report DIR` writes it
 * as `DIR/loss.svg`): training loss per batch, the held-out loss as a dashed level when
 * there is one, axes with the batch numbers and loss range, and the worst spike marked.
 * Pure: data in, markup out.
 *
 * @example
 * const svg = lossPlotSvg({ losses: [0.7, 0.65, 0.6], firstBatch: 0, heldOutLoss: 0.61, title: 'dlrm small' });
 */
export interface LossPlotInput {
  losses: readonly number[];
  /** Global index of `losses[0]` (a resumed run starts later). */
  firstBatch: number;
  heldOutLoss: number | null;
  title: string;
}

const W = 640;
const H = 320;
const PAD = { left: 64, right: 16, top: 50, bottom: 40 };

const esc = (s: string): string =>
  s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');
const num = (x: number): string => (Math.abs(x) >= 100 ? x.toFixed(0) : x.toPrecision(3));

export function lossPlotSvg(input: LossPlotInput): string {
  const { losses, firstBatch, heldOutLoss } = input;
  const finite = losses.filter(Number.isFinite);
  const levels = heldOutLoss !== null && Number.isFinite(heldOutLoss) ? [heldOutLoss] : [];
  const lo = Math.min(...finite, ...levels, Infinity);
  const hi = Math.max(...finite, ...levels, -Infinity);
  const span = hi > lo ? hi - lo : 1;
  const x0 = PAD.left;
  const x1 = W - PAD.right;
  const y0 = H - PAD.bottom;
  const y1 = PAD.top;
  const last = Math.max(1, losses.length - 1);
  const x = (i: number) => x0 + ((x1 - x0) * i) / last;
  const y = (v: number) => y0 - ((y0 - y1) * (v - lo)) / span;

  const parts: string[] = [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${W}" height="${H}" viewBox="0 0 ${W} ${H}" font-family="sans-serif" font-size="12">`,
    `<rect width="${W}" height="${H}" fill="white"/>`,
    `<text x="${x0}" y="20" font-size="14">${esc(input.title)}</text>`,
    `<line x1="${x0}" y1="${y0}" x2="${x1}" y2="${y0}" stroke="#333"/>`,
    `<line x1="${x0}" y1="${y0}" x2="${x0}" y2="${y1}" stroke="#333"/>`,
  ];
  if (finite.length === 0) {
    parts.push(`<text x="${x0 + 8}" y="${(y0 + y1) / 2}">no finite loss to plot</text>`, '</svg>');
    return `${parts.join('\n')}\n`;
  }
  for (const v of [lo, (lo + hi) / 2, hi]) {
    parts.push(
      `<text x="${x0 - 6}" y="${y(v) + 4}" text-anchor="end">${num(v)}</text>`,
      `<line x1="${x0 - 3}" y1="${y(v)}" x2="${x0}" y2="${y(v)}" stroke="#333"/>`,
    );
  }
  const lastBatch = firstBatch + losses.length - 1;
  parts.push(
    `<text x="${x0}" y="${y0 + 16}" text-anchor="middle">${firstBatch}</text>`,
    `<text x="${x1}" y="${y0 + 16}" text-anchor="middle">${lastBatch}</text>`,
    `<text x="${(x0 + x1) / 2}" y="${H - 8}" text-anchor="middle">batch</text>`,
  );
  const points = losses
    .map((v, i) => (Number.isFinite(v) ? `${x(i).toFixed(1)},${y(v).toFixed(1)}` : null))
    .filter((p): p is string => p !== null);
  parts.push(
    `<polyline fill="none" stroke="#1f77b4" stroke-width="1.5" points="${points.join(' ')}"/>`,
  );
  if (levels.length > 0) {
    const yh = y(levels[0]).toFixed(1);
    parts.push(
      `<line x1="${x0}" y1="${yh}" x2="${x1}" y2="${yh}" stroke="#d62728" stroke-dasharray="6 4"/>`,
      `<text x="${x1}" y="${Number(yh) - 4}" text-anchor="end" fill="#d62728">held-out ${num(levels[0])}</text>`,
    );
  }
  const worst = losses.indexOf(Math.max(...finite));
  parts.push(
    `<circle cx="${x(worst).toFixed(1)}" cy="${y(losses[worst]).toFixed(1)}" r="3" fill="#1f77b4"/>`,
    `<text x="${x0}" y="38" fill="#555">training loss per batch (max ${num(losses[worst])} at batch ${firstBatch + worst})</text>`,
    '</svg>',
  );
  return `${parts.join('\n')}\n`;
}
