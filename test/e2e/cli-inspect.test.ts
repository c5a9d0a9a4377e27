/**
 * `sparsepipe train --inspect` in a real browser (Debian `chromium` driven by
 * playwright-core), through the installed command: a 2-rank sim run of 40 batches started
 * with `--inspect 0 --inspect-wait` waits paused for the page; its charts render with their
 * state nodes; after resume the coordinator's highlighted state changes as batches progress;
 * pause holds the batch counter; step advances it by exactly one; resume runs to the end
 * (the page shows "finished" and all 40 batches); Ctrl-C (SIGINT) then ends the command
 * with exit code 0 and its summary written. Saves a screenshot to
 * test-artifacts/inspector-cli.png.
 *
 * Skipped (with a message) when /usr/bin/chromium is absent: `apt-get install -y chromium`.
 */
import { spawn, spawnSync, type ChildProcessWithoutNullStreams } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Browser, Page } from 'playwright-core';
import { parseTrainArgs, type TrainOptions } from '../../src/cli/train-options.ts';
import { chromiumAvailable, chromiumLaunchOptions } from './chromium.ts';

const hasChromium = chromiumAvailable('cli-inspect e2e');
const root = fileURLToPath(new URL('../../', import.meta.url));
const bin = join(root, 'bin/sparsepipe.js');
const ARTIFACT = resolve(root, 'test-artifacts/inspector-cli.png');
// Enough batches that the run is still going when the page pauses it (a batch takes ~20 ms here).
const BATCHES = 400;

const counter = async (page: Page) => Number(await page.textContent('#batch-counter'));
const coordinatorState = (page: Page) =>
  page.$eval(
    'svg[data-machine="coordinator"]',
    (svg) => svg.querySelector('.state.active')?.getAttribute('data-state') ?? null,
  );
// Generous bound: under a loaded CI machine the page can lag the run by many seconds.
const untilCoordinatorPaused = (page: Page) =>
  page.waitForFunction(
    () =>
      document
        .querySelector('svg[data-machine="coordinator"] .state.active')
        ?.getAttribute('data-state') === 'paused',
    undefined,
    {
      timeout: 90_000,
    },
  );

/** The child's stderr so far, and a promise of the first match of `pattern` in it. */
function watchStderr(child: ChildProcessWithoutNullStreams) {
  let text = '';
  const waiters: Array<{ pattern: RegExp; resolve: (m: RegExpExecArray) => void }> = [];
  child.stderr.setEncoding('utf8').on('data', (chunk: string) => {
    text += chunk;
    for (const w of [...waiters]) {
      const m = w.pattern.exec(text);
      if (m) {
        waiters.splice(waiters.indexOf(w), 1);
        w.resolve(m);
      }
    }
  });
  return {
    text: () => text,
    match: (pattern: RegExp) =>
      new Promise<RegExpExecArray>((resolve, reject) => {
        const m = pattern.exec(text);
        if (m) return resolve(m);
        waiters.push({ pattern, resolve });
        child.once('close', (code) =>
          reject(
            new Error(`sparsepipe exited (${code}) before printing ${pattern}; stderr: ${text}`),
          ),
        );
      }),
  };
}

describe.skipIf(!hasChromium)('sparsepipe train --inspect in chromium', () => {
  let dir: string;
  let child: ChildProcessWithoutNullStreams;
  let stderr: ReturnType<typeof watchStderr>;
  let stdout = '';
  let exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  let browser: Browser;
  let page: Page;
  let url: string;

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'sparsepipe-cli-inspect-'));
    const args = [
      'train',
      '--inspect',
      '0',
      '--inspect-wait',
      '--ranks',
      '2',
      '--batches',
      String(BATCHES),
      '--batch-size',
      '64',
    ];
    child = spawn(
      process.execPath,
      [bin, ...args, '--held-out-examples', '0', '--json', join(dir, 'run.json')],
      { cwd: root, detached: true },
    );
    child.stdout.setEncoding('utf8').on('data', (c: string) => (stdout += c));
    stderr = watchStderr(child);
    exited = new Promise((resolve) =>
      child.once('close', (code, signal) => resolve({ code, signal })),
    );
    url = (await stderr.match(/^sparsepipe: inspector at (http:\/\/127\.0\.0\.1:\d+\/)$/m))[1];
    const { chromium } = await import('playwright-core');
    browser = await chromium.launch(chromiumLaunchOptions());
    page = await browser.newPage({ viewport: { width: 1500, height: 1000 } });
    page.on('pageerror', (e) => console.log(`[inspector page error] ${e.message}`));
    await page.goto(url);
  }, 30_000);

  afterAll(async () => {
    await browser?.close();
    if (child && child.exitCode === null && child.signalCode === null)
      process.kill(-child.pid!, 'SIGKILL');
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  it('prints the inspector URL, waits paused for the page, and renders the charts with their state nodes', async () => {
    expect(stderr.text()).toContain(
      'sparsepipe: the run starts paused: press resume or step in the inspector page',
    );
    await page.waitForSelector(
      'svg[data-machine="coordinator"] .state[data-state="progressing.forward"]',
    );
    const counts = Object.fromEntries(
      await page.$$eval('.chart', (charts) =>
        charts.map((c) => [
          (c as HTMLElement).dataset.chart,
          c.querySelectorAll('svg .state[data-state]').length,
        ]),
      ),
    );
    expect(Object.keys(counts).sort()).toEqual(['coordinator', 'shardedModule', 'stage']);
    for (const [chart, n] of Object.entries(counts))
      expect(n, `state nodes of the ${chart} chart`).toBeGreaterThan(2);
    await page.waitForFunction(() => document.querySelector('#status')?.textContent === 'paused');
    await untilCoordinatorPaused(page);
    await page.waitForTimeout(500);
    expect(await counter(page)).toBe(0);
  });

  it('after resume the highlighted coordinator state changes as batches progress', async () => {
    await page.evaluate(() => {
      const seen: string[] = [];
      (window as unknown as { seenStates: string[] }).seenStates = seen;
      const svg = document.querySelector('svg[data-machine="coordinator"]')!;
      new MutationObserver(() => {
        const s = svg.querySelector('.state.active')?.getAttribute('data-state');
        if (s && seen.at(-1) !== s) seen.push(s);
      }).observe(svg, { subtree: true, attributes: true, attributeFilter: ['class'] });
    });
    await page.click('#resume');
    await page.waitForFunction(
      () => Number(document.querySelector('#batch-counter')?.textContent) >= 3,
    );
    await page.click('#pause');
    const seen = await page.evaluate(
      () => (window as unknown as { seenStates: string[] }).seenStates,
    );
    const progressing = new Set(seen.filter((s) => s.startsWith('progressing.')));
    expect(progressing.size, `states seen: ${seen.join(' → ')}`).toBeGreaterThanOrEqual(2);
  });

  it('pause stops progress; step advances exactly one batch', { timeout: 240_000 }, async () => {
    await untilCoordinatorPaused(page);
    await page.waitForFunction(() => document.querySelector('#status')?.textContent === 'paused');
    const held = await counter(page);
    expect(held).toBeLessThan(BATCHES);
    await page.waitForTimeout(1500);
    expect(await counter(page)).toBe(held);
    expect(await coordinatorState(page)).toBe('paused');

    await page.click('#step');
    await page.waitForFunction(
      (n) => Number(document.querySelector('#batch-counter')?.textContent) >= n,
      held + 1,
      { timeout: 90_000 },
    );
    await untilCoordinatorPaused(page);
    await page.waitForTimeout(700);
    expect(await counter(page)).toBe(held + 1);

    mkdirSync(resolve(root, 'test-artifacts'), { recursive: true });
    await page.waitForSelector('#timeline-wrap svg .span');
    await page.screenshot({ path: ARTIFACT, fullPage: true });
    console.log(`[cli-inspect e2e] screenshot: ${ARTIFACT}`);
  });

  it('resume runs to the end; the page stays until Ctrl-C, then the command exits 0 with its summary', async () => {
    await page.click('#resume');
    await page.waitForFunction(
      () => document.querySelector('#status')?.textContent === 'finished',
      undefined,
      { timeout: 90_000 },
    );
    expect(await counter(page)).toBe(BATCHES);
    await stderr.match(/the inspector keeps serving .* until Ctrl-C/);
    expect(child.exitCode).toBeNull(); // still serving the page
    child.kill('SIGINT');
    expect(await exited).toEqual({ code: 0, signal: null });
    expect(stdout).toContain(
      'sparsepipe train: dlrm (small) on synthetic data, 2 ranks (sim backend, sim device), pipeline sparse-dist',
    );
    const summary = JSON.parse(readFileSync(join(dir, 'run.json'), 'utf8')) as {
      batchesTrained: number;
      losses: number[];
    };
    expect(summary.batchesTrained).toBe(BATCHES);
    expect(summary.losses).toHaveLength(BATCHES);
  }, 120_000);
});

describe('--inspect-wait', () => {
  it('implies --inspect on any free port and is off by default', () => {
    expect(parseTrainArgs(['--inspect-wait'])).toMatchObject({ inspect: 0, inspectWait: true });
    expect(parseTrainArgs(['--inspect', '8123', '--inspect-wait'])).toMatchObject({
      inspect: 8123,
      inspectWait: true,
    });
    expect((parseTrainArgs([]) as TrainOptions).inspectWait).toBe(false);
  });

  it('needs --backend sim: exit 2 with one line otherwise', () => {
    const r = spawnSync(
      process.execPath,
      [bin, 'train', '--inspect-wait', '--backend', 'threads'],
      { cwd: root, encoding: 'utf8', timeout: 20_000 },
    );
    expect(r.status).toBe(2);
    expect(r.stdout).toBe('');
    expect(r.stderr).toBe(
      'sparsepipe: --inspect-wait needs --backend sim (the inspector follows in-process ranks; --backend threads runs them elsewhere)\n',
    );
  });
});
