/**
 * A raw WebSocket client for the reliability suite: does the HTTP upgrade by hand and then
 * writes whatever bytes a test wants (malformed frames included), so the suite can send the
 * traffic a well-behaved library would never produce.
 *
 * @example
 * const c = await rawUpgrade(port);
 * c.socket.write(frame({ opcode: 0x3, payload: Buffer.from('x') })); // a reserved opcode
 * await c.closed;
 */
import { connect, type Socket } from 'node:net';

export interface FrameSpec {
  fin?: boolean;
  rsv?: number;
  opcode: number;
  payload?: Buffer;
  /** Mask the payload (clients must); default true. */
  masked?: boolean;
  /** Claim this length in the header instead of the payload's. */
  claimedLength?: bigint;
}

/** One WebSocket frame, as the bytes on the wire. */
export function frame(spec: FrameSpec): Buffer {
  const payload = spec.payload ?? Buffer.alloc(0);
  const masked = spec.masked ?? true;
  const length = spec.claimedLength ?? BigInt(payload.length);
  const b0 = ((spec.fin ?? true) ? 0x80 : 0) | ((spec.rsv ?? 0) << 4) | spec.opcode;
  let header: Buffer;
  if (length < 126n) header = Buffer.from([b0, (masked ? 0x80 : 0) | Number(length)]);
  else if (length < 65536n) {
    header = Buffer.alloc(4);
    header[0] = b0;
    header[1] = (masked ? 0x80 : 0) | 126;
    header.writeUInt16BE(Number(length), 2);
  } else {
    header = Buffer.alloc(10);
    header[0] = b0;
    header[1] = (masked ? 0x80 : 0) | 127;
    header.writeBigUInt64BE(length, 2);
  }
  if (!masked) return Buffer.concat([header, payload]);
  const key = Buffer.from([0x12, 0x34, 0x56, 0x78]);
  const body = Buffer.from(payload.map((v, i) => v ^ key[i % 4]));
  return Buffer.concat([header, key, body]);
}

export const text = (s: string | Buffer, more: Partial<FrameSpec> = {}): Buffer =>
  frame({ opcode: 0x1, payload: Buffer.isBuffer(s) ? s : Buffer.from(s), ...more });

export interface RawClient {
  socket: Socket;
  /** Everything the server sent after the handshake. */
  received(): Buffer;
  /** Text of every unmasked text frame the server sent so far. */
  messages(): string[];
  /** Resolves when the server closed the connection. */
  closed: Promise<void>;
  /** The status line of the server's answer to the upgrade. */
  status: string;
}

/** Connects and upgrades with the given headers (default: the server's own loopback Host). */
export function rawUpgrade(
  port: number,
  headers: Record<string, string> = {},
  path = '/ws',
): Promise<RawClient> {
  return new Promise((resolve, reject) => {
    const socket = connect(port, '127.0.0.1');
    let buf = Buffer.alloc(0);
    let status = '';
    let rest = Buffer.alloc(0);
    const closed = new Promise<void>((r) => socket.once('close', () => r()));
    socket.on('error', () => {});
    socket.on('data', (d) => {
      if (status) {
        rest = Buffer.concat([rest, d]);
        return;
      }
      buf = Buffer.concat([buf, d]);
      const end = buf.indexOf('\r\n\r\n');
      if (end < 0) return;
      status = buf.subarray(0, buf.indexOf('\r\n')).toString();
      rest = buf.subarray(end + 4);
      resolve({ socket, received: () => rest, messages: () => parseFrames(rest), closed, status });
    });
    socket.once('close', () => {
      if (!status)
        resolve({ socket, received: () => rest, messages: () => [], closed, status: '' });
    });
    socket.once('connect', () => {
      const h: Record<string, string> = {
        Host: `127.0.0.1:${port}`,
        Upgrade: 'websocket',
        Connection: 'Upgrade',
        'Sec-WebSocket-Key': 'dGhlIHNhbXBsZSBub25jZQ==',
        'Sec-WebSocket-Version': '13',
        ...headers,
      };
      const lines = Object.entries(h)
        .filter(([, v]) => v !== '')
        .map(([k, v]) => `${k}: ${v}`);
      socket.write(`GET ${path} HTTP/1.1\r\n${lines.join('\r\n')}\r\n\r\n`);
    });
    setTimeout(() => reject(new Error('no answer to the upgrade')), 10_000).unref();
  });
}

/** Text payloads of the (unmasked, unfragmented) frames in `bytes`. */
function parseFrames(bytes: Buffer): string[] {
  const out: string[] = [];
  let i = 0;
  while (i + 2 <= bytes.length) {
    const opcode = bytes[i] & 0x0f;
    let len = bytes[i + 1] & 0x7f;
    let off = i + 2;
    if (len === 126) {
      if (off + 2 > bytes.length) break;
      len = bytes.readUInt16BE(off);
      off += 2;
    } else if (len === 127) {
      if (off + 8 > bytes.length) break;
      len = Number(bytes.readBigUInt64BE(off));
      off += 8;
    }
    if (off + len > bytes.length) break;
    if (opcode === 0x1) out.push(bytes.subarray(off, off + len).toString());
    i = off + len;
  }
  return out;
}

/** Sends raw HTTP bytes and resolves with the server's whole answer (until it closes or `quietMs` of quiet). */
export function rawHttp(port: number, request: string | Buffer, quietMs = 300): Promise<string> {
  return new Promise((resolve) => {
    const socket = connect(port, '127.0.0.1');
    let out = '';
    let quiet: NodeJS.Timeout | undefined;
    const done = () => {
      clearTimeout(quiet);
      socket.destroy();
      resolve(out);
    };
    socket.on('error', () => {});
    socket.on('data', (d) => {
      out += d.toString('latin1');
      clearTimeout(quiet);
      quiet = setTimeout(done, quietMs);
    });
    socket.once('close', done);
    socket.once('connect', () => socket.write(request));
  });
}
