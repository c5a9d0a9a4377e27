/**
 * Replays a recorded run in the inspector: the file is a JSON array of pipeline events
 * (what `events$` emitted, e.g. an `EventRecorder`'s `events`); the page ends in the same
 * final picture as the live run (states, counter, log, timeline). Also the
 * `sparsepipe inspect FILE` command.
 *
 * @example
 * writeFileSync('run.json', JSON.stringify(recorder.events));
 * const { url, close } = await replayInspector('run.json');
 */
import { readFileSync } from 'node:fs';
import type { PipelineEvent } from '../../src/protocol/index.ts';
import { startInspector, type InspectorHandle, type InspectorOptions } from './server.ts';

/**
 * Reads and checks a recorded run; throws an error naming the file, the event index and
 * the field when something is wrong.
 *
 * @example
 * const events = loadRecordedRun('run.json');
 */
export function loadRecordedRun(file: string): PipelineEvent[] {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (e) {
    throw new Error(
      `${file}: cannot read the recorded run (${e instanceof Error ? e.message : String(e)})`,
    );
  }
  let data: unknown;
  try {
    data = JSON.parse(text);
  } catch (e) {
    throw new Error(`${file}: not JSON (${e instanceof Error ? e.message : String(e)})`);
  }
  if (!Array.isArray(data))
    throw new Error(`${file}: expected a JSON array of pipeline events, got ${typeof data}`);
  data.forEach((e: unknown, i: number) => {
    const where = `${file}: event ${i}`;
    if (typeof e !== 'object' || e === null) throw new Error(`${where}: not an object`);
    const r = e as Record<string, unknown>;
    if (typeof r.type !== 'string') throw new Error(`${where}: field 'type' must be a string`);
    if (typeof r.rank !== 'number' || !Number.isInteger(r.rank) || r.rank < 0) {
      throw new Error(`${where} (${r.type}): field 'rank' must be an integer ≥ 0`);
    }
    if (typeof r.t !== 'number' || !Number.isFinite(r.t))
      throw new Error(`${where} (${r.type}): field 't' must be a finite number`);
    if (r.batch !== undefined && typeof r.batch !== 'number')
      throw new Error(`${where} (${r.type}): field 'batch' must be a number`);
    if (r.type === 'actor.state' && (typeof r.actor !== 'string' || typeof r.to !== 'string')) {
      throw new Error(`${where} (actor.state): fields 'actor' and 'to' must be strings`);
    }
  });
  return data as PipelineEvent[];
}

/**
 * Serves a recorded run (no controls: the run is over).
 *
 * @example
 * const inspector = await replayInspector('run.json', { port: 8080 });
 */
export async function replayInspector(
  file: string,
  options: Omit<InspectorOptions, 'recorded' | 'feed' | 'controls'> = {},
): Promise<InspectorHandle> {
  const events = loadRecordedRun(file);
  return startInspector({
    title: `sparsepipe inspector — replay of ${file}`,
    ...options,
    recorded: events,
  });
}

const USAGE = `usage: sparsepipe inspect FILE [--port N] [--host H]
  Serves the inspector page for a recorded run (FILE: JSON array of pipeline events, e.g. from --trace-events).
  --port N   port to listen on (default 0: any free port)
  --host H   address to bind (default 127.0.0.1)`;

export interface InspectCommandIo {
  log(line: string): void;
  error(line: string): void;
  /** Resolves when the server should stop (default: SIGINT or SIGTERM). */
  untilStopped?: Promise<unknown>;
}

/**
 * The `sparsepipe inspect FILE` command: serves the replay until interrupted. Resolves with
 * the exit code.
 *
 * @example
 * process.exitCode = await runInspectCommand(['run.json', '--port', '8080']);
 */
export async function runInspectCommand(
  argv: readonly string[],
  io: InspectCommandIo = console,
): Promise<number> {
  let file: string | undefined;
  let port = 0;
  let host = '127.0.0.1';
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i];
    if (arg === '--help' || arg === '-h') {
      io.log(USAGE);
      return 0;
    } else if (arg === '--port') {
      const v = Number(argv[++i]);
      if (!Number.isInteger(v) || v < 0 || v > 65535) {
        io.error(`sparsepipe inspect: --port needs an integer 0..65535, got '${argv[i] ?? ''}'`);
        return 2;
      }
      port = v;
    } else if (arg === '--host') {
      const v = argv[++i];
      if (!v) {
        io.error('sparsepipe inspect: --host needs an address');
        return 2;
      }
      host = v;
    } else if (arg.startsWith('-')) {
      io.error(`sparsepipe inspect: unknown option '${arg}'\n${USAGE}`);
      return 2;
    } else if (file === undefined) {
      file = arg;
    } else {
      io.error(`sparsepipe inspect: one FILE only (got '${file}' and '${arg}')`);
      return 2;
    }
  }
  if (!file) {
    io.error(`sparsepipe inspect: missing FILE\n${USAGE}`);
    return 2;
  }
  let inspector: InspectorHandle;
  try {
    inspector = await replayInspector(file, { port, host });
  } catch (e) {
    io.error(`sparsepipe inspect: ${e instanceof Error ? e.message : String(e)}`);
    return 1;
  }
  io.log(
    `inspector: ${inspector.url} (replay of ${inspector.events.length} events from ${file}; Ctrl-C to stop)`,
  );
  await (io.untilStopped ?? untilSignal());
  await inspector.close();
  return 0;
}

function untilSignal(): Promise<void> {
  return new Promise((resolve) => {
    const done = (): void => {
      process.off('SIGINT', done);
      process.off('SIGTERM', done);
      resolve();
    };
    process.on('SIGINT', done);
    process.on('SIGTERM', done);
  });
}
