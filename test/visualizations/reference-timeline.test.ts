import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import type { ChromeTrace } from '../../src/trace/chrome-trace.ts';
import { generateReferenceTimelines } from '../../bench/reference-timelines.ts';

describe('reference timeline script', () => {
  it('runs the sparse-dist reference sim and writes its timeline and Chrome trace', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'sparsepipe-timeline-'));
    const files = await generateReferenceTimelines(dir, ['sparseDist']);
    expect(files.map((f) => f.slice(dir.length + 1))).toEqual([
      'timeline-sparse-dist.svg',
      'trace-sparse-dist.json',
    ]);
    const svg = readFileSync(files[0], 'utf8');
    for (const rank of [0, 1]) {
      expect(
        svg.match(new RegExp(`data-lane="forward" data-batch="\\d+" data-rank="${rank}"`, 'g')),
      ).toHaveLength(8);
    }
    expect(svg).toContain('>it 7</text>');
    const trace = JSON.parse(readFileSync(files[1], 'utf8')) as ChromeTrace;
    const names = trace.traceEvents
      .filter((e) => e.name === 'process_name')
      .map((e) => e.args?.name);
    expect(names).toEqual(['rank 0', 'rank 1']);
    expect(trace.traceEvents.filter((e) => e.ph === 'B' && e.name === 'forward')).toHaveLength(16);
  });
});
