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

export function deferred<T>(): Deferred<T> {
  let resolve!: (v: T) => void;
  let reject!: (e: unknown) => void;
  const promise = new Promise<T>((res, rej) => {
    resolve = res;
    reject = rej;
  });
  promise.catch(() => {});
  const d: Deferred<T> = {
    promise,
    settled: false,
    resolve(v) {
      if (d.settled) return;
      d.settled = true;
      resolve(v);
    },
    reject(e) {
      if (d.settled) return;
      d.settled = true;
      reject(e);
    },
  };
  return d;
}

/** Resolve after `p` settles, with its value; never rejects (for gates). */
export function settled(p: PromiseLike<unknown>): Promise<void> {
  return Promise.resolve(p).then(
    () => undefined,
    () => undefined,
  );
}
