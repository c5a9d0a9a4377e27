/**
 * Helpers of the CLI tests: run `main(argv)` in-process with captured output, temporary
 * directories, and the tiny run every test starts from.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { main } from '../../src/cli/main.ts';
import type { CliIo } from '../../src/cli/cli-io.ts';
import type { TrainSummary } from '../../src/cli/summary.ts';
import { readFile } from 'node:fs/promises';

export interface CliRun {
  code: number;
  out: string[];
  err: string[];
}

export async function runCli(argv: string[]): Promise<CliRun> {
  const out: string[] = [];
  const err: string[] = [];
  const io: CliIo = {
    out: (l) => out.push(l),
    err: (l) => err.push(l),
    errRaw: () => undefined,
    isTTY: false,
  };
  const code = await main(argv, io);
  return { code, out, err };
}

/** A tiny, fast run: 2 ranks, global batch 32, 64 held-out examples. */
export const TINY = ['--ranks', '2', '--batch-size', '32', '--held-out-examples', '64'];

export async function withTmp<T>(fn: (dir: string) => Promise<T>): Promise<T> {
  const dir = await mkdtemp(join(tmpdir(), 'sparsepipe-cli-'));
  try {
    return await fn(dir);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

export async function readSummary(path: string): Promise<TrainSummary> {
  return JSON.parse(await readFile(path, 'utf8')) as TrainSummary;
}

/** Train with `args` (plus --json) and return the summary; fails the test on a non-zero exit. */
export async function trainSummary(
  dir: string,
  name: string,
  args: string[],
): Promise<TrainSummary> {
  const json = join(dir, `${name}.json`);
  const run = await runCli(['train', ...args, '--json', json]);
  if (run.code !== 0)
    throw new Error(`train ${args.join(' ')} exited ${run.code}: ${run.err.join(' | ')}`);
  return readSummary(json);
}
