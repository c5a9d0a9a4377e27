/**
 * The layers of the repository and which layers each may import: the import direction the
 * architecture test enforces (docs/architecture.md shows this table).
 *
 * ```
 * src/protocol ← src/tensors ← src/runtime, src/data ← src/modules ← src/optim ← src/models
 * src/protocol ← src/trace                     (the event bus: beside the domain layers)
 * src/protocol ← machines                      (pure statecharts)
 * domain layers + machines ← actors ← src/pipeline ← src/testing, src/checkpoint, src/scale
 *                                                  ← src/index.ts, src/testing.ts ← src/cli
 * visualizations → machines, src/trace, src/protocol (read only)
 * test, bench, examples, scripts → anything
 * ```
 *
 * A layer is a folder (or a file) of the repository; a file belongs to the longest layer
 * path it is under. Every source file must belong to a layer: a new folder fails the test
 * until it is given its place here.
 *
 * @example
 * layerOf('src/modules/dense/mlp.ts'); // 'src/modules'
 * violationsOf([{ file: 'src/modules/x.ts', spec: '../pipeline/p.ts', target: 'src/pipeline/p.ts', relative: true }]);
 * // ["src/modules/x.ts → '../pipeline/p.ts' (src/pipeline/p.ts): src/modules may not import src/pipeline"]
 */
import { isUnder, type ImportEdge } from './import-scan.ts';

const PROTOCOL = ['src/protocol'];
const TENSORS = [...PROTOCOL, 'src/tensors'];
const KERNELS = [...TENSORS, 'src/runtime'];
const MODULES = [...KERNELS, 'src/modules'];
const OPTIM = [...MODULES, 'src/optim'];
/** Everything the actors may use: the domain layers, the event bus and the machines. */
const DOMAIN = [...OPTIM, 'src/models', 'src/data', 'src/trace', 'machines'];
/** The library: what the harness, the checkpoint format and the barrels stand on. */
const LIBRARY = [...DOMAIN, 'actors', 'src/pipeline'];

/** Layer → the layers it may import (besides itself). */
export const LAYERS: Readonly<Record<string, readonly string[]>> = {
  'src/protocol': [],
  'src/tensors': PROTOCOL,
  'src/runtime': TENSORS,
  'src/data': TENSORS,
  'src/trace': PROTOCOL,
  'src/modules': KERNELS,
  'src/optim': MODULES,
  'src/models': OPTIM,
  machines: PROTOCOL,
  actors: DOMAIN.filter((l) => l !== 'src/models'),
  'src/pipeline': [...DOMAIN, 'actors'],
  'src/checkpoint': LIBRARY,
  'src/testing': LIBRARY,
  'src/scale': LIBRARY,
  'src/index.ts': [...LIBRARY, 'src/checkpoint'],
  'src/testing.ts': [...LIBRARY, 'src/testing'],
  // Production code never imports the harness (src/testing): the CLI builds its model from
  // src/models and its sim cluster from src/runtime.
  'src/cli': [...LIBRARY, 'src/checkpoint', 'src/scale', 'src/index.ts', 'visualizations'],
  visualizations: ['machines', 'src/trace', 'src/protocol', 'src/runtime/module-url.ts'],
  bin: ['src/cli'],
};

/** Layers that may import anything (they are not shipped code). */
export const FREE_LAYERS: readonly string[] = [
  'test',
  'bench',
  'examples',
  'scripts',
  'vitest.config.ts',
];

/**
 * The layer of a repository path: the longest layer path it is under (or null). The
 * compiled package (`dist/`) is in the layer of its source (`dist/src/cli/main.js`: `src/cli`).
 */
export function layerOf(path: string): string | null {
  if (path.startsWith('dist/')) return layerOf(path.slice('dist/'.length));
  let best: string | null = null;
  for (const layer of [...Object.keys(LAYERS), ...FREE_LAYERS]) {
    if (isUnder(path, layer) && (best === null || layer.length > best.length)) best = layer;
  }
  return best;
}

/** Whether `from` may import `to` (`to` may be a layer, or a file with its own allowance). */
function allowed(from: string, target: string, to: string): boolean {
  if (from === to || FREE_LAYERS.includes(from)) return true;
  const may = LAYERS[from] ?? [];
  return may.some((l) => l === to || isUnder(target, l));
}

/**
 * Every relative import edge that breaks the table, as one line each:
 * `file → 'spec' (target): <from> may not import <to>`; and every file outside any layer.
 */
export function violationsOf(edges: readonly ImportEdge[]): string[] {
  const out: string[] = [];
  for (const e of edges) {
    const from = layerOf(e.file);
    if (from === null) {
      out.push(
        `${e.file}: not in any layer (give its folder a place in test/architecture/layers.ts)`,
      );
      continue;
    }
    if (!e.relative) continue;
    const to = layerOf(e.target);
    if (to === null) {
      out.push(`${e.file} → '${e.spec}' (${e.target}): the target is not in any layer`);
      continue;
    }
    if (!allowed(from, e.target, to))
      out.push(`${e.file} → '${e.spec}' (${e.target}): ${from} may not import ${to}`);
  }
  return out;
}

/** The rule table as markdown (docs/architecture.md carries it). */
export function ruleTable(): string {
  const rows = Object.entries(LAYERS).map(
    ([layer, may]) =>
      `| \`${layer}\` | ${may.length ? may.map((l) => `\`${l}\``).join(', ') : '—'} |`,
  );
  return [
    '| layer | may import (besides itself) |',
    '|---|---|',
    ...rows,
    `| ${FREE_LAYERS.map((l) => `\`${l}\``).join(', ')} | anything |`,
  ].join('\n');
}
