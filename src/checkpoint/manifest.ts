/**
 * The `manifest.json` of a checkpoint directory (see FORMAT.md): format name and version,
 * the options a resumed run must repeat, the data position, a size and sha256 per binary
 * file, and each rank's state as JSON whose typed arrays are references into the `.bin`
 * files.
 *
 * @example
 * const problems = compareResumeKey(manifest.resumeKey, { '--ranks': 2 }); // ['--ranks is 2, the checkpoint has 4']
 */

export const CHECKPOINT_FORMAT = 'sparsepipe-checkpoint';
export const CHECKPOINT_VERSION = 1;
export const MANIFEST_FILE = 'manifest.json';

/** A resume-critical option, keyed by the CLI flag that sets it (e.g. `--ranks`), JSON-able. */
export type ResumeKey = Record<string, unknown>;

/** Integrity record of one binary file. */
export interface FileRecord {
  bytes: number;
  sha256: string;
}

export interface CheckpointManifest {
  format: typeof CHECKPOINT_FORMAT;
  version: number;
  /** `sparsepipe <version>`. */
  createdBy: string;
  /** Options a resumed run must repeat, by flag. */
  resumeKey: ResumeKey;
  worldSize: number;
  /** Global index of the next batch to train (= batches trained so far). */
  nextBatch: number;
  /** Binary files of the checkpoint (`rank-<r>.bin`). */
  files: Record<string, FileRecord>;
  /** Each rank's state (`RankCheckpointState`), typed arrays as `{ "$array": ArrayRef }`. */
  ranks: unknown[];
}

/**
 * Every difference between a checkpoint's resume key and this run's, one phrase each
 * (`--ranks is 2, the checkpoint has 4`); empty when they agree. Keys are compared by
 * their JSON; keys present on one side only are differences too.
 *
 * @example
 * compareResumeKey({ '--lr': 0.05 }, { '--lr': 0.1 }); // ['--lr is 0.1, the checkpoint has 0.05']
 */
export function compareResumeKey(stored: ResumeKey, current: ResumeKey): string[] {
  const out: string[] = [];
  const keys = [...new Set([...Object.keys(current), ...Object.keys(stored)])];
  for (const key of keys) {
    const a = JSON.stringify(stored[key]);
    const b = JSON.stringify(current[key]);
    if (a === b) continue;
    if (!(key in stored)) out.push(`the checkpoint does not record ${key}`);
    else if (!(key in current)) out.push(`the checkpoint records ${key} ${show(a)}, which this run does not set`);
    else out.push(`${key} is ${show(b)}, the checkpoint has ${show(a)}`);
  }
  return out;
}

function show(json: string): string {
  return json.length > 80 ? `${json.slice(0, 77)}…` : json;
}
