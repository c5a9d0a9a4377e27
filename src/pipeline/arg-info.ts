/**
 * Where a sharded module's input comes from in the batch (TorchRec's `ArgInfo`): an
 * attribute / index path like `sparse` or `features.0`, or keyword arguments whose values
 * are such paths (`{ features: 'sparse', weights: 'w' }`), or the output of a postproc module
 * (src/modules/postproc.ts) whose own input is one of these.
 *
 * @example
 * const info: ArgInfo = { kind: 'path', path: ['sparse'] };
 * extractInput(info, batch) === batch.sparse; // true
 */
import type { PostprocModule } from '../modules/postproc.ts';

export type ArgInfo =
  | { kind: 'path'; path: readonly PropertyKey[] }
  | { kind: 'kwargs'; entries: ReadonlyArray<readonly [string, readonly PropertyKey[]]> }
  /** A postproc module's output, the postproc's own input being `arg`: run ahead on the dist stage. */
  | { kind: 'postproc'; name: string; module: PostprocModule; arg: ArgInfo };

/** Follow a path from the batch. */
export function readPath(root: unknown, path: readonly PropertyKey[]): unknown {
  let value: unknown = root;
  for (const key of path) {
    if (value === null || value === undefined) {
      throw new TypeError(`batch path ${formatPath(path)} is broken at '${String(key)}'`);
    }
    value = (value as Record<PropertyKey, unknown>)[key];
  }
  return value;
}

/** The module's input for `batch`, rebuilt from its ArgInfo. */
export function extractInput(info: ArgInfo, batch: unknown): unknown {
  if (info.kind === 'path') return readPath(batch, info.path);
  if (info.kind === 'postproc') return info.module.runAhead(extractInput(info.arg, batch));
  return Object.fromEntries(info.entries.map(([k, p]) => [k, readPath(batch, p)]));
}

export function formatPath(path: readonly PropertyKey[]): string {
  return path.length === 0 ? 'batch' : `batch.${path.map(String).join('.')}`;
}

export function formatArgInfo(info: ArgInfo): string {
  if (info.kind === 'path') return formatPath(info.path);
  if (info.kind === 'postproc') return `${info.name}(${formatArgInfo(info.arg)})`;
  return `{ ${info.entries.map(([k, p]) => `${k}: ${formatPath(p)}`).join(', ')} }`;
}
