/**
 * The inspector fuzz, end to end through the installed command: every case of
 * `inspector-traffic.cases.ts` (malformed frames of every kind, foreign Host and Origin,
 * huge frames, floods) is sent to a live `sparsepipe train --inspect-wait` run while it
 * waits paused, and again while it trains, by bad clients alongside the good one that
 * resumes it. The run must finish every batch, exit 0, write its summary with the same
 * parameter digest as the same run without the inspector, and print nothing but its own
 * lines and the inspector's one-line reasons (no stack trace). `sparsepipe inspect FILE`
 * (the replay server) gets the same traffic and must keep serving, then exit 0 on Ctrl-C.
 */
import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';
import { WebSocket } from 'ws';
import { scriptedRun } from '../visualizations/scripted-run.ts';
import { FRAME_CASES, REQUEST_CASES } from './inspector-traffic.cases.ts';
import { rawHttp, rawUpgrade } from './raw-websocket.ts';

const root = fileURLToPath(new URL('../../', import.meta.url));
const bin = join(root, 'bin/sparsepipe.js');
const dir = mkdtempSync(join(tmpdir(), 'sparsepipe-fuzz-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));
const RUN = ['--ranks', '2', '--batches', '40', '--batch-size', '64', '--held-out-examples', '0'];

function start(args: string[]) {
  const child = spawn(process.execPath, [bin, ...args], { cwd: root });
  let err = '';
  let out = '';
  child.stderr.setEncoding('utf8').on('data', (d: string) => (err += d));
  child.stdout.setEncoding('utf8').on('data', (d: string) => (out += d));
  const exited = new Promise<number | null>((r) => child.once('close', (code) => r(code)));
  const waitFor = async (pattern: RegExp) => {
    while (!pattern.test(err + out)) {
      if (child.exitCode !== null) throw new Error(`exited ${child.exitCode}: ${err}`);
      await new Promise((r) => setTimeout(r, 20));
    }
    return pattern.exec(err + out)!;
  };
  return { child, stderr: () => err, stdout: () => out, exited, waitFor };
}

/** Sends every case to the server on `port`; returns how many frames and requests went out. */
async function fuzz(port: number): Promise<{ frames: number; requests: number }> {
  let frames = 0;
  let requests = 0;
  for (const c of FRAME_CASES) {
    const client = await rawUpgrade(port);
    for (const b of c.bytes) client.socket.write(b);
    frames += c.id === 'flood' ? 1000 : c.id === 'ping-flood' ? 5000 : c.bytes.length;
    await Promise.race([client.closed, new Promise((r) => setTimeout(r, 10))]);
    client.socket.destroy();
  }
  for (const c of REQUEST_CASES) {
    await rawHttp(port, c.request.replaceAll('PORT', String(port)), 20);
    requests++;
  }
  // A foreign page tries to resume the paused run: refused before any frame is read.
  const rebinding = await rawUpgrade(port, {
    Host: `evil.example:${port}`,
    Origin: `http://evil.example:${port}`,
  });
  expect(rebinding.status).toBe('HTTP/1.1 403 Forbidden');
  return { frames, requests };
}

function goodClient(url: string) {
  const ws = new WebSocket(`${url.replace('http', 'ws')}ws`, { origin: url.replace(/\/$/, '') });
  let batches = 0;
  ws.on('message', (d) => {
    const m = JSON.parse(String(d)) as {
      type: string;
      events?: Array<{ type: string; rank: number }>;
    };
    if (m.type === 'init' || m.type === 'events')
      batches += (m.events ?? []).filter((e) => e.type === 'forward.end' && e.rank === 0).length;
  });
  const opened = new Promise<void>((r) => ws.once('open', () => r()));
  return {
    ws,
    opened,
    batches: () => batches,
    send: (a: string) => ws.send(JSON.stringify({ type: 'control', action: a })),
  };
}

const allowedLine = /^(sparsepipe: .*|sparsepipe train: .*|inspector: (refused|closed) .*)$/;

describe('inspector fuzz against a live training run', () => {
  it('every kind of bad traffic while paused and while training: the run finishes with the same digest', async () => {
    const base = start(['train', ...RUN, '--json', join(dir, 'base.json')]); // runs alongside

    const run = start([
      'train',
      '--inspect',
      '0',
      '--inspect-wait',
      ...RUN,
      '--json',
      join(dir, 'run.json'),
    ]);
    const url = (await run.waitFor(/inspector at (http:\/\/127\.0\.0\.1:\d+\/)/))[1];
    const port = Number(new URL(url).port);
    const page = goodClient(url);
    await page.opened;

    const paused = await fuzz(port);
    await new Promise((r) => setTimeout(r, 200));
    expect(page.batches(), 'no batch trained while paused, whatever the bad clients sent').toBe(0);
    page.send('resume');
    const training = await fuzz(port); // while the run trains
    const trainedDuringFuzz = page.batches();
    await run.waitFor(/the inspector keeps serving .* until Ctrl-C/);
    expect(page.batches()).toBe(40);
    run.child.kill('SIGINT');
    expect(await run.exited).toBe(0);
    expect(await base.exited).toBe(0);

    const a = JSON.parse(readFileSync(join(dir, 'base.json'), 'utf8')) as {
      paramsDigest: string;
      batchesTrained: number;
    };
    const b = JSON.parse(readFileSync(join(dir, 'run.json'), 'utf8')) as {
      paramsDigest: string;
      batchesTrained: number;
    };
    expect(b.batchesTrained).toBe(40);
    expect(b.paramsDigest).toBe(a.paramsDigest);
    const lines = run.stderr().trim().split('\n');
    for (const line of lines) expect(line).toMatch(allowedLine);
    expect(lines.filter((l) => l.startsWith('inspector: ')).length).toBeGreaterThanOrEqual(60);
    console.log(
      `[inspector fuzz] ${paused.frames + training.frames} frames and ${paused.requests + training.requests} requests sent ` +
        `(${paused.frames} while paused, ${training.frames} while training, ${trainedDuringFuzz} batches trained meanwhile); ` +
        `${b.batchesTrained} batches trained in all; ` +
        `paramsDigest ${b.paramsDigest} = run without inspector`,
    );
  }, 120_000);
});

describe('inspector fuzz against the replay server', () => {
  it('sparsepipe inspect FILE keeps serving through every case and exits 0 on Ctrl-C', async () => {
    const file = join(dir, 'events.json');
    writeFileSync(file, JSON.stringify(scriptedRun({ ranks: 2, batches: 3 })));
    const replay = start(['inspect', file, '--port', '0']);
    const url = (await replay.waitFor(/^inspector: (http:\/\/127\.0\.0\.1:\d+\/)/m))[1];
    await fuzz(Number(new URL(url).port));
    const res = await fetch(url);
    expect(res.status).toBe(200);
    replay.child.kill('SIGINT');
    expect(await replay.exited).toBe(0);
    for (const line of replay.stderr().trim().split('\n')) expect(line).toMatch(allowedLine);
  }, 60_000);
});
