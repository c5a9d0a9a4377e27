/**
 * Writing and reading a checkpoint directory (format: FORMAT.md).
 *
 * **Atomic at every instant.** {@link writeCheckpoint} never leaves `DIR` without a complete
 * checkpoint once it had one. A first write builds `DIR.tmp-<pid>-<gen>` and renames it to
 * `DIR`. A later write adds the new generation's `.bin` files (new names) beside the old
 * ones, then replaces `manifest.json` by a rename (the one atomic switch), then removes the
 * old generation's files. Every file is flushed to disk before the step that depends on it.
 * A writer killed at any step leaves the old checkpoint or the new one at `DIR`; the
 * temporaries it leaves are removed by the next write. An existing `DIR` is replaced only
 * when it is empty or a sparsepipe checkpoint.
 *
 * **Checked.** {@link readCheckpoint} refuses — with one {@link CheckpointError} line naming
 * the file and field — a missing directory or file, bad JSON, a manifest whose checksum does
 * not match (edited or damaged), a wrong format or version, a size or sha256 mismatch of a
 * `.bin`, an array reference outside its file, a rank state with missing fields or a
 * position that disagrees with the manifest, and non-finite values. It never writes.
 * {@link writeCheckpoint} refuses non-finite values too (a diverged run is not saved).
 *
 * @example
 * await writeCheckpoint('ckpt', { resumeKey, nextBatch: 12, ranks: states });
 * const { manifest, ranks } = await readCheckpoint('ckpt');
 */
import { createHash, randomBytes } from 'node:crypto';
import { open, mkdir, readdir, readFile, rename, rm, stat } from 'node:fs/promises';
import { basename, dirname, join, resolve } from 'node:path';
import { BinarySink, decodeArrays, encodeArrays } from './array-tree.ts';
import { CheckpointError } from './checkpoint-error.ts';
import { firstNonFinite, manifestChecksum, positionMismatch } from './checkpoint-integrity.ts';
import {
  CHECKPOINT_FORMAT,
  CHECKPOINT_VERSION,
  MANIFEST_FILE,
  type CheckpointManifest,
  type ResumeKey,
} from './manifest.ts';
import type { RankCheckpointState } from './rank-state.ts';
import { checkRankState } from './rank-state-check.ts';

/** What {@link writeCheckpoint} stores. */
export interface CheckpointContents {
  resumeKey: ResumeKey;
  nextBatch: number;
  /** One state per rank, in rank order. */
  ranks: readonly RankCheckpointState[];
  /** Written into `createdBy` (default `sparsepipe`). */
  createdBy?: string;
}

/** A checkpoint read back: its manifest and the decoded rank states. */
export interface LoadedCheckpoint {
  dir: string;
  manifest: CheckpointManifest;
  ranks: RankCheckpointState[];
}

const sha256 = (bytes: Uint8Array): string => createHash('sha256').update(bytes).digest('hex');

async function statOrNull(path: string) {
  try {
    return await stat(path);
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return null;
    throw e;
  }
}

/**
 * Throws a {@link CheckpointError} unless `dir` can receive a checkpoint: its parent exists
 * and it is absent, an empty directory or an existing checkpoint. Call it before a long run.
 *
 * @example
 * await checkCheckpointTarget('runs/ckpt');
 */
export async function checkCheckpointTarget(dir: string): Promise<void> {
  const parent = dirname(resolve(dir));
  const p = await statOrNull(parent);
  if (!p?.isDirectory())
    throw new CheckpointError(dir, `the parent directory ${parent} does not exist`);
  const s = await statOrNull(dir);
  if (!s) return;
  if (!s.isDirectory()) throw new CheckpointError(dir, 'exists and is not a directory');
  const entries = await readdir(dir);
  if (entries.length > 0 && !entries.includes(MANIFEST_FILE)) {
    throw new CheckpointError(
      dir,
      `exists, is not empty and holds no ${MANIFEST_FILE}: refusing to replace it`,
    );
  }
}

/** Options of {@link writeCheckpoint}. */
export interface WriteCheckpointOptions {
  /**
   * Called with each step's name just before the step runs (a fault hook: the reliability
   * suite kills the writer at every step and checks what `DIR` holds).
   */
  onStep?: (step: string) => void | Promise<void>;
}

/** A file written and flushed to disk. */
async function writeDurable(path: string, data: Uint8Array | string): Promise<void> {
  const handle = await open(path, 'w');
  try {
    await handle.writeFile(data);
    await handle.sync();
  } finally {
    await handle.close();
  }
}

/** Flush a directory's entries (a rename in it) to disk; best effort where unsupported. */
async function syncDir(path: string): Promise<void> {
  const handle = await open(path, 'r').catch(() => null);
  if (!handle) return;
  try {
    await handle.sync().catch(() => undefined);
  } finally {
    await handle.close();
  }
}

const TEMP_MARK = /\.tmp-(\d+)-/;

function alive(pid: number): boolean {
  if (pid === process.pid) return false;
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/**
 * Removes what killed writers left: `DIR.tmp-<pid>-…` (and v1's `DIR.tmp-<pid>`,
 * `DIR.old-<pid>`) beside `DIR`, and inside `DIR` any `manifest.json.tmp-…` and any `.bin`
 * the current manifest does not list. Temporaries of a writer that is still running are
 * left alone.
 */
async function removeStale(dir: string, current: CheckpointManifest | null): Promise<void> {
  const parent = dirname(resolve(dir));
  const base = basename(resolve(dir));
  for (const name of await readdir(parent)) {
    if (!name.startsWith(`${base}.tmp-`) && !name.startsWith(`${base}.old-`)) continue;
    const pid = Number(/^\.(?:tmp|old)-(\d+)/.exec(name.slice(base.length))?.[1]);
    if (Number.isInteger(pid) && alive(pid)) continue;
    await rm(join(parent, name), { recursive: true, force: true });
  }
  if (!current) return;
  const keep = new Set([MANIFEST_FILE, ...Object.keys(current.files)]);
  for (const name of await readdir(dir).catch(() => [] as string[])) {
    if (keep.has(name)) continue;
    const ours =
      /^rank-\d+(-[0-9a-f]+)?\.bin$/.test(name) || name.startsWith(`${MANIFEST_FILE}.tmp-`);
    const pid = Number(TEMP_MARK.exec(name)?.[1]);
    if (ours && !(Number.isInteger(pid) && alive(pid))) await rm(join(dir, name), { force: true });
  }
}

/** The manifest at `dir`, or null when there is none (or it cannot be parsed). */
async function currentManifest(dir: string): Promise<CheckpointManifest | null> {
  try {
    const m = JSON.parse(await readFile(join(dir, MANIFEST_FILE), 'utf8')) as unknown;
    return typeof m === 'object' && m !== null && 'files' in m && typeof m.files === 'object'
      ? (m as CheckpointManifest)
      : null;
  } catch {
    return null;
  }
}

/**
 * Write a checkpoint (see the module doc for what holds at every instant).
 *
 * @example
 * await writeCheckpoint('ckpt', { resumeKey: { '--ranks': 4 }, nextBatch: 10, ranks });
 */
export async function writeCheckpoint(
  dir: string,
  contents: CheckpointContents,
  options: WriteCheckpointOptions = {},
): Promise<void> {
  const step = async (name: string) => options.onStep?.(name);
  await checkCheckpointTarget(dir);
  const gen = randomBytes(4).toString('hex');
  const files: Record<string, Uint8Array> = {};
  const ranks = contents.ranks.map((state, r) => {
    if (state.rank !== r)
      throw new CheckpointError(
        dir,
        `rank states must be in rank order: position ${r} holds rank ${state.rank}`,
      );
    const bad = firstNonFinite(state, `ranks[${r}]`);
    if (bad) throw new CheckpointError(dir, `not written: ${bad} (a diverged run is not saved)`);
    const sink = new BinarySink(`rank-${r}-${gen}.bin`);
    const json = encodeArrays(state, sink);
    files[sink.file] = sink.bytes();
    return json;
  });
  const unsigned: CheckpointManifest = {
    format: CHECKPOINT_FORMAT,
    version: CHECKPOINT_VERSION,
    createdBy: contents.createdBy ?? 'sparsepipe',
    resumeKey: contents.resumeKey,
    worldSize: contents.ranks.length,
    nextBatch: contents.nextBatch,
    files: Object.fromEntries(
      Object.entries(files).map(([name, bytes]) => [
        name,
        { bytes: bytes.length, sha256: sha256(bytes) },
      ]),
    ),
    ranks,
  };
  const manifest = { ...unsigned, checksum: manifestChecksum(unsigned) };
  const manifestText = `${JSON.stringify(manifest, null, 1)}\n`;
  let tmp: string | null = null;
  try {
    const old = (await statOrNull(dir)) ? await currentManifest(dir) : null;
    await step('remove stale temporaries');
    await removeStale(dir, old);
    if (!(await statOrNull(dir))) {
      tmp = `${dir}.tmp-${process.pid}-${gen}`;
      await step('create the temporary directory');
      await mkdir(tmp);
      for (const [name, bytes] of Object.entries(files)) {
        await step(`write ${name.replace(`-${gen}`, '')}`);
        await writeDurable(join(tmp, name), bytes);
      }
      await step(`write ${MANIFEST_FILE}`);
      await writeDurable(join(tmp, MANIFEST_FILE), manifestText);
      await syncDir(tmp);
      await step('rename the temporary directory to the checkpoint');
      await rename(tmp, dir);
      tmp = null;
      await syncDir(dirname(resolve(dir)));
    } else {
      for (const [name, bytes] of Object.entries(files)) {
        await step(`write ${name.replace(`-${gen}`, '')}`);
        await writeDurable(join(dir, name), bytes);
      }
      const tmpManifest = join(dir, `${MANIFEST_FILE}.tmp-${process.pid}-${gen}`);
      await step(`write ${MANIFEST_FILE}.tmp`);
      await writeDurable(tmpManifest, manifestText);
      await step(`replace ${MANIFEST_FILE}`);
      await rename(tmpManifest, join(dir, MANIFEST_FILE));
      await syncDir(dir);
      for (const name of Object.keys(old?.files ?? {})) {
        if (name in files || basename(name) !== name) continue;
        await step(`remove the old ${name.replace(/-[0-9a-f]+\.bin$/, '.bin')}`);
        await rm(join(dir, name), { force: true });
      }
    }
    await step('done');
  } catch (e) {
    if (tmp) await rm(tmp, { recursive: true, force: true });
    if (e instanceof CheckpointError) throw e;
    throw new CheckpointError(dir, `could not be written: ${(e as Error).message}`, { cause: e });
  }
}

/**
 * Read and check a checkpoint (see the module doc). Never writes.
 *
 * @example
 * const { manifest, ranks } = await readCheckpoint('ckpt'); manifest.nextBatch;
 */
export async function readCheckpoint(dir: string): Promise<LoadedCheckpoint> {
  const fail = (reason: string): never => {
    throw new CheckpointError(dir, reason);
  };
  const s = await statOrNull(dir);
  if (!s) return fail('does not exist');
  if (!s.isDirectory()) fail('is not a directory');
  let text: string;
  try {
    text = await readFile(join(dir, MANIFEST_FILE), 'utf8');
  } catch {
    return fail(`${MANIFEST_FILE} is missing or unreadable`);
  }
  let manifest: CheckpointManifest;
  try {
    manifest = JSON.parse(text) as CheckpointManifest;
  } catch (e) {
    return fail(`${MANIFEST_FILE} is not valid JSON (${(e as Error).message})`);
  }
  if (typeof manifest !== 'object' || manifest === null)
    fail(`${MANIFEST_FILE} is not a JSON object`);
  if (manifest.version === CHECKPOINT_VERSION && manifest.checksum !== manifestChecksum(manifest))
    fail(`${MANIFEST_FILE} was edited or damaged: its checksum does not match its contents`);
  if (manifest.format !== CHECKPOINT_FORMAT)
    fail(
      `${MANIFEST_FILE}: format is ${JSON.stringify(manifest.format)}, expected "${CHECKPOINT_FORMAT}"`,
    );
  if (manifest.version !== CHECKPOINT_VERSION)
    fail(
      `${MANIFEST_FILE}: version ${JSON.stringify(manifest.version)} is not supported (this sparsepipe reads version ${CHECKPOINT_VERSION})`,
    );
  if (!Number.isInteger(manifest.worldSize) || manifest.worldSize < 1)
    fail(`${MANIFEST_FILE}: worldSize ${JSON.stringify(manifest.worldSize)} is not an integer ≥ 1`);
  if (!Number.isInteger(manifest.nextBatch) || manifest.nextBatch < 0)
    fail(`${MANIFEST_FILE}: nextBatch ${JSON.stringify(manifest.nextBatch)} is not an integer ≥ 0`);
  if (typeof manifest.resumeKey !== 'object' || manifest.resumeKey === null)
    fail(`${MANIFEST_FILE}: resumeKey is missing`);
  if (typeof manifest.files !== 'object' || manifest.files === null)
    fail(`${MANIFEST_FILE}: files is missing`);
  if (!Array.isArray(manifest.ranks) || manifest.ranks.length !== manifest.worldSize) {
    fail(
      `${MANIFEST_FILE}: ranks must list ${manifest.worldSize} rank states, found ${Array.isArray(manifest.ranks) ? manifest.ranks.length : 'none'}`,
    );
  }
  const files: Record<string, Uint8Array> = {};
  for (const [name, record] of Object.entries(manifest.files)) {
    if (basename(name) !== name)
      fail(`${MANIFEST_FILE}: file name ${JSON.stringify(name)} must not contain a path`);
    let bytes: Uint8Array;
    try {
      bytes = new Uint8Array(await readFile(join(dir, name)));
    } catch {
      return fail(`${name} is missing or unreadable`);
    }
    if (bytes.length !== record?.bytes)
      fail(`${name} has ${bytes.length} bytes, the manifest says ${record?.bytes}`);
    if (sha256(bytes) !== record.sha256)
      fail(`${name} is corrupt: its sha256 does not match the manifest`);
    files[name] = bytes;
  }
  const ranks = manifest.ranks.map((json, r) => {
    const state = decodeArrays(json, files, dir, `ranks[${r}]`);
    const problem = checkRankState(state, r);
    if (problem) fail(`${MANIFEST_FILE} ranks[${r}]${problem}`);
    const rankState = state as RankCheckpointState;
    const mismatch = positionMismatch(manifest, rankState.pipeline, r);
    if (mismatch) fail(`${MANIFEST_FILE}: ${mismatch}`);
    const bad = firstNonFinite(rankState, `ranks[${r}]`);
    if (bad) fail(`${bad}: refusing to resume from non-finite values`);
    return rankState;
  });
  return { dir, manifest, ranks };
}
