import { from, Observable, of, Subject, throwError, concat, range, map } from 'rxjs';
import { describe, expect, it } from 'vitest';
import { DataloaderOverflowError, toPullSource, type PullSource } from '../../src/data/index.ts';

async function drain<T>(source: PullSource<T>): Promise<T[]> {
  const out: T[] = [];
  for (;;) {
    const r = await source.next();
    if (r.done) return out;
    out.push(r.value);
  }
}

describe('toPullSource: Iterable', () => {
  it('pulls an array, then reports done (repeatedly)', async () => {
    const s = toPullSource([1, 2, 3]);
    expect(s.kind).toBe('iterable');
    expect(await drain(s)).toEqual([1, 2, 3]);
    expect(await s.next()).toEqual({ done: true, value: undefined });
  });

  it('pulls strictly on demand (no read-ahead) and is lazy until the first next()', async () => {
    const pulled: number[] = [];
    function* gen() {
      for (let i = 0; i < 10; i++) {
        pulled.push(i);
        yield i;
      }
    }
    const s = toPullSource(gen());
    expect(pulled).toEqual([]);
    await s.next();
    await s.next();
    expect(pulled).toEqual([0, 1]);
  });

  it('surfaces a throwing iterator from next(), then is done', async () => {
    function* gen() {
      yield 1;
      throw new Error('disk on fire');
    }
    const s = toPullSource(gen());
    expect(await s.next()).toEqual({ done: false, value: 1 });
    await expect(s.next()).rejects.toThrow('disk on fire');
    expect((await s.next()).done).toBe(true);
  });

  it('return() closes the iterator early (its finally runs)', async () => {
    let closed = false;
    function* gen() {
      try {
        for (let i = 0; ; i++) yield i;
      } finally {
        closed = true;
      }
    }
    const s = toPullSource(gen());
    await s.next();
    await s.return();
    expect(closed).toBe(true);
    expect((await s.next()).done).toBe(true);
  });

  it('serves overlapping next() calls in order', async () => {
    const s = toPullSource([1, 2, 3]);
    const rs = await Promise.all([s.next(), s.next(), s.next(), s.next()]);
    expect(rs.map((r) => r.value)).toEqual([1, 2, 3, undefined]);
  });
});

describe('toPullSource: AsyncIterable', () => {
  it('pulls an async generator in order and on demand', async () => {
    const pulled: number[] = [];
    async function* gen() {
      for (let i = 0; i < 3; i++) {
        pulled.push(i);
        await Promise.resolve();
        yield i;
      }
    }
    const s = toPullSource(gen());
    expect(s.kind).toBe('asyncIterable');
    expect((await s.next()).value).toBe(0);
    expect(pulled).toEqual([0]);
    expect(await drain(s)).toEqual([1, 2]);
  });

  it('surfaces a rejection and supports early return', async () => {
    async function* failing() {
      yield 'a';
      throw new TypeError('bad row');
    }
    const s = toPullSource(failing());
    await s.next();
    await expect(s.next()).rejects.toThrow(new TypeError('bad row'));

    let closed = false;
    async function* endless() {
      try {
        for (;;) yield 1;
      } finally {
        closed = true;
      }
    }
    const e = toPullSource(endless());
    await e.next();
    await e.return();
    expect(closed).toBe(true);
  });
});

describe('toPullSource: Observable', () => {
  it('pulls a synchronous Observable to completion', async () => {
    const s = toPullSource(of(1, 2, 3));
    expect(s.kind).toBe('observable');
    expect(await drain(s)).toEqual([1, 2, 3]);
  });

  it('does not subscribe before the first next() and waits for asynchronous pushes', async () => {
    const subject = new Subject<number>();
    let subscribed = 0;
    const source = new Observable<number>((sub) => {
      subscribed++;
      return subject.subscribe(sub);
    });
    const s = toPullSource(source);
    expect(subscribed).toBe(0);
    const first = s.next();
    expect(subscribed).toBe(1);
    subject.next(10);
    expect(await first).toEqual({ done: false, value: 10 });
    const second = s.next();
    subject.next(20);
    subject.complete();
    expect(await second).toEqual({ done: false, value: 20 });
    expect((await s.next()).done).toBe(true);
  });

  it('delivers queued values before the error, then is done', async () => {
    const s = toPullSource(
      concat(
        of(1, 2),
        throwError(() => new Error('stream broke')),
      ),
    );
    expect((await s.next()).value).toBe(1);
    expect((await s.next()).value).toBe(2);
    await expect(s.next()).rejects.toThrow('stream broke');
    expect((await s.next()).done).toBe(true);
  });

  it('return() unsubscribes and releases a waiting next()', async () => {
    let unsubscribed = false;
    const never = new Observable<number>(() => () => {
      unsubscribed = true;
    });
    const s = toPullSource(never);
    const pending = s.next();
    await Promise.resolve();
    await s.return();
    expect(await pending).toEqual({ done: true, value: undefined });
    expect(unsubscribed).toBe(true);
  });

  it('stops a source that pushes more than maxBuffered ahead, even an endless synchronous one', async () => {
    let produced = 0;
    const endless = range(0, Number.MAX_SAFE_INTEGER).pipe(
      map((i) => {
        produced++;
        return i;
      }),
    );
    const s = toPullSource(endless, { maxBuffered: 5 });
    const got: number[] = [];
    let error: unknown;
    try {
      for (;;) {
        const r = await s.next();
        if (r.done) break;
        got.push(r.value);
      }
    } catch (e) {
      error = e;
    }
    expect(got).toEqual([0, 1, 2, 3, 4, 5]);
    expect(produced).toBeLessThan(10);
    expect(error).toBeInstanceOf(DataloaderOverflowError);
    expect((error as Error).message).toContain('pushed more than 5 batches ahead of the pipeline');
  });

  it('accepts a bare Subscribable (non-RxJS observable)', async () => {
    const subscribable = {
      subscribe(observer: { next?: (v: string) => void; complete?: () => void }) {
        observer.next?.('x');
        observer.complete?.();
        return { unsubscribe() {} };
      },
    };
    expect(await drain(toPullSource(subscribable))).toEqual(['x']);
    expect(await drain(toPullSource(from(Promise.resolve('p'))))).toEqual(['p']);
  });
});

describe('toPullSource: invalid input', () => {
  it.each([
    [42, 'got number'],
    [null, 'got null'],
    [undefined, 'got undefined'],
    ['batches', 'got string (a string is not a sequence of batches)'],
    [{ a: 1 }, 'got an object that is neither iterable nor observable'],
    [Promise.resolve([]), 'got a Promise (await it, or pass an AsyncIterable)'],
  ])('%o → TypeError', (input, tail) => {
    expect(() => toPullSource(input as never)).toThrow(
      new TypeError(
        `dataloader must be an Iterable, AsyncIterable or Observable of batches; ${tail}`,
      ),
    );
  });
});
