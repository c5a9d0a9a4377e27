/**
 * Start N ranks as worker threads of this process, wired by a full mesh of MessageChannels,
 * each running the default export of an entry module with its own `threads` process group.
 *
 * - The entry (a TS or JS module; a path or URL) default-exports a `ThreadRankMain`:
 *   `({ rank, worldSize, workerData, group }) => result`. Workers run TypeScript through
 *   tsx (registered in each worker by `thread-rank-bootstrap.mjs`), under vitest and plain
 *   node 20 alike.
 * - **Failure watch.** A worker that throws (from its entry or uncaught) or exits before the
 *   launcher ends it is a failed rank: every other worker is told at once, so its pending and
 *   later collectives reject with `PeerFailedError` naming the rank (the mesh port closing is
 *   detected by the ranks too). The others get `failureGraceMs` to settle, then are terminated.
 * - **Results.** `settled` resolves with every rank's settlement once all have settled (and
 *   the workers are gone); `results()` resolves with the values in rank order or rejects with
 *   {@link ThreadRankFailedError} naming the rank that failed first. A rank that finished stays
 *   alive (its ports open) until every rank has, so a slow peer is never told it died.
 *
 * @example
 * const values = await launchThreadRanks<{ steps: number }, number[]>({
 *   worldSize: 4,
 *   entry: new URL('./train-rank.ts', import.meta.url),
 *   workerData: { steps: 100 },
 * });
 */
import { createRequire } from 'node:module';
import { readFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { Worker, type MessagePort } from 'node:worker_threads';
import type { Clock, Rank } from '../../../protocol/index.ts';
import { isCompiled, moduleUrl } from '../../module-url.ts';
import { wallClock } from '../../wall-clock.ts';
import { createMeshPorts } from './mesh-ports.ts';
import type { RankCommand, RankReport, RankWorkerData, SerializedError } from './rank-control.ts';
import { THREADS_DEFAULT_TIMEOUT_MS } from './thread-process-group.ts';

/** Options of {@link launchThreadRanks} / {@link startThreadRanks}. */
export interface LaunchThreadRanksOptions<D = unknown> {
  worldSize: number;
  /** Module whose default export is the rank's `ThreadRankMain` (path or URL). */
  entry: URL | string;
  /** Passed (cloned) to every rank as `context.workerData`. */
  workerData?: D;
  /** Default collective timeout inside the ranks, real ms (default 30 000). */
  timeoutMs?: number;
  /** After a rank fails, how long the others may take to settle before being terminated (default 5 000 ms). */
  failureGraceMs?: number;
  /** Time source for the grace period (default the wall clock). */
  clock?: Clock;
}

/** How one rank ended. */
export type RankSettlement<R> =
  | { readonly rank: Rank; readonly ok: true; readonly value: R }
  | { readonly rank: Rank; readonly ok: false; readonly error: SerializedError };

/** Handle on running ranks. */
export interface ThreadRanks<R> {
  readonly worldSize: number;
  readonly workers: readonly Worker[];
  /** Every rank's settlement, rank order, once all settled and the workers are gone. Never rejects. */
  readonly settled: Promise<RankSettlement<R>[]>;
  /** The values in rank order, or {@link ThreadRankFailedError} naming the first failed rank. */
  results(): Promise<R[]>;
  /** Terminate every worker now (unsettled ranks settle as terminated). */
  terminate(): Promise<void>;
}

/** A rank failed; `settlements` tells how every rank ended. */
export class ThreadRankFailedError extends Error {
  override readonly name = 'ThreadRankFailedError';
  constructor(
    readonly failedRank: Rank,
    readonly reason: string,
    readonly settlements: readonly RankSettlement<unknown>[],
  ) {
    const others = settlements.filter((s) => !s.ok && s.rank !== failedRank).map((s) => s.rank);
    super(
      `thread rank ${failedRank} failed: ${reason}${others.length ? ` (ranks ${others.join(', ')} failed after it)` : ''}`,
    );
  }
}

/** Default grace period for the surviving ranks after a failure, ms. */
export const FAILURE_GRACE_MS = 5_000;

const bootstrapUrl = new URL('./thread-rank-bootstrap.mjs', import.meta.url);
const rankMainUrl = moduleUrl('./thread-rank-main.ts', import.meta.url);

/**
 * Launch the ranks and wait for their values (see the module doc).
 *
 * @example
 * const sums = await launchThreadRanks({ worldSize: 2, entry: './rank.ts' });
 */
export function launchThreadRanks<D = unknown, R = unknown>(
  options: LaunchThreadRanksOptions<D>,
): Promise<R[]> {
  return startThreadRanks<D, R>(options).results();
}

/**
 * Launch the ranks and return a handle (see {@link ThreadRanks}).
 *
 * @example
 * const ranks = startThreadRanks({ worldSize: 4, entry: new URL('./rank.ts', import.meta.url) });
 * const settlements = await ranks.settled; // how each rank ended, even after a failure
 */
export function startThreadRanks<D = unknown, R = unknown>(
  options: LaunchThreadRanksOptions<D>,
): ThreadRanks<R> {
  const { worldSize } = options;
  if (!Number.isInteger(worldSize) || worldSize < 1)
    throw new RangeError(`launchThreadRanks: worldSize must be an integer ≥ 1, got ${worldSize}`);
  const timeoutMs = options.timeoutMs ?? THREADS_DEFAULT_TIMEOUT_MS;
  if (!(timeoutMs > 0))
    throw new RangeError(`launchThreadRanks: timeoutMs must be > 0 ms, got ${timeoutMs}`);
  const graceMs = options.failureGraceMs ?? FAILURE_GRACE_MS;
  if (!(graceMs >= 0))
    throw new RangeError(`launchThreadRanks: failureGraceMs must be ≥ 0 ms, got ${graceMs}`);
  const clock = options.clock ?? wallClock;
  const entry = entryUrl(options.entry);
  // TypeScript (this package's sources, or a user's .ts entry) needs tsx in the workers;
  // the compiled package with a JavaScript entry runs on plain Node.
  const needsTsx = /\.[cm]?ts$/.test(new URL(entry).pathname) || !isCompiled(import.meta.url);
  const loader = needsTsx ? tsxLoaderUrl() : null;
  const mesh = createMeshPorts(worldSize);

  const settlements: (RankSettlement<R> | undefined)[] = new Array(worldSize).fill(undefined);
  const exited: boolean[] = new Array(worldSize).fill(false);
  const announced = new Set<Rank>();
  /** Failures in the order the launcher saw them. */
  const failures: Failure[] = [];
  let ending = false;
  let graceTimer: unknown;
  let resolveSettled!: (s: RankSettlement<R>[]) => void;
  const settled = new Promise<RankSettlement<R>[]>((r) => (resolveSettled = r));

  const workers = mesh.map((row, rank) => {
    const ports = row.map((p) => p ?? null);
    const workerData: RankWorkerData = {
      loader,
      main: rankMainUrl.href,
      entry,
      rank,
      worldSize,
      timeoutMs,
      mesh: ports,
      userData: options.workerData,
    };
    return new Worker(bootstrapUrl, {
      workerData,
      transferList: ports.filter((p): p is MessagePort => p !== null),
      execArgv: withoutLoaderFlags(process.execArgv),
    });
  });

  function settle(rank: Rank, settlement: RankSettlement<R>): void {
    if (settlements[rank]) return;
    settlements[rank] = settlement;
    if (settlements.every(Boolean)) void end();
  }

  function failed(rank: Rank, reason: string, error: SerializedError): void {
    if (announced.has(rank)) return;
    announced.add(rank);
    failures.push({ rank, reason, error });
    settle(rank, { rank, ok: false, error });
    if (ending) return;
    for (const [peer, worker] of workers.entries()) {
      if (peer !== rank && !exited[peer])
        worker.postMessage({ type: 'peerFailed', rank, reason } satisfies RankCommand);
    }
    if (graceTimer === undefined && !settlements.every(Boolean)) {
      graceTimer = clock.setTimeout(
        () => void end(`terminated ${graceMs} ms after rank ${failures[0].rank} failed`),
        graceMs,
      );
    }
  }

  async function end(terminatedReason = 'terminated by the launcher'): Promise<void> {
    if (ending) return;
    ending = true;
    clock.clearTimeout(graceTimer);
    for (let rank = 0; rank < worldSize; rank++) {
      if (!settlements[rank])
        settlements[rank] = {
          rank,
          ok: false,
          error: { name: 'ThreadRankTerminatedError', message: `rank ${rank} ${terminatedReason}` },
        };
    }
    await Promise.all(workers.map((w) => w.terminate()));
    resolveSettled(settlements as RankSettlement<R>[]);
  }

  for (const [rank, worker] of workers.entries()) {
    worker.on('message', (report: RankReport) => {
      if (report.type === 'result') settle(rank, { rank, ok: true, value: report.value as R });
      else failed(rank, `threw ${report.error.name}: ${report.error.message}`, report.error);
    });
    worker.on('error', (e: Error) => {
      const error: SerializedError = {
        name: e.name,
        message: e.message,
        ...(e.stack ? { stack: e.stack } : {}),
      };
      failed(rank, `threw ${e.name}: ${e.message}`, error);
    });
    worker.on('exit', (code) => {
      exited[rank] = true;
      if (ending) return;
      const reason = `its worker exited with code ${code}${settlements[rank] ? ' after settling' : ' before reporting a result'}`;
      failed(rank, reason, { name: 'ThreadRankExitedError', message: `rank ${rank}: ${reason}` });
    });
  }

  return {
    worldSize,
    workers,
    settled,
    async results(): Promise<R[]> {
      const all = await settled;
      if (all.every((s) => s.ok)) return all.map((s) => (s as { value: R }).value);
      const root = rootCause(failures, all);
      throw new ThreadRankFailedError(root.rank, root.reason, all);
    },
    terminate: () => end(),
  };
}

interface Failure {
  readonly rank: Rank;
  readonly reason: string;
  readonly error: SerializedError;
}

/**
 * The rank to blame: the first failure that is not a consequence of another (a
 * PeerFailedError thrown by a survivor), else the rank such an error names.
 */
function rootCause(
  failures: readonly Failure[],
  all: readonly RankSettlement<unknown>[],
): { rank: Rank; reason: string } {
  const direct = failures.find((f) => f.error.name !== 'PeerFailedError');
  if (direct) return direct;
  const first = failures[0];
  if (first?.error.failedRank !== undefined)
    return {
      rank: first.error.failedRank,
      reason: `seen failing by rank ${first.rank}: ${first.error.message}`,
    };
  if (first) return first;
  const bad = all.find((s) => !s.ok) as Extract<RankSettlement<unknown>, { ok: false }>;
  return { rank: bad.rank, reason: `${bad.error.name}: ${bad.error.message}` };
}

function entryUrl(entry: URL | string): string {
  if (entry instanceof URL) return entry.href;
  if (/^(file|data):/.test(entry)) return entry;
  return pathToFileURL(resolve(entry)).href;
}

/** URL of tsx's ESM `register` API, resolved from this package. */
function tsxLoaderUrl(): string {
  const require = createRequire(import.meta.url);
  let manifestPath: string;
  try {
    manifestPath = require.resolve('tsx/package.json');
  } catch {
    throw new Error(
      'launchThreadRanks: the rank workers run TypeScript through tsx, but the tsx package is not installed (npm install tsx)',
    );
  }
  const manifest = JSON.parse(readFileSync(manifestPath, 'utf8')) as {
    exports?: Record<string, { import?: { default?: string } } | string>;
  };
  const api = manifest.exports?.['./esm/api'];
  const file = typeof api === 'object' ? api.import?.default : undefined;
  if (!file)
    throw new Error(
      `launchThreadRanks: tsx at ${dirname(manifestPath)} has no ./esm/api export; tsx ≥ 4 is needed`,
    );
  return pathToFileURL(join(dirname(manifestPath), file)).href;
}

/** The parent's node flags minus loader flags (the bootstrap registers its own loader). */
function withoutLoaderFlags(execArgv: readonly string[]): string[] {
  const out: string[] = [];
  for (let i = 0; i < execArgv.length; i++) {
    const arg = execArgv[i];
    if (/^(--import|--loader|--experimental-loader|--require|-r)$/.test(arg)) {
      i++;
      continue;
    }
    if (/^(--import|--loader|--experimental-loader|--require)=/.test(arg)) continue;
    out.push(arg);
  }
  return out;
}
