/**
 * The device contract (docs/design.md "Devices"), shaped after CUDA streams:
 * named streams that execute ops FIFO, events recorded on one stream and waited on by
 * another, and `recordStream` to mark a buffer as used by a stream.
 *
 * Ops are *issued* by the host and *complete* later; `run` returns a promise of the op's
 * result that resolves when the op has completed on its stream (in virtual time on the
 * sim device). Issuing never blocks the host.
 *
 * @example
 * const copied = device.run('memcpy', { kind: 'copy', bytes: 4096, label: 'copy b3' }, () => batch.clone());
 * const ev = device.record('memcpy');
 * device.wait('dataDist', ev);          // dataDist will not start later ops before the copy
 */
import type { Clock } from './clock.ts';
import type { Rank, StreamName } from './ids.ts';

/** What an op costs; the cost model turns this into a duration. */
export interface OpCost {
  /** Which stage the op belongs to; a cost model may override the duration per kind. */
  kind:
    | 'copy'
    | 'dist'
    | 'distSplits'
    | 'distData'
    | 'forward'
    | 'backward'
    | 'optimizer'
    | 'outputDist'
    | 'collective'
    | 'lookup'
    | 'cacheFill'
    | 'other';
  /** Bytes moved (copies, collectives). */
  bytes?: number;
  /** Floating-point operations (compute). */
  flops?: number;
  /**
   * The op's duration already priced from shapes by a topology cost model (ms; see
   * docs/simulation.md). A fixed per-kind override of the device's cost model still wins.
   */
  ms?: number;
  /** A label for logs and the hazard report. */
  label?: string;
}

/** A marker recorded on a stream; completes when every op issued before it completed. */
export interface DeviceEvent {
  readonly stream: StreamName;
  /** Sequence number of the last op on `stream` covered by this event (-1: none). */
  readonly seq: number;
  /** Resolves when the event is reached. */
  readonly done: Promise<void>;
}

/** A value produced by an op on a stream; used by the stream-hazard checker. */
export interface StreamTagged {
  /** Stream that produced the value and the op's sequence number there. */
  readonly producer?: { stream: StreamName; seq: number };
}

/** Extra inputs of `Device.run`. */
export interface DeviceRunOptions {
  uses?: readonly unknown[];
  after?: readonly PromiseLike<unknown>[];
}

export interface Device {
  readonly kind: 'sim' | 'tfjs';
  readonly rank: Rank;
  /** The clock ops are timed with; virtual on the sim device. */
  readonly clock: Clock;
  /**
   * Issue `fn` on `stream` after every op issued before it on that stream and every event
   * the stream has been told to wait for. Resolves with `fn`'s result when the op completes.
   * `options.uses` lists values the op reads (for the hazard checker); `options.after`
   * lists promises the op must not start before (data produced elsewhere, e.g. a module's
   * distributed input). A plain array is taken as `uses`.
   */
  run<T>(
    stream: StreamName,
    cost: OpCost,
    fn: () => T | Promise<T>,
    options?: DeviceRunOptions | readonly StreamTagged[],
  ): Promise<T>;
  /** Record an event on `stream` (covers every op issued on it so far). */
  record(stream: StreamName): DeviceEvent;
  /** Later ops on `stream` wait for `event`. */
  wait(stream: StreamName, event: DeviceEvent): void;
  /** `waiter` waits for everything issued so far on `target` (record + wait). */
  waitStream(waiter: StreamName, target: StreamName): void;
  /** Mark `value` as in use by `stream` (its memory must not be reused before `stream` is done with it). */
  recordStream(value: StreamTagged, stream: StreamName): void;
  /** Resolves when every op issued so far on `stream` (or all streams) has completed. */
  synchronize(stream?: StreamName): Promise<void>;
}
