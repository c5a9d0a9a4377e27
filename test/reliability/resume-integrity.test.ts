/**
 * `--resume` against damaged or mismatched checkpoints, through the command: each refusal
 * is exit 1 with exactly one line naming what is wrong, the checkpoint directory is left
 * byte for byte as it was, and no summary is written. The data file is identified by its
 * contents: changed at the same path it is refused, moved to another path it resumes and
 * the result equals the uninterrupted run.
 */
import { createHash } from 'node:crypto';
import {
  cpSync,
  existsSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { manifestChecksum } from '../../src/checkpoint/checkpoint-integrity.ts';
import type { CheckpointManifest } from '../../src/checkpoint/manifest.ts';
import { runCli, trainSummary } from '../cli/run-cli.ts';

const work = mkdtempSync(join(tmpdir(), 'sparsepipe-resume-integrity-'));
afterAll(() => rmSync(work, { recursive: true, force: true }));
const row = (n: number) =>
  [
    String(n % 3 === 0 ? 1 : 0),
    ...Array.from({ length: 13 }, (_, j) => String((n * 7 + j) % 11)),
    ...Array.from({ length: 26 }, (_, j) => ((n * 31 + j * 17) % 4096).toString(16)),
  ].join('\t');
const TSV = `${Array.from({ length: 64 }, (_, n) => row(n)).join('\n')}\n`;
const RUN = ['--ranks', '1', '--batch-size', '4', '--held-out-examples', '0'];
const data = join(work, 'day.tsv');
const ck = join(work, 'ck');
let full: { paramsDigest: string };

beforeAll(async () => {
  writeFileSync(data, TSV);
  await trainSummary(work, 'first', [
    ...RUN,
    '--data',
    data,
    '--batches',
    '4',
    '--checkpoint-out',
    ck,
  ]);
  full = await trainSummary(work, 'full', [...RUN, '--data', data, '--batches', '8']);
}, 120_000);

const files = (dir: string) =>
  Object.fromEntries(
    readdirSync(dir).map((n) => [
      n,
      createHash('sha256')
        .update(readFileSync(join(dir, n)))
        .digest('hex'),
    ]),
  );

/** A copy of the checkpoint, damaged by `damage`. */
function damaged(
  name: string,
  damage: (dir: string, manifest: CheckpointManifest) => void,
): string {
  const dir = join(work, name);
  cpSync(ck, dir, { recursive: true });
  const manifest = JSON.parse(
    readFileSync(join(dir, 'manifest.json'), 'utf8'),
  ) as CheckpointManifest;
  damage(dir, manifest);
  return dir;
}
const writeSigned = (dir: string, m: CheckpointManifest) => {
  const { checksum: _, ...rest } = m;
  writeFileSync(
    join(dir, 'manifest.json'),
    JSON.stringify({ ...rest, checksum: manifestChecksum(rest) }),
  );
};

async function refused(dir: string, line: string | RegExp, dataPath = data) {
  const before = files(dir);
  const json = join(work, `${dir.split('/').pop()}-summary.json`);
  const run = await runCli([
    'train',
    ...RUN,
    '--data',
    dataPath,
    '--batches',
    '8',
    '--resume',
    dir,
    '--json',
    json,
  ]);
  expect(run.code).toBe(1);
  expect(run.err).toHaveLength(1);
  if (typeof line === 'string') expect(run.err[0]).toBe(line.replaceAll('{ck}', dir));
  else expect(run.err[0]).toMatch(line);
  expect(run.out).toEqual([]);
  expect(existsSync(json)).toBe(false);
  expect(files(dir)).toEqual(before);
}

describe('--resume refuses damaged or mismatched checkpoints, changing nothing', () => {
  it('an edited manifest (position moved back, so batches would train twice)', async () => {
    const dir = damaged('edited', (d, m) =>
      writeFileSync(join(d, 'manifest.json'), JSON.stringify({ ...m, nextBatch: 2 })),
    );
    await refused(
      dir,
      'sparsepipe: --resume {ck}: manifest.json was edited or damaged: its checksum does not match its contents',
    );
  });

  it('an edited and re-signed manifest whose position disagrees with the rank states', async () => {
    const dir = damaged('resigned', (d, m) => writeSigned(d, { ...m, nextBatch: 2 }));
    await refused(
      dir,
      'sparsepipe: --resume {ck}: manifest.json: nextBatch 2 disagrees with ranks[0].pipeline.nextBatch 4',
    );
  });

  it('a truncated manifest', async () => {
    const dir = damaged('truncated', (d) =>
      writeFileSync(
        join(d, 'manifest.json'),
        readFileSync(join(d, 'manifest.json'), 'utf8').slice(0, 100),
      ),
    );
    await refused(dir, /^sparsepipe: --resume \S+: manifest\.json is not valid JSON \(.+\)$/);
  });

  it('a NaN parameter (rank file and manifest consistently rewritten)', async () => {
    const dir = damaged('nan', (d, m) => {
      const rank = m.ranks[0] as {
        dense: { params: Record<string, { $array: { file: string; offset: number } }> };
      };
      const [name, ref] = Object.entries(rank.dense.params)[0];
      const bin = readFileSync(join(d, ref.$array.file));
      bin.writeFloatLE(Number.NaN, ref.$array.offset + 4 * 3);
      writeFileSync(join(d, ref.$array.file), bin);
      m.files[ref.$array.file] = {
        bytes: bin.length,
        sha256: createHash('sha256').update(bin).digest('hex'),
      };
      writeSigned(d, m);
      expect(name).toBe('bottom.layers.0.weight');
    });
    await refused(
      dir,
      'sparsepipe: --resume {ck}: ranks[0].dense.params.bottom.layers.0.weight[3] is NaN: refusing to resume from non-finite values',
    );
  });

  it('a rank file deleted', async () => {
    const dir = damaged('missing-bin', (d, m) => rmSync(join(d, Object.keys(m.files)[0])));
    await refused(
      dir,
      /^sparsepipe: --resume \S+: rank-0-[0-9a-f]{8}\.bin is missing or unreadable$/,
    );
  });

  it('the data file changed at the same path', async () => {
    const changed = join(work, 'changed.tsv');
    writeFileSync(changed, TSV.replace('\t3\t', '\t4\t'));
    const dir = damaged('data-changed', (d, m) => {
      writeSigned(d, m);
    });
    await refused(
      dir,
      /^sparsepipe: --resume \S+: options differ from the checkpoint's: --data contents\.sha256 is "[0-9a-f]{64}", the checkpoint has "[0-9a-f]{64}"$/,
      changed,
    );
  });
});

describe('--resume accepts the same data at another path', () => {
  it('the file moved: resumes and equals the uninterrupted run', async () => {
    const moved = join(work, 'moved', 'renamed.tsv');
    cpSync(data, moved);
    const dir = join(work, 'ck-moved');
    cpSync(ck, dir, { recursive: true });
    const resumed = await trainSummary(work, 'resumed', [
      ...RUN,
      '--data',
      moved,
      '--batches',
      '8',
      '--resume',
      dir,
    ]);
    expect(resumed.paramsDigest).toBe(full.paramsDigest);
  }, 60_000);
});
