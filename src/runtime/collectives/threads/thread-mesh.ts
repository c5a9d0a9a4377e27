/**
 * One rank's end of the `threads` full mesh: a `MessagePort` to every peer, the channels
 * multiplexed over them, and the rank-wide failure and closed state.
 *
 * Failure detection, first failure wins and is kept:
 * - `fail(peer, reason)` — told by the launcher that a peer thread died or threw;
 * - a peer's port emits `close` — its thread exited or was terminated;
 * - a peer sends `closed` — it closed its group.
 * Every pending call of every channel then rejects with {@link PeerFailedError} naming the
 * peer, and so does every later call. `close()` rejects this rank's pending calls with
 * {@link ProcessGroupClosedError}, tells the peers, and closes the ports.
 *
 * @example
 * const mesh = new ThreadMesh(ports, { rank: 1, worldSize: 4, timeoutMs: 30_000, clock: wallClock });
 * await mesh.channel('default').submit({ kind: 'barrier' });
 */
import type { MessagePort } from 'node:worker_threads';
import type { Clock, Rank } from '../../../protocol/index.ts';
import { PeerFailedError } from '../../../protocol/index.ts';
import { ProcessGroupClosedError } from '../collective-errors.ts';
import { releaseArrival, type MeshMessage } from './mesh-protocol.ts';
import { SharedBlockPool } from './shared-blocks.ts';
import { ThreadChannel, type ChannelLink } from './thread-channel.ts';

/** Options of a {@link ThreadMesh}. */
export interface ThreadMeshOptions {
  rank: Rank;
  worldSize: number;
  /** Default per-call timeout, real ms (`Infinity`: none). */
  timeoutMs: number;
  clock: Clock;
}

/** The mesh of one rank (see the module doc). */
export class ThreadMesh implements ChannelLink {
  readonly rank: Rank;
  readonly worldSize: number;
  readonly timeoutMs: number;
  readonly clock: Clock;
  readonly pool = new SharedBlockPool();
  private readonly ports: readonly (MessagePort | undefined)[];
  private readonly channels = new Map<string, ThreadChannel>();
  private failed: { rank: Rank; reason: string } | undefined;
  private closed = false;

  constructor(ports: readonly (MessagePort | null | undefined)[], options: ThreadMeshOptions) {
    const { rank, worldSize, timeoutMs, clock } = options;
    if (!Number.isInteger(worldSize) || worldSize < 1)
      throw new RangeError(
        `threads process group: worldSize must be an integer ≥ 1, got ${worldSize}`,
      );
    if (!Number.isInteger(rank) || rank < 0 || rank >= worldSize) {
      throw new RangeError(`threads process group: rank ${rank} is not in 0..${worldSize - 1}`);
    }
    if (!(timeoutMs > 0))
      throw new RangeError(
        `threads process group: timeoutMs must be > 0 ms (Infinity: none), got ${timeoutMs}`,
      );
    if (ports.length !== worldSize) {
      throw new RangeError(
        `threads process group on rank ${rank}: got ${ports.length} mesh ports, need one per rank (${worldSize}, own slot empty)`,
      );
    }
    this.rank = rank;
    this.worldSize = worldSize;
    this.timeoutMs = timeoutMs;
    this.clock = clock;
    this.ports = ports.map((port, peer) => {
      if (peer === rank) {
        if (port)
          throw new RangeError(
            `threads process group on rank ${rank}: mesh port at its own rank must be empty`,
          );
        return undefined;
      }
      if (!port)
        throw new RangeError(`threads process group on rank ${rank}: no mesh port to rank ${peer}`);
      port.on('message', (message: MeshMessage) => this.receive(peer, message));
      port.on('close', () =>
        this.fail(peer, 'its mesh port closed (the thread exited or was terminated)'),
      );
      return port;
    });
  }

  /** The first peer failure, if any. */
  get failure(): { readonly rank: Rank; readonly reason: string } | undefined {
    return this.failed;
  }

  get isClosed(): boolean {
    return this.closed;
  }

  /** The channel called `name` (created on first use; peers may create it in any order). */
  channel(name: string): ThreadChannel {
    let channel = this.channels.get(name);
    if (!channel) {
      channel = new ThreadChannel(this, name);
      this.channels.set(name, channel);
    }
    return channel;
  }

  refusal(call: string): Error | undefined {
    if (this.closed) return new ProcessGroupClosedError(this.rank, call);
    if (this.failed) return new PeerFailedError(this.rank, this.failed.rank, this.failed.reason);
    return undefined;
  }

  send(peer: Rank, message: MeshMessage): void {
    this.ports[peer]?.postMessage(message);
  }

  /**
   * Peer `rank` failed: every pending and later call rejects with {@link PeerFailedError}.
   * Only the first failure is kept; ignored once this rank is closed.
   */
  fail(rank: Rank, reason: string): void {
    if (!Number.isInteger(rank) || rank < 0 || rank >= this.worldSize) {
      throw new RangeError(
        `threads process group on rank ${this.rank}: failed rank ${rank} is not in 0..${this.worldSize - 1}`,
      );
    }
    if (this.closed || this.failed || rank === this.rank) return;
    this.failed = { rank, reason };
    for (const channel of this.channels.values())
      channel.failAll(() => new PeerFailedError(this.rank, rank, reason));
  }

  /** Close this rank's end (see the module doc). Idempotent. */
  close(): void {
    if (this.closed) return;
    this.closed = true;
    for (const channel of this.channels.values())
      channel.failAll((call) => new ProcessGroupClosedError(this.rank, call));
    for (const port of this.ports) {
      if (!port) continue;
      port.postMessage({ type: 'closed', from: this.rank } satisfies MeshMessage);
      port.close();
    }
  }

  private receive(peer: Rank, message: MeshMessage): void {
    if (this.closed || this.failed) {
      if (message.type === 'call') releaseArrival(message.call);
      return;
    }
    if (message.type === 'closed') {
      this.fail(peer, 'its process group was closed');
      return;
    }
    this.channel(message.channel).receive(message);
  }
}
