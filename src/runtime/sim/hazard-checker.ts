/**
 * Stream-hazard checker: finds values used on a stream other than the one that produced
 * them, without a stream-ordered wait in between (the allocator hazard behind CUDA's
 * `record_stream`, which the seed pipeline's comments warn about).
 *
 * Each stream keeps a vector clock: for every stream, the last op sequence number it is
 * ordered after. Issuing an op on S advances S's own entry; recording an event on P
 * snapshots P's clock; `wait(S, event)` merges the event's clock into S's. An op on S that
 * uses a value produced by op `p` on stream P ≠ S is a hazard when S's clock has P < p.
 * Waits are transitive (S waited on P, which had waited on R ⇒ S is ordered after R's ops
 * up to that point), exactly as CUDA events are. Host-side synchronization (awaiting an op,
 * `synchronize`) does not count: only stream-ordered waits make cross-stream use safe.
 *
 * @example
 * const checker = new HazardChecker();
 * checker.issued('memcpy', 0);
 * checker.tag(batch, { stream: 'memcpy', seq: 0, label: 'copy b0' });
 * checker.check({ stream: 'default', seq: 0, label: 'forward b0' }, [batch], 1.5); // [hazard]
 */
import type { DeviceEvent, Rank, StreamName } from '../../protocol/index.ts';

/** Where a value was produced: the stream, the op's sequence number there, the op's label. */
export interface ProducerTag {
  readonly stream: StreamName;
  readonly seq: number;
  readonly label?: string;
}

/** One reported hazard. */
export interface StreamHazard {
  /** What was used: the producer op's label, or `value` when it had none. */
  readonly value: string;
  readonly producer: ProducerTag;
  /** The op that used the value without a wait. */
  readonly consumer: ProducerTag;
  /** Time (ms, virtual on sim) the consumer op was issued. */
  readonly t: number;
  readonly rank?: Rank;
}

/** Thrown by a device with `hazards: 'throw'` when an op is issued with a hazard. */
export class StreamHazardError extends Error {
  override readonly name = 'StreamHazardError';
  constructor(readonly hazard: StreamHazard) {
    super(describeHazard(hazard));
  }
}

/**
 * One line naming the value, the producer and the consumer.
 *
 * @example
 * describeHazard(h); // 'stream hazard: "copy b0" produced on memcpy#0 used on default#0 ("forward b0") at t=1.5 without a wait on memcpy'
 */
export function describeHazard(h: StreamHazard): string {
  const who = h.rank === undefined ? '' : ` (rank ${h.rank})`;
  const consumerLabel = h.consumer.label ? ` ("${h.consumer.label}")` : '';
  return (
    `stream hazard${who}: "${h.value}" produced on ${h.producer.stream}#${h.producer.seq} ` +
    `used on ${h.consumer.stream}#${h.consumer.seq}${consumerLabel} at t=${h.t} ` +
    `without a wait on an event recorded on ${h.producer.stream} after it`
  );
}

type VectorClock = Map<StreamName, number>;

/** Objects whose `producer` property the runtime defined (so it may overwrite it). */
const runtimeTagged = new WeakSet<object>();

export class HazardChecker {
  private readonly clocks = new Map<StreamName, VectorClock>();
  private readonly eventClocks = new WeakMap<DeviceEvent, VectorClock>();
  private readonly producers = new WeakMap<object, ProducerTag>();
  private readonly users = new WeakMap<object, Set<StreamName>>();

  /** Note that op `seq` was issued on `stream`. */
  issued(stream: StreamName, seq: number): void {
    this.clockOf(stream).set(stream, seq);
  }

  /** Remember the vector clock of `event`, recorded now on its stream. */
  recorded(event: DeviceEvent): void {
    this.eventClocks.set(event, new Map(this.clockOf(event.stream)));
  }

  /** `stream` now waits for `event` (merge its clock). */
  waited(stream: StreamName, event: DeviceEvent): void {
    const clock = this.clockOf(stream);
    const other = this.eventClocks.get(event) ?? new Map([[event.stream, event.seq]]);
    for (const [s, seq] of other) if ((clock.get(s) ?? -1) < seq) clock.set(s, seq);
  }

  /**
   * Tag `value` (when it is an object) as produced by `producer`. Kept in a WeakMap; also
   * exposed as a non-enumerable `producer` property ({@link StreamTagged}) when the object
   * is extensible and the property is free (never overwrites a user's own `producer`).
   */
  tag(value: unknown, producer: ProducerTag): void {
    if (!isObject(value)) return;
    this.producers.set(value, producer);
    if (runtimeTagged.has(value) || (Object.isExtensible(value) && !('producer' in value))) {
      try {
        Object.defineProperty(value, 'producer', {
          value: producer,
          configurable: true,
          writable: true,
          enumerable: false,
        });
        runtimeTagged.add(value);
      } catch {
        // exotic objects (proxies, typed-array index keys) keep only the WeakMap tag
      }
    }
  }

  /** Producer of `value`: the tag set by this checker, else the value's own `producer`. */
  producerOf(value: unknown): ProducerTag | undefined {
    if (!isObject(value)) return undefined;
    const tagged = this.producers.get(value);
    if (tagged) return tagged;
    const own = (value as { producer?: unknown }).producer;
    if (
      isObject(own) &&
      typeof (own as ProducerTag).stream === 'string' &&
      typeof (own as ProducerTag).seq === 'number'
    ) {
      return own as ProducerTag;
    }
    return undefined;
  }

  /** Mark `value` as used by `stream` (`recordStream`). */
  markUse(value: unknown, stream: StreamName): void {
    if (!isObject(value)) return;
    let set = this.users.get(value);
    if (!set) {
      set = new Set();
      this.users.set(value, set);
    }
    set.add(stream);
  }

  /** Streams `value` was marked used by (via `recordStream` or as an op's `uses`). */
  streamsUsing(value: unknown): ReadonlySet<StreamName> {
    return (isObject(value) && this.users.get(value)) || new Set();
  }

  /**
   * Hazards of an op about to be issued on `consumer.stream` that reads `uses`; call before
   * {@link HazardChecker.issued} for that op.
   */
  check(consumer: ProducerTag, uses: readonly unknown[], t: number, rank?: Rank): StreamHazard[] {
    const found: StreamHazard[] = [];
    const clock = this.clockOf(consumer.stream);
    for (const value of uses) {
      const producer = this.producerOf(value);
      this.markUse(value, consumer.stream);
      if (!producer || producer.stream === consumer.stream) continue;
      if ((clock.get(producer.stream) ?? -1) >= producer.seq) continue;
      found.push({
        value: producer.label ?? 'value',
        producer,
        consumer,
        t,
        ...(rank === undefined ? {} : { rank }),
      });
    }
    return found;
  }

  private clockOf(stream: StreamName): VectorClock {
    let c = this.clocks.get(stream);
    if (!c) {
      c = new Map();
      this.clocks.set(stream, c);
    }
    return c;
  }
}

function isObject(v: unknown): v is object {
  return (typeof v === 'object' && v !== null) || typeof v === 'function';
}
