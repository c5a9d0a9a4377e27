/**
 * The pipeline's view of a dataloader: pull one batch at a time (back-pressure: the
 * pipeline never pulls more than its depth ahead), with a one-item look-ahead so the last
 * batch is known to be last before it trains (the final partial accumulation window is
 * then stepped right after it).
 *
 * Accepts an Iterable, an Iterator, an AsyncIterable / AsyncIterator or an RxJS
 * Observable (through `src/data/dataloader.ts`'s adapter).
 *
 * @example
 * const src = new BatchSource(toPullSource(loader));
 * const first = await src.next();
 */
export interface PullSource<T> {
  next(): Promise<IteratorResult<T>>;
  return?(): Promise<unknown>;
}

export class BatchSource<T> {
  private peeked: Promise<IteratorResult<T>> | null = null;
  done = false;

  constructor(readonly pull: PullSource<T>) {}

  next(): Promise<IteratorResult<T>> {
    if (this.done) return Promise.resolve({ done: true, value: undefined });
    const p = this.peeked ?? this.pull.next();
    this.peeked = null;
    return p.then((r) => {
      if (r.done) this.done = true;
      return r;
    });
  }

  /** True when another item follows (pulls it into the look-ahead). */
  async hasNext(): Promise<boolean> {
    if (this.done) return false;
    this.peeked ??= this.pull.next();
    const r = await this.peeked;
    if (r.done) this.done = true;
    return !r.done;
  }

  async close(): Promise<void> {
    this.done = true;
    await this.pull.return?.();
  }
}
