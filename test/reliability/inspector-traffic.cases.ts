/**
 * Inspector traffic for the reliability suite: what a client may send to the live
 * inspector or the replay server (`inspector-traffic.test.ts` runs each case against a
 * fresh server, then checks that the server still serves a good client and, for the
 * training run, that the run finished with the same parameters).
 *
 * Each case says what the client sends and what it must get: the HTTP status line of the
 * answer (for requests and upgrades), whether the server closes that client, the error
 * reply (for a message the server answers), and the exact line the server logs (with the
 * client's port written `PORT`).
 */
import { frame, text, type FrameSpec } from './raw-websocket.ts';

export interface FrameCase {
  kind: 'frames';
  id: string;
  title: string;
  /** Bytes written after a good upgrade. */
  bytes: Buffer[];
  /** The server closes this client. */
  closed: boolean;
  /** The error replies the server sends (in order), if it answers. */
  replies?: string[];
  /** The rate budget refills while a flood is read: up to this many more replies may follow. */
  refill?: number;
  /** The log line (client port as PORT), or null when nothing is logged. */
  log: string | null;
}

export interface RequestCase {
  kind: 'request';
  id: string;
  title: string;
  /** Raw HTTP request (PORT replaced by the server's port). */
  request: string;
  /** The answer's status line. */
  status: string;
  log: string | null;
}

export type TrafficCase = FrameCase | RequestCase;

const bad = (reason: string) =>
  `inspector: closed client 127.0.0.1:PORT: bad WebSocket traffic (${reason})`;
const f = (spec: FrameSpec) => frame(spec);
const close = (code: number, reason = '') => {
  const p = Buffer.alloc(2 + Buffer.byteLength(reason));
  p.writeUInt16BE(code, 0);
  p.write(reason, 2);
  return f({ opcode: 0x8, payload: p });
};
const unknown = (t: string) => `inspector: unknown message ${t.slice(0, 80)}`;
const NOT_JSON = 'inspector: a message from the page was not JSON';

export const FRAME_CASES: Array<Omit<FrameCase, 'kind'>> = [
  {
    id: 'utf8',
    title: 'a text frame that is not UTF-8',
    bytes: [text(Buffer.from([0x7b, 0xff, 0xfe, 0x7d]))],
    closed: true,
    log: bad('Invalid WebSocket frame: invalid UTF-8 sequence'),
  },
  {
    id: 'opcode-3',
    title: 'a reserved data opcode (0x3)',
    bytes: [f({ opcode: 0x3, payload: Buffer.from('x') })],
    closed: true,
    log: bad('Invalid WebSocket frame: invalid opcode 3'),
  },
  {
    id: 'opcode-7',
    title: 'a reserved data opcode (0x7)',
    bytes: [f({ opcode: 0x7 })],
    closed: true,
    log: bad('Invalid WebSocket frame: invalid opcode 7'),
  },
  {
    id: 'opcode-b',
    title: 'a reserved control opcode (0xB)',
    bytes: [f({ opcode: 0xb })],
    closed: true,
    log: bad('Invalid WebSocket frame: invalid opcode 11'),
  },
  {
    id: 'opcode-f',
    title: 'a reserved control opcode (0xF)',
    bytes: [f({ opcode: 0xf })],
    closed: true,
    log: bad('Invalid WebSocket frame: invalid opcode 15'),
  },
  {
    id: 'rsv1',
    title: 'RSV1 set without a negotiated extension',
    bytes: [text('{}', { rsv: 4 })],
    closed: true,
    log: bad('Invalid WebSocket frame: RSV1 must be clear'),
  },
  {
    id: 'rsv2',
    title: 'RSV2 set',
    bytes: [text('{}', { rsv: 2 })],
    closed: true,
    log: bad('Invalid WebSocket frame: RSV2 and RSV3 must be clear'),
  },
  {
    id: 'rsv3',
    title: 'RSV3 set',
    bytes: [text('{}', { rsv: 1 })],
    closed: true,
    log: bad('Invalid WebSocket frame: RSV2 and RSV3 must be clear'),
  },
  {
    id: 'unmasked',
    title: 'an unmasked client frame',
    bytes: [text('{}', { masked: false })],
    closed: true,
    log: bad('Invalid WebSocket frame: MASK must be set'),
  },
  {
    id: 'ping-126',
    title: 'a ping with a 126-byte payload',
    bytes: [f({ opcode: 0x9, payload: Buffer.alloc(126) })],
    closed: true,
    log: bad('Invalid WebSocket frame: invalid payload length 126'),
  },
  {
    id: 'ping-fragmented',
    title: 'a fragmented ping (FIN clear)',
    bytes: [f({ opcode: 0x9, fin: false })],
    closed: true,
    log: bad('Invalid WebSocket frame: FIN must be set'),
  },
  {
    id: 'close-fragmented',
    title: 'a fragmented close frame',
    bytes: [f({ opcode: 0x8, fin: false })],
    closed: true,
    log: bad('Invalid WebSocket frame: FIN must be set'),
  },
  {
    id: 'continuation-first',
    title: 'a continuation frame with nothing to continue',
    bytes: [f({ opcode: 0x0, payload: Buffer.from('x') })],
    closed: true,
    log: bad('Invalid WebSocket frame: invalid opcode 0'),
  },
  {
    id: 'interleaved',
    title: 'a new text frame inside a fragmented message',
    bytes: [text('{"ty', { fin: false }), text('pe"}')],
    closed: true,
    log: bad('Invalid WebSocket frame: invalid opcode 1'),
  },
  {
    id: 'close-1-byte',
    title: 'a close frame with a 1-byte payload',
    bytes: [f({ opcode: 0x8, payload: Buffer.from([3]) })],
    closed: true,
    log: bad('Invalid WebSocket frame: invalid payload length 1'),
  },
  {
    id: 'close-code-999',
    title: 'a close frame with code 999',
    bytes: [close(999)],
    closed: true,
    log: bad('Invalid WebSocket frame: invalid status code 999'),
  },
  {
    id: 'close-code-1005',
    title: 'a close frame with the reserved code 1005',
    bytes: [close(1005)],
    closed: true,
    log: bad('Invalid WebSocket frame: invalid status code 1005'),
  },
  {
    id: 'close-code-5000',
    title: 'a close frame with code 5000',
    bytes: [close(5000)],
    closed: true,
    log: bad('Invalid WebSocket frame: invalid status code 5000'),
  },
  {
    id: 'close-reason-utf8',
    title: 'a close frame whose reason is not UTF-8',
    bytes: [f({ opcode: 0x8, payload: Buffer.from([0x03, 0xe8, 0xff]) })],
    closed: true,
    log: bad('Invalid WebSocket frame: invalid UTF-8 sequence'),
  },
  {
    id: 'length-msb',
    title: 'a 64-bit length with its top bit set',
    bytes: [f({ opcode: 0x1, claimedLength: 2n ** 63n + 5n })],
    closed: true,
    log: bad('Unsupported WebSocket frame: payload length > 2^53 - 1'),
  },
  {
    id: 'length-1gib',
    title: 'a header claiming a 1 GiB payload',
    bytes: [f({ opcode: 0x1, claimedLength: 2n ** 30n })],
    closed: true,
    log: bad('Max payload size exceeded'),
  },
  {
    id: 'huge-text',
    title: 'a 5,000-byte text frame (limit 4,096)',
    bytes: [text('x'.repeat(5000))],
    closed: true,
    log: bad('Max payload size exceeded'),
  },
  {
    id: 'huge-binary',
    title: 'a 70,000-byte binary frame',
    bytes: [f({ opcode: 0x2, payload: Buffer.alloc(70_000) })],
    closed: true,
    log: bad('Max payload size exceeded'),
  },
  {
    id: 'fragments-over-limit',
    title: 'fragments that add up past the limit',
    bytes: [
      text('x'.repeat(3000), { fin: false }),
      f({ opcode: 0x0, payload: Buffer.alloc(3000, 0x78) }),
    ],
    closed: true,
    log: bad('Max payload size exceeded'),
  },
  {
    id: 'garbage',
    title: 'random bytes after the handshake',
    bytes: [Buffer.from('GET / HTTP/1.1\r\n\r\n')],
    closed: true,
    log: bad('Invalid WebSocket frame: RSV1 must be clear'),
  },
  {
    id: 'binary',
    title: 'a binary message',
    bytes: [f({ opcode: 0x2, payload: Buffer.from('{"type":"control","action":"step"}') })],
    closed: false,
    replies: ['inspector: a message from the page was binary, not JSON text'],
    log: null,
  },
  {
    id: 'not-json',
    title: 'text that is not JSON',
    bytes: [text('{')],
    closed: false,
    replies: [NOT_JSON],
    log: null,
  },
  {
    id: 'empty',
    title: 'an empty text message',
    bytes: [text('')],
    closed: false,
    replies: [NOT_JSON],
    log: null,
  },
  {
    id: 'null',
    title: 'the JSON value null',
    bytes: [text('null')],
    closed: false,
    replies: [unknown('null')],
    log: null,
  },
  {
    id: 'number',
    title: 'a JSON number',
    bytes: [text('42')],
    closed: false,
    replies: [unknown('42')],
    log: null,
  },
  {
    id: 'string',
    title: 'a JSON string',
    bytes: [text('"control"')],
    closed: false,
    replies: [unknown('"control"')],
    log: null,
  },
  {
    id: 'array',
    title: 'a JSON array',
    bytes: [text('[]')],
    closed: false,
    replies: [unknown('[]')],
    log: null,
  },
  {
    id: 'no-type',
    title: 'an object without type',
    bytes: [text('{"action":"step"}')],
    closed: false,
    replies: [unknown('{"action":"step"}')],
    log: null,
  },
  {
    id: 'no-action',
    title: 'a control without action',
    bytes: [text('{"type":"control"}')],
    closed: false,
    replies: [unknown('{"type":"control"}')],
    log: null,
  },
  {
    id: 'action-proto',
    title: 'action "__proto__"',
    bytes: [text('{"type":"control","action":"__proto__"}')],
    closed: false,
    replies: [unknown('{"type":"control","action":"__proto__"}')],
    log: null,
  },
  {
    id: 'action-tostring',
    title: 'action "toString"',
    bytes: [text('{"type":"control","action":"toString"}')],
    closed: false,
    replies: [unknown('{"type":"control","action":"toString"}')],
    log: null,
  },
  {
    id: 'action-object',
    title: 'an object as action',
    bytes: [text('{"type":"control","action":{"0":"step"}}')],
    closed: false,
    replies: [unknown('{"type":"control","action":{"0":"step"}}')],
    log: null,
  },
  {
    id: 'action-array',
    title: 'an array as action',
    bytes: [text('{"type":"control","action":["step"]}')],
    closed: false,
    replies: [unknown('{"type":"control","action":["step"]}')],
    log: null,
  },
  {
    id: 'deep-json',
    title: 'JSON nested 2,000 deep',
    bytes: [text(`${'['.repeat(2000)}${']'.repeat(2000)}`)],
    closed: false,
    replies: [unknown(`${'['.repeat(2000)}`)],
    log: null,
  },
  {
    id: 'long-unknown',
    title: 'a 4,000-byte unknown message (reply clipped to 80)',
    bytes: [text(`{"type":"${'y'.repeat(3980)}"}`)],
    closed: false,
    replies: [unknown(`{"type":"${'y'.repeat(3980)}"}`)],
    log: null,
  },
  {
    id: 'fragmented-ok',
    title: 'a control message split in fragments',
    bytes: [
      text('{"type":"con', { fin: false }),
      f({ opcode: 0x0, fin: false, payload: Buffer.from('trol","ac') }),
      f({ opcode: 0x0, payload: Buffer.from('tion":"nope"}') }),
    ],
    closed: false,
    replies: [unknown('{"type":"control","action":"nope"}')],
    log: null,
  },
  {
    id: 'ping-ok',
    title: 'a ping (answered, nothing logged)',
    bytes: [f({ opcode: 0x9, payload: Buffer.from('hi') })],
    closed: false,
    log: null,
  },
  {
    id: 'pong-unsolicited',
    title: 'an unsolicited pong',
    bytes: [f({ opcode: 0xa, payload: Buffer.from('hi') })],
    closed: false,
    log: null,
  },
  {
    id: 'flood',
    title: '1,000 messages at once (rate limit 50/s, burst 100)',
    bytes: [Buffer.concat(Array.from({ length: 1000 }, () => text('{')))],
    closed: true,
    replies: Array<string>(100).fill(NOT_JSON),
    refill: 100, // 50 more per second the server spends reading the flood (slow when loaded)
    log: 'inspector: closed client 127.0.0.1:PORT: more than 50 messages per second',
  },
  {
    id: 'ping-flood',
    title: '5,000 pings at once (a ping counts as a message)',
    bytes: [Buffer.concat(Array.from({ length: 5000 }, () => f({ opcode: 0x9 })))],
    closed: true,
    log: 'inspector: closed client 127.0.0.1:PORT: more than 50 messages per second',
  },
  {
    id: 'truncated',
    title: 'half a frame, then the client hangs up',
    bytes: [text('{"type":"control"}').subarray(0, 5)],
    closed: false,
    log: null,
  },
];

const req = (lines: string[]) => `${lines.join('\r\n')}\r\n\r\n`;
const upgrade = (host: string, extra: string[] = [], path = '/ws') =>
  req([
    `GET ${path} HTTP/1.1`,
    `Host: ${host}`,
    'Upgrade: websocket',
    'Connection: Upgrade',
    'Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==',
    'Sec-WebSocket-Version: 13',
    ...extra,
  ]);
const refused = (reason: string) => `inspector: refused 127.0.0.1:PORT: ${reason}`;

export const REQUEST_CASES: Array<Omit<RequestCase, 'kind'>> = [
  {
    id: 'http-own-host',
    title: 'GET / with its own Host',
    request: req(['GET / HTTP/1.1', 'Host: 127.0.0.1:PORT', 'Connection: close']),
    status: 'HTTP/1.1 200 OK',
    log: null,
  },
  {
    id: 'http-localhost',
    title: 'GET / with Host localhost',
    request: req(['GET / HTTP/1.1', 'Host: localhost:PORT', 'Connection: close']),
    status: 'HTTP/1.1 200 OK',
    log: null,
  },
  {
    id: 'http-ipv6-loopback',
    title: 'GET / with Host [::1]',
    request: req(['GET / HTTP/1.1', 'Host: [::1]:PORT', 'Connection: close']),
    status: 'HTTP/1.1 200 OK',
    log: null,
  },
  {
    id: 'http-foreign-host',
    title: 'GET / with a foreign Host (DNS rebinding)',
    request: req(['GET / HTTP/1.1', 'Host: evil.example:PORT', 'Connection: close']),
    status: 'HTTP/1.1 403 Forbidden',
    log: refused('foreign Host "evil.example:PORT"'),
  },
  {
    id: 'http-foreign-host-js',
    title: 'GET /page.js with a foreign Host',
    request: req(['GET /page.js HTTP/1.1', 'Host: evil.example', 'Connection: close']),
    status: 'HTTP/1.1 403 Forbidden',
    log: refused('foreign Host "evil.example"'),
  },
  {
    id: 'http-wrong-port',
    title: 'GET / with the loopback name but another port',
    request: req(['GET / HTTP/1.1', 'Host: localhost:1', 'Connection: close']),
    status: 'HTTP/1.1 403 Forbidden',
    log: refused('foreign Host "localhost:1"'),
  },
  {
    id: 'http-no-host',
    title: 'HTTP/1.0 without Host',
    request: req(['GET / HTTP/1.0']),
    status: 'HTTP/1.1 403 Forbidden',
    log: refused('foreign Host (none)'),
  },
  {
    id: 'http-bad-request-line',
    title: 'a malformed request line',
    request: 'GARBAGE\r\n\r\n',
    status: 'HTTP/1.1 400 Bad Request',
    log: 'inspector: closed 127.0.0.1:PORT: malformed HTTP request (Parse Error: Invalid method encountered)',
  },
  {
    id: 'http-binary',
    title: 'binary bytes instead of HTTP',
    request: '\u0000\u0001\u0002\u00ff\r\n\r\n',
    status: 'HTTP/1.1 400 Bad Request',
    log: 'inspector: closed 127.0.0.1:PORT: malformed HTTP request (Parse Error: Invalid method encountered)',
  },
  {
    id: 'http-huge-header',
    title: 'a 20 KB header',
    request: req(['GET / HTTP/1.1', 'Host: 127.0.0.1:PORT', `X-Big: ${'a'.repeat(20_000)}`]),
    status: 'HTTP/1.1 400 Bad Request',
    log: 'inspector: closed 127.0.0.1:PORT: malformed HTTP request (Parse Error: Header overflow)',
  },
  {
    id: 'http-post',
    title: 'POST /',
    request: req([
      'POST / HTTP/1.1',
      'Host: 127.0.0.1:PORT',
      'Content-Length: 3',
      'Connection: close',
    ]).concat('abc'),
    status: 'HTTP/1.1 405 Method Not Allowed',
    log: null,
  },
  {
    id: 'http-bad-chunked',
    title: 'POST with a broken chunked body',
    request: req(['POST / HTTP/1.1', 'Host: 127.0.0.1:PORT', 'Transfer-Encoding: chunked']).concat(
      'zz\r\nabc\r\n',
    ),
    status: 'HTTP/1.1 405 Method Not Allowed',
    log: 'inspector: closed 127.0.0.1:PORT: malformed HTTP request (Parse Error: Invalid character in chunk size)',
  },
  {
    id: 'ws-own',
    title: 'an upgrade from its own page',
    request: upgrade('127.0.0.1:PORT', ['Origin: http://127.0.0.1:PORT']),
    status: 'HTTP/1.1 101 Switching Protocols',
    log: null,
  },
  {
    id: 'ws-no-origin',
    title: 'an upgrade without Origin (a non-browser client)',
    request: upgrade('127.0.0.1:PORT'),
    status: 'HTTP/1.1 101 Switching Protocols',
    log: null,
  },
  {
    id: 'ws-foreign-host',
    title: 'an upgrade with a foreign Host',
    request: upgrade('evil.example:PORT'),
    status: 'HTTP/1.1 403 Forbidden',
    log: refused('foreign Host "evil.example:PORT"'),
  },
  {
    id: 'ws-rebinding',
    title: 'DNS rebinding: foreign Host and a matching foreign Origin',
    request: upgrade('evil.example:PORT', ['Origin: http://evil.example:PORT']),
    status: 'HTTP/1.1 403 Forbidden',
    log: refused('foreign Host "evil.example:PORT"'),
  },
  {
    id: 'ws-foreign-origin',
    title: 'its own Host with a foreign Origin',
    request: upgrade('127.0.0.1:PORT', ['Origin: http://evil.example']),
    status: 'HTTP/1.1 403 Forbidden',
    log: refused('foreign Origin "http://evil.example"'),
  },
  {
    id: 'ws-null-origin',
    title: 'Origin null (a sandboxed page or file://)',
    request: upgrade('127.0.0.1:PORT', ['Origin: null']),
    status: 'HTTP/1.1 403 Forbidden',
    log: refused('foreign Origin "null"'),
  },
  {
    id: 'ws-https-origin',
    title: 'an https Origin of the same host',
    request: upgrade('127.0.0.1:PORT', ['Origin: https://127.0.0.1:PORT']),
    status: 'HTTP/1.1 403 Forbidden',
    log: refused('foreign Origin "https://127.0.0.1:PORT"'),
  },
  {
    id: 'ws-origin-other-port',
    title: 'an Origin of another local port',
    request: upgrade('127.0.0.1:PORT', ['Origin: http://localhost:1']),
    status: 'HTTP/1.1 403 Forbidden',
    log: refused('foreign Origin "http://localhost:1"'),
  },
  {
    id: 'ws-other-path',
    title: 'an upgrade of another path',
    request: upgrade('127.0.0.1:PORT', [], '/other'),
    status: 'HTTP/1.1 404 Not Found',
    log: refused('upgrade of "/other"'),
  },
  {
    id: 'ws-bad-version',
    title: 'an upgrade with Sec-WebSocket-Version 7',
    request: upgrade('127.0.0.1:PORT').replace('Version: 13', 'Version: 7'),
    status: 'HTTP/1.1 400 Bad Request',
    log: null,
  },
  {
    id: 'ws-bad-key',
    title: 'an upgrade with a malformed Sec-WebSocket-Key',
    request: upgrade('127.0.0.1:PORT').replace('dGhlIHNhbXBsZSBub25jZQ==', '???'),
    status: 'HTTP/1.1 400 Bad Request',
    log: null,
  },
];

export const TRAFFIC_CASES: TrafficCase[] = [
  ...FRAME_CASES.map((c) => ({ ...c, kind: 'frames' as const })),
  ...REQUEST_CASES.map((c) => ({ ...c, kind: 'request' as const })),
];
