/**
 * Inspector traffic (cases in `inspector-traffic.cases.ts`): every malformed frame, foreign
 * Host or Origin, oversized frame and flood gets its exact answer and log line, closes at
 * most the client that sent it, and leaves the server serving a good client whose controls
 * still work (and that the bad traffic never triggered).
 */
import { Subject } from 'rxjs';
import { afterEach, describe, expect, it } from 'vitest';
import { WebSocket } from 'ws';
import type { PipelineEvent } from '../../src/protocol/index.ts';
import { stageMachine } from '../../machines/stage.ts';
import { startInspector, type InspectorHandle } from '../../visualizations/inspector/server.ts';
import type { ServerMessage } from '../../visualizations/inspector/wire.ts';
import { FRAME_CASES, REQUEST_CASES } from './inspector-traffic.cases.ts';
import { rawHttp, rawUpgrade } from './raw-websocket.ts';

const open: InspectorHandle[] = [];
afterEach(async () => {
  await Promise.all(open.splice(0).map((i) => i.close()));
});

async function server() {
  const logs: string[] = [];
  const calls: string[] = [];
  const i = await startInspector({
    charts: { stage: stageMachine },
    feed: new Subject<PipelineEvent>(),
    controls: {
      pause: () => calls.push('pause'),
      resume: () => calls.push('resume'),
      step: () => calls.push('step'),
    },
    log: (line) => logs.push(line),
  });
  open.push(i);
  const normalize = () =>
    logs.map((l) =>
      l.replace(/127\.0\.0\.1:\d+/g, '127.0.0.1:PORT').replaceAll(String(i.port), 'PORT'),
    );
  return { i, logs: normalize, calls };
}

/** A good page still gets its init and its step is acknowledged. */
async function stillServes(url: string): Promise<void> {
  const ws = new WebSocket(`${url.replace('http', 'ws')}ws`, { origin: url.replace(/\/$/, '') });
  const inbox: ServerMessage[] = [];
  await new Promise<void>((resolve, reject) => {
    ws.on('message', (d) => {
      inbox.push(JSON.parse(String(d)) as ServerMessage);
      if (inbox.some((m) => m.type === 'init') && inbox.length === 1)
        ws.send(JSON.stringify({ type: 'control', action: 'step' }));
      if (inbox.some((m) => m.type === 'ack')) resolve();
    });
    ws.once('error', reject);
  });
  ws.close();
}

const until = async (cond: () => boolean, ms = 5_000) => {
  const end = Date.now() + ms;
  while (!cond() && Date.now() < end) await new Promise((r) => setTimeout(r, 10));
};

describe('inspector traffic: frames after a good upgrade', () => {
  it.each(FRAME_CASES)('$id: $title', async (c) => {
    const s = await server();
    const client = await rawUpgrade(s.i.port);
    expect(client.status).toBe('HTTP/1.1 101 Switching Protocols');
    await until(() => client.messages().length >= 1); // init
    for (const b of c.bytes) client.socket.write(b);
    let closed = false;
    void client.closed.then(() => (closed = true));
    const errors = () =>
      client
        .messages()
        .map((m) => JSON.parse(m) as ServerMessage)
        .filter((m) => m.type === 'error')
        .map((m) => (m as { message: string }).message);
    if (c.closed) await until(() => closed);
    else await until(() => errors().length >= (c.replies?.length ?? 0));
    if (!c.closed) await new Promise((r) => setTimeout(r, 100));
    expect(closed, JSON.stringify(s.logs())).toBe(c.closed);
    const replies = c.replies ?? [];
    expect(errors().slice(0, replies.length)).toEqual(replies);
    expect(errors().length - replies.length).toBeLessThanOrEqual(c.refill ?? 0);
    expect(new Set(errors().slice(replies.length))).toEqual(
      new Set(replies.slice(0, errors().length - replies.length ? 1 : 0)),
    );
    if (c.log === null) expect(s.logs()).toEqual([]);
    else {
      await until(() => s.logs().length > 0);
      expect(s.logs()).toEqual([c.log]);
    }
    client.socket.destroy();
    await stillServes(s.i.url);
    expect(s.calls).toEqual(['step']); // only the good page's step
  });
});

describe('inspector traffic: HTTP requests and upgrades', () => {
  it.each(REQUEST_CASES)('$id: $title', async (c) => {
    const s = await server();
    const answer = await rawHttp(s.i.port, c.request.replaceAll('PORT', String(s.i.port)));
    expect(answer.split('\r\n')[0]).toBe(c.status);
    if (c.log === null) expect(s.logs()).toEqual([]);
    else expect(s.logs()).toEqual([c.log]);
    await stillServes(s.i.url);
    expect(s.calls).toEqual(['step']);
  });

  it('max-clients: the 33rd client is refused with 503, the others keep being served', async () => {
    const s = await server();
    const clients = await Promise.all(Array.from({ length: 32 }, () => rawUpgrade(s.i.port)));
    expect(new Set(clients.map((c) => c.status))).toEqual(
      new Set(['HTTP/1.1 101 Switching Protocols']),
    );
    const extra = await rawUpgrade(s.i.port);
    expect(extra.status).toBe('HTTP/1.1 503 Service Unavailable');
    expect(s.logs()).toEqual(['inspector: refused 127.0.0.1:PORT: 32 clients already']);
    clients[0].socket.destroy();
    await clients[0].closed;
    await until(() => false, 100);
    await stillServes(s.i.url);
    for (const c of clients) c.socket.destroy();
  });
});
