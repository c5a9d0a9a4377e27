/**
 * README's TypeScript blocks are complete programs: each is written to a file and run as a
 * user would (`node --import tsx FILE`, i.e. `npx tsx FILE`, from the repository so that
 * `sparsepipe` resolves to this package). A block that stops compiling or running, or that
 * lets tfjs fall back to its `cpu` backend (its "install the node backend" banner), fails.
 */
import { spawnSync } from 'node:child_process';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

const root = fileURLToPath(new URL('../../', import.meta.url));
const readme = readFileSync(join(root, 'README.md'), 'utf8');
const blocks = [...readme.matchAll(/^```(ts|typescript)\n([\s\S]*?)^```$/gm)].map((m) => m[2]);
const dir = join(root, 'test-artifacts', 'readme');

type Run = { status: number | null; stdout: string; stderr: string };
const runs = new Map<number, Run>();

function runBlock(index: number): Run {
  const done = runs.get(index);
  if (done) return done;
  mkdirSync(dir, { recursive: true });
  const file = join(dir, `block-${index}.ts`);
  writeFileSync(file, blocks[index]);
  const r = spawnSync(process.execPath, ['--import', 'tsx', file], {
    cwd: root,
    encoding: 'utf8',
    timeout: 60_000,
  });
  const run = { status: r.status, stdout: r.stdout, stderr: r.stderr };
  runs.set(index, run);
  return run;
}

describe('README code blocks', () => {
  it('has the TypeScript blocks this test knows about', () => {
    // A new block is run by the loop below; this count makes adding one a conscious step.
    expect(blocks).toHaveLength(2);
  });

  it.each(blocks.map((_, i) => i))('block %i runs as written, on wasm, and exits 0', (i) => {
    const r = runBlock(i);
    expect(r.status, `${r.stdout}\n${r.stderr}`).toBe(0);
    expect(`${r.stdout}${r.stderr}`).not.toMatch(/looks like you are running TensorFlow\.js/);
  });

  it('the library block trains every batch in the documented number of steps', () => {
    const i = blocks.findIndex((b) => b.includes('new TrainPipelineSparseDist('));
    const r = runBlock(i);
    expect(r.status, r.stderr).toBe(0);
    const lines = r.stdout.trim().split('\n');
    expect(lines.filter((l) => /^batch \d: loss \d\.\d{4}$/.test(l))).toHaveLength(8);
    expect(lines).toContain('trained 8 batches in 4 optimizer steps');
    expect(lines.at(-1)).toMatch(/^last iteration \d+\.\d{3} ms of simulated time$/);
  });
});
