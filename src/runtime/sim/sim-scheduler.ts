/**
 * The virtual clock of the simulated cluster: a discrete-event engine implementing the
 * {@link Clock} contract (so it can be passed to `createActor(machine, { clock })`).
 *
 * Timers fire in `(time, creation order)` order, so ties are deterministic. With
 * `autoAdvance` (the default) the scheduler moves time by itself: whenever timers are
 * pending it lets the host settle (the microtask queue drains and a few `setImmediate`
 * turns pass), then fires the earliest timer, sets `now()` to its time, and repeats. User
 * code therefore just `await`s things that complete in virtual time; no manual pumping.
 *
 * Real asynchronous work that must look instantaneous in virtual time (a worker round trip,
 * a file read) is wrapped in {@link SimScheduler.hold}: while a held promise is pending,
 * time does not advance. Anything else that is truly asynchronous (not a promise chain)
 * and not held makes a simulation non-deterministic.
 *
 * Errors thrown by a timer callback are reported to `onError` (default: rethrown
 * asynchronously, like a real timer's uncaught exception) and also reject a pending
 * {@link SimScheduler.runUntilIdle} / {@link SimScheduler.advanceTo}.
 *
 * @example
 * const scheduler = new SimScheduler();
 * await scheduler.sleep(25);        // resolves at virtual t = 25, instantly in wall time
 * scheduler.now();                  // 25
 * const actor = createActor(machine, { clock: scheduler }).start();
 */
import type { Clock } from '../../protocol/index.ts';
import { TimerQueue, type TimerEntry } from './timer-queue.ts';

/** Options of {@link SimScheduler}. */
export interface SimSchedulerOptions {
  /** Virtual start time in ms (default 0). */
  startTime?: number;
  /**
   * Advance by itself whenever timers are pending (default true). With `false` time moves
   * only inside {@link SimScheduler.runUntilIdle} and {@link SimScheduler.advanceTo}.
   */
  autoAdvance?: boolean;
  /** `setImmediate` turns to wait before each timer so the host can settle (default 2, min 1). */
  settleTurns?: number;
  /** Called with an error thrown by a timer callback (default: rethrown asynchronously). */
  onError?: (error: unknown) => void;
  /**
   * Fire every timer due at the same instant in one turn, without letting the host settle
   * between them (default false). Still deterministic and still `(time, creation)` ordered,
   * but promise continuations of the first timer run after the later ones fired. Faster
   * for large lock-step clusters (fewer settle turns); timings can differ from the default
   * mode where code reacts to same-instant timers.
   */
  coalesce?: boolean;
}

/** Opaque handle returned by {@link SimScheduler.setTimeout}. */
export type SimTimerId = number;

interface AdvanceWaiter {
  target: number;
  resolve: () => void;
  reject: (e: unknown) => void;
}

interface IdleWaiter {
  resolve: () => void;
  reject: (e: unknown) => void;
}

const nextTurn: (fn: () => void) => void =
  typeof globalThis.setImmediate === 'function'
    ? (fn) => {
        globalThis.setImmediate(fn);
      }
    : (fn) => {
        globalThis.setTimeout(fn, 0);
      };

export class SimScheduler implements Clock {
  private nowMs: number;
  private seq = 0;
  private readonly queue = new TimerQueue();
  private readonly byId = new Map<SimTimerId, TimerEntry>();
  private held = 0;
  private driving = false;
  private readonly advanceWaiters: AdvanceWaiter[] = [];
  private readonly idleWaiters: IdleWaiter[] = [];
  private readonly autoAdvance: boolean;
  private readonly settleTurns: number;
  private readonly onError: ((error: unknown) => void) | undefined;
  private readonly coalesce: boolean;

  constructor(options: SimSchedulerOptions = {}) {
    this.nowMs = options.startTime ?? 0;
    this.autoAdvance = options.autoAdvance ?? true;
    this.settleTurns = Math.max(1, Math.floor(options.settleTurns ?? 2));
    this.onError = options.onError;
    this.coalesce = options.coalesce ?? false;
  }

  /** Current virtual time in ms. */
  now(): number {
    return this.nowMs;
  }

  /** Timers that are pending (not fired, not cleared). */
  get pendingTimers(): number {
    return this.queue.size;
  }

  /** Held promises that are still pending. */
  get pendingHolds(): number {
    return this.held;
  }

  /**
   * Call `fn` after `timeoutMs` virtual ms (negative or NaN count as 0; `Infinity` never
   * fires and does not keep the scheduler busy).
   *
   * @example
   * const id = scheduler.setTimeout(() => console.log(scheduler.now()), 10); // logs 10
   */
  setTimeout(fn: (...args: unknown[]) => void, timeoutMs: number): SimTimerId {
    const id = this.seq++;
    if (timeoutMs === Infinity) return id;
    const delay = Number.isFinite(timeoutMs) && timeoutMs > 0 ? timeoutMs : 0;
    const entry: TimerEntry = { time: this.nowMs + delay, seq: id, fn, cancelled: false };
    this.byId.set(id, entry);
    this.queue.push(entry);
    this.kick();
    return id;
  }

  /**
   * Cancel a timer; unknown, fired or already-cleared ids are ignored.
   *
   * @example
   * scheduler.clearTimeout(scheduler.setTimeout(() => {}, 5));
   */
  clearTimeout(id: unknown): void {
    const entry = this.byId.get(id as SimTimerId);
    if (!entry) return;
    this.byId.delete(id as SimTimerId);
    this.queue.cancel(entry);
  }

  /**
   * Resolves after `ms` virtual milliseconds.
   *
   * @example
   * await scheduler.sleep(3); // scheduler.now() grew by 3
   */
  sleep(ms: number): Promise<void> {
    return new Promise<void>((resolve) => {
      this.setTimeout(resolve as () => void, ms);
    });
  }

  /**
   * Freeze virtual time until `p` settles; returns a promise settling like `p`.
   *
   * @example
   * const bytes = await scheduler.hold(fs.promises.readFile(path)); // takes 0 virtual ms
   */
  hold<T>(p: PromiseLike<T>): Promise<T> {
    this.held++;
    return Promise.resolve(p).then(
      (v) => {
        this.release();
        return v;
      },
      (e: unknown) => {
        this.release();
        throw e;
      },
    );
  }

  private release(): void {
    this.held--;
    this.kick();
  }

  /**
   * Resolves when no timer is pending and no hold is pending, firing timers as needed
   * (in both auto and manual mode). Rejects with the first error a timer callback threw
   * meanwhile.
   *
   * @example
   * scheduler.setTimeout(work, 100);
   * await scheduler.runUntilIdle(); // scheduler.now() === 100
   */
  runUntilIdle(): Promise<void> {
    return new Promise((resolve, reject) => {
      this.idleWaiters.push({ resolve, reject });
      this.kick(true);
    });
  }

  /**
   * Fire every timer due at or before `t`, let the host settle, then set `now()` to `t`
   * (if still behind it). With `autoAdvance` the scheduler may already be past `t`; then
   * this resolves at once. Use `autoAdvance: false` for exact stepping.
   *
   * @example
   * const s = new SimScheduler({ autoAdvance: false });
   * s.setTimeout(a, 5); s.setTimeout(b, 15);
   * await s.advanceTo(10); // a fired, b pending, s.now() === 10
   */
  advanceTo(t: number): Promise<void> {
    if (t <= this.nowMs) return Promise.resolve();
    return new Promise((resolve, reject) => {
      this.advanceWaiters.push({ target: t, resolve, reject });
      this.kick(true);
    });
  }

  /** Start the driver loop if it has work and is allowed to run. */
  private kick(requested = false): void {
    if (this.driving) return;
    const wanted =
      requested ||
      this.advanceWaiters.length > 0 ||
      this.idleWaiters.length > 0 ||
      (this.autoAdvance && this.queue.size > 0);
    if (!wanted) return;
    this.driving = true;
    void this.drive();
  }

  private async settle(): Promise<void> {
    for (let i = 0; i < this.settleTurns; i++) await new Promise<void>(nextTurn);
  }

  private async drive(): Promise<void> {
    for (;;) {
      await this.settle();
      if (this.held > 0) break; // the release kicks the driver again
      const next = this.queue.peek();
      const nextTime = next ? next.time : Infinity;
      const due = this.earliestAdvanceWaiter(nextTime);
      if (due) {
        this.advanceWaiters.splice(this.advanceWaiters.indexOf(due), 1);
        if (due.target > this.nowMs) this.nowMs = due.target;
        due.resolve();
        continue;
      }
      if (!next) {
        for (const w of this.idleWaiters.splice(0)) w.resolve();
        break;
      }
      if (!this.autoAdvance && this.advanceWaiters.length === 0 && this.idleWaiters.length === 0)
        break;
      this.queue.pop();
      if (next.time > this.nowMs) this.nowMs = next.time;
      this.fire(next);
      if (this.coalesce) {
        for (
          let more = this.queue.peek();
          more && more.time === next.time;
          more = this.queue.peek()
        ) {
          this.queue.pop();
          this.fire(more);
        }
      }
    }
    this.driving = false;
    // Work may have arrived between the last check and now (e.g. a hold released while settling).
    if (this.held === 0) this.kick();
  }

  private fire(timer: TimerEntry): void {
    this.byId.delete(timer.seq);
    try {
      timer.fn();
    } catch (error) {
      this.report(error);
    }
  }

  private earliestAdvanceWaiter(before: number): AdvanceWaiter | undefined {
    let best: AdvanceWaiter | undefined;
    for (const w of this.advanceWaiters) {
      if (w.target < before && (!best || w.target < best.target)) best = w;
    }
    return best;
  }

  private report(error: unknown): void {
    const waiters = [...this.advanceWaiters.splice(0), ...this.idleWaiters.splice(0)];
    for (const w of waiters) w.reject(error);
    if (this.onError) this.onError(error);
    else if (waiters.length === 0) {
      queueMicrotask(() => {
        throw error;
      });
    }
  }
}
