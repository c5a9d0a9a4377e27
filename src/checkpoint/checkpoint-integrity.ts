/**
 * Integrity rules of a checkpoint beyond its file checksums (FORMAT.md "Integrity"):
 *
 * - the manifest carries `checksum`, the sha256 of its own JSON without that field, so an
 *   edited or truncated manifest is refused;
 * - the manifest's data position agrees with every rank's pipeline counters;
 * - no float array of a rank state (parameters, optimizer state, accumulators) holds NaN
 *   or ±Infinity — a checkpoint of a diverged run is refused on write and on resume.
 *
 * @example
 * manifestChecksum({ ...manifest, checksum: undefined }); // 'e3b0c4…'
 * firstNonFinite(state, 'ranks[0]'); // undefined, or 'ranks[0].dense.params.top.0.weight[3] is NaN'
 */
import { createHash } from 'node:crypto';
import type { CheckpointManifest } from './manifest.ts';

/** sha256 (hex) of the manifest's JSON with its `checksum` field left out. */
export function manifestChecksum(manifest: CheckpointManifest): string {
  const { checksum: _ignored, ...rest } = manifest;
  return createHash('sha256').update(JSON.stringify(rest)).digest('hex');
}

/**
 * The path and value of the first non-finite element of any float array in `tree`
 * (depth-first, keys in insertion order), or undefined.
 */
export function firstNonFinite(tree: unknown, path: string): string | undefined {
  if (tree instanceof Float32Array || tree instanceof Float64Array) {
    for (let i = 0; i < tree.length; i++)
      if (!Number.isFinite(tree[i])) return `${path}[${i}] is ${tree[i]}`;
    return undefined;
  }
  if (ArrayBuffer.isView(tree) || typeof tree !== 'object' || tree === null) return undefined;
  if (Array.isArray(tree)) {
    for (let i = 0; i < tree.length; i++) {
      const r = firstNonFinite(tree[i], `${path}[${i}]`);
      if (r) return r;
    }
    return undefined;
  }
  for (const [k, v] of Object.entries(tree)) {
    const r = firstNonFinite(v, `${path}.${k}`);
    if (r) return r;
  }
  return undefined;
}

/** Why the manifest's position disagrees with rank `r`'s pipeline counters, or undefined. */
export function positionMismatch(
  manifest: Pick<CheckpointManifest, 'nextBatch'>,
  pipeline: { nextBatch: number; batchesTrained: number },
  r: number,
): string | undefined {
  if (pipeline.nextBatch !== manifest.nextBatch)
    return `nextBatch ${manifest.nextBatch} disagrees with ranks[${r}].pipeline.nextBatch ${pipeline.nextBatch}`;
  if (pipeline.batchesTrained !== manifest.nextBatch)
    return `nextBatch ${manifest.nextBatch} disagrees with ranks[${r}].pipeline.batchesTrained ${pipeline.batchesTrained}`;
  return undefined;
}
