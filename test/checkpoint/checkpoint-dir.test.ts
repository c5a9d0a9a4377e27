/**
 * The checkpoint directory: a written checkpoint reads back identically; every kind of
 * damage is refused with one line naming the file and problem; writes replace a previous
 * checkpoint atomically and never clobber an unrelated directory.
 */
import { mkdir, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { mkdtemp } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import {
  CheckpointError,
  readCheckpoint,
  writeCheckpoint,
  type RankCheckpointState,
} from '../../src/checkpoint/index.ts';
import { manifestChecksum } from '../../src/checkpoint/checkpoint-integrity.ts';

/** Rank `r`'s data file (its name carries the write's generation). */
async function binOf(dir: string, r: number): Promise<string> {
  const name = (await readdir(dir)).find((n) => n.startsWith(`rank-${r}-`) && n.endsWith('.bin'));
  return join(dir, name!);
}

/** Rewrite a manifest with a valid checksum (to reach the checks behind it). */
async function resign(path: string, manifest: Record<string, unknown>): Promise<void> {
  const { checksum: _, ...rest } = manifest;
  await writeFile(path, JSON.stringify({ ...rest, checksum: manifestChecksum(rest as never) }));
}

function rankState(rank: number): RankCheckpointState {
  return {
    rank,
    pipeline: { calls: 10, windowSize: 2, batchesTrained: 10, nextBatch: 10 },
    gradScaler: null,
    dense: {
      params: { 'top.weight': Float32Array.of(rank, 1.5, -2) },
      optimizer: {
        kind: 'sgd',
        lr: 0.05,
        hyper: {},
        stepCount: 2,
        slots: {},
        accumulated: { 'top.weight': Float32Array.of(0.25, 0, 1e-30) },
      },
    },
    sparse: {
      state: {
        kind: 'sharded-ebc',
        rank,
        plan: { worldSize: 2, tables: {} },
        shards: [
          {
            table: 't0',
            rowStart: 0,
            rowEnd: 2,
            colStart: 0,
            colEnd: 2,
            weights: Float32Array.of(1, 2, 3, 4),
            optimizer: { kind: 'sgd' },
          },
        ],
        featureProcessors: {},
      },
      grads: [
        {
          table: 't0',
          rowStart: 0,
          rowEnd: 2,
          colStart: 0,
          colEnd: 2,
          width: 2,
          rows: Int32Array.of(1),
          values: Float64Array.of(0.1, 1 / 3),
        },
      ],
    },
  };
}

let root: string;
beforeEach(async () => {
  root = await mkdtemp(join(tmpdir(), 'sparsepipe-ckpt-'));
});
afterEach(async () => {
  await rm(root, { recursive: true, force: true });
});

const contents = () => ({
  resumeKey: { '--ranks': 2 },
  nextBatch: 10,
  ranks: [rankState(0), rankState(1)],
});

async function expectRefused(dir: string, message: string): Promise<void> {
  const error = await readCheckpoint(dir).then(
    () => null,
    (e: unknown) => e,
  );
  expect(error).toBeInstanceOf(CheckpointError);
  expect((error as Error).message).toBe(message);
  expect((error as Error).message).not.toContain('\n');
}

describe('checkpoint directory', () => {
  it('reads back exactly what was written', async () => {
    const dir = join(root, 'ck');
    await writeCheckpoint(dir, contents());
    expect((await readdir(dir)).map((n) => n.replace(/-[0-9a-f]{8}\.bin$/, '.bin')).sort()).toEqual(
      ['manifest.json', 'rank-0.bin', 'rank-1.bin'],
    );
    const { manifest, ranks } = await readCheckpoint(dir);
    expect(manifest).toMatchObject({
      format: 'sparsepipe-checkpoint',
      version: 2,
      worldSize: 2,
      nextBatch: 10,
      resumeKey: { '--ranks': 2 },
    });
    expect(ranks).toEqual(contents().ranks);
    expect(ranks[1].sparse.grads[0].values[1]).toBe(1 / 3); // float64 kept exactly
  });

  it('replaces an existing checkpoint atomically and leaves no temporary directory', async () => {
    const dir = join(root, 'ck');
    await writeCheckpoint(dir, contents());
    const at12 = contents().ranks.map((r) => ({
      ...r,
      pipeline: { ...r.pipeline, batchesTrained: 12, nextBatch: 12 },
    }));
    await writeCheckpoint(dir, { ...contents(), nextBatch: 12, ranks: at12 });
    expect((await readCheckpoint(dir)).manifest.nextBatch).toBe(12);
    expect(await readdir(root)).toEqual(['ck']);
    expect((await readdir(dir)).length).toBe(3); // the old generation's files are gone
  });

  it('refuses to replace a directory that is not a checkpoint', async () => {
    const dir = join(root, 'photos');
    await mkdir(dir);
    await writeFile(join(dir, 'cat.jpg'), 'meow');
    await expect(writeCheckpoint(dir, contents())).rejects.toThrow(
      `checkpoint ${dir}: exists, is not empty and holds no manifest.json: refusing to replace it`,
    );
    expect(await readdir(dir)).toEqual(['cat.jpg']);
    expect(await readdir(root)).toEqual(['photos']);
  });

  it('refuses to write non-finite values and writes nothing (a diverged run is not saved)', async () => {
    const dir = join(root, 'ck');
    const ranks = contents().ranks;
    ranks[1].dense.params['top.weight'][2] = Number.POSITIVE_INFINITY;
    await expect(writeCheckpoint(dir, { ...contents(), ranks })).rejects.toThrow(
      `checkpoint ${dir}: not written: ranks[1].dense.params.top.weight[2] is Infinity (a diverged run is not saved)`,
    );
    expect(await readdir(root)).toEqual([]);
    await writeCheckpoint(dir, contents());
    const before = await readdir(dir);
    ranks[1].dense.params['top.weight'][2] = Number.NaN;
    await expect(writeCheckpoint(dir, { ...contents(), ranks })).rejects.toThrow(
      `checkpoint ${dir}: not written: ranks[1].dense.params.top.weight[2] is NaN (a diverged run is not saved)`,
    );
    expect(await readdir(dir)).toEqual(before);
    expect((await readCheckpoint(dir)).ranks).toEqual(contents().ranks);
  });

  it('refuses a missing directory, a missing manifest and bad JSON', async () => {
    await expectRefused(join(root, 'nope'), `checkpoint ${join(root, 'nope')}: does not exist`);
    const dir = join(root, 'ck');
    await mkdir(dir);
    await expectRefused(dir, `checkpoint ${dir}: manifest.json is missing or unreadable`);
    await writeFile(join(dir, 'manifest.json'), '{"format": "sparsepipe-checkpoint", ');
    await expectRefused(
      dir,
      `checkpoint ${dir}: manifest.json is not valid JSON (${jsonError('{"format": "sparsepipe-checkpoint", ')})`,
    );
  });

  it('refuses a corrupt, truncated or missing .bin', async () => {
    const dir = join(root, 'ck');
    await writeCheckpoint(dir, contents());
    const bin = await binOf(dir, 1);
    const name = bin.slice(dir.length + 1);
    const bytes = await readFile(bin);
    bytes[3] ^= 0xff;
    await writeFile(bin, bytes);
    await expectRefused(
      dir,
      `checkpoint ${dir}: ${name} is corrupt: its sha256 does not match the manifest`,
    );
    await writeFile(bin, bytes.subarray(0, 8));
    await expectRefused(
      dir,
      `checkpoint ${dir}: ${name} has 8 bytes, the manifest says ${bytes.length}`,
    );
    await rm(bin);
    await expectRefused(dir, `checkpoint ${dir}: ${name} is missing or unreadable`);
  });

  it('refuses an edited manifest, a position that disagrees with the ranks, another version and a missing field', async () => {
    const dir = join(root, 'ck');
    await writeCheckpoint(dir, contents());
    const path = join(dir, 'manifest.json');
    const manifest = JSON.parse(await readFile(path, 'utf8'));
    await writeFile(path, JSON.stringify({ ...manifest, nextBatch: 4 }));
    await expectRefused(
      dir,
      `checkpoint ${dir}: manifest.json was edited or damaged: its checksum does not match its contents`,
    );
    await resign(path, { ...manifest, nextBatch: 4 });
    await expectRefused(
      dir,
      `checkpoint ${dir}: manifest.json: nextBatch 4 disagrees with ranks[0].pipeline.nextBatch 10`,
    );
    await writeFile(path, JSON.stringify({ ...manifest, version: 1 }));
    await expectRefused(
      dir,
      `checkpoint ${dir}: manifest.json: version 1 is not supported (this sparsepipe reads version 2)`,
    );
    delete manifest.ranks[1].dense.optimizer.accumulated;
    await resign(path, manifest);
    await expectRefused(
      dir,
      `checkpoint ${dir}: manifest.json ranks[1].dense.optimizer.accumulated: missing`,
    );
  });
});

function jsonError(text: string): string {
  try {
    JSON.parse(text);
    return '';
  } catch (e) {
    return (e as Error).message;
  }
}
