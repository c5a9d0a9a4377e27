/**
 * Criteo rows at the edges: a number that overflows is a row error naming file, line and
 * column, skipped and counted by --skip-bad-rows like any other; a UTF-8 byte-order mark at
 * the start of the file is accepted (the first row reads exactly as without it).
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { CriteoParseError, readCriteoTsv } from '../../src/data/criteo-tsv.ts';
import type { Batch } from '../../src/tensors/index.ts';

const dir = mkdtempSync(join(tmpdir(), 'sparsepipe-criteo-rows-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));
const row = (n: number, i1 = String(n)) =>
  [
    String(n % 2),
    i1,
    ...Array(12).fill('3'),
    ...Array.from({ length: 26 }, (_, j) => (n * 26 + j).toString(16)),
  ].join('\t');
const features = [{ key: 'C1', rows: 97 }];

async function read(text: string | Buffer, skipBadRows = false) {
  const path = join(dir, `f${Math.random().toString(16).slice(2)}.tsv`);
  writeFileSync(path, text);
  const reader = readCriteoTsv(path, { batchSize: 2, features, skipBadRows });
  const batches: Batch[] = [];
  for await (const b of reader) batches.push(b);
  return { reader, batches, path };
}

describe('Criteo rows', () => {
  it('an integer past 1.8e308 is a row error naming file, line and column', async () => {
    const error = await read(`${row(0)}\n${row(1, '9'.repeat(320))}\n`).then(
      () => null,
      (e: unknown) => e,
    );
    expect(error).toBeInstanceOf(CriteoParseError);
    expect((error as CriteoParseError).line).toBe(2);
    expect((error as CriteoParseError).field).toBe('I1');
    expect((error as Error).message).toMatch(
      /f[0-9a-f]+\.tsv:2: column I1: "9{40}…" is too large \(overflows\)$/,
    );
  });

  it('--skip-bad-rows skips and counts an overflowing row; the other rows train', async () => {
    const { reader, batches } = await read(
      `${row(0)}\n${row(1, `-${'9'.repeat(320)}`)}\n${row(2)}\n${row(3)}\n`,
      true,
    );
    expect(reader.skippedRows).toBe(1);
    expect(reader.skipped[0].message).toMatch(
      /:2: column I1: "-9{39}…" is too large \(overflows\)$/,
    );
    expect(batches.map((b) => b.batchSize)).toEqual([2, 1]);
    expect(batches.every((b) => b.dense.every(Number.isFinite))).toBe(true);
  });

  it('a UTF-8 byte-order mark is accepted: the rows read exactly as without it', async () => {
    const text = `${row(0)}\n${row(1)}\n`;
    const plain = await read(text);
    const bom = await read(Buffer.concat([Buffer.from([0xef, 0xbb, 0xbf]), Buffer.from(text)]));
    expect(bom.reader.rowsRead).toBe(2);
    expect(bom.batches[0].labels).toEqual(plain.batches[0].labels);
    expect(bom.batches[0].dense).toEqual(plain.batches[0].dense);
    expect(bom.batches[0].sparse.values).toEqual(plain.batches[0].sparse.values);
  });

  it('a byte-order mark anywhere but the start is still an error', async () => {
    const error = await read(`${row(0)}\n\uFEFF${row(1)}\n`).then(
      () => null,
      (e: unknown) => e,
    );
    expect((error as Error).message).toMatch(/:2: column label: "\uFEFF1" is not 0 or 1$/);
  });
});
