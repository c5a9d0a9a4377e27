/**
 * Dataloader adapters: whatever a user passes as a dataloader — an `Iterable` (array,
 * generator, `SyntheticClickLog.batches`), an `AsyncIterable` (`CriteoTsvReader`, async
 * generator) or an RxJS `Observable` — becomes one {@link PullSource} the pipeline pulls
 * from, one batch per `next()`.
 *
 * **Back-pressure.** Iterables and async iterables are pulled strictly on demand: nothing is
 * read ahead of the pipeline's own `next()` calls, so the pipeline depth bounds read-ahead.
 * Observables are push-based and cannot be paused: the adapter subscribes on the first
 * `next()` and queues what the source pushes. The queue is bounded by `maxBuffered`
 * (default 1024); a source that pushes further ahead is stopped (unsubscribed — this also
 * ends a synchronous `from(infiniteIterable)`) and the pull fails with
 * {@link DataloaderOverflowError} once the queued batches are consumed. Prefer an
 * (Async)Iterable for large or endless data, or an Observable that emits only when asked
 * (e.g. driven by the pipeline's demand).
 *
 * **Errors.** An iterator or Observable that throws surfaces its error from the `next()`
 * that reaches it (after the batches queued before it); the source is then finished and
 * later `next()` calls return `{ done: true }`. `next()` calls are served one at a time in
 * call order even when they overlap.
 *
 * @example
 * const source = toPullSource(log.batches(128, { count: 100 }));
 * for (;;) { const r = await source.next(); if (r.done) break; train(r.value); }
 * await source.return();
 */
import {
  from,
  isObservable,
  Observable,
  takeWhile,
  type InteropObservable,
  type Subscribable,
  type Subscription,
} from 'rxjs';
import type { Batch } from '../tensors/batch.ts';

/** Anything accepted as a dataloader. */
export type DataloaderInput<T = Batch> =
  | Iterable<T>
  | AsyncIterable<T>
  | Observable<T>
  | Subscribable<T>;

/** What the pipeline pulls batches from. */
export interface PullSource<T = Batch> {
  /** Which kind of input this adapts. */
  readonly kind: 'iterable' | 'asyncIterable' | 'observable';
  /** The next batch, `{ done: true }` at the end; rejects with the source's error. */
  next(): Promise<IteratorResult<T, undefined>>;
  /** Stop early: closes the iterator (`return()`) or unsubscribes. Idempotent. */
  return(): Promise<void>;
}

export interface PullSourceOptions {
  /** Observables only: most values queued ahead of demand before the source is stopped (default 1024). */
  maxBuffered?: number;
}

/**
 * An Observable dataloader pushed more batches than `maxBuffered` ahead of the pipeline.
 *
 * @example
 * if (e instanceof DataloaderOverflowError) console.error(e.message);
 */
/**
 * The value given as a dataloader is none of the accepted kinds (a `TypeError`, as for any
 * argument of the wrong type): the pipeline throws it as it is.
 *
 * @example
 * toBatchSource(42); // throws InvalidDataloaderError: dataloader must be an Iterable, AsyncIterable or Observable of batches; got a number
 */
export class InvalidDataloaderError extends TypeError {
  constructor(got: string) {
    super(`dataloader must be an Iterable, AsyncIterable or Observable of batches; got ${got}`);
  }
}

export class DataloaderOverflowError extends Error {
  override readonly name = 'DataloaderOverflowError';
  constructor(readonly maxBuffered: number) {
    super(
      `the Observable dataloader pushed more than ${maxBuffered} batches ahead of the pipeline (Observables cannot be paused); ` +
        'pass an Iterable or AsyncIterable, or raise maxBuffered',
    );
  }
}

/**
 * Adapt a dataloader to a {@link PullSource}. Throws a `TypeError` naming what was given when
 * `input` is none of the accepted kinds (a string is rejected although it is iterable).
 *
 * @example
 * const source = toPullSource(from(batches));  // an RxJS Observable
 * const first = await source.next();
 */
export function toPullSource<T = Batch>(
  input: DataloaderInput<T>,
  options: PullSourceOptions = {},
): PullSource<T> {
  const x = input as unknown;
  if (typeof x === 'object' && x !== null) {
    if (typeof (x as AsyncIterable<T>)[Symbol.asyncIterator] === 'function') {
      return serialized(
        'asyncIterable',
        iteratorSource(() => (x as AsyncIterable<T>)[Symbol.asyncIterator]()),
      );
    }
    if (typeof (x as Iterable<T>)[Symbol.iterator] === 'function') {
      return serialized(
        'iterable',
        iteratorSource(() => (x as Iterable<T>)[Symbol.iterator]()),
      );
    }
    if (
      isObservable(x) ||
      typeof (x as Subscribable<T>).subscribe === 'function' ||
      hasInteropObservable(x)
    ) {
      const maxBuffered = options.maxBuffered ?? 1024;
      if (!(maxBuffered >= 1)) throw new RangeError(`maxBuffered must be ≥ 1; got ${maxBuffered}`);
      return serialized(
        'observable',
        observableSource(toRxObservable(x as Subscribable<T>), maxBuffered),
      );
    }
  }
  throw new InvalidDataloaderError(describeInput(x));
}

interface RawSource<T> {
  next(): Promise<IteratorResult<T, undefined>>;
  return(): Promise<void>;
}

/** Serve `next()` calls one at a time, in call order. */
function serialized<T>(kind: PullSource<T>['kind'], raw: RawSource<T>): PullSource<T> {
  let tail: Promise<unknown> = Promise.resolve();
  let inFlight = 0;
  const enqueue = <R>(op: () => Promise<R>): Promise<R> => {
    // When idle, start at once (synchronously): a hot Observable is subscribed to by the
    // very next() call, so values pushed right after it are not missed.
    const result = inFlight === 0 ? op() : tail.then(op, op);
    inFlight++;
    const settled = result.then(
      () => void inFlight--,
      () => void inFlight--,
    );
    tail = settled;
    return result;
  };
  return {
    kind,
    next: () => enqueue(() => raw.next()),
    // not queued: an early return must also release a next() that is still waiting
    return: () => raw.return(),
  };
}

function iteratorSource<T>(open: () => Iterator<T> | AsyncIterator<T>): RawSource<T> {
  let it: Iterator<T> | AsyncIterator<T> | undefined;
  let finished = false;
  return {
    async next() {
      if (finished) return { done: true, value: undefined };
      try {
        it ??= open();
        const r = await it.next();
        if (r.done) {
          finished = true;
          return { done: true, value: undefined };
        }
        return { done: false, value: r.value };
      } catch (e) {
        finished = true;
        throw e;
      }
    },
    async return() {
      if (finished) return;
      finished = true;
      await it?.return?.();
    },
  };
}

function observableSource<T>(source: Observable<T>, maxBuffered: number): RawSource<T> {
  const queue: T[] = [];
  let subscription: Subscription | undefined;
  let stopped = false; // we asked the source to stop (overflow or return)
  let ended: { error?: unknown; failed: boolean } | undefined; // the source is over
  let waiter: { resolve: () => void } | undefined;
  const wake = () => {
    const w = waiter;
    waiter = undefined;
    w?.resolve();
  };
  const subscribe = () => {
    subscription = source.pipe(takeWhile(() => !stopped)).subscribe({
      next: (value) => {
        queue.push(value);
        if (queue.length > maxBuffered) {
          stopped = true;
          ended = { error: new DataloaderOverflowError(maxBuffered), failed: true };
        }
        wake();
      },
      error: (error: unknown) => {
        ended ??= { error, failed: true };
        wake();
      },
      complete: () => {
        ended ??= { failed: false };
        wake();
      },
    });
  };
  return {
    async next() {
      if (!subscription && !stopped) subscribe();
      while (queue.length === 0 && !ended)
        await new Promise<void>((resolve) => (waiter = { resolve }));
      if (queue.length > 0) return { done: false, value: queue.splice(0, 1)[0] };
      if (ended?.failed) {
        const error = ended.error;
        ended = { failed: false }; // report once; afterwards the source is simply done
        throw error;
      }
      return { done: true, value: undefined };
    },
    async return() {
      stopped = true;
      ended = { failed: false };
      queue.length = 0;
      subscription?.unsubscribe();
      wake();
    },
  };
}

function hasInteropObservable(x: object): boolean {
  const sym = (Symbol as { observable?: symbol }).observable;
  return (
    (sym !== undefined && typeof (x as Record<symbol, unknown>)[sym] === 'function') ||
    typeof (x as Record<string, unknown>)['@@observable'] === 'function'
  );
}

function toRxObservable<T>(x: Subscribable<T>): Observable<T> {
  if (isObservable(x)) return x as Observable<T>;
  if (typeof x.subscribe === 'function')
    return new Observable<T>((subscriber) => x.subscribe(subscriber));
  return from(x as unknown as InteropObservable<T>);
}

function describeInput(x: unknown): string {
  if (x === null) return 'null';
  if (typeof x === 'string') return 'string (a string is not a sequence of batches)';
  if (typeof x !== 'object') return typeof x;
  if (x instanceof Promise) return 'a Promise (await it, or pass an AsyncIterable)';
  const name = (x as { constructor?: { name?: string } }).constructor?.name;
  return name && name !== 'Object'
    ? `${name} (not iterable)`
    : 'an object that is neither iterable nor observable';
}
