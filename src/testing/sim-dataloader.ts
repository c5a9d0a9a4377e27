/**
 * A rank's dataloader as the simulated cluster feeds it: any dataloader (Iterable,
 * AsyncIterable, Observable) pulled one batch at a time, with the rank's dataloader faults
 * applied.
 *
 * - Pulling takes no virtual time: each pull is `scheduler.hold`-ed, so a dataloader that
 *   does real I/O (a Criteo file) cannot let virtual time run ahead — runs stay
 *   deterministic. Model a slow dataloader with a `dataloaderStall` fault.
 * - `dataloaderStall` faults sleep `ms` virtual ms before batch `atBatch` is pulled.
 * - A `dataloaderError` fault throws {@link InjectedDataloaderError} instead of yielding
 *   batch `atBatch` (the pipeline reports it as a `DataloaderError` for that batch).
 *
 * @example
 * const loader = simDataloader(batches, { scheduler, stalls: [{ kind: 'dataloaderStall', rank: 0, atBatch: 2, ms: 40 }] });
 * for await (const out of pipeline.run(loader)) …
 */
import { toPullSource, type DataloaderInput } from '../data/dataloader.ts';
import type { SimScheduler } from '../runtime/sim/sim-scheduler.ts';
import {
  InjectedDataloaderError,
  type DataloaderErrorFault,
  type DataloaderStallFault,
} from './faults.ts';

/**
 * Options of {@link simDataloader}: the shared scheduler and the rank's dataloader faults.
 *
 * @example
 * const o: SimDataloaderOptions = { scheduler: cluster.scheduler, error: { kind: 'dataloaderError', rank: 0, atBatch: 2 } };
 */
export interface SimDataloaderOptions {
  scheduler: SimScheduler;
  stalls?: readonly DataloaderStallFault[];
  error?: DataloaderErrorFault;
  /** Called when a fault takes effect. */
  onFired?: (fault: DataloaderStallFault | DataloaderErrorFault, t: number) => void;
}

/**
 * Wrap a dataloader for the simulated cluster (see the module doc).
 *
 * @example
 * for await (const batch of simDataloader(log.batches(32, { count: 4 }), { scheduler })) console.log(batch.batchSize);
 */
export function simDataloader<T>(
  input: DataloaderInput<T>,
  o: SimDataloaderOptions,
): AsyncIterable<T> {
  return {
    async *[Symbol.asyncIterator]() {
      const source = toPullSource(input);
      try {
        for (let index = 0; ; index++) {
          for (const stall of o.stalls ?? []) {
            if (stall.atBatch !== index) continue;
            o.onFired?.(stall, o.scheduler.now());
            await o.scheduler.sleep(stall.ms);
          }
          if (o.error && o.error.atBatch === index) {
            o.onFired?.(o.error, o.scheduler.now());
            throw new InjectedDataloaderError(o.error);
          }
          const r = await o.scheduler.hold(source.next());
          if (r.done) return;
          yield r.value;
        }
      } finally {
        await source.return();
      }
    },
  };
}
