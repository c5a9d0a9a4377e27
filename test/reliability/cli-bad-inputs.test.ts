/**
 * The command line's part of the reliability corpus (`CLI_BAD_INPUT_CASES` in
 * `bad-inputs.cases.ts`): each bad command line exits non-zero with exactly one line naming
 * what and where, prints nothing on stdout, and writes no summary.
 */
import { existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { main, type CliIo } from '../../src/cli/main.ts';
import { existsSync as exists, readFileSync } from 'node:fs';
import { CLI_BAD_INPUT_CASES, type CliBadInputCase } from './bad-inputs.cases.ts';
import { CLI_LIMIT_CASES } from './cli-limits.cases.ts';

const CASES: ReadonlyArray<CliBadInputCase & { absent?: string[] }> = [
  ...CLI_BAD_INPUT_CASES,
  ...CLI_LIMIT_CASES,
];

describe('bad command lines', () => {
  for (const c of CASES) {
    it(`${c.id}: ${c.title} → exit ${c.code} and one line`, async () => {
      const dir = mkdtempSync(join(tmpdir(), 'sparsepipe-cli-bad-'));
      try {
        for (const [name, text] of Object.entries(c.files ?? {})) {
          mkdirSync(dirname(join(dir, name)), { recursive: true });
          writeFileSync(join(dir, name), text);
        }
        const out: string[] = [];
        const err: string[] = [];
        const io: CliIo = {
          out: (l) => out.push(l),
          err: (l) => err.push(l),
          errRaw: () => undefined,
          isTTY: false,
        };
        const summary = join(dir, 'summary.json');
        const code = await main(
          [...c.argv.map((a) => a.replaceAll('{dir}', dir)), '--json', summary],
          io,
        );
        expect(code).toBe(c.code);
        expect(err).toHaveLength(1);
        expect(err[0]).not.toContain('\n');
        if (typeof c.line === 'string') expect(err[0]).toBe(c.line.replaceAll('{dir}', dir));
        else expect(err[0]).toMatch(c.line);
        expect(out).toEqual([]);
        expect(existsSync(summary), 'a summary was written').toBe(false);
        for (const [name, text] of Object.entries(c.files ?? {}))
          expect(readFileSync(join(dir, name), 'utf8'), `${name} changed`).toBe(text);
        for (const name of c.absent ?? [])
          expect(exists(join(dir, name)), `${name} written`).toBe(false);
      } finally {
        rmSync(dir, { recursive: true, force: true });
      }
    }, 30_000);
  }
});
