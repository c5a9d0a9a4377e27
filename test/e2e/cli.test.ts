/**
 * The installed command: `node bin/sparsepipe.js` (what `npx sparsepipe` runs) trains and
 * writes its summary, and reports bad input with exit code 2 and one stderr line.
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

const root = fileURLToPath(new URL('../../', import.meta.url));
const bin = join(root, 'bin/sparsepipe.js');

function sparsepipe(args: string[]) {
  return spawnSync(process.execPath, [bin, ...args], {
    cwd: root,
    encoding: 'utf8',
    timeout: 120_000,
  });
}

describe('bin/sparsepipe.js', () => {
  it('train --batches 4 exits 0, prints the report and writes the JSON summary', () => {
    const dir = mkdtempSync(join(tmpdir(), 'sparsepipe-e2e-'));
    try {
      const json = join(dir, 'run.json');
      const r = sparsepipe([
        'train',
        '--batches',
        '4',
        '--ranks',
        '2',
        '--batch-size',
        '32',
        '--held-out-examples',
        '64',
        '--json',
        json,
      ]);
      expect(r.stderr).toBe('');
      expect(r.status).toBe(0);
      expect(r.stdout).toContain(
        'sparsepipe train: dlrm (small) on synthetic data, 2 ranks (sim backend, sim device), pipeline sparse-dist',
      );
      const summary = JSON.parse(readFileSync(json, 'utf8'));
      expect(summary.batchesTrained).toBe(4);
      expect(summary.losses).toHaveLength(4);
      expect(summary.paramsDigest).toMatch(/^[0-9a-f]{64}$/);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('a bad flag exits 2 with one line on stderr', () => {
    const r = sparsepipe(['train', '--grad-accum', '0']);
    expect(r.status).toBe(2);
    expect(r.stdout).toBe('');
    expect(r.stderr).toBe('sparsepipe: --grad-accum must be an integer in [1, 65536], got "0"\n');
  });
});
