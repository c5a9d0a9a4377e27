/**
 * The inspector in a real browser (Debian `chromium` driven by playwright-core) on a live
 * sim run of two ranks: charts render with their state nodes, the coordinator's highlighted
 * state follows the run, pause holds the batch counter, step advances it by exactly one,
 * and a replay of the recorded events ends in the same picture as the live page.
 * Saves a screenshot to test-artifacts/inspector.png.
 *
 * Skipped (with a message) when /usr/bin/chromium is absent: `apt-get install -y chromium`.
 */
import { mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Browser, Page } from 'playwright-core';
import { INSPECTOR_CHARTS } from '../../visualizations/charts/generate.ts';
import { allStatePaths, machineGraph } from '../../visualizations/charts/machine-graph.ts';
import { startInspector, type InspectorHandle } from '../../visualizations/inspector/server.ts';
import { replayInspector } from '../../visualizations/inspector/replay.ts';
import { liveSimRun, type LiveSimRun } from '../visualizations/live-sim-run.ts';
import { chromiumAvailable, chromiumLaunchOptions } from './chromium.ts';

const ARTIFACT = resolve('test-artifacts/inspector.png');
const hasChromium = chromiumAvailable('inspector e2e');

/** What the page shows, for comparing a live page with a replay. */
async function picture(page: Page): Promise<Record<string, unknown>> {
  const perRank: Record<string, unknown> = {};
  const ranks = await page.$$eval('#rank option', (os) =>
    os.map((o) => (o as HTMLOptionElement).value),
  );
  for (const r of ranks) {
    await page.selectOption('#rank', r);
    perRank[r] = await page.$$eval('.chart', (charts) =>
      charts.map((c) => ({
        chart: (c as HTMLElement).dataset.chart,
        active: [...c.querySelectorAll('.state.active')].map((s) => s.getAttribute('data-state')),
        actors: c.querySelector('.actors')?.textContent,
      })),
    );
  }
  await page.selectOption('#rank', '0');
  return {
    counter: await page.textContent('#batch-counter'),
    logCount: await page.textContent('#log-count'),
    perRank,
  };
}

const activeCoordinatorState = (page: Page) =>
  page.$eval(
    'svg[data-machine="coordinator"]',
    (svg) => svg.querySelector('.state.active')?.getAttribute('data-state') ?? null,
  );

const counter = async (page: Page) => Number(await page.textContent('#batch-counter'));

describe.skipIf(!hasChromium)('inspector in chromium on a live 2-rank sim run', () => {
  let browser: Browser;
  let page: Page;
  let run: LiveSimRun;
  let inspector: InspectorHandle;

  beforeAll(async () => {
    const { chromium } = await import('playwright-core');
    run = await liveSimRun({ worldSize: 2 });
    run.controls.pause(); // the run starts paused: the page is up before the first batch
    inspector = await startInspector({
      host: '127.0.0.1',
      port: 0,
      feed: run.feed,
      controls: run.controls,
      paused: true,
      title: 'sparsepipe e2e',
    });
    run.start();
    browser = await chromium.launch(chromiumLaunchOptions());
    page = await browser.newPage({ viewport: { width: 1500, height: 1000 } });
    page.on('pageerror', (e) => console.log(`[inspector page error] ${e.message}`));
    await page.goto(inspector.url);
  });

  afterAll(async () => {
    await browser?.close();
    await inspector?.close();
  });

  it('renders one chart per actor kind, each with its state nodes', async () => {
    await page.waitForSelector(
      'svg[data-machine="coordinator"] .state[data-state="progressing.forward"]',
    );
    const counts = await page.$$eval('.chart', (charts) =>
      charts.map((c) => [
        (c as HTMLElement).dataset.chart,
        c.querySelectorAll('svg .state[data-state]').length,
      ]),
    );
    const expected = Object.fromEntries(
      Object.entries(INSPECTOR_CHARTS).map(([name, machine]) => [
        name,
        allStatePaths(machineGraph(machine)).length,
      ]),
    );
    expect(Object.fromEntries(counts)).toEqual(expected);
    await page.waitForFunction(() => document.querySelector('#status')?.textContent === 'paused');
    await page.waitForFunction(
      () =>
        document
          .querySelector('svg[data-machine="coordinator"] .state.active')
          ?.getAttribute('data-state') === 'paused',
    );
    expect(await counter(page)).toBe(0);
  });

  it('highlights the coordinator state live as batches progress', async () => {
    await page.evaluate(() => {
      const seen = new Set<string>();
      (window as unknown as { seenStates: Set<string> }).seenStates = seen;
      const svg = document.querySelector('svg[data-machine="coordinator"]')!;
      new MutationObserver(() => {
        const s = svg.querySelector('.state.active')?.getAttribute('data-state');
        if (s) seen.add(s);
      }).observe(svg, { subtree: true, attributes: true, attributeFilter: ['class'] });
    });
    await page.click('#resume');
    await page.waitForFunction(
      () => Number(document.querySelector('#batch-counter')?.textContent) >= 3,
    );
    const seen = await page.evaluate(() => [
      ...(window as unknown as { seenStates: Set<string> }).seenStates,
    ]);
    expect(
      seen.filter((s) => s.startsWith('progressing.')).length,
      `states seen: ${seen.join(', ')}`,
    ).toBeGreaterThanOrEqual(2);
    expect(await page.textContent('#status')).toBe('running');
  });

  it('pause stops progress; step advances exactly one batch', { timeout: 240_000 }, async () => {
    await page.click('#pause');
    // generous bound: under a loaded CI machine the page can lag the run by many seconds
    await page.waitForFunction(
      () =>
        document
          .querySelector('svg[data-machine="coordinator"] .state.active')
          ?.getAttribute('data-state') === 'paused',
      undefined,
      { timeout: 90_000 },
    );
    const held = await counter(page);
    await page.waitForTimeout(1000);
    expect(await counter(page)).toBe(held);
    expect(await activeCoordinatorState(page)).toBe('paused');

    await page.click('#step');
    // ≥ rather than === so a counter that overshoots fails on the exact check below with the
    // numbers, instead of timing out here
    await page.waitForFunction(
      (n) => Number(document.querySelector('#batch-counter')?.textContent) >= n,
      held + 1,
      { timeout: 60_000 },
    );
    await page.waitForFunction(
      () =>
        document
          .querySelector('svg[data-machine="coordinator"] .state.active')
          ?.getAttribute('data-state') === 'paused',
    );
    await page.waitForTimeout(700);
    expect(await counter(page)).toBe(held + 1);
    expect(inspector.events.filter((e) => e.type === 'forward.end' && e.rank === 0)).toHaveLength(
      held + 1,
    );

    mkdirSync('test-artifacts', { recursive: true });
    await page.waitForSelector('#timeline-wrap svg .span');
    await page.screenshot({ path: ARTIFACT, fullPage: true });
    console.log(`[inspector e2e] screenshot: ${ARTIFACT}`);
  });

  it('a replay of the recorded events ends in the same picture as the live page', async () => {
    const trained = await run.stop();
    expect(trained[0]).toBe(trained[1]);
    await page.waitForFunction(() => document.querySelector('#status')?.textContent === 'finished');
    await page.waitForFunction(
      (n) => Number(document.querySelector('#batch-counter')?.textContent) === n,
      trained[0],
    );
    await page.waitForTimeout(100);
    const live = await picture(page);

    const file = join(mkdtempSync(join(tmpdir(), 'sparsepipe-inspector-')), 'run.json');
    writeFileSync(file, JSON.stringify(inspector.events));
    const replay = await replayInspector(file);
    try {
      const page2 = await browser.newPage({ viewport: { width: 1500, height: 1000 } });
      await page2.goto(replay.url);
      await page2.waitForFunction(
        (n) => Number(document.querySelector('#batch-counter')?.textContent) === n,
        trained[0],
      );
      await page2.waitForTimeout(100);
      expect(await picture(page2)).toEqual(live);
      expect(await page2.isDisabled('#pause')).toBe(true);
      await page2.close();
    } finally {
      await replay.close();
    }
  });
});
