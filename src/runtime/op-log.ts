/**
 * The op log: every op's start and end (or failure) on every stream, with its time. On the
 * sim device times are virtual, so the same scenario yields a byte-identical
 * `JSON.stringify(log)`. Several devices may share one log (one per cluster), giving one
 * interleaved, deterministic record of all ranks.
 *
 * @example
 * const log = new OpLog();
 * const dev0 = new SimDevice({ rank: 0, scheduler, opLog: log });
 * const dev1 = new SimDevice({ rank: 1, scheduler, opLog: log });
 * // … run a scenario …
 * writeFileSync('ops.json', JSON.stringify(log));
 */
import type { OpCost, Rank, StreamName } from '../protocol/index.ts';

/** One line of the op log. Keys always appear in this order. */
export interface OpLogEntry {
  /** ms (virtual on the sim device). */
  readonly t: number;
  readonly rank: Rank;
  readonly stream: StreamName;
  /** The op's sequence number on its stream. */
  readonly seq: number;
  /** `start`: the function was called; `end`: the op completed; `fail`: it threw (or an `after` promise rejected). */
  readonly phase: 'start' | 'end' | 'fail';
  readonly kind: OpCost['kind'];
  readonly label: string;
}

export class OpLog {
  private readonly list: OpLogEntry[] = [];
  private readonly listeners = new Set<(e: OpLogEntry) => void>();

  /**
   * @param keep keep entries in memory (default true); with `false` only listeners see them
   *   (long runs whose memory must stay flat).
   */
  constructor(private readonly keep = true) {}

  /** Entries kept so far, in the order they happened. */
  get entries(): readonly OpLogEntry[] {
    return this.list;
  }

  /** Append an entry (called by devices). */
  push(entry: OpLogEntry): void {
    if (this.keep) this.list.push(entry);
    for (const l of this.listeners) l(entry);
  }

  /**
   * Call `listener` for every later entry; returns an unsubscribe function.
   *
   * @example
   * const stop = log.subscribe((e) => console.log(e.phase, e.label, e.t));
   */
  subscribe(listener: (e: OpLogEntry) => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  clear(): void {
    this.list.length = 0;
  }

  toJSON(): readonly OpLogEntry[] {
    return this.list;
  }
}
