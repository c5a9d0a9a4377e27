/**
 * The progress bar on stderr (only on a terminal): batches done, last loss, examples per
 * second and ETA, redrawn at most every 100 ms of wall time.
 *
 * ```
 * [██████████░░░░░░░░░░]  32/64  loss 0.5123  1,830 ex/s  ETA 4s
 * ```
 *
 * @example
 * const bar = new ProgressBar({ total: 64, examplesPerBatch: 256, write: (s) => process.stderr.write(s), now: () => performance.now() });
 * bar.update({ loss: 0.61 });
 * bar.done();
 */

export interface ProgressBarOptions {
  /** Batches this run trains. */
  total: number;
  examplesPerBatch: number;
  write(text: string): void;
  /** Wall clock (ms). */
  now(): number;
  width?: number;
}

export class ProgressBar {
  private doneCount = 0;
  private lastDraw = -Infinity;
  private readonly start: number;
  private drawn = false;

  constructor(private readonly o: ProgressBarOptions) {
    this.start = o.now();
  }

  /** One more batch trained. */
  update(sample: { loss: number }): void {
    this.doneCount++;
    const t = this.o.now();
    if (t - this.lastDraw < 100 && this.doneCount < this.o.total) return;
    this.lastDraw = t;
    this.o.write(`\r${this.line(sample.loss, t)}\x1b[K`);
    this.drawn = true;
  }

  /** Erase the bar. */
  done(): void {
    if (this.drawn) this.o.write('\r\x1b[K');
  }

  line(loss: number, t: number): string {
    const { total } = this.o;
    const width = this.o.width ?? 20;
    const filled = total > 0 ? Math.round((this.doneCount / total) * width) : width;
    const seconds = Math.max(1e-9, (t - this.start) / 1000);
    const rate = (this.doneCount * this.o.examplesPerBatch) / seconds;
    const eta = this.doneCount > 0 ? ((total - this.doneCount) * seconds) / this.doneCount : NaN;
    const n = String(total).length;
    return (
      `[${'█'.repeat(filled)}${'░'.repeat(width - filled)}] ${String(this.doneCount).padStart(n)}/${total}` +
      `  loss ${loss.toFixed(4)}  ${Math.round(rate).toLocaleString('en-US')} ex/s  ETA ${Number.isFinite(eta) ? `${Math.ceil(eta)}s` : '?'}`
    );
  }
}
