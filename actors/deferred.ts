/**
 * A promise with its resolve / reject exposed, marked handled so an unobserved rejection
 * does not crash the process (the pipeline observes it later).
 *
 * @example
 * const d = deferred<number>();
 * d.resolve(3);
 * await d.promise; // 3
 */
export interface Deferred<T> {
  promise: Promise<T>;
  resolve(value: T): void;
  reject(error: unknown): void;
  settled: boolean;
}

/**
 * Several deferreds are made per batch per module: a class keeps `resolve` / `reject` on the
 * prototype instead of building two closures per instance.
 */
class DeferredPromise<T> implements Deferred<T> {
  readonly promise: Promise<T>;
  settled = false;
  private settle!: (v: T) => void;
  private fail!: (e: unknown) => void;

  constructor() {
    this.promise = new Promise<T>((res, rej) => {
      this.settle = res;
      this.fail = rej;
    });
    this.promise.catch(ignore);
  }

  resolve(value: T): void {
    if (this.settled) return;
    this.settled = true;
    this.settle(value);
  }

  reject(error: unknown): void {
    if (this.settled) return;
    this.settled = true;
    this.fail(error);
  }
}

function ignore(): void {}

export function deferred<T>(): Deferred<T> {
  return new DeferredPromise<T>();
}

/** Resolve after `p` settles, with its value; never rejects (for gates). */
export function settled(p: PromiseLike<unknown>): Promise<void> {
  return Promise.resolve(p).then(
    () => undefined,
    () => undefined,
  );
}
