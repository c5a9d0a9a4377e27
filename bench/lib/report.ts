/**
 * How every bench reports: a markdown table on stdout (caption = the command that produced
 * it) and the same data as JSON in `bench/results/<name>.json`.
 *
 * @example
 * writeReport({ name: 'p1-schedule-efficiency', title: 'P1 …', command: 'npx tsx bench/p1-schedule-efficiency.ts',
 *   columns: ['cost model', 'ratio'], rows: [['copy=2,…', '1.000']], summary: { worst: 1 } });
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import os from 'node:os';

export const RESULTS_DIR = join(dirname(fileURLToPath(import.meta.url)), '..', 'results');

export interface BenchReport {
  /** File name (without `.json`). */
  name: string;
  title: string;
  /** The command that reproduces it (table caption). */
  command: string;
  columns: readonly string[];
  rows: ReadonlyArray<ReadonlyArray<string | number>>;
  /** Target verdicts and headline numbers (also shown under the table). */
  summary: Record<string, unknown>;
  /** Free text under the table. */
  notes?: readonly string[];
  /** Raw measurements. */
  data?: unknown;
  /** One line per docs/design.md "Performance targets" target, for the summary table of `npm run bench`. */
  headlines?: readonly Headline[];
}

/** One target's line in bench/results/summary.md. */
export interface Headline {
  id: string;
  what: string;
  target: string;
  result: string;
  /** true / false, or null when not measured. */
  met: boolean | null;
}

/** The machine the numbers were measured on (docs/design.md "Performance targets": absolute times only with the machine named). */
export function machine(): { cpu: string; cores: number; node: string; loadavg: number[] } {
  return {
    cpu: os.cpus()[0]?.model ?? 'unknown',
    cores: os.cpus().length,
    node: process.version,
    loadavg: os.loadavg().map((x) => Number(x.toFixed(2))),
  };
}

/** A markdown table. */
export function markdownTable(
  columns: readonly string[],
  rows: ReadonlyArray<ReadonlyArray<string | number>>,
): string {
  const line = (cells: ReadonlyArray<string | number>) =>
    `| ${cells.map((c) => String(c).replace(/\|/g, '\\|')).join(' | ')} |`;
  return [line(columns), line(columns.map(() => '---')), ...rows.map(line)].join('\n');
}

/** Print the table and write `bench/results/<name>.json`. Returns the markdown. */
export function writeReport(r: BenchReport): string {
  const md = [
    `### ${r.title}`,
    '',
    `\`${r.command}\``,
    '',
    markdownTable(r.columns, r.rows),
    '',
    ...Object.entries(r.summary).map(
      ([k, v]) => `- **${k}**: ${typeof v === 'string' ? v : JSON.stringify(v)}`,
    ),
    ...(r.notes ?? []).map((n) => `- ${n}`),
    '',
  ].join('\n');
  console.log(md);
  mkdirSync(RESULTS_DIR, { recursive: true });
  writeFileSync(
    join(RESULTS_DIR, `${r.name}.json`),
    `${JSON.stringify(
      { ...r, markdown: md, machine: machine(), date: new Date().toISOString() },
      null,
      2,
    )}\n`,
  );
  return md;
}

export function median(xs: readonly number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  if (s.length === 0) return NaN;
  const m = Math.floor(s.length / 2);
  return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2;
}

/** `--quick` on the command line (or BENCH_QUICK=1). */
export function isQuick(argv: readonly string[] = process.argv): boolean {
  return argv.includes('--quick') || process.env.BENCH_QUICK === '1';
}

export function fmt(x: number, digits = 3): string {
  return Number.isFinite(x) ? x.toFixed(digits) : String(x);
}
