/**
 * `@example` blocks in doc comments compile: each example of the layers checked here is
 * written to a scratch module that imports the exports of the file it documents, and tsc
 * type-checks them all. Names an example takes from its context (`model`, `device`, …) are
 * left undeclared: those diagnostics (a name not found) are the only ones allowed, so a
 * wrong signature, a missing option or a syntax error fails the test, naming the file.
 */
import { execFileSync } from 'node:child_process';
import { mkdirSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

const root = fileURLToPath(new URL('../../', import.meta.url)).replace(/\/$/, '');
/** The layers whose examples are checked. */
const CHECKED = [
  'machines',
  'actors',
  'src/pipeline',
  'src/protocol',
  'src/cli/optional-module.ts',
  'src/scale',
  'src/checkpoint',
  'src/data',
  'src/tensors',
  'src/trace',
  'src/models',
  'src/cli',
];
/** Diagnostics of a name the example takes from its context (not declared in the snippet). */
const CONTEXT_NAMES = new Set(['TS2304', 'TS2552', 'TS2580', 'TS18004', 'TS7006']);

function sourceFiles(path: string): string[] {
  const abs = join(root, path);
  if (!statSync(abs).isDirectory()) return [path];
  return readdirSync(abs).flatMap((name) => {
    const rel = `${path}/${name}`;
    if (statSync(join(root, rel)).isDirectory()) return sourceFiles(rel);
    return name.endsWith('.ts') && !name.endsWith('.d.ts') ? [rel] : [];
  });
}

/** The code of every `@example` in the file's doc comments. */
function examplesOf(source: string): string[] {
  const out: string[] = [];
  for (const block of source.matchAll(/\/\*\*([\s\S]*?)\*\//g)) {
    const lines = block[1].split('\n').map((l) => l.replace(/^\s*\* ?/, ''));
    const at = lines.findIndex((l) => l.trim().startsWith('@example'));
    if (at < 0) continue;
    const code: string[] = [];
    for (const line of lines.slice(at + 1)) {
      if (line.trim().startsWith('@')) break;
      code.push(line);
    }
    if (code.join('').trim() !== '') out.push(code.join('\n').trim());
  }
  return out;
}

describe('doc comment examples', () => {
  it(`type-check (${CHECKED.join(', ')})`, () => {
    const dir = join(root, 'test-artifacts', 'doc-examples');
    rmSync(dir, { recursive: true, force: true });
    mkdirSync(dir, { recursive: true });
    let written = 0;
    for (const file of CHECKED.flatMap(sourceFiles)) {
      const source = readFileSync(join(root, file), 'utf8');
      const names = [
        ...source.matchAll(
          /^export (?:async )?(?:function\*?|class|const|let|abstract class|enum) (\w+)/gm,
        ),
      ].map((m) => m[1]);
      const from = relative(dir, join(root, file));
      const head = names.length > 0 ? `import { ${names.join(', ')} } from '${from}';\n` : '';
      examplesOf(source).forEach((code, k) => {
        const name = `${file.replace(/[/.]/g, '_')}_${k}.ts`;
        writeFileSync(join(dir, name), `// ${file}\n${head}export {};\n${code}\n`);
        written++;
      });
    }
    writeFileSync(
      join(dir, 'tsconfig.json'),
      JSON.stringify({
        extends: '../../tsconfig.json',
        compilerOptions: { noEmit: true, noUnusedLocals: false },
        include: ['*.ts'],
      }),
    );
    expect(written).toBeGreaterThan(40);
    let out = '';
    try {
      execFileSync(join(root, 'node_modules', '.bin', 'tsc'), ['-p', dir], {
        cwd: root,
        encoding: 'utf8',
      });
    } catch (e) {
      out = (e as { stdout: string }).stdout;
    }
    const findings = out
      .split('\n')
      .filter((line) => /error TS\d+/.test(line))
      .filter((line) => !CONTEXT_NAMES.has(line.match(/error (TS\d+)/)?.[1] ?? ''))
      .map((line) => {
        const snippet = line.slice(0, line.indexOf('('));
        const origin = readFileSync(join(root, snippet), 'utf8').split('\n')[0].slice(3);
        return `${origin}: ${line.slice(line.indexOf('error'))}`;
      });
    expect(findings, `doc examples that do not compile:\n${findings.join('\n')}`).toEqual([]);
  }, 120_000);
});
