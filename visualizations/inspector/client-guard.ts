/**
 * What the inspector servers accept from a client, and how much they hold for it
 * (docs/reliability.md "Inspector and replay servers"):
 *
 * - **Host and Origin** (DNS rebinding): a request is served only when its `Host` header
 *   names this server by a loopback name (`127.0.0.1`, `localhost`, `[::1]`) or by the
 *   address it was bound to, with its port; a WebSocket upgrade carrying an `Origin` must
 *   come from `http://` one of those same hosts. A page of another site whose name was
 *   re-pointed at 127.0.0.1 sends its own name in both, and is refused.
 * - **Bounds**: at most {@link CLIENT_LIMITS}`.maxClients` sockets, frames of at most
 *   `maxFrameBytes`, at most `messagesPerSecond` messages per client (burst `burst`), and
 *   at most `maxBufferedBytes` queued to a client that does not read: past any of these
 *   that client alone is closed, with a logged reason.
 *
 * @example
 * const hosts = allowedHosts('127.0.0.1', 8080);
 * hostAllowed({ host: 'localhost:8080' }, hosts);                      // true
 * hostAllowed({ host: 'evil.example:8080' }, hosts);                   // false
 * originAllowed({ host: '127.0.0.1:8080', origin: 'http://evil.example:8080' }, hosts); // false
 */

/** Per-client bounds of the inspector servers. */
export const CLIENT_LIMITS = {
  /** WebSocket clients served at once. */
  maxClients: 32,
  /** Largest frame a client may send (the page's messages are ~50 bytes). */
  maxFrameBytes: 4096,
  /** Sustained messages per second a client may send. */
  messagesPerSecond: 50,
  /** Messages a client may send at once before the rate applies. */
  burst: 100,
  /** Bytes queued to one client that does not read before it is dropped. */
  maxBufferedBytes: 64 * 1024 * 1024,
} as const;

const LOOPBACK_NAMES = ['127.0.0.1', 'localhost', '[::1]'];

/** The `host:port` values a request to this server may carry in `Host`. */
export function allowedHosts(boundHost: string, port: number): Set<string> {
  const bound = boundHost.includes(':') ? `[${boundHost}]` : boundHost;
  const names = new Set([...LOOPBACK_NAMES, bound.toLowerCase()]);
  return new Set([...names].map((n) => `${n}:${port}`));
}

interface Headers {
  host?: string;
  origin?: string;
}

/** `Host` names this server (see the module doc). */
export function hostAllowed(headers: Headers, hosts: ReadonlySet<string>): boolean {
  return headers.host !== undefined && hosts.has(headers.host.toLowerCase());
}

/** No `Origin` (a non-browser client), or `http://` + an allowed host. */
export function originAllowed(headers: Headers, hosts: ReadonlySet<string>): boolean {
  const origin = headers.origin;
  if (origin === undefined) return true;
  const m = /^http:\/\/([^/]+)$/i.exec(origin);
  return m !== null && hosts.has(m[1].toLowerCase());
}

/**
 * A token bucket: `take()` is false once a client sent more than `burst` messages plus
 * `perSecond` for every second since it connected.
 *
 * @example
 * const bucket = new MessageBudget(50, 100, () => Date.now());
 * if (!bucket.take()) ws.close(1008, 'too many messages');
 */
export class MessageBudget {
  private tokens: number;
  private last: number;

  constructor(
    private readonly perSecond: number,
    private readonly burst: number,
    private readonly now: () => number,
  ) {
    this.tokens = burst;
    this.last = now();
  }

  take(): boolean {
    const t = this.now();
    this.tokens = Math.min(this.burst, this.tokens + ((t - this.last) / 1000) * this.perSecond);
    this.last = t;
    if (this.tokens < 1) return false;
    this.tokens -= 1;
    return true;
  }
}
