/**
 * The import direction of docs/design.md "Architecture", enforced by scanning the sources:
 *
 * ```
 * src/protocol  ←  machines  ←  src/pipeline  ←  src/index, src/cli
 * src/protocol  ←  src/tensors, src/runtime, src/modules, src/optim, src/data, src/trace  ←  actors  ←  src/pipeline
 * ```
 *
 * A failure lists every offending `file → import (target)` so it can be fixed at once.
 */
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import {
  importEdges,
  importsOf,
  isUnder,
  sourceFiles,
  stripComments,
  type ImportEdge,
} from './import-scan.ts';

const root = fileURLToPath(new URL('../../', import.meta.url)).replace(/\/$/, '');

/** `file → 'spec' (target)` for every edge `forbidden` rejects. */
function describeViolations(
  edges: ImportEdge[],
  forbidden: (edge: ImportEdge) => boolean,
): string[] {
  return edges
    .filter(forbidden)
    .map((e) => `${e.file} → '${e.spec}'${e.relative ? ` (${e.target})` : ''}`);
}

/** A rule: the imports of the files under `from` that `forbidden` rejects. */
const violations = (from: string[], forbidden: (edge: ImportEdge) => boolean): string[] =>
  describeViolations(importEdges(root, from), forbidden);

const under = (edge: ImportEdge, ...dirs: string[]) =>
  edge.relative && dirs.some((d) => isUnder(edge.target, d));
/** machines/ may import xstate, src/protocol and each other. */
const machinesRule = (e: ImportEdge): boolean =>
  e.relative
    ? !isUnder(e.target, 'machines') && !isUnder(e.target, 'src/protocol')
    : e.target !== 'xstate';
const LIBRARY_LAYERS = [
  'src/tensors',
  'src/runtime',
  'src/modules',
  'src/optim',
  'src/data',
  'src/trace',
];

describe('import scanner', () => {
  it('finds static, type-only, re-export, side-effect and dynamic imports; ignores comments', () => {
    const source = [
      "/** @example import { nope } from 'sparsepipe'; */",
      "// import { alsoNope } from '../../actors/x.ts';",
      'import { a,',
      "  b } from './a.ts';",
      "import type { T } from '../src/protocol/index.ts';",
      "import Default, { type U } from 'xstate';",
      "export * from './c.ts';",
      'export { d } from "./d.ts";',
      "import 'side-effect';",
      "const lazy = () => import('./lazy.ts');",
      "const url = 'http://example.com'; // trailing comment from 'nope'",
      'export const x = 1;',
    ].join('\n');
    expect(importsOf(source)).toEqual([
      './a.ts',
      '../src/protocol/index.ts',
      'xstate',
      './c.ts',
      './d.ts',
      'side-effect',
      './lazy.ts',
    ]);
    expect(stripComments("const u = 'http://x'; // c")).toContain('http://x');
  });

  it('sees the directories it guards and resolves their imports to repository paths', () => {
    expect(sourceFiles(root, 'machines').length).toBeGreaterThan(0);
    expect(sourceFiles(root, 'src/protocol').length).toBeGreaterThan(0);
    const targets = importEdges(root, ['machines']).map((e) => e.target);
    expect(targets).toContain('src/protocol/index.ts');
    expect(targets).toContain('xstate');
  });
});

describe('import direction (docs/design.md "Architecture")', () => {
  it('machines/ imports only xstate, src/protocol and other machines files', () => {
    const bad = violations(['machines'], machinesRule);
    expect(bad, `machines must stay pure:\n${bad.join('\n')}`).toEqual([]);
  });

  it('src/protocol imports nothing outside itself', () => {
    const bad = violations(
      ['src/protocol'],
      (e) => !e.relative || !isUnder(e.target, 'src/protocol'),
    );
    expect(bad, `src/protocol must be self-contained:\n${bad.join('\n')}`).toEqual([]);
  });

  it('library layers never import machines/, actors/, src/pipeline or src/cli', () => {
    const bad = violations(LIBRARY_LAYERS, (e) =>
      under(e, 'machines', 'actors', 'src/pipeline', 'src/cli'),
    );
    expect(bad, `library layers import upward:\n${bad.join('\n')}`).toEqual([]);
  });

  it('actors/ never imports src/pipeline or src/cli', () => {
    const bad = violations(['actors'], (e) => under(e, 'src/pipeline', 'src/cli'));
    expect(bad, `actors import upward:\n${bad.join('\n')}`).toEqual([]);
  });

  it('production code never imports the harness (src/testing)', () => {
    const production = ['src', 'machines', 'actors', 'visualizations'];
    const bad = violations(production, (e) => {
      const harness = e.file === 'src/testing.ts' || isUnder(e.file, 'src/testing');
      return !harness && under(e, 'src/testing', 'src/testing.ts');
    });
    expect(bad, `production code imports the harness:\n${bad.join('\n')}`).toEqual([]);
  });

  it('src/, machines/ and actors/ never import test/ or bench/', () => {
    const bad = violations(['src', 'machines', 'actors'], (e) => under(e, 'test', 'bench'));
    expect(bad, `shipped code imports test or bench code:\n${bad.join('\n')}`).toEqual([]);
  });

  it('a violation names the file, the import as written and where it resolves', () => {
    const edges: ImportEdge[] = [
      { file: 'machines/x.ts', spec: '../actors/y.ts', target: 'actors/y.ts', relative: true },
      { file: 'machines/x.ts', spec: 'rxjs', target: 'rxjs', relative: false },
      {
        file: 'machines/x.ts',
        spec: '../src/protocol-extra/a.ts',
        target: 'src/protocol-extra/a.ts',
        relative: true,
      },
    ];
    expect(describeViolations(edges, machinesRule)).toEqual([
      "machines/x.ts → '../actors/y.ts' (actors/y.ts)",
      "machines/x.ts → 'rxjs'",
      "machines/x.ts → '../src/protocol-extra/a.ts' (src/protocol-extra/a.ts)",
    ]);
  });
});
