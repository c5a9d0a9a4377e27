/**
 * Run a child process with a time limit and collect its output (benches that must not be
 * hung by a step that cannot be interrupted, or that run another runtime).
 *
 * @example
 * const r = await runChild('/usr/bin/python3', ['bench/p5_pytorch.py'], { timeoutMs: 60_000 });
 * if (r.timedOut) console.log('killed after 60 s');
 */
import { spawn } from 'node:child_process';

export interface ChildResult {
  code: number | null;
  stdout: string;
  stderr: string;
  timedOut: boolean;
  wallMs: number;
}

export function runChild(
  cmd: string,
  args: readonly string[],
  o: { timeoutMs: number; cwd?: string; env?: NodeJS.ProcessEnv },
): Promise<ChildResult> {
  return new Promise((resolve) => {
    const t0 = performance.now();
    const child = spawn(cmd, args, {
      cwd: o.cwd,
      env: o.env ?? process.env,
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    let timedOut = false;
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    const timer = setTimeout(() => {
      timedOut = true;
      child.kill('SIGKILL');
    }, o.timeoutMs);
    child.on('close', (code) => {
      clearTimeout(timer);
      resolve({ code, stdout, stderr, timedOut, wallMs: performance.now() - t0 });
    });
    child.on('error', (e) => {
      clearTimeout(timer);
      resolve({
        code: -1,
        stdout,
        stderr: stderr + String(e),
        timedOut,
        wallMs: performance.now() - t0,
      });
    });
  });
}

/** The last line of `text` that parses as JSON, or undefined. */
export function lastJsonLine<T>(text: string): T | undefined {
  const lines = text.trim().split('\n').reverse();
  for (const l of lines) {
    try {
      return JSON.parse(l) as T;
    } catch {
      // not JSON
    }
  }
  return undefined;
}
