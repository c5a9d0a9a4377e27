import { describe, expect, it } from 'vitest';
import { mergeSummary } from '../../bench/lib/summary-merge.ts';

const summary = (machine: string, rows: string[], sections: Array<[string, string]>) =>
  [
    '# sparsepipe benchmarks',
    '',
    machine,
    '',
    '| # | what | target | measured | met |',
    '| --- | --- | --- | --- | --- |',
    ...rows,
    '',
    ...sections.flatMap(([title, body]) => [`### ${title}`, '', body, '']),
  ].join('\n');

describe('mergeSummary (npm run bench -- --only …)', () => {
  const previous = summary(
    'run of 1 Dec',
    [
      '| P1 | a | ≤ 1 | old p1 | ✓ |',
      '| P4 | b | ≥ 1.7 | old p4 | ✗ |',
      '| P5 | c | ≥ 1 | old p5 | ✗ |',
    ],
    [
      ['P1 — sim', 'p1 table, _measured 1 Dec_'],
      ['P4 — threads', 'old p4 table'],
      ['P5 / P5b — PyTorch', 'old p5 table'],
    ],
  );
  const fresh = summary(
    'run of 6 Dec (only p4, p5)',
    [
      '| P4 | b | ≥ 1.7 | new p4 | ✗ |',
      '| P5 | c | ≥ 1 | new p5 | ✓ |',
      '| P5 (2) | d | — | new | — |',
    ],
    [
      ['P4 — threads', 'new p4 table'],
      ['P5 / P5b — PyTorch', 'new p5 table'],
    ],
  );
  const merged = mergeSummary(previous, fresh);

  it('replaces the re-run rows and sections in place and keeps the others', () => {
    const rows = merged.split('\n').filter((l) => /^\| P/.test(l));
    expect(rows).toEqual([
      '| P1 | a | ≤ 1 | old p1 | ✓ |',
      '| P4 | b | ≥ 1.7 | new p4 | ✗ |',
      '| P5 | c | ≥ 1 | new p5 | ✓ |',
      '| P5 (2) | d | — | new | — |',
    ]);
    expect(merged.match(/^### .*/gm)).toEqual([
      '### P1 — sim',
      '### P4 — threads',
      '### P5 / P5b — PyTorch',
    ]);
    expect(merged).toContain('p1 table, _measured 1 Dec_');
    expect(merged).toContain('new p4 table');
    expect(merged).not.toContain('old p4');
    expect(merged).not.toContain('old p5');
  });

  it('takes the machine line of the new run', () => {
    expect(merged).toContain('run of 6 Dec (only p4, p5)');
    expect(merged).not.toContain('run of 1 Dec');
  });

  it('is the fresh summary when nothing was there before', () => {
    expect(mergeSummary('', fresh)).toBe(fresh);
  });
});
