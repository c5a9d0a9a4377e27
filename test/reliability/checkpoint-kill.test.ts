/**
 * Kill the checkpoint writer at every step of the write, for real: a child process runs the
 * compiled `writeCheckpoint` (dist/, what `sparsepipe train --checkpoint-out` runs) and
 * sends itself SIGKILL just before step k, for every k of both kinds of write (a first
 * write to an absent DIR, and a write replacing an existing checkpoint). After each kill:
 *
 * - DIR holds exactly the complete old checkpoint (or, for a first write, nothing) before
 *   the switch step, and exactly the complete new one from the switch on — every array
 *   read back equal, every checksum verified by `readCheckpoint`;
 * - the next write succeeds, reads back, and leaves no temporary of the killed writer
 *   (nothing beside DIR, nothing in DIR but the manifest and the new rank files).
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  readCheckpoint,
  writeCheckpoint,
  type CheckpointContents,
  type RankCheckpointState,
} from '../../src/checkpoint/index.ts';

const root = fileURLToPath(new URL('../../', import.meta.url));
const compiled = pathToFileURL(join(root, 'dist/src/checkpoint/checkpoint-dir.js')).href;

function rankState(rank: number, nextBatch: number, seed: number): RankCheckpointState {
  const f32 = (n: number) => Float32Array.from({ length: n }, (_, i) => seed + rank + i / 7);
  return {
    rank,
    pipeline: { calls: nextBatch, windowSize: 0, batchesTrained: nextBatch, nextBatch },
    gradScaler: null,
    dense: {
      params: { 'top.weight': f32(4096), 'top.bias': f32(8) },
      optimizer: {
        kind: 'sgd',
        lr: 0.05,
        hyper: {},
        stepCount: nextBatch,
        slots: {},
        accumulated: {},
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
            rowEnd: 64,
            colStart: 0,
            colEnd: 16,
            weights: f32(1024),
            optimizer: { kind: 'sgd' },
          },
        ],
        featureProcessors: {},
      },
      grads: [],
    },
  };
}

const version = (nextBatch: number, seed: number): CheckpointContents => ({
  resumeKey: { '--ranks': 2 },
  nextBatch,
  ranks: [rankState(0, nextBatch, seed), rankState(1, nextBatch, seed)],
});
const OLD = version(10, 1);
const NEW = version(12, 2);
const NEXT = version(14, 3);

let work: string;
let sourceOfNew: string;
let child: string;
beforeAll(async () => {
  work = mkdtempSync(join(tmpdir(), 'sparsepipe-ckpt-kill-'));
  sourceOfNew = join(work, 'new-source');
  await writeCheckpoint(sourceOfNew, NEW);
  child = join(work, 'writer.mjs');
  writeFileSync(
    child,
    `import { readCheckpoint, writeCheckpoint } from ${JSON.stringify(compiled)};
const [source, dir, killAt] = process.argv.slice(2);
const { manifest, ranks } = await readCheckpoint(source);
let step = 0;
await writeCheckpoint(dir, { resumeKey: manifest.resumeKey, nextBatch: manifest.nextBatch, ranks }, {
  onStep: (name) => {
    if (step++ === Number(killAt)) { process.stdout.write(name); process.kill(process.pid, 'SIGKILL'); }
  },
});
process.stdout.write('finished');
`,
  );
});
afterAll(() => rmSync(work, { recursive: true, force: true }));

async function stepsOf(prepare: (dir: string) => Promise<void>): Promise<string[]> {
  const dir = join(mkdtempSync(join(work, 'steps-')), 'ck');
  await prepare(dir);
  const steps: string[] = [];
  await writeCheckpoint(dir, NEW, { onStep: (s) => void steps.push(s) });
  return steps;
}

const holds = async (dir: string, expected: CheckpointContents) => {
  const { manifest, ranks } = await readCheckpoint(dir);
  expect(manifest.nextBatch).toBe(expected.nextBatch);
  expect(ranks).toEqual(expected.ranks);
};

const MODES = {
  'replacing a checkpoint': {
    prepare: (dir: string) => writeCheckpoint(dir, OLD),
    switchStep: 'replace manifest.json',
    before: OLD as CheckpointContents | null,
  },
  'a first write': {
    prepare: async (_dir: string) => undefined,
    switchStep: 'rename the temporary directory to the checkpoint',
    before: null as CheckpointContents | null,
  },
};

describe('checkpoint writer killed at every step', () => {
  for (const [mode, m] of Object.entries(MODES)) {
    it(`${mode}: old or new at every instant; the next write cleans up`, async () => {
      const steps = await stepsOf(m.prepare);
      expect(steps).toContain(m.switchStep);
      const switchAt = steps.indexOf(m.switchStep);
      const tried: string[] = [];
      for (let k = 0; k < steps.length; k++) {
        const parent = mkdtempSync(join(work, `kill-${k}-`));
        const dir = join(parent, 'ck');
        await m.prepare(dir);
        const r = spawnSync(process.execPath, [child, sourceOfNew, dir, String(k)], {
          encoding: 'utf8',
          timeout: 30_000,
        });
        expect(r.signal, `killed before "${steps[k]}": ${r.stderr}`).toBe('SIGKILL');
        expect(r.stdout).toBe(steps[k]);
        tried.push(r.stdout);
        // What DIR holds right after the kill.
        const expected = k <= switchAt ? m.before : NEW;
        if (expected) await holds(dir, expected);
        else await expect(readCheckpoint(dir)).rejects.toThrow(`checkpoint ${dir}: does not exist`);
        // The next write succeeds and removes what the killed writer left.
        await writeCheckpoint(dir, NEXT);
        await holds(dir, NEXT);
        expect(readdirSync(parent)).toEqual(['ck']);
        expect(
          readdirSync(dir)
            .map((n) => n.replace(/-[0-9a-f]{8}\.bin$/, '.bin'))
            .sort(),
        ).toEqual(['manifest.json', 'rank-0.bin', 'rank-1.bin']);
      }
      expect(tried).toEqual(steps); // every step was tried
      console.log(
        `[checkpoint kill] ${mode}: killed at each of ${steps.length} steps: ${steps.join(' → ')}`,
      );
    }, 120_000);
  }
});
