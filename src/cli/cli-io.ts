/**
 * Where the `sparsepipe` command writes, and the two kinds of failure it reports.
 * Tests pass their own {@link CliIo} to `main(argv, io)`; the binary uses {@link processIo}.
 *
 * Exit codes: 0 success, 1 a run that failed ({@link CliError}, bad data, a refused
 * checkpoint), 2 bad command-line input ({@link UsageError}).
 *
 * @example
 * const lines: string[] = [];
 * await main(['train', '--ranks', '0'], { ...processIo, err: (s) => lines.push(s) }); // 2
 */

/** The command's outputs. `out` and `err` receive whole lines (no trailing newline). */
export interface CliIo {
  out(line: string): void;
  err(line: string): void;
  /** Raw stderr for the progress bar (only used when {@link CliIo.isTTY}). */
  errRaw(text: string): void;
  /** Whether stderr is a terminal (progress bar on). */
  isTTY: boolean;
}

/** The process's stdout and stderr. */
export const processIo: CliIo = {
  out: (line) => process.stdout.write(`${line}\n`),
  err: (line) => process.stderr.write(`${line}\n`),
  errRaw: (text) => process.stderr.write(text),
  get isTTY() {
    return process.stderr.isTTY === true;
  },
};

/**
 * Bad command-line input: exit code 2, the message printed as `sparsepipe: <message>`.
 *
 * @example
 * throw new UsageError('--ranks must be an integer ≥ 1, got "0"');
 */
export class UsageError extends Error {
  override readonly name = 'UsageError';
  readonly exitCode = 2;
}

/**
 * A run that cannot proceed or failed: exit code 1, printed as `sparsepipe: <message>`.
 *
 * @example
 * throw new CliError('--backend mpi: libmpi.so.40 was not found');
 */
export class CliError extends Error {
  override readonly name = 'CliError';
  readonly exitCode = 1;
}

/** One line for any error (first line of its message). */
export function errorLine(error: unknown): string {
  const message = error instanceof Error ? error.message : String(error);
  return `sparsepipe: ${message.split('\n')[0]}`;
}
