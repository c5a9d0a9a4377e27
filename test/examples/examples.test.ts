/**
 * The runnable examples run to completion and print what they promise. Each is imported
 * and its `main(print)` called with a collector; one is also spawned as a user would run it
 * (`npx tsx …`) to prove the standalone entry exits 0.
 */
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { main as trainSimCluster } from '../../examples/train-sim-cluster.ts';
import { main as harnessScheduleTest } from '../../examples/harness-schedule-test.ts';
import { main as faultInjection } from '../../examples/fault-injection.ts';

const TIMEOUT = 60_000; // wall ms; each example takes a few seconds
const root = fileURLToPath(new URL('../../', import.meta.url));

async function run(main: (print: (line: string) => void) => Promise<void>): Promise<string[]> {
  const lines: string[] = [];
  await main((line) => lines.push(line));
  return lines;
}

describe('examples', () => {
  it(
    'train-sim-cluster: an own progress() loop on 2 ranks trains every batch',
    async () => {
      const out = await run(trainSimCluster);
      expect(out[0]).toBe('training a 4-table DLRM on 2 simulated ranks: 12 batches of 64');
      expect(out.filter((l) => /^batch +\d+ +loss \d\.\d{4}/.test(l))).toHaveLength(12);
      expect(out.at(-1)).toMatch(/^trained per rank: 12, 12; virtual time \d+\.\d ms$/);
    },
    TIMEOUT,
  );

  it(
    'harness-schedule-test: every check passes and each pipeline kind reaches its bound',
    async () => {
      const out = await run(harnessScheduleTest);
      expect(out.filter((l) => l.startsWith('✓ '))).toHaveLength(5);
      expect(out.find((l) => l.startsWith('✗ (expected to fail)'))).toMatch(
        /expected forward\.start \(batch 5\) before dist\.end \(batch 5\)/,
      );
      for (const kind of ['sparseDist', 'base', 'none'])
        expect(out.find((l) => l.startsWith(`| ${kind} |`))).toMatch(/\| 1\.000 \|$/);
    },
    TIMEOUT,
  );

  it(
    'fault-injection: each scenario ends with the documented outcome',
    async () => {
      const out = (await run(faultInjection)).join('\n');
      expect(out).toMatch(
        /rank 0: \d batch\(es\) trained, stopped at t=\d+ ms — CollectiveTimeoutError: .* rank\(s\) 1 never arrived/,
      );
      expect(out).toMatch(
        /rank 1: \d batch\(es\) trained, stopped at t=\d+ ms — DroppedCollectiveError/,
      );
      expect(out).toContain(
        'DataloaderError: the dataloader threw while fetching batch 4: cannot read shard 4',
      );
      expect(out).toContain(
        'PeerFailedError: rank 1 failed: injected crash (out of memory) at t=30 ms (seen by rank 0)',
      );
      expect(out).toContain(
        'RankCrashedError: rank 1 crashed at t=30 ms (injected fault: out of memory)',
      );
      expect(out).toContain('optimizer steps skipped on rank 0 at batch(es) 2');
      expect(out.match(/rank 2: 6 batch\(es\) trained, drained/g)?.length).toBe(5);
    },
    TIMEOUT,
  );

  it(
    'an example runs standalone (node --import tsx, as `npx tsx` does) and exits 0',
    () => {
      const r = spawnSync(process.execPath, ['--import', 'tsx', 'examples/train-sim-cluster.ts'], {
        cwd: root,
        encoding: 'utf8',
        timeout: TIMEOUT,
      });
      expect(r.status, r.stderr).toBe(0);
      expect(r.stdout).toMatch(/trained per rank: 12, 12; virtual time \d+\.\d ms\n$/);
    },
    TIMEOUT,
  );
});
