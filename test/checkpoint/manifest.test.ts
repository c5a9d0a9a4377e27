/**
 * Resume keys: every difference is one phrase naming the flag (or the first differing
 * field of an object) and both values.
 */
import { describe, expect, it } from 'vitest';
import { compareResumeKey } from '../../src/checkpoint/manifest.ts';

describe('compareResumeKey', () => {
  it('names each differing flag, nested field, and keys on one side only', () => {
    expect(
      compareResumeKey({ '--ranks': 4, '--lr': 0.05 }, { '--ranks': 4, '--lr': 0.05 }),
    ).toEqual([]);
    expect(compareResumeKey({ '--ranks': 4 }, { '--ranks': 2 })).toEqual([
      '--ranks is 2, the checkpoint has 4',
    ]);
    expect(
      compareResumeKey(
        { model: { tables: [{ rows: 10 }, { rows: 20 }] } },
        { model: { tables: [{ rows: 10 }, { rows: 30 }] } },
      ),
    ).toEqual(['model.tables[1].rows is 30, the checkpoint has 20']);
    expect(compareResumeKey({}, { '--seed': 1 })).toEqual([
      'the checkpoint does not record --seed',
    ]);
    expect(compareResumeKey({ '--seed': 1 }, {})).toEqual([
      'the checkpoint records --seed 1, which this run does not set',
    ]);
  });
});
