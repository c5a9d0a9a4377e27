/**
 * Writing and reading a checkpoint directory (format: FORMAT.md).
 *
 * **Atomic.** {@link writeCheckpoint} builds the whole checkpoint in `DIR.tmp-<pid>`, then
 * swaps it in with renames; a crash leaves either the old `DIR` or the new one (plus a
 * stray `.tmp-`/`.old-` directory), never a half-written `DIR`. An existing `DIR` is replaced
 * only when it is empty or a sparsepipe checkpoint.
 *
 * **Checked.** {@link readCheckpoint} refuses — with one {@link CheckpointError} line naming
 * the file and field — a missing directory or file, bad JSON, a wrong format or version, a
 * size or sha256 mismatch of a `.bin`, an array reference outside its file, or a rank state
 * with missing fields. It never writes.
 *
 * @example
 * await writeCheckpoint('ckpt', { resumeKey, nextBatch: 12, ranks });
 * const { manifest, ranks } = await readCheckpoint('ckpt');
 */
import { createHash } from 'node:crypto';
import { mkdir, readdir, readFile, rename, rm, stat, writeFile } from 'node:fs/promises';
import { basename, dirname, join, resolve } from 'node:path';
import { BinarySink, decodeArrays, encodeArrays } from './array-tree.ts';
import { CheckpointError } from './checkpoint-error.ts';
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

/**
 * Write a checkpoint atomically (see the module doc).
 *
 * @example
 * await writeCheckpoint('ckpt', { resumeKey: { '--ranks': 4 }, nextBatch: 10, ranks });
 */
export async function writeCheckpoint(dir: string, contents: CheckpointContents): Promise<void> {
  await checkCheckpointTarget(dir);
  const files: Record<string, Uint8Array> = {};
  const ranks = contents.ranks.map((state, r) => {
    if (state.rank !== r)
      throw new CheckpointError(
        dir,
        `rank states must be in rank order: position ${r} holds rank ${state.rank}`,
      );
    const sink = new BinarySink(`rank-${r}.bin`);
    const json = encodeArrays(state, sink);
    files[sink.file] = sink.bytes();
    return json;
  });
  const manifest: CheckpointManifest = {
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
  const tmp = `${dir}.tmp-${process.pid}`;
  const old = `${dir}.old-${process.pid}`;
  await rm(tmp, { recursive: true, force: true });
  try {
    await mkdir(tmp);
    for (const [name, bytes] of Object.entries(files)) await writeFile(join(tmp, name), bytes);
    await writeFile(join(tmp, MANIFEST_FILE), `${JSON.stringify(manifest, null, 1)}\n`);
    if (await statOrNull(dir)) {
      await rm(old, { recursive: true, force: true });
      await rename(dir, old);
      await rename(tmp, dir);
      await rm(old, { recursive: true, force: true });
    } else {
      await rename(tmp, dir);
    }
  } catch (e) {
    await rm(tmp, { recursive: true, force: true });
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
  if (!s) fail('does not exist');
  if (!s!.isDirectory()) fail('is not a directory');
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
    return state as RankCheckpointState;
  });
  return { dir, manifest, ranks };
}
