/**
 * The `sparsepipe` command: `train`, `bench`, `charts`, `inspect FILE`, `--help`,
 * `--version`. Resolves with the exit code (0 ok, 1 failed run, 2 bad input) and prints
 * every error as one line `sparsepipe: <what and where>` on stderr.
 *
 * @example
 * process.exitCode = await main(process.argv.slice(2));
 */
import { pathToFileURL } from 'node:url';
import { errorLine, processIo, UsageError, type CliIo } from './cli-io.ts';
import { faultFromEnv } from './fault-injection.ts';
import { loadOptionalModule } from './optional-module.ts';
import { parseTrainArgs } from './train-options.ts';
import { BENCH_TEXT, TRAIN_USAGE, USAGE } from './usage.ts';
import { sparsepipeVersion } from './version.ts';

export type { CliIo } from './cli-io.ts';

/**
 * Run the command line `argv` (without `node` and the script).
 *
 * @example
 * await main(['train', '--ranks', '2', '--batches', '4', '--json', 'out.json']); // 0
 */
export async function main(argv: string[], io: CliIo = processIo): Promise<number> {
  const [command, ...rest] = argv;
  try {
    switch (command) {
      case undefined:
        io.err(USAGE);
        return 2;
      case '--help':
      case '-h':
      case 'help':
        io.out(USAGE);
        return 0;
      case '--version':
        io.out(await sparsepipeVersion());
        return 0;
      case 'train': {
        const options = parseTrainArgs(rest); // before loading tfjs: bad flags fail fast
        if (options === 'help') {
          io.out(TRAIN_USAGE);
          return 0;
        }
        const fault = faultFromEnv(process.env, options); // the SPARSEPIPE_FAULT test hook
        const { train } = await import('./train.ts');
        await train(options, io, { fault });
        return 0;
      }
      case 'bench':
        io.out(BENCH_TEXT);
        return 0;
      case 'simulate': {
        const { runSimulate } = await import('./simulate.ts');
        return await runSimulate(rest, io);
      }
      case 'compare': {
        const { runCompare } = await import('./compare.ts');
        return await runCompare(rest, io);
      }
      case 'plan': {
        const { runPlan } = await import('./plan.ts');
        return await runPlan(rest, io);
      }
      case 'charts':
        return await (await loadOptionalModule('charts')).runChartsCommand(rest, {
          log: io.out,
          error: io.err,
        });
      case 'inspect':
        if (rest.length === 0)
          throw new UsageError('`sparsepipe inspect` needs a FILE (a trace or event log of a run)');
        return await (await loadOptionalModule('replay')).runInspectCommand(rest, {
          log: io.out,
          error: io.err,
        });
      default:
        throw new UsageError(
          `unknown command ${JSON.stringify(command)} (commands: train, simulate, plan, compare, bench, charts, inspect; see sparsepipe --help)`,
        );
    }
  } catch (error) {
    io.err(errorLine(error));
    return error instanceof UsageError ? 2 : 1;
  }
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  process.exitCode = await main(process.argv.slice(2));
}
