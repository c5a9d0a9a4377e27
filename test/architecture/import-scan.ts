/**
 * A small import scanner for the architecture test: lists the module specifiers of every
 * `import … from`, `export … from`, side-effect `import '…'` and dynamic `import('…')` in a
 * source file (comments ignored, so `@example` lines in doc comments do not count) and
 * resolves relative ones to repository paths.
 *
 * @example
 * importsOf("import { a } from './b.ts';\nexport * from 'xstate';"); // ['./b.ts', 'xstate']
 */
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { dirname, join, posix, relative, sep } from 'node:path';

/** Remove block comments and `//` comments (outside string literals on the same line is enough here). */
export function stripComments(source: string): string {
  return source
    .replace(/\/\*[\s\S]*?\*\//g, (block) => block.replace(/[^\n]/g, ' '))
    .split('\n')
    .map((line) => line.replace(/(^|[^:'"`\\])\/\/.*$/, '$1'))
    .join('\n');
}

const STATIC =
  /(?:^|[;\s}])(?:import|export)\s+(?:type\s+)?(?:[\w*{}\s,$]+?\s+from\s+)?['"]([^'"]+)['"]/g;
const DYNAMIC = /\bimport\s*\(\s*['"]([^'"]+)['"]\s*\)/g;

/** Module specifiers a source file imports or re-exports from, in order of appearance. */
export function importsOf(source: string): string[] {
  const code = stripComments(source);
  const found: Array<{ at: number; spec: string }> = [];
  for (const re of [STATIC, DYNAMIC]) {
    for (const m of code.matchAll(re)) found.push({ at: m.index ?? 0, spec: m[1] });
  }
  return found.sort((a, b) => a.at - b.at).map((f) => f.spec);
}

export interface ImportEdge {
  /** Importing file, repository-relative with `/` separators. */
  file: string;
  /** The specifier as written. */
  spec: string;
  /** Repository-relative target for relative specifiers; the package name (`xstate`, `node:fs`) otherwise. */
  target: string;
  relative: boolean;
}

/** Every `.ts`/`.mts`/`.js` file under `dir` (repository-relative), skipping node_modules. */
export function sourceFiles(root: string, dir: string): string[] {
  const abs = join(root, dir);
  let entries: string[];
  try {
    entries = readdirSync(abs);
  } catch {
    return [];
  }
  return entries.flatMap((name) => {
    if (name === 'node_modules' || name.startsWith('.')) return [];
    const rel = posix.join(dir, name);
    if (statSync(join(root, rel)).isDirectory()) return sourceFiles(root, rel);
    return /\.(ts|mts|js|mjs)$/.test(name) && !name.endsWith('.d.ts') ? [rel] : [];
  });
}

/** Package name of a bare specifier: `@scope/pkg/sub` → `@scope/pkg`, `rxjs/operators` → `rxjs`. */
export function packageName(spec: string): string {
  if (spec.startsWith('node:')) return spec;
  const parts = spec.split('/');
  return spec.startsWith('@') ? parts.slice(0, 2).join('/') : parts[0];
}

/** Import edges of the files under `dirs`. */
export function importEdges(root: string, dirs: string[]): ImportEdge[] {
  return dirs.flatMap((dir) =>
    sourceFiles(root, dir).flatMap((file) =>
      importsOf(readFileSync(join(root, file), 'utf8')).map((spec): ImportEdge => {
        const isRelative = spec.startsWith('.');
        const target = isRelative
          ? relative(root, join(root, dirname(file), spec))
              .split(sep)
              .join('/')
          : packageName(spec);
        return { file, spec, target, relative: isRelative };
      }),
    ),
  );
}

/** `path` is `dir` or inside it (`dir` without trailing slash). */
export function isUnder(path: string, dir: string): boolean {
  return path === dir || path.startsWith(`${dir}/`);
}
