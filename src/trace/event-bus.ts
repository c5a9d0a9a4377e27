/**
 * The per-rank event bus: producers emit events without `rank` and `t`; the bus stamps them
 * with its rank and the injected clock and pushes them to `events$`.
 *
 * @example
 * const bus = new EventBus(0, clock);
 * bus.events$.subscribe((e) => log.push(e));
 * bus.emit({ type: 'copy.start', batch: 3 });
 */
import { Subject, type Observable } from 'rxjs';
import type { Clock, PipelineEvent, PipelineEventInput, Rank } from '../protocol/index.ts';

export class EventBus {
  private readonly subject = new Subject<PipelineEvent>();
  /** Every event of this rank, in the order they happened. */
  readonly events$: Observable<PipelineEvent> = this.subject.asObservable();

  constructor(
    readonly rank: Rank,
    private readonly clock: Clock,
  ) {}

  /** Stamp and publish `event`; nothing is built when nobody listens (the hot path of long runs). */
  emit(event: PipelineEventInput): void {
    if (!this.subject.observed) return;
    this.subject.next({ ...event, rank: this.rank, t: this.clock.now() } as PipelineEvent);
  }

  /** True while someone subscribes to `events$`. */
  get observed(): boolean {
    return this.subject.observed;
  }

  complete(): void {
    this.subject.complete();
  }
}
