/**
 * The live state-chart inspector: a local HTTP + WebSocket server (node:http + `ws`) that
 * serves one self-contained page (`page.html` + `page.js`, nothing fetched from outside)
 * showing every actor of every rank on its machine's chart, an event log with filters,
 * the timeline as the run goes, a batch counter, and pause / step / resume buttons.
 *
 * ```
 * feed (events of all ranks) ─→ server: log + batching ─ws→ page: highlight states, log, counter
 *                                         └─ timeline SVG (throttled) ─ws→ page
 * page buttons ─ws→ controls.pause() / step() / resume()
 * ```
 *
 * It binds to 127.0.0.1 unless told otherwise and refuses WebSocket upgrades from pages of
 * other origins (so no web site can drive your training through it).
 *
 * @example
 * const inspector = await startInspector({
 *   host: '127.0.0.1', port: 0,
 *   feed: merge(...pipelines.map((p) => p.events$)),
 *   controls: { pause: () => pipelines.forEach((p) => p.pause()), resume: …, step: … },
 * });
 * console.log(`inspector at ${inspector.url}`);
 * await inspector.close();
 */
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import { readFileSync } from 'node:fs';
import type { AddressInfo } from 'node:net';
import { fileURLToPath } from 'node:url';
import type { Observable, Subscription } from 'rxjs';
import { WebSocketServer, WebSocket } from 'ws';
import type { AnyStateMachine } from 'xstate';
import type { PipelineEvent } from '../../src/protocol/index.ts';
import { CHART_MACHINES } from '../charts/generate.ts';
import { machineGraph } from '../charts/machine-graph.ts';
import { renderMachineSvg } from '../charts/render-svg.ts';
import { liveTimelineSvg } from './live-timeline.ts';
import type { ClientMessage, ServerMessage } from './wire.ts';

/** What the page's buttons do. */
export interface InspectorControls {
  pause(): void;
  resume(): void;
  step(): void;
}

export interface InspectorOptions {
  /** 0 (default) picks any free port. */
  port?: number;
  /** Default `127.0.0.1`. */
  host?: string;
  /** Machines to chart, by chart name (default: coordinator, stage, shardedModule). */
  charts?: Readonly<Record<string, AnyStateMachine>>;
  /** Events of all ranks, merged (e.g. `merge(...pipelines.map((p) => p.events$))`). */
  feed?: Observable<PipelineEvent>;
  /** Without controls the buttons are disabled (replays). */
  controls?: InspectorControls;
  /** Events that happened before the feed (a replay, or a late start). */
  recorded?: readonly PipelineEvent[];
  /** Shown in the page header. */
  title?: string;
  /** Iterations the timeline shows (default 16). */
  timelineIterations?: number;
  /** Start with the run paused (shown in the page; does not call `controls.pause`). */
  paused?: boolean;
}

export interface InspectorHandle {
  /** `http://host:port/`. */
  url: string;
  port: number;
  /** Every event received so far (recorded first). */
  readonly events: readonly PipelineEvent[];
  /** Add events by hand (e.g. from an `inspectorObserver`). */
  push(...events: PipelineEvent[]): void;
  /** Stops the feed subscription, disconnects pages, closes the server. */
  close(): Promise<void>;
}

/** Charts rendered once per machine per process (layout takes a moment). */
const chartCache = new WeakMap<AnyStateMachine, Promise<string>>();
function chartSvg(machine: AnyStateMachine): Promise<string> {
  let svg = chartCache.get(machine);
  if (!svg) {
    svg = renderMachineSvg(machineGraph(machine));
    chartCache.set(machine, svg);
  }
  return svg;
}

const PAGE_DIR = fileURLToPath(new URL('./', import.meta.url));
const FLUSH_MS = 40;
const TIMELINE_MS = 300;

/**
 * Starts the inspector; resolves once it listens.
 *
 * @example
 * const { url, close } = await startInspector({ host: '127.0.0.1', feed: pipeline.events$, controls: pipeline });
 */
export async function startInspector(options: InspectorOptions = {}): Promise<InspectorHandle> {
  const host = options.host ?? '127.0.0.1';
  const charts = await Promise.all(
    Object.entries(options.charts ?? CHART_MACHINES).map(async ([name, machine]) => ({
      name,
      svg: await chartSvg(machine),
    })),
  );
  const pageHtml = readFileSync(`${PAGE_DIR}page.html`, 'utf8').replace(
    '{{TITLE}}',
    escapeHtml(options.title ?? 'sparsepipe inspector'),
  );
  const pageJs = readFileSync(`${PAGE_DIR}page.js`, 'utf8');
  const events: PipelineEvent[] = [...(options.recorded ?? [])];
  let pending: PipelineEvent[] = [];
  let paused = options.paused ?? false;
  let done = false;
  let flushTimer: NodeJS.Timeout | null = null;
  let timelineTimer: NodeJS.Timeout | null = null;
  let timelineDirty = false;
  let timelineSvg = liveTimelineSvg(events, { iterations: options.timelineIterations });

  const server = createServer((req, res) => serveStatic(req, res, pageHtml, pageJs));
  const wss = new WebSocketServer({ noServer: true });
  server.on('upgrade', (req, socket, head) => {
    if (new URL(req.url ?? '/', 'http://x').pathname !== '/ws' || !sameOrigin(req)) {
      socket.write('HTTP/1.1 403 Forbidden\r\nConnection: close\r\n\r\n');
      socket.destroy();
      return;
    }
    wss.handleUpgrade(req, socket, head, (ws) => wss.emit('connection', ws, req));
  });

  const send = (ws: WebSocket, msg: ServerMessage): void => {
    if (ws.readyState === WebSocket.OPEN) ws.send(JSON.stringify(msg));
  };
  const broadcast = (msg: ServerMessage): void => {
    const text = JSON.stringify(msg);
    for (const ws of wss.clients) if (ws.readyState === WebSocket.OPEN) ws.send(text);
  };
  const statusFields = () => ({ paused, done, controls: options.controls !== undefined });
  const status = (): ServerMessage => ({ type: 'status', ...statusFields() });

  const flush = (): void => {
    flushTimer = null;
    if (pending.length === 0) return;
    const batch = pending;
    pending = [];
    broadcast({ type: 'events', events: batch });
  };
  const renderTimeline = (): void => {
    timelineTimer = null;
    if (!timelineDirty) return;
    timelineDirty = false;
    timelineSvg = liveTimelineSvg(events, { iterations: options.timelineIterations });
    broadcast({ type: 'timeline', svg: timelineSvg });
  };
  const push = (...incoming: PipelineEvent[]): void => {
    for (const e of incoming) {
      events.push(e);
      pending.push(e);
      if (e.type !== 'actor.state') timelineDirty = true;
    }
    flushTimer ??= setTimeout(flush, FLUSH_MS);
    if (timelineDirty) timelineTimer ??= setTimeout(renderTimeline, TIMELINE_MS);
  };

  wss.on('connection', (ws) => {
    flush();
    send(ws, {
      type: 'init',
      title: options.title ?? 'sparsepipe inspector',
      charts,
      events,
      timeline: timelineSvg,
      ...statusFields(),
    });
    ws.on('message', (data) => {
      let msg: ClientMessage;
      try {
        msg = JSON.parse(String(data)) as ClientMessage;
      } catch {
        send(ws, { type: 'error', message: 'inspector: a message from the page was not JSON' });
        return;
      }
      if (msg.type !== 'control' || !['pause', 'resume', 'step'].includes(msg.action)) {
        send(ws, {
          type: 'error',
          message: `inspector: unknown message ${JSON.stringify(msg).slice(0, 80)}`,
        });
        return;
      }
      if (!options.controls) {
        send(ws, {
          type: 'error',
          message: `inspector: '${msg.action}' is not available (no controls: this is a replay)`,
        });
        return;
      }
      try {
        options.controls[msg.action]();
      } catch (e) {
        send(ws, {
          type: 'error',
          message: `inspector: ${msg.action} failed: ${e instanceof Error ? e.message : String(e)}`,
        });
        return;
      }
      if (msg.action === 'pause') paused = true;
      if (msg.action === 'resume') paused = false;
      send(ws, { type: 'ack', action: msg.action });
      broadcast(status());
    });
  });

  let subscription: Subscription | undefined;
  if (options.feed) {
    subscription = options.feed.subscribe({
      next: (e) => push(e),
      error: (e: unknown) => {
        done = true;
        flush();
        broadcast({
          type: 'error',
          message: `inspector: the event feed failed: ${e instanceof Error ? e.message : String(e)}`,
        });
        broadcast(status());
      },
      complete: () => {
        done = true;
        flush();
        broadcast(status());
      },
    });
  } else {
    done = true;
  }

  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port ?? 0, host, () => {
      server.off('error', reject);
      resolve();
    });
  });
  const port = (server.address() as AddressInfo).port;
  const urlHost = host.includes(':') ? `[${host}]` : host;

  return {
    url: `http://${urlHost}:${port}/`,
    port,
    events,
    push,
    async close() {
      subscription?.unsubscribe();
      if (flushTimer) clearTimeout(flushTimer);
      if (timelineTimer) clearTimeout(timelineTimer);
      for (const ws of wss.clients) ws.terminate();
      await new Promise<void>((resolve) => wss.close(() => resolve()));
      server.closeAllConnections();
      await new Promise<void>((resolve, reject) =>
        server.close((err) => (err ? reject(err) : resolve())),
      );
    },
  };
}

function serveStatic(req: IncomingMessage, res: ServerResponse, html: string, js: string): void {
  const path = new URL(req.url ?? '/', 'http://x').pathname;
  const headers = {
    'Cache-Control': 'no-store',
    'X-Content-Type-Options': 'nosniff',
    'Content-Security-Policy':
      "default-src 'none'; script-src 'self'; style-src 'self' 'unsafe-inline'; img-src 'self' data:; connect-src 'self'",
  };
  if (req.method !== 'GET') {
    res.writeHead(405, headers).end('method not allowed');
  } else if (path === '/' || path === '/index.html') {
    res.writeHead(200, { ...headers, 'Content-Type': 'text/html; charset=utf-8' }).end(html);
  } else if (path === '/favicon.ico') {
    res.writeHead(204, headers).end();
  } else if (path === '/page.js') {
    res.writeHead(200, { ...headers, 'Content-Type': 'text/javascript; charset=utf-8' }).end(js);
  } else {
    res.writeHead(404, { ...headers, 'Content-Type': 'text/plain' }).end(`not found: ${path}`);
  }
}

/** A WebSocket upgrade is accepted from our own page (or a non-browser client). */
function sameOrigin(req: IncomingMessage): boolean {
  const origin = req.headers.origin;
  if (origin === undefined) return true;
  try {
    return new URL(origin).host === req.headers.host;
  } catch {
    return false;
  }
}

function escapeHtml(text: string): string {
  return text
    .replace(/&/g, '&amp;')
    .replace(/</g, '&lt;')
    .replace(/>/g, '&gt;')
    .replace(/"/g, '&quot;');
}
