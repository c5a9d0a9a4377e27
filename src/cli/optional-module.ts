/**
 * The one loader of the modules the CLI loads only when a command needs them: the charts
 * and the inspector (visualizations/), the threads and MPI backends. Each is declared once below as a literal `import()`: its type is the module's
 * own (no casts where it is used), the architecture test sees the edge like any import,
 * and the compiled package rewrites the specifier like any other. A module that cannot be
 * found (a file or a dependency missing from an installation) becomes one clear CLI error
 * naming what needed it; an error thrown while a present module loads is rethrown as is.
 *
 * @example
 * const { startInspector } = await loadOptionalModule('inspector');
 */
import { CliError } from './cli-io.ts';

const IMPORTS = {
  charts: () => import('../../visualizations/charts/generate.ts'),
  replay: () => import('../../visualizations/inspector/replay.ts'),
  inspector: () => import('../../visualizations/inspector/server.ts'),
  threads: () => import('../runtime/collectives/threads/index.ts'),
  mpi: () => import('../runtime/collectives/mpi/index.ts'),
} as const;

/** The names of the optional modules. */
export type OptionalModuleName = keyof typeof IMPORTS;

/** The namespace of optional module `K`, typed by the module itself. */
export type OptionalModule<K extends OptionalModuleName> = Awaited<ReturnType<(typeof IMPORTS)[K]>>;

/** The same table, typed so that loading module `K` is typed as module `K`. */
const LOADERS: { readonly [K in OptionalModuleName]: () => Promise<OptionalModule<K>> } = IMPORTS;

/** What each module is for, as the error a user sees says it. */
const NEEDED_BY: Readonly<Record<OptionalModuleName, string>> = {
  charts: '`sparsepipe charts`',
  replay: '`sparsepipe inspect`',
  inspector: '--inspect',
  threads: '--backend threads',
  mpi: '--backend mpi',
};

/**
 * Load optional module `name`.
 *
 * @example
 * const { runChartsCommand } = await loadOptionalModule('charts');
 */
export async function loadOptionalModule<K extends OptionalModuleName>(
  name: K,
): Promise<OptionalModule<K>> {
  try {
    return await LOADERS[name]();
  } catch (e) {
    if (isModuleNotFound(e)) {
      const why = e instanceof Error ? e.message : String(e);
      throw new CliError(`${NEEDED_BY[name]} cannot load its module: ${why}`, { cause: e });
    }
    throw e;
  }
}

function isModuleNotFound(e: unknown): boolean {
  const code = typeof e === 'object' && e !== null && 'code' in e ? e.code : undefined;
  return code === 'ERR_MODULE_NOT_FOUND';
}
