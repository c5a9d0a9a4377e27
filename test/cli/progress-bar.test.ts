/**
 * The progress bar: batches done, loss, examples/s and ETA from an injected clock; drawn
 * at most every 100 ms and always for the last batch; erased at the end; only on a TTY.
 */
import { describe, expect, it } from 'vitest';
import { ProgressBar } from '../../src/cli/progress-bar.ts';
import { runCli } from './run-cli.ts';
import { main } from '../../src/cli/main.ts';

describe('ProgressBar', () => {
  it('shows progress, throughput and ETA, throttled', () => {
    let now = 0;
    const written: string[] = [];
    const bar = new ProgressBar({
      total: 4,
      examplesPerBatch: 100,
      write: (s) => written.push(s),
      now: () => now,
      width: 8,
    });
    now = 1000;
    bar.update({ loss: 0.6 });
    expect(written.at(-1)).toBe('\r[██░░░░░░] 1/4  loss 0.6000  100 ex/s  ETA 3s\x1b[K');
    now = 1050;
    bar.update({ loss: 0.5 }); // within 100 ms: not drawn
    expect(written).toHaveLength(1);
    now = 1060;
    bar.update({ loss: 0.5 });
    now = 1070;
    bar.update({ loss: 0.4 }); // the last batch is always drawn
    expect(written.at(-1)).toContain('4/4  loss 0.4000');
    bar.done();
    expect(written.at(-1)).toBe('\r\x1b[K');
  });

  it('is drawn on stderr only when it is a terminal', async () => {
    const raw: string[] = [];
    const out: string[] = [];
    const code = await main(
      ['train', '--ranks', '1', '--batch-size', '8', '--batches', '2', '--held-out-examples', '0'],
      {
        out: (l) => out.push(l),
        err: () => undefined,
        errRaw: (s) => raw.push(s),
        isTTY: true,
      },
    );
    expect(code).toBe(0);
    expect(raw.join('')).toContain('2/2');
    expect(out.join('\n')).not.toMatch(/\[[█░]+\]|\r/); // the bar, not the report's loss sparkline
    const quiet = await runCli([
      'train',
      '--ranks',
      '1',
      '--batch-size',
      '8',
      '--batches',
      '2',
      '--held-out-examples',
      '0',
    ]);
    expect(quiet.err).toEqual([]);
  });
});
