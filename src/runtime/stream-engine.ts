/**
 * The stream/queue logic shared by every device (sim and tfjs), parameterised by an
 * {@link OpTiming} policy: the sim device charges each op a virtual duration from its cost
 * model, the tfjs device charges nothing (its streams are logical: ordering only).
 *
 * Semantics (CUDA-like; issuing never blocks the host):
 * - `run(stream, cost, fn, { uses, after })` issues an op. It **starts** when the previous
 *   op on that stream has completed, every event the stream was told to `wait` for before
 *   this op was issued is complete, and every promise in `after` has resolved. At start
 *   `fn()` is called; it may be async and may await things that complete later (a
 *   collective). The op **completes** when `fn` has settled plus the timing policy's
 *   duration; the returned promise then resolves with `fn`'s value.
 * - If `fn` throws or rejects (or an `after` promise rejects), the returned promise rejects
 *   with that error as soon as it happens (no duration is charged) and the stream moves on:
 *   one failed op does not block or poison the stream, and events covering it still complete.
 * - `wait(stream, event)` is itself stream-ordered (like `cudaStreamWaitEvent`): later ops
 *   on `stream`, and events recorded on it later, come after `event`.
 * - Object results are tagged (unless hazards are `off`) with their producer `{ stream, seq, label }` for the
 *   {@link HazardChecker}; `uses` are checked when the op is issued.
 *
 * @example
 * const engine = new StreamEngine({ clock: wallClock, timing: { completion: () => undefined } });
 * const copied = engine.run('memcpy', { kind: 'copy', label: 'copy b0' }, () => batch);
 * engine.waitStream('default', 'memcpy');
 * const out = engine.run('default', { kind: 'forward' }, async () => model(await copied), { uses: [await copied] });
 */
import type {
  Clock,
  DeviceEvent,
  OpCost,
  Rank,
  StreamName,
  StreamTagged,
} from '../protocol/index.ts';
import { STREAM_NAMES } from '../protocol/index.ts';
import { OpLog, type OpLogEntry } from './op-log.ts';
import {
  HazardChecker,
  StreamHazardError,
  type ProducerTag,
  type StreamHazard,
} from './sim/hazard-checker.ts';

/** How long ops take once their function has settled. */
export interface OpTiming {
  /**
   * Called when an op's function has settled successfully; the op completes when the
   * returned promise resolves (`undefined`: completes now).
   */
  completion(cost: OpCost, stream: StreamName): Promise<void> | undefined;
}

/** Extra inputs of {@link StreamEngine.run}. */
export interface RunOptions {
  /** Values the op reads (checked by the stream-hazard checker). */
  uses?: readonly unknown[];
  /** The op does not start before every one of these has resolved. */
  after?: readonly PromiseLike<unknown>[];
}

/**
 * What to do when an op is issued with a stream hazard. `off` also skips the bookkeeping
 * behind the checker: results are not tagged with their producer (`producerOf` answers
 * `undefined`), for the fastest simulations.
 *
 * @example
 * new SimDevice({ scheduler, hazards: 'throw' });
 */
export type HazardMode = 'report' | 'throw' | 'off';

/** Options shared by every device built on {@link StreamEngine}. */
export interface StreamEngineOptions {
  rank?: Rank;
  clock: Clock;
  timing: OpTiming;
  /** `report` (default): push to `hazards` and call `onHazard`; `throw`: `run` throws {@link StreamHazardError}; `off`. */
  hazards?: HazardMode;
  onHazard?: (hazard: StreamHazard) => void;
  /** Where op start/end entries go (default: a new {@link OpLog}; `false`: none). */
  opLog?: OpLog | false;
}

interface StreamState {
  /** Settles (never rejects) when everything issued so far on the stream is complete. */
  tail: Promise<void>;
  nextSeq: number;
}

const noop = (): void => {};

function isUsesArray(
  options: RunOptions | readonly unknown[] | undefined,
): options is readonly unknown[] {
  return Array.isArray(options);
}

export class StreamEngine {
  readonly rank: Rank;
  readonly clock: Clock;
  /** Hazards reported so far (mode `report`). */
  readonly hazards: StreamHazard[] = [];
  /** The op log (undefined when disabled). */
  readonly opLog: OpLog | undefined;
  private readonly timing: OpTiming;
  private readonly hazardMode: HazardMode;
  private readonly onHazard: ((h: StreamHazard) => void) | undefined;
  private readonly checker = new HazardChecker();
  /** Hazard bookkeeping is on (mode `report` or `throw`). */
  private readonly tracking: boolean;
  private readonly streams = new Map<StreamName, StreamState>();

  constructor(options: StreamEngineOptions) {
    this.rank = options.rank ?? 0;
    this.clock = options.clock;
    this.timing = options.timing;
    this.hazardMode = options.hazards ?? 'report';
    this.tracking = this.hazardMode !== 'off';
    this.onHazard = options.onHazard;
    this.opLog = options.opLog === false ? undefined : (options.opLog ?? new OpLog());
    for (const name of STREAM_NAMES)
      this.streams.set(name, { tail: Promise.resolve(), nextSeq: 0 });
  }

  /**
   * Issue `fn` on `stream` (see the module doc for when it starts and completes).
   * The fourth argument may also be a plain `uses` array (the protocol's signature).
   *
   * @example
   * const y = await device.run('default', { kind: 'forward', flops: 1e9, label: 'fwd b0' }, () => f(x), { uses: [x] });
   */
  run<T>(
    stream: StreamName,
    cost: OpCost,
    fn: () => T | Promise<T>,
    options?: RunOptions | readonly unknown[],
  ): Promise<T> {
    const st = this.state(stream);
    const uses = isUsesArray(options) ? options : options?.uses;
    const after = isUsesArray(options) ? undefined : options?.after;
    const op: ProducerTag =
      cost.label === undefined
        ? { stream, seq: st.nextSeq }
        : { stream, seq: st.nextSeq, label: cost.label };
    if (this.tracking && uses && uses.length > 0) {
      const found = this.checker.check(op, uses, this.clock.now(), this.rank);
      if (found.length > 0 && this.hazardMode === 'throw') throw new StreamHazardError(found[0]);
      for (const h of found) {
        this.hazards.push(h);
        this.onHazard?.(h);
      }
    }
    st.nextSeq++;
    if (this.tracking) this.checker.issued(stream, op.seq);
    const gate = after && after.length > 0 ? Promise.all([st.tail, ...after]) : st.tail;
    const result = gate.then(
      () => this.execute(op, cost, fn),
      (error: unknown) => {
        this.log(op, cost, 'fail');
        throw error;
      },
    );
    st.tail = result.then(noop, noop);
    return result;
  }

  /**
   * Record an event covering every op issued (and every wait inserted) on `stream` so far.
   *
   * @example
   * const ev = device.record('memcpy'); device.wait('default', ev);
   */
  record(stream: StreamName): DeviceEvent {
    const st = this.state(stream);
    const event: DeviceEvent = Object.freeze({ stream, seq: st.nextSeq - 1, done: st.tail });
    if (this.tracking) this.checker.recorded(event);
    return event;
  }

  /**
   * Later ops on `stream` start only after `event` completed.
   *
   * @example
   * device.wait('dataDist', device.record('memcpy'));
   */
  wait(stream: StreamName, event: DeviceEvent): void {
    const st = this.state(stream);
    st.tail = Promise.all([st.tail, event.done]).then(noop, noop);
    if (this.tracking) this.checker.waited(stream, event);
  }

  /**
   * `waiter` waits for everything issued so far on `target` (record + wait).
   *
   * @example
   * device.waitStream('default', 'memcpy'); // TorchRec: torch.cuda.current_stream().wait_stream(memcpy_stream)
   */
  waitStream(waiter: StreamName, target: StreamName): void {
    this.wait(waiter, this.record(target));
  }

  /**
   * Mark `value` as in use by `stream` (kept for inspection: {@link StreamEngine.streamsUsing}).
   *
   * @example
   * device.recordStream(batch, 'default');
   */
  recordStream(value: StreamTagged | object, stream: StreamName): void {
    this.state(stream);
    this.checker.markUse(value, stream);
  }

  /**
   * Resolves when every op issued so far on `stream` (or on all streams) has completed.
   *
   * @example
   * await device.synchronize(); // host waits for the device
   */
  synchronize(stream?: StreamName): Promise<void> {
    if (stream !== undefined) return this.state(stream).tail;
    return Promise.all([...this.streams.values()].map((s) => s.tail)).then(noop);
  }

  /**
   * The op that produced `value` (`{ stream, seq, label }`), if an op on this device returned it.
   *
   * @example
   * device.producerOf(await device.run('memcpy', cost, () => buf)); // { stream: 'memcpy', seq: 0 }
   */
  producerOf(value: unknown): ProducerTag | undefined {
    return this.checker.producerOf(value);
  }

  /** Streams `value` was used on (as an op's `uses`, or via `recordStream`). */
  streamsUsing(value: unknown): ReadonlySet<StreamName> {
    return this.checker.streamsUsing(value);
  }

  /** Ops issued so far on `stream`. */
  issuedOps(stream: StreamName): number {
    return this.state(stream).nextSeq;
  }

  private async execute<T>(op: ProducerTag, cost: OpCost, fn: () => T | Promise<T>): Promise<T> {
    this.log(op, cost, 'start');
    let value: T;
    try {
      value = await fn();
    } catch (error) {
      this.log(op, cost, 'fail');
      throw error;
    }
    const completion = this.timing.completion(cost, op.stream);
    if (completion) await completion;
    if (this.tracking) this.checker.tag(value, op);
    this.log(op, cost, 'end');
    return value;
  }

  private log(op: ProducerTag, cost: OpCost, phase: OpLogEntry['phase']): void {
    if (!this.opLog) return;
    this.opLog.push({
      t: this.clock.now(),
      rank: this.rank,
      stream: op.stream,
      seq: op.seq,
      phase,
      kind: cost.kind,
      label: cost.label ?? '',
    });
  }

  private state(stream: StreamName): StreamState {
    const st = this.streams.get(stream);
    if (!st)
      throw new RangeError(
        `unknown stream "${String(stream)}" (streams: ${STREAM_NAMES.join(', ')})`,
      );
    return st;
  }
}
