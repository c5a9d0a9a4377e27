/**
 * Before the first batch, every output of `sparsepipe train` is resolved and proved
 * writable, so a finished run is never lost at the last step (docs/reliability.md
 * "Outputs"):
 *
 * - a file flag (`--json`, `--trace`, `--trace-events`) must name a file, not a directory
 *   (`out/` or an existing directory is refused), in a directory that exists and in which
 *   a probe file can be created and removed; an existing file must be writable;
 * - outputs are compared by real path (symbolic links and `..` resolved): two flags naming
 *   one file, or an output naming the `--data` file, are refused.
 *
 * Each refusal is one line naming the flag.
 *
 * @example
 * await checkOutputs([{ flag: '--json', path: 'run.json' }, { flag: '--trace', path: './run.json' }], 'data.tsv');
 * // throws UsageError: --trace ./run.json and --json run.json name the same file (/home/me/run.json)
 */
import { constants } from 'node:fs';
import { access, open, realpath, rm, stat } from 'node:fs/promises';
import { basename, dirname, join, resolve, sep } from 'node:path';
import { UsageError } from './cli-io.ts';

export interface OutputFile {
  flag: string;
  path: string;
}

const reason = (e: unknown) => (e as NodeJS.ErrnoException).code ?? (e as Error).message;

/** The real path `path` would be written at (its directory's real path + its name). */
async function realOutputPath(flag: string, path: string): Promise<string> {
  if (path === '' || path.endsWith(sep) || path.endsWith('/'))
    throw new UsageError(`${flag} ${path}: names a directory; give a file name`);
  const dir = dirname(resolve(path));
  const d = await stat(dir).catch(() => null);
  if (!d?.isDirectory())
    throw new UsageError(`${flag} ${path}: the directory ${dir} does not exist`);
  const realDir = await realpath(dir);
  const full = join(realDir, basename(path));
  const f = await stat(full).catch(() => null);
  if (f?.isDirectory()) throw new UsageError(`${flag} ${path}: is a directory`);
  const real = f ? await realpath(full) : full;
  if (f) {
    await access(real, constants.W_OK).catch((e: unknown) => {
      throw new UsageError(`${flag} ${path}: the file cannot be written (${reason(e)})`);
    });
  }
  // Prove the directory takes a new file (the writer renames a temporary file into place).
  const probe = join(dirname(real), `.sparsepipe-probe-${process.pid}`);
  try {
    await (await open(probe, 'wx')).close();
    await rm(probe, { force: true });
  } catch (e) {
    throw new UsageError(`${flag} ${path}: cannot create files in ${dirname(real)} (${reason(e)})`);
  }
  return real;
}

/**
 * Throws a {@link UsageError} unless every output can be written and no two name one file
 * (see the module doc). `data`: the training file, which no output may overwrite.
 */
export async function checkOutputs(
  outputs: readonly OutputFile[],
  data: string | null,
): Promise<void> {
  const seen: Array<OutputFile & { real: string }> = [];
  const dataReal = data ? await realpath(data).catch(() => resolve(data)) : null;
  for (const o of outputs) {
    const real = await realOutputPath(o.flag, o.path);
    const clash = seen.find((s) => s.real === real);
    if (clash)
      throw new UsageError(
        `${o.flag} ${o.path} and ${clash.flag} ${clash.path} name the same file (${real})`,
      );
    if (real === dataReal)
      throw new UsageError(`${o.flag} ${o.path}: is the --data file; it would be overwritten`);
    seen.push({ ...o, real });
  }
}
