/**
 * Commit subjects stay within 72 characters (the why goes in the body). Checked for every
 * commit after the one that introduced the rule, so history is not rewritten; skipped,
 * saying why, where there is no git history (an installed package).
 */
import { execFileSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

/** The last commit before the rule held on main (subjects after it are checked). */
const RULE_SINCE = 'a5e4a2e';
const MAX_SUBJECT = 72;

const root = fileURLToPath(new URL('../../', import.meta.url));

function subjectsSince(base: string): string[] | string {
  try {
    execFileSync('git', ['cat-file', '-e', `${base}^{commit}`], { cwd: root, stdio: 'ignore' });
  } catch {
    return `no git history with commit ${base} here`;
  }
  const out = execFileSync('git', ['log', '--format=%h %s', `${base}..HEAD`], {
    cwd: root,
    encoding: 'utf8',
  });
  return out.split('\n').filter((line) => line !== '');
}

describe('commit subjects', () => {
  const subjects = subjectsSince(RULE_SINCE);
  it.skipIf(typeof subjects === 'string')(
    `are at most ${MAX_SUBJECT} characters${typeof subjects === 'string' ? ` (skipped: ${subjects})` : ''}`,
    () => {
      const list = typeof subjects === 'string' ? [] : subjects;
      const long = list.filter((line) => line.slice(line.indexOf(' ') + 1).length > MAX_SUBJECT);
      expect(long, `subjects over ${MAX_SUBJECT} characters:\n${long.join('\n')}`).toEqual([]);
    },
  );
});
