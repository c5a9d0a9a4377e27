import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import {
  CriteoParseError,
  parseCriteoLine,
  readCriteoTsv,
  type CriteoFeature,
} from '../../src/data/index.ts';
import { Batch, validateBatch } from '../../src/tensors/index.ts';

const dir = mkdtempSync(join(tmpdir(), 'sparsepipe-criteo-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

/** A Criteo line from a label, 13 integer fields and 26 categorical fields (strings; '' = empty). */
function line(label: string, ints: string[], cats: string[]): string {
  const I = [...ints, ...Array(13).fill('')].slice(0, 13);
  const C = [...cats, ...Array(26).fill('')].slice(0, 26);
  return [label, ...I, ...C].join('\t');
}

function write(name: string, lines: string[], eol = '\n'): string {
  const path = join(dir, name);
  writeFileSync(path, lines.join(eol) + eol);
  return path;
}

const features: CriteoFeature[] = [
  { key: 'C1', rows: 1000 },
  { key: 'C3', rows: 7 },
];

const good = [
  line('1', ['5', '', '0', '-3'], ['68fd1e64', 'beef', '']), // C2 is valid but not selected
  line('0', [], ['', '', 'ABCDEF']),
  line('0', ['100'], ['68FD1E64', '', '0a']),
];

async function collect(path: string, opts: Partial<Parameters<typeof readCriteoTsv>[1]> = {}) {
  const reader = readCriteoTsv(path, { batchSize: 2, features, ...opts });
  const batches: Batch[] = [];
  for await (const b of reader) batches.push(b);
  return { reader, batches };
}

describe('Criteo TSV reader', () => {
  it('reads labels, log-transformed integers, empty fields and hashed ids in batches', async () => {
    const { reader, batches } = await collect(write('good.tsv', good));
    expect(batches.map((b) => b.batchSize)).toEqual([2, 1]);
    const all = Batch.concatSamples(batches);
    expect(Array.from(all.labels)).toEqual([1, 0, 0]);
    const row0 = Array.from(all.dense.subarray(0, 13));
    expect(row0[0]).toBeCloseTo(Math.log(6), 6);
    expect(row0[1]).toBe(0); // empty → 0
    expect(row0[2]).toBe(0); // log(1 + 0)
    expect(row0[3]).toBe(0); // negative clamps to 0
    expect(all.dense[13]).toBe(0); // row 1: all empty
    expect(all.dense[26]).toBeCloseTo(Math.log(101), 5);
    // lengths: C1 present in rows 0 and 2; C3 present in rows 1 and 2
    expect(all.sparse.keys).toEqual(['C1', 'C3']);
    expect(Array.from(all.sparse.lengths)).toEqual([1, 0, 1, 0, 1, 1]);
    const [c1a, c1b] = all.sparse.valuesForKey('C1');
    expect(c1a).toBe(c1b); // hashing is case-insensitive and deterministic
    validateBatch(all, { denseDim: 13, keys: ['C1', 'C3'], rowsPerKey: { C1: 1000, C3: 7 } });
    expect(reader.rowsRead).toBe(3);
    expect(reader.skippedRows).toBe(0);
  });

  it('defaults to all 26 categorical features', async () => {
    const path = write('all.tsv', [line('1', [], Array(26).fill('1'))]);
    const { batches } = await collect(path, { features: undefined, rowsPerFeature: 10 });
    expect(batches[0].sparse.keys).toHaveLength(26);
    expect(batches[0].sparse.keys[25]).toBe('C26');
    expect(new Set(batches[0].sparse.values)).toEqual(new Set([batches[0].sparse.values[0]]));
  });

  it('accepts CRLF line ends and ignores blank lines', async () => {
    const path = write('crlf.tsv', [good[1], '', good[2]], '\r\n');
    const { batches } = await collect(path);
    expect(batches.map((b) => b.batchSize)).toEqual([2]);
  });

  it('throws CriteoParseError naming file, line and column', async () => {
    const path = write('bad.tsv', [good[1], good[2], line('0', ['1', '2', '3', '4', 'abc'], [])]);
    const err = await collect(path).then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(err).toBeInstanceOf(CriteoParseError);
    const e = err as CriteoParseError;
    expect(e.message).toBe(`${path}:3: column I5: "abc" is not an integer`);
    expect([e.file, e.line, e.field]).toEqual([path, 3, 'I5']);
  });

  it('names each kind of malformed field', () => {
    const parse = (l: string) => {
      try {
        parseCriteoLine(l, features, 'data.tsv', 17);
      } catch (e) {
        return (e as Error).message;
      }
      return 'parsed';
    };
    expect(parse(line('2', [], []))).toBe('data.tsv:17: column label: "2" is not 0 or 1');
    expect(parse(line('', [], []))).toBe('data.tsv:17: column label: "" is not 0 or 1');
    expect(parse(line('1', ['1.5'], []))).toBe('data.tsv:17: column I1: "1.5" is not an integer');
    expect(parse(line('1', [], ['', '', '', 'xyz']))).toBe(
      'data.tsv:17: column C4: "xyz" is not a hexadecimal id',
    );
    expect(parse(good[1].split('\t').slice(0, 39).join('\t'))).toBe(
      'data.tsv:17: expected 40 tab-separated columns (label, I1-I13, C1-C26), got 39',
    );
    expect(parse(good[1])).toBe('parsed');
  });

  it('with skipBadRows, skips and counts malformed lines', async () => {
    const path = write('skip.tsv', [good[1], 'garbage', good[2], line('1', ['x'], []), good[1]]);
    const { reader, batches } = await collect(path, { skipBadRows: true });
    expect(batches.map((b) => b.batchSize)).toEqual([2, 1]);
    expect(reader.skippedRows).toBe(2);
    expect(reader.rowsRead).toBe(3);
    expect(reader.skipped.map((e) => [e.line, e.field])).toEqual([
      [2, 'columns'],
      [4, 'I1'],
    ]);
  });

  it('dropLast drops the final short batch; an early break closes the file', async () => {
    const path = write('drop.tsv', [good[1], good[2], good[1]]);
    expect((await collect(path, { dropLast: true })).batches.map((b) => b.batchSize)).toEqual([2]);
    const reader = readCriteoTsv(path, { batchSize: 1, features });
    for await (const b of reader) {
      expect(b.batchSize).toBe(1);
      break;
    }
    expect(reader.rowsRead).toBe(1);
  });

  it('rejects unknown features and a missing file clearly', async () => {
    expect(() =>
      readCriteoTsv('x.tsv', { batchSize: 1, features: [{ key: 'C27', rows: 5 }] }),
    ).toThrow('Criteo feature "C27" is not a categorical column (expected C1 … C26)');
    await expect(collect(join(dir, 'missing.tsv'))).rejects.toThrow(/ENOENT.*missing\.tsv/);
  });
});
