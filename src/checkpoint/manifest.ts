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
export const CHECKPOINT_VERSION = 2;
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
  /** sha256 of this manifest's JSON without this field (checkpoint-integrity.ts). */
  checksum?: string;
}

/**
 * Every difference between a checkpoint's resume key and this run's, one phrase each
 * (`--ranks is 2, the checkpoint has 4`); empty when they agree. Values are compared by
 * their JSON; inside objects the first differing field is named (`model configuration.top`);
 * keys present on one side only are differences too.
 *
 * @example
 * compareResumeKey({ '--lr': 0.05 }, { '--lr': 0.1 }); // ['--lr is 0.1, the checkpoint has 0.05']
 */
export function compareResumeKey(stored: ResumeKey, current: ResumeKey): string[] {
  const out: string[] = [];
  const keys = [...new Set([...Object.keys(current), ...Object.keys(stored)])];
  for (const key of keys) {
    if (JSON.stringify(stored[key]) === JSON.stringify(current[key])) continue;
    if (!(key in stored)) out.push(`the checkpoint does not record ${key}`);
    else if (!(key in current))
      out.push(`the checkpoint records ${key} ${show(stored[key])}, which this run does not set`);
    else {
      const [path, a, b] = firstDifference(key, stored[key], current[key]);
      out.push(`${path} is ${show(b)}, the checkpoint has ${show(a)}`);
    }
  }
  return out;
}

/** The path and both values of the first differing leaf of two JSON values. */
function firstDifference(path: string, a: unknown, b: unknown): [string, unknown, unknown] {
  const isObj = (x: unknown): x is Record<string, unknown> => typeof x === 'object' && x !== null;
  if (isObj(a) && isObj(b) && Array.isArray(a) === Array.isArray(b)) {
    const keys = [...new Set([...Object.keys(a), ...Object.keys(b)])];
    for (const k of keys) {
      if (JSON.stringify(a[k]) !== JSON.stringify(b[k]))
        return firstDifference(Array.isArray(a) ? `${path}[${k}]` : `${path}.${k}`, a[k], b[k]);
    }
  }
  return [path, a, b];
}

function show(value: unknown): string {
  const json = value === undefined ? 'nothing' : JSON.stringify(value);
  return json.length > 80 ? `${json.slice(0, 77)}…` : json;
}
