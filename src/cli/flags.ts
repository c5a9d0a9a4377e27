/**
 * A small hand-written flag parser: `--name value`, `--name=value`, boolean `--name`, and
 * flags whose value is optional (`--inspect [PORT]`). Each flag's parser turns the text
 * into a value or throws a {@link UsageError} naming the flag and the text given
 * (`--grad-accum must be an integer ≥ 1, got "0"`).
 *
 * @example
 * const specs = { '--ranks': intFlag(1) };
 * parseFlags(['--ranks', '4'], specs, 'train'); // { values: { '--ranks': 4 }, positionals: [] }
 */
import { UsageError } from './cli-io.ts';

/** How one flag reads its value. */
export interface FlagSpec<T = unknown> {
  /** `value`: needs a value; `none`: a switch; `optional`: takes the next token when it does not start with `--`. */
  arity: 'value' | 'none' | 'optional';
  parse(text: string | undefined, flag: string): T;
}

export type FlagSpecs = Readonly<Record<string, FlagSpec>>;

export interface ParsedFlags {
  /** Parsed value of every flag given, by flag (`--ranks`). */
  values: Record<string, unknown>;
  /** Arguments that are not flags, in order. */
  positionals: string[];
}

const show = (text: string | undefined): string => JSON.stringify(text ?? '');

/** An integer ≥ `min` (safe integers only). */
export function intFlag(min: number, max = Number.MAX_SAFE_INTEGER): FlagSpec<number> {
  return {
    arity: 'value',
    parse(text, flag) {
      const n = text !== undefined && /^-?\d+$/.test(text.trim()) ? Number(text) : NaN;
      if (!Number.isSafeInteger(n) || n < min || n > max) {
        const range = max === Number.MAX_SAFE_INTEGER ? `≥ ${min}` : `in [${min}, ${max}]`;
        throw new UsageError(`${flag} must be an integer ${range}, got ${show(text)}`);
      }
      return n;
    },
  };
}

/** A finite number > 0. */
export function positiveNumberFlag(): FlagSpec<number> {
  return {
    arity: 'value',
    parse(text, flag) {
      const n = text !== undefined && text.trim() !== '' ? Number(text) : NaN;
      if (!Number.isFinite(n) || n <= 0)
        throw new UsageError(`${flag} must be a number > 0, got ${show(text)}`);
      return n;
    },
  };
}

/** One of `choices`. */
export function enumFlag<T extends string>(choices: readonly T[]): FlagSpec<T> {
  return {
    arity: 'value',
    parse(text, flag) {
      if (text === undefined || !(choices as readonly string[]).includes(text)) {
        throw new UsageError(`${flag} must be one of ${choices.join(', ')}, got ${show(text)}`);
      }
      return text as T;
    },
  };
}

/** Any non-empty text (a path, a spec checked later). */
export function textFlag(what = 'a value'): FlagSpec<string> {
  return {
    arity: 'value',
    parse(text, flag) {
      if (text === undefined || text === '') throw new UsageError(`${flag} needs ${what}`);
      return text;
    },
  };
}

/** A switch: `true` when given. */
export function switchFlag(): FlagSpec<boolean> {
  return {
    arity: 'none',
    parse(text, flag) {
      if (text !== undefined) throw new UsageError(`${flag} takes no value, got ${show(text)}`);
      return true;
    },
  };
}

/** A flag with an optional value: `fallback` when given bare. */
export function optionalFlag<T>(inner: FlagSpec<T>, fallback: T): FlagSpec<T> {
  return {
    arity: 'optional',
    parse: (text, flag) => (text === undefined ? fallback : inner.parse(text, flag)),
  };
}

/**
 * Parse `argv` against `specs`. Throws {@link UsageError} for an unknown flag, a flag given
 * twice, a missing value, or a value its parser rejects.
 *
 * @example
 * parseFlags(['--lr=0.1', 'extra'], { '--lr': positiveNumberFlag() }, 'train'); // { values: { '--lr': 0.1 }, positionals: ['extra'] }
 */
export function parseFlags(
  argv: readonly string[],
  specs: FlagSpecs,
  command: string,
): ParsedFlags {
  const values: Record<string, unknown> = {};
  const positionals: string[] = [];
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i];
    if (!arg.startsWith('--') || arg === '--') {
      positionals.push(arg);
      continue;
    }
    const eq = arg.indexOf('=');
    const flag = eq < 0 ? arg : arg.slice(0, eq);
    const spec = specs[flag];
    if (!spec)
      throw new UsageError(
        `unknown option ${flag} for \`sparsepipe ${command}\` (see \`sparsepipe ${command} --help\`)`,
      );
    if (flag in values) throw new UsageError(`${flag} is given twice`);
    let text: string | undefined = eq < 0 ? undefined : arg.slice(eq + 1);
    if (text === undefined && spec.arity === 'value') {
      const next = argv[i + 1];
      if (next === undefined || (next.startsWith('--') && next.length > 2))
        throw new UsageError(`${flag} needs a value`);
      text = next;
      i++;
    } else if (text === undefined && spec.arity === 'optional') {
      const next = argv[i + 1];
      if (next !== undefined && !next.startsWith('--')) {
        text = next;
        i++;
      }
    }
    values[flag] = spec.parse(text, flag);
  }
  return { values, positionals };
}
