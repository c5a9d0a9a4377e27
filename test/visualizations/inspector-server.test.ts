import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Subject } from 'rxjs';
import { afterEach, describe, expect, it } from 'vitest';
import { WebSocket } from 'ws';
import { createActor } from 'xstate';
import { effect } from '../../actors/effect.ts';
import type { PipelineEvent } from '../../src/protocol/index.ts';
import { stageMachine, type StageJobInput } from '../../machines/stage.ts';
import { startInspector, type InspectorHandle } from '../../visualizations/inspector/server.ts';
import { inspectorObserver } from '../../visualizations/inspector/inspector-observer.ts';
import { loadRecordedRun, runInspectCommand } from '../../visualizations/inspector/replay.ts';
import type { ServerMessage } from '../../visualizations/inspector/wire.ts';
import { scriptedRun } from './scripted-run.ts';

const open: InspectorHandle[] = [];
afterEach(async () => {
  await Promise.all(open.splice(0).map((i) => i.close()));
});

async function start(options: Parameters<typeof startInspector>[0]): Promise<InspectorHandle> {
  const i = await startInspector({ charts: { stage: stageMachine }, ...options });
  open.push(i);
  return i;
}

/** A WebSocket client that queues messages and lets a test wait for one of a kind. */
async function connect(url: string, origin?: string) {
  const ws = new WebSocket(`${url.replace('http', 'ws')}ws`, origin ? { origin } : {});
  const inbox: ServerMessage[] = [];
  const waiters: Array<() => void> = [];
  ws.on('message', (data) => {
    inbox.push(JSON.parse(String(data)) as ServerMessage);
    waiters.splice(0).forEach((w) => w());
  });
  await new Promise<void>((resolve, reject) => {
    ws.once('open', () => resolve());
    ws.once('error', reject);
  });
  const next = async <T extends ServerMessage['type']>(
    type: T,
    where: (m: Extract<ServerMessage, { type: T }>) => boolean = () => true,
  ) => {
    for (;;) {
      const i = inbox.findIndex(
        (m) => m.type === type && where(m as Extract<ServerMessage, { type: T }>),
      );
      if (i >= 0) return inbox.splice(i, 1)[0] as Extract<ServerMessage, { type: T }>;
      await new Promise<void>((r) => waiters.push(r));
    }
  };
  return { ws, next, send: (msg: unknown) => ws.send(JSON.stringify(msg)) };
}

describe('startInspector', () => {
  it('serves a self-contained page: no external resources, a strict CSP, binds to 127.0.0.1', async () => {
    const i = await start({});
    expect(i.url).toMatch(/^http:\/\/127\.0\.0\.1:\d+\/$/);
    const html = await fetch(i.url);
    expect(html.headers.get('content-security-policy')).toContain("default-src 'none'");
    const text = await html.text();
    expect(text).toContain('id="batch-counter"');
    for (const id of ['pause', 'step', 'resume']) expect(text).toContain(`id="${id}"`);
    const js = await (await fetch(`${i.url}page.js`)).text();
    const external = /https?:\/\/(?!www\.w3\.org\/2000\/svg)/;
    expect(text).not.toMatch(external);
    expect(js).not.toMatch(external);
    expect(text).not.toMatch(/<link|@import|src="http/);
    expect((await fetch(`${i.url}nope`)).status).toBe(404);
  });

  it('sends charts, recorded events and the timeline on connect, then batches of live events', async () => {
    const feed = new Subject<PipelineEvent>();
    const recorded = scriptedRun({ ranks: 1, batches: 1 });
    const i = await start({ feed, recorded });
    const c = await connect(i.url);
    const init = await c.next('init');
    expect(init.charts.map((ch) => ch.name)).toEqual(['stage']);
    expect(init.charts[0].svg).toContain('data-state="busy"');
    expect(init.events).toEqual(recorded);
    expect(init.timeline).toContain('class="span"');
    expect(init).toMatchObject({ controls: false, paused: false, done: false });

    const more = scriptedRun({ ranks: 2, batches: 2 }).filter((e) => e.rank === 1);
    more.forEach((e) => feed.next(e));
    const received: PipelineEvent[] = [];
    while (received.length < more.length) received.push(...(await c.next('events')).events);
    expect(received).toEqual(more);
    const timeline = await c.next('timeline');
    expect(timeline.svg).toContain('>rank 1</text>');
    feed.complete();
    expect(await c.next('status', (m) => m.done)).toMatchObject({ done: true });
    c.ws.close();
  });

  it('runs pause / step / resume on the controls and tells every page', async () => {
    const calls: string[] = [];
    const i = await start({
      feed: new Subject(),
      controls: {
        pause: () => calls.push('pause'),
        resume: () => calls.push('resume'),
        step: () => calls.push('step'),
      },
    });
    const a = await connect(i.url);
    const b = await connect(i.url);
    await a.next('init');
    await b.next('init');
    a.send({ type: 'control', action: 'pause' });
    expect(await a.next('ack')).toEqual({ type: 'ack', action: 'pause' });
    expect(await b.next('status', (m) => m.paused)).toMatchObject({ paused: true, controls: true });
    a.send({ type: 'control', action: 'step' });
    await a.next('ack', (m) => m.action === 'step');
    a.send({ type: 'control', action: 'resume' });
    expect(await b.next('status', (m) => !m.paused)).toMatchObject({ paused: false });
    a.send({ type: 'control', action: 'explode' });
    expect((await a.next('error')).message).toContain('unknown message');
    expect(calls).toEqual(['pause', 'step', 'resume']);
    a.ws.close();
    b.ws.close();
  });

  it('refuses control without controls (replay) and WebSocket upgrades from other origins', async () => {
    const i = await start({ recorded: [] });
    const c = await connect(i.url, i.url.replace(/\/$/, ''));
    expect(await c.next('init')).toMatchObject({ controls: false, done: true });
    c.send({ type: 'control', action: 'step' });
    expect((await c.next('error')).message).toContain('no controls');
    c.ws.close();
    await expect(connect(i.url, 'http://evil.example')).rejects.toThrow(/403/);
  });
});

describe('inspectorObserver', () => {
  it('turns machine snapshots into actor.state events named like the pipeline', async () => {
    let release!: () => void;
    const gate = new Promise<void>((r) => (release = r));
    const observer = inspectorObserver({ clock: { now: () => 42 } });
    const got: PipelineEvent[] = [];
    observer.events$.subscribe((e) => got.push(e));
    const actor = createActor(
      stageMachine.provide({
        actions: {
          awaitInput: effect('awaitInput', async (_: StageJobInput) => undefined),
          work: effect('work', (_: StageJobInput) => gate),
        },
      }),
      { input: { rank: 3, stage: 'copy' }, inspect: observer },
    ).start();
    actor.send({ type: 'SUBMIT', job: { batch: 0 } });
    await new Promise((r) => setTimeout(r, 0));
    release();
    await new Promise((r) => setTimeout(r, 0));
    expect(
      got.map((e) =>
        e.type === 'actor.state' ? `${e.rank} ${e.actor} ${e.from}->${e.to} @${e.t}` : e.type,
      ),
    ).toEqual([
      '3 copyStage ->idle @42',
      '3 copyStage idle->awaitingBatch @42',
      '3 copyStage awaitingBatch->busy @42',
      '3 copyStage busy->idle @42',
    ]);
    actor.stop();
  });
});

describe('replay', () => {
  const dir = mkdtempSync(join(tmpdir(), 'sparsepipe-replay-'));
  const write = (name: string, text: string) => {
    const f = join(dir, name);
    writeFileSync(f, text);
    return f;
  };

  it('loads a recorded run and names what is wrong where', () => {
    const good = write('good.json', JSON.stringify(scriptedRun({ ranks: 1, batches: 1 })));
    expect(loadRecordedRun(good)).toEqual(JSON.parse(readFileSync(good, 'utf8')));
    expect(() => loadRecordedRun(join(dir, 'missing.json'))).toThrow(/missing\.json: cannot read/);
    expect(() => loadRecordedRun(write('bad.json', '{'))).toThrow(/bad\.json: not JSON/);
    expect(() => loadRecordedRun(write('obj.json', '{}'))).toThrow(/expected a JSON array/);
    expect(() =>
      loadRecordedRun(write('rank.json', '[{"type":"copy.start","rank":-1,"t":0}]')),
    ).toThrow(/event 0 \(copy\.start\): field 'rank'/);
    expect(() =>
      loadRecordedRun(write('state.json', '[{"type":"actor.state","rank":0,"t":0,"to":"x"}]')),
    ).toThrow(/event 0 \(actor\.state\): fields 'actor' and 'to'/);
  });

  it('sparsepipe inspect FILE serves the replay until stopped; bad input exits non-zero with one clear line', async () => {
    const good = write('run.json', JSON.stringify(scriptedRun({ ranks: 1, batches: 2 })));
    const lines: string[] = [];
    const errors: string[] = [];
    const io = { log: (l: string) => lines.push(l), error: (l: string) => errors.push(l) };
    let stop!: () => void;
    const stopped = new Promise<void>((r) => (stop = r));
    const done = runInspectCommand([good, '--port', '0'], { ...io, untilStopped: stopped });
    while (lines.length === 0) await new Promise((r) => setTimeout(r, 10));
    const url = /http:\/\/\S+/.exec(lines[0])![0];
    expect((await fetch(url)).status).toBe(200);
    stop();
    expect(await done).toBe(0);
    expect(await runInspectCommand([], io)).toBe(2);
    expect(await runInspectCommand([good, '--port', 'x'], io)).toBe(2);
    expect(await runInspectCommand([join(dir, 'nope.json')], io)).toBe(1);
    expect(errors[errors.length - 1]).toMatch(/nope\.json: cannot read/);
  });
});
