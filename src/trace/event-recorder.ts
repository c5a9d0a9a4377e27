/**
 * Collects events from one or more buses into an array (tests, traces, the timeline).
 *
 * @example
 * const rec = new EventRecorder();
 * rec.attach(pipeline.events$);
 * await pipeline.progress(loader);
 * rec.events.filter((e) => e.type === 'optimizer.step').length;
 */
import type { Observable, Subscription } from 'rxjs';
import type { EventOfType, PipelineEvent } from '../protocol/index.ts';

export class EventRecorder {
  readonly events: PipelineEvent[] = [];
  private readonly subs: Subscription[] = [];

  attach(events$: Observable<PipelineEvent>): this {
    this.subs.push(events$.subscribe((e) => this.events.push(e)));
    return this;
  }

  ofType<T extends PipelineEvent['type']>(type: T): Array<EventOfType<T>> {
    return this.events.filter((e) => e.type === type) as Array<EventOfType<T>>;
  }

  detach(): void {
    for (const s of this.subs) s.unsubscribe();
    this.subs.length = 0;
  }
}
