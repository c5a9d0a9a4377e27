/**
 * What each rank trains and evaluates on. A global batch of `B` examples is split evenly:
 * rank `r` of `W` gets examples `[r·B/W, (r+1)·B/W)` of it.
 *
 * - **Synthetic** (`--data synthetic`): the log's example `n` depends only on the seed, so
 *   each rank generates exactly its own slice (`batches(B/W, { start })`), identical to
 *   slicing the global batch.
 * - **Criteo TSV**: every rank reads the file and keeps its slice of each global batch;
 *   with more than one rank a final batch smaller than `B` is dropped (it could not be
 *   split evenly).
 *
 * Batches `[from, to)` of the global stream are produced; `to = Infinity` keeps going (a
 * run that stops mid-window for a checkpoint keeps the pipeline fed past its last batch so
 * that the partial window is not flushed).
 *
 * @example
 * const batches = syntheticRankBatches(log, { rank: 1, worldSize: 4, globalBatchSize: 256, from: 0, to: 10 });
 */
import { readCriteoTsv, type CriteoTsvReader } from '../data/criteo-tsv.ts';
import { SyntheticClickLog } from '../data/synthetic.ts';
import type { Batch } from '../tensors/batch.ts';
import type { DlrmConfig } from '../models/dlrm-rank.ts';

export interface RankSlice {
  rank: number;
  worldSize: number;
  globalBatchSize: number;
  /** First global batch (inclusive). */
  from: number;
  /** Last global batch (exclusive); Infinity: endless. */
  to: number;
}

const logs = new Map<string, SyntheticClickLog>();

/**
 * The synthetic click log of a model config and seed: one sparse feature per table
 * feature, 4 ids per bag (the reference DLRM's pooling). Built once per process and key.
 *
 * @example
 * syntheticLogFor(config, 1).heldOut();
 */
export function syntheticLogFor(config: DlrmConfig, seed: number): SyntheticClickLog {
  const features = config.tables.flatMap((t) => t.features.map((key) => ({ key, rows: t.rows })));
  const key = JSON.stringify({ seed, denseDim: config.denseIn, features });
  let log = logs.get(key);
  if (!log) {
    log = new SyntheticClickLog({ seed, denseDim: config.denseIn, features, idsPerFeature: 4 });
    const oldest = logs.keys().next();
    if (logs.size >= 8 && !oldest.done) logs.delete(oldest.value);
    logs.set(key, log);
  }
  return log;
}

/** Rank `slice.rank`'s local batches of global batches `[from, to)`. */
export function* syntheticRankBatches(log: SyntheticClickLog, slice: RankSlice): Generator<Batch> {
  const local = slice.globalBatchSize / slice.worldSize;
  for (let i = slice.from; i < slice.to; i++) {
    const start = i * slice.globalBatchSize + slice.rank * local;
    for (const b of log.batches(local, { start, count: 1 })) yield b;
  }
}

/**
 * The held-out evaluation batches of one rank: `examples` held-out examples in global
 * batches of at most 512, each split across ranks as evenly as possible (the same
 * examples for every world size).
 *
 * @example
 * for (const b of heldOutRankBatches(log.heldOut(), 4096, 0, 4)) console.log(b.batchSize);
 */
export function* heldOutRankBatches(
  heldOut: SyntheticClickLog,
  examples: number,
  rank: number,
  worldSize: number,
): Generator<Batch> {
  const count = Math.ceil(examples / 512);
  for (let j = 0; j < count; j++) {
    const start = Math.floor((j * examples) / count);
    const size = Math.floor(((j + 1) * examples) / count) - start;
    const a = Math.floor((rank * size) / worldSize);
    const b = Math.floor(((rank + 1) * size) / worldSize);
    yield heldOut.batchOf(heldOut.examples(start + a, b - a));
  }
}

/** A Criteo reader plus the rank's slices of its batches. */
export interface CriteoRankSource {
  reader: CriteoTsvReader;
  batches: AsyncIterable<Batch>;
}

/**
 * Rank `slice.rank`'s local batches of a Criteo TSV file, global batches `[from, to)`.
 *
 * @example
 * const { batches, reader } = criteoRankBatches('day_0.tsv', config, false, slice);
 */
export function criteoRankBatches(
  path: string,
  config: DlrmConfig,
  skipBadRows: boolean,
  slice: RankSlice,
  rows?: { from: number; to: number },
): CriteoRankSource {
  const features = config.tables.flatMap((t) => t.features.map((key) => ({ key, rows: t.rows })));
  const reader = readCriteoTsv(path, {
    batchSize: slice.globalBatchSize,
    features,
    skipBadRows,
    dropLast: slice.worldSize > 1,
    rows,
  });
  const local = slice.globalBatchSize / slice.worldSize;
  async function* batches(): AsyncGenerator<Batch> {
    let i = 0;
    for await (const global of reader) {
      if (i >= slice.to) break;
      if (i >= slice.from) {
        const size = slice.worldSize > 1 ? local : global.batchSize;
        yield slice.worldSize > 1
          ? global.sliceSamples(slice.rank * size, (slice.rank + 1) * size)
          : global;
      }
      i++;
    }
  }
  return { reader, batches: { [Symbol.asyncIterator]: batches } };
}

/**
 * `batches` with every pull passed through `hold` — on the sim device, the virtual clock's
 * `scheduler.hold`, so virtual time stands still while a rank reads its file in wall-clock
 * time. Without it, a rank waiting in a collective could see its timeout fire (the
 * scheduler jumps to the next virtual timer whenever the host is idle) while another rank
 * is still reading.
 *
 * @example
 * const source = heldBatches(criteo.batches, (p) => cluster.scheduler.hold(p));
 */
export function heldBatches<T>(
  batches: AsyncIterable<T>,
  hold: <R>(work: Promise<R>) => Promise<R>,
): AsyncIterable<T> {
  return {
    async *[Symbol.asyncIterator]() {
      const it = batches[Symbol.asyncIterator]();
      let finished = false;
      try {
        for (;;) {
          const r = await hold(it.next());
          if (r.done) {
            finished = true;
            return;
          }
          yield r.value;
        }
      } finally {
        if (!finished && it.return) await hold(it.return());
      }
    },
  };
}

/**
 * Rank `rank`'s held-out batches of a Criteo file: data rows `rows` (the file's last rows,
 * never trained on), read as one set and split like the synthetic held-out stream — global
 * batches of at most 512, each divided across ranks as evenly as possible.
 *
 * @example
 * const batches = await criteoHeldOutRankBatches('day_0.tsv', config, false, { from: 9000, to: 10000 }, 0, 2);
 */
export async function criteoHeldOutRankBatches(
  path: string,
  config: DlrmConfig,
  skipBadRows: boolean,
  rows: { from: number; to: number },
  rank: number,
  worldSize: number,
): Promise<Batch[]> {
  const features = config.tables.flatMap((t) => t.features.map((key) => ({ key, rows: t.rows })));
  const reader = readCriteoTsv(path, {
    batchSize: Math.max(1, rows.to - rows.from),
    features,
    skipBadRows,
    rows,
  });
  const out: Batch[] = [];
  for await (const all of reader) {
    const n = all.batchSize;
    const count = Math.ceil(n / 512);
    for (let j = 0; j < count; j++) {
      const start = Math.floor((j * n) / count);
      const size = Math.floor(((j + 1) * n) / count) - start;
      const a = Math.floor((rank * size) / worldSize);
      const b = Math.floor(((rank + 1) * size) / worldSize);
      if (b > a) out.push(all.sliceSamples(start + a, start + b));
    }
  }
  return out;
}
