/**
 * `npm run bench -- --only …` re-runs some benches; their headline rows and sections in
 * `bench/results/summary.md` are replaced, and every other row and section of the previous
 * summary is kept where it was (each section carries its own `_measured …_` date).
 *
 * A headline row is keyed by its first cell (`P4`, `P5 (2)`, …), a section by its title up
 * to ` — ` (`### P4`).
 *
 * @example
 * mergeSummary(previous, fresh); // previous, with fresh's P4 rows and P4 section in place
 */

interface ParsedSummary {
  /** Title and machine line: everything before the headline table. */
  head: string[];
  /** The table's header and separator lines. */
  tableHead: string[];
  rows: string[];
  /** Lines between the table and the first section (e.g. benches that did not finish). */
  between: string[];
  sections: string[][];
}

function parse(md: string): ParsedSummary {
  const lines = md.split('\n');
  const tableAt = lines.findIndex((l) => l.startsWith('| #'));
  const head = lines.slice(0, Math.max(tableAt, 0));
  let i = tableAt < 0 ? lines.length : tableAt + 2;
  const tableHead = tableAt < 0 ? [] : lines.slice(tableAt, tableAt + 2);
  const rows: string[] = [];
  while (i < lines.length && lines[i].startsWith('|')) rows.push(lines[i++]);
  const between: string[] = [];
  while (i < lines.length && !lines[i].startsWith('### ')) between.push(lines[i++]);
  const sections: string[][] = [];
  for (; i < lines.length; i++) {
    if (lines[i].startsWith('### ')) sections.push([]);
    sections[sections.length - 1].push(lines[i]);
  }
  return { head, tableHead, rows, between, sections };
}

const rowKey = (row: string): string => row.split('|')[1]?.trim() ?? '';
const sectionKey = (section: string[]): string => (section[0] ?? '').split(' — ')[0].trim();

/** `previous` in order, each group of `fresh` items replacing the old items of its key, new keys last. */
function mergeKeyed<T>(previous: T[], fresh: T[], key: (t: T) => string): T[] {
  const freshKeys = new Set(fresh.map(key));
  const out: T[] = [];
  const placed = new Set<string>();
  for (const item of previous) {
    const k = key(item);
    if (!freshKeys.has(k)) out.push(item);
    else if (!placed.has(k)) {
      placed.add(k);
      out.push(...fresh.filter((f) => key(f) === k));
    }
  }
  out.push(...fresh.filter((f) => !placed.has(key(f))));
  return out;
}

/**
 * The summary after a partial run: `fresh` (what this run wrote) merged into `previous`.
 *
 * @example
 * writeFileSync(path, mergeSummary(readFileSync(path, 'utf8'), summary));
 */
export function mergeSummary(previous: string, fresh: string): string {
  const p = parse(previous);
  const f = parse(fresh);
  const rows = mergeKeyed(p.rows, f.rows, rowKey);
  const sections = mergeKeyed(p.sections, f.sections, sectionKey);
  return [
    ...f.head,
    ...(f.tableHead.length > 0 ? f.tableHead : p.tableHead),
    ...rows,
    ...f.between,
    ...sections.flat(),
  ].join('\n');
}
