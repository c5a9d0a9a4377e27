/**
 * The linter's project rules bite where they should: biome.json, copied into a scratch
 * tree, refuses a tfjs import and a non-null assertion in machines/, a non-null assertion
 * in actors/ and src/data, and lets the same code pass in src/modules (where `!` is not
 * enforced yet).
 */
import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

const root = fileURLToPath(new URL('../../', import.meta.url));
const biome = join(root, 'node_modules', '.bin', 'biome');

interface Diagnostic {
  category: string;
  location: { path: string };
}

/** Lint `files` (path → source) with the repository's biome.json; the findings as `path rule`. */
function lint(files: Record<string, string>): string[] {
  const dir = mkdtempSync(join(tmpdir(), 'sparsepipe-lint-'));
  try {
    const config = JSON.parse(readFileSync(join(root, 'biome.json'), 'utf8')) as Record<
      string,
      unknown
    >;
    delete config.$schema;
    writeFileSync(join(dir, 'biome.json'), JSON.stringify(config));
    for (const [path, source] of Object.entries(files)) {
      mkdirSync(join(dir, path, '..'), { recursive: true });
      writeFileSync(join(dir, path), source);
    }
    let out: string;
    try {
      out = execFileSync(biome, ['lint', '--vcs-enabled=false', '--reporter=json', '.'], {
        cwd: dir,
        encoding: 'utf8',
        stdio: ['ignore', 'pipe', 'ignore'],
      });
    } catch (e) {
      out = (e as { stdout: string }).stdout;
    }
    const report = JSON.parse(out) as { diagnostics: Diagnostic[] };
    return report.diagnostics.map((d) => `${d.location.path} ${d.category}`).sort();
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

const IMPURE = [
  "import * as tf from '@tensorflow/tfjs';",
  "import { Subject } from 'rxjs';",
  'export const f = (a: { b?: number }) => a.b! + tf.version.tfjs.length + new Subject().observed;',
  '',
].join('\n');

describe('lint rules of the project (biome.json)', () => {
  it('machines/ refuse tfjs, RxJS and non-null assertions; actors/ and src/data refuse `!`; src/modules does not', () => {
    expect(
      lint({
        'machines/fake.ts': IMPURE,
        'actors/fake.ts': IMPURE,
        'src/data/fake.ts': IMPURE,
        'src/modules/fake.ts': IMPURE,
      }),
    ).toEqual([
      'actors/fake.ts lint/style/noNonNullAssertion',
      'machines/fake.ts lint/style/noNonNullAssertion',
      'machines/fake.ts lint/style/noRestrictedImports',
      'machines/fake.ts lint/style/noRestrictedImports',
      'src/data/fake.ts lint/style/noNonNullAssertion',
    ]);
  });

  it('a clean file has no findings', () => {
    expect(lint({ 'machines/clean.ts': 'export const one = 1;\n' })).toEqual([]);
  });
});
