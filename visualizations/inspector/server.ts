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
 * It binds to 127.0.0.1 unless told otherwise, serves only requests whose `Host` names it
 * and refuses WebSocket upgrades from pages of other origins (so no web site, not even one
 * whose name was re-pointed at 127.0.0.1, can read or drive your training through it). No
 * bytes a client sends can stop the server or the run: a client that sends malformed
 * frames, frames over the size limit, or more messages than the rate limit, or that stops
 * reading, is closed alone and the reason is logged (client-guard.ts, docs/reliability.md).
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
import type { AddressInfo, Socket } from 'node:net';
import type { Duplex } from 'node:stream';
import { fileURLToPath } from 'node:url';
import type { Observable, Subscription } from 'rxjs';
import { WebSocketServer, WebSocket } from 'ws';
import type { AnyStateMachine } from 'xstate';
import type { PipelineEvent } from '../../src/protocol/index.ts';
import { inspectorChartsFor } from '../charts/generate.ts';
import type { PipelineKind } from '../../machines/coordinator-types.ts';
import { machineGraph } from '../charts/machine-graph.ts';
import { renderMachineSvg } from '../charts/render-svg.ts';
import { liveTimelineSvg } from './live-timeline.ts';
import {
  allowedHosts,
  CLIENT_LIMITS,
  hostAllowed,
  MessageBudget,
  originAllowed,
} from './client-guard.ts';
import type { ClientMessage, ControlAction, ServerMessage } from './wire.ts';

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
  /** Without `charts`: also show the coordinator chart of these pipeline kinds. */
  pipelineKinds?: readonly PipelineKind[];
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
  /** Where the reasons clients were refused or closed go (default: stderr). */
  log?: (line: string) => void;
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
    Object.entries(options.charts ?? inspectorChartsFor(options.pipelineKinds ?? [])).map(
      async ([name, machine]) => ({
        name,
        svg: await chartSvg(machine),
      }),
    ),
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

  const log = options.log ?? ((line: string) => void process.stderr.write(`${line}\n`));
  // Filled in once the server listens (the port is part of every allowed Host).
  let hosts = new Set<string>();
  const server = createServer((req, res) => {
    if (!hostAllowed(req.headers, hosts)) {
      log(`inspector: refused ${peer(req.socket)}: foreign Host ${clip(req.headers.host)}`);
      res.writeHead(403, { 'Content-Type': 'text/plain', Connection: 'close' });
      res.end('forbidden: this inspector serves only its own loopback address');
      return;
    }
    serveStatic(req, res, pageHtml, pageJs);
  });
  server.on('clientError', (err, socket) => {
    log(`inspector: closed ${peer(socket)}: malformed HTTP request (${err.message})`);
    if (socket.writable) socket.end('HTTP/1.1 400 Bad Request\r\nConnection: close\r\n\r\n');
    socket.destroy();
  });
  const wss = new WebSocketServer({
    noServer: true,
    maxPayload: CLIENT_LIMITS.maxFrameBytes,
    autoPong: false, // pings are answered below, within the client's message budget
  });
  const refuse = (socket: Duplex, status: string, reason: string): void => {
    log(`inspector: refused ${peer(socket)}: ${reason}`);
    if (socket.writable) socket.write(`HTTP/1.1 ${status}\r\nConnection: close\r\n\r\n`);
    socket.destroy();
  };
  server.on('upgrade', (req, socket, head) => {
    socket.on('error', () => socket.destroy()); // a reset during the handshake ends that socket only
    if (new URL(req.url ?? '/', 'http://x').pathname !== '/ws')
      return refuse(socket, '404 Not Found', `upgrade of ${clip(req.url)}`);
    if (!hostAllowed(req.headers, hosts))
      return refuse(socket, '403 Forbidden', `foreign Host ${clip(req.headers.host)}`);
    if (!originAllowed(req.headers, hosts))
      return refuse(socket, '403 Forbidden', `foreign Origin ${clip(req.headers.origin)}`);
    if (wss.clients.size >= CLIENT_LIMITS.maxClients)
      return refuse(
        socket,
        '503 Service Unavailable',
        `${CLIENT_LIMITS.maxClients} clients already`,
      );
    wss.handleUpgrade(req, socket, head, (ws) => wss.emit('connection', ws, req));
  });

  const dropped = new WeakSet<WebSocket>();
  const drop = (ws: WebSocket, reason: string): void => {
    if (dropped.has(ws)) return; // frames already parsed after the drop are ignored
    dropped.add(ws);
    log(`inspector: closed ${clientNames.get(ws) ?? 'a client'}: ${reason}`);
    ws.terminate();
  };
  const deliver = (ws: WebSocket, text: string): void => {
    if (ws.readyState !== WebSocket.OPEN) return;
    if (ws.bufferedAmount > CLIENT_LIMITS.maxBufferedBytes) {
      drop(ws, `it does not read (over ${CLIENT_LIMITS.maxBufferedBytes} bytes queued)`);
      return;
    }
    ws.send(text);
  };
  const send = (ws: WebSocket, msg: ServerMessage): void => deliver(ws, JSON.stringify(msg));
  const broadcast = (msg: ServerMessage): void => {
    const text = JSON.stringify(msg);
    for (const ws of wss.clients) deliver(ws, text);
  };
  const clientNames = new WeakMap<WebSocket, string>();
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

  wss.on('connection', (ws, req: IncomingMessage) => {
    clientNames.set(ws, `client ${peer(req.socket)}`);
    // Malformed frames (bad opcode, unmasked, bad UTF-8, over maxPayload, …) end up here:
    // that client is closed, nothing else is touched.
    ws.on('error', (e) => drop(ws, `bad WebSocket traffic (${e.message})`));
    const budget = new MessageBudget(CLIENT_LIMITS.messagesPerSecond, CLIENT_LIMITS.burst, () =>
      performance.now(),
    );
    ws.on('ping', (data) => {
      if (dropped.has(ws)) return;
      if (budget.take()) ws.pong(data);
      else drop(ws, `more than ${CLIENT_LIMITS.messagesPerSecond} messages per second`);
    });
    flush();
    send(ws, {
      type: 'init',
      title: options.title ?? 'sparsepipe inspector',
      charts,
      events,
      timeline: timelineSvg,
      ...statusFields(),
    });
    ws.on('message', (data, isBinary) => {
      if (dropped.has(ws)) return;
      if (!budget.take()) {
        drop(ws, `more than ${CLIENT_LIMITS.messagesPerSecond} messages per second`);
        return;
      }
      const msg = isBinary ? undefined : parseClientMessage(String(data));
      if (msg === undefined || typeof msg === 'string') {
        send(ws, {
          type: 'error',
          message: isBinary
            ? 'inspector: a message from the page was binary, not JSON text'
            : (msg ?? 'inspector: a message from the page was not JSON'),
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
  hosts = allowedHosts(host, port);
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

const ACTIONS: readonly ControlAction[] = ['pause', 'resume', 'step'];

/** A control message, or the error text for anything else (undefined: not JSON). */
function parseClientMessage(text: string): ClientMessage | string | undefined {
  let msg: unknown;
  try {
    msg = JSON.parse(text);
  } catch {
    return undefined;
  }
  if (typeof msg === 'object' && msg !== null && 'type' in msg && msg.type === 'control') {
    const action = 'action' in msg ? ACTIONS.find((a) => a === msg.action) : undefined;
    if (action) return { type: 'control', action };
  }
  return `inspector: unknown message ${text.slice(0, 80)}`;
}

function peer(socket: Duplex | Socket): string {
  return 'remoteAddress' in socket && socket.remoteAddress
    ? `${socket.remoteAddress}:${socket.remotePort}`
    : 'a client';
}

/** A header value as shown in a log line (quoted, at most 80 characters). */
function clip(value: string | undefined): string {
  return value === undefined ? '(none)' : JSON.stringify(value.slice(0, 80));
}

function escapeHtml(text: string): string {
  return text
    .replace(/&/g, '&amp;')
    .replace(/</g, '&lt;')
    .replace(/>/g, '&gt;')
    .replace(/"/g, '&quot;');
}
