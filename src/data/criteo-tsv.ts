/**
 * Streaming reader for the Criteo click-log TSV format (Kaggle Display Advertising / 1TB
 * logs): one example per line, 40 tab-separated columns —
 *
 * ```
 * label  I1 … I13  C1 … C26
 * 0|1    integers  hexadecimal categorical ids
 * ```
 *
 * Empty fields are allowed: an empty integer reads as 0, an empty categorical gives that
 * feature no id in that row (length 0). Dense values become `log(1 + max(x, 0))`; each
 * categorical string is hashed (case-insensitively, deterministically) into its table's
 * row count. Blank lines are ignored; a trailing `\r` (CRLF files) and a UTF-8 byte-order
 * mark at the start of the file are stripped. An integer too large for a number (more than
 * ~1.8e308, which would train on Infinity) is a malformed line like any other.
 *
 * A malformed line throws {@link CriteoParseError} naming file, line and column
 * (`data.tsv:17: column I5: "abc" is not an integer`), or with `skipBadRows: true` is
 * skipped and counted in `reader.skippedRows`.
 *
 * @example
 * const reader = readCriteoTsv('day_0.tsv', { batchSize: 512, features: [{ key: 'C1', rows: 100_000 }] });
 * for await (const batch of reader) train(batch);
 * console.log(reader.rowsRead, reader.skippedRows);
 */
import { createReadStream } from 'node:fs';
import { createInterface } from 'node:readline';
import { Batch } from '../tensors/batch.ts';
import { KeyedJaggedTensor } from '../tensors/keyed-jagged-tensor.ts';
import { hashString } from '../tensors/counter-prng.ts';

/** Dense (integer) columns of the format. */
export const CRITEO_DENSE_COLUMNS: readonly string[] = Array.from(
  { length: 13 },
  (_, i) => `I${i + 1}`,
);
/** Categorical columns of the format (also the default feature keys). */
export const CRITEO_CATEGORICAL_COLUMNS: readonly string[] = Array.from(
  { length: 26 },
  (_, i) => `C${i + 1}`,
);
const COLUMN_COUNT = 1 + 13 + 26;

/** A categorical feature to read and the size of its embedding table. */
export interface CriteoFeature {
  /** One of `C1` … `C26`. */
  key: string;
  rows: number;
}

export interface CriteoTsvOptions {
  batchSize: number;
  /** Which categorical columns become sparse features, in this order (default: all 26, `rowsPerFeature` rows each). */
  features?: readonly CriteoFeature[];
  /** Table size for the default features (default 100 000). */
  rowsPerFeature?: number;
  /** Skip and count malformed lines instead of throwing (default false). */
  skipBadRows?: boolean;
  /** Drop a final batch smaller than `batchSize` (default false: it is yielded). */
  dropLast?: boolean;
  /**
   * Read only data rows `[from, to)`: rows are the file's non-blank lines, counted from 0
   * (malformed ones included), so a split by row number does not depend on `skipBadRows`.
   * Default: every row.
   */
  rows?: { from: number; to: number };
}

/**
 * A line of a Criteo TSV file could not be parsed.
 *
 * @example
 * try { for await (const b of reader) train(b); } catch (e) { if (e instanceof CriteoParseError) console.error(e.message); }
 */
export class CriteoParseError extends Error {
  override readonly name = 'CriteoParseError';
  constructor(
    readonly file: string,
    readonly line: number,
    /** `label`, `I1`…`I13`, `C1`…`C26`, or `columns` for a wrong column count. */
    readonly field: string,
    readonly reason: string,
  ) {
    super(`${file}:${line}: ${field === 'columns' ? '' : `column ${field}: `}${reason}`);
  }
}

/** One parsed line: label, transformed dense values and, per selected feature, an id or -1 (empty). */
export interface CriteoRow {
  label: number;
  dense: Float32Array;
  /** Row id per selected feature, in `features` order; -1 when the field was empty. */
  ids: Int32Array;
}

const INTEGER = /^-?\d+$/;
const HEX = /^[0-9a-fA-F]+$/;

/**
 * Parse one line; throws {@link CriteoParseError} (with `file` and `lineNumber`) when malformed.
 *
 * @example
 * parseCriteoLine('1\t5\t\t0a1b2c3d', features, 'data.tsv', 3).ids;
 */
export function parseCriteoLine(
  line: string,
  features: readonly CriteoFeature[],
  file: string,
  lineNumber: number,
): CriteoRow {
  const cols = line.split('\t');
  if (cols.length !== COLUMN_COUNT) {
    throw new CriteoParseError(
      file,
      lineNumber,
      'columns',
      `expected ${COLUMN_COUNT} tab-separated columns (label, I1-I13, C1-C26), got ${cols.length}`,
    );
  }
  const bad = (field: string, value: string, what: string): never => {
    throw new CriteoParseError(
      file,
      lineNumber,
      field,
      `${JSON.stringify(value.length > 40 ? `${value.slice(0, 40)}…` : value)} ${what}`,
    );
  };
  const labelText = cols[0];
  if (labelText !== '0' && labelText !== '1') bad('label', labelText, 'is not 0 or 1');
  const dense = new Float32Array(13);
  for (let j = 0; j < 13; j++) {
    const text = cols[1 + j];
    if (text === '') continue;
    if (!INTEGER.test(text)) bad(CRITEO_DENSE_COLUMNS[j], text, 'is not an integer');
    const value = Number(text);
    // Past ~1.8e308 the number is Infinity (its log1p too): refuse rather than train on it.
    if (!Number.isFinite(value)) bad(CRITEO_DENSE_COLUMNS[j], text, 'is too large (overflows)');
    dense[j] = Math.log1p(Math.max(value, 0));
  }
  for (let c = 0; c < 26; c++) {
    const text = cols[14 + c];
    if (text !== '' && !HEX.test(text))
      bad(CRITEO_CATEGORICAL_COLUMNS[c], text, 'is not a hexadecimal id');
  }
  const ids = new Int32Array(features.length);
  features.forEach((f, k) => {
    const text = cols[14 + categoricalIndex(f.key)];
    ids[k] = text === '' ? -1 : hashString(text.toLowerCase()) % f.rows;
  });
  return { label: Number(labelText), dense, ids };
}

/**
 * A Criteo TSV file as an async iterable of batches; each iteration re-reads the file and
 * resets the counters.
 *
 * @example
 * const reader = new CriteoTsvReader('train.tsv', { batchSize: 128, skipBadRows: true });
 * for await (const b of reader) train(b);
 */
export class CriteoTsvReader implements AsyncIterable<Batch> {
  readonly features: readonly CriteoFeature[];
  readonly keys: readonly string[];
  readonly batchSize: number;
  /** Malformed lines skipped so far (with `skipBadRows`). */
  skippedRows = 0;
  /** Examples read so far (well-formed lines). */
  rowsRead = 0;
  /** Lines read so far, blank and skipped ones included. */
  linesRead = 0;
  /** The first error of each skipped line (at most 100 kept), for reporting. */
  readonly skipped: CriteoParseError[] = [];

  constructor(
    readonly path: string,
    private readonly options: CriteoTsvOptions,
  ) {
    if (!Number.isInteger(options.batchSize) || options.batchSize < 1) {
      throw new RangeError(
        `CriteoTsvReader: batchSize must be an integer ≥ 1; got ${options.batchSize}`,
      );
    }
    const rows = options.rowsPerFeature ?? 100_000;
    this.features = (
      options.features ?? CRITEO_CATEGORICAL_COLUMNS.map((key) => ({ key, rows }))
    ).map((f) => ({ ...f }));
    const seen = new Set<string>();
    for (const f of this.features) {
      categoricalIndex(f.key);
      if (seen.has(f.key))
        throw new RangeError(`CriteoTsvReader: feature ${f.key} is listed twice`);
      seen.add(f.key);
      if (!Number.isInteger(f.rows) || f.rows < 1)
        throw new RangeError(
          `CriteoTsvReader: feature ${f.key} needs an integer rows ≥ 1; got ${f.rows}`,
        );
    }
    this.keys = this.features.map((f) => f.key);
    this.batchSize = options.batchSize;
  }

  async *[Symbol.asyncIterator](): AsyncIterator<Batch> {
    this.skippedRows = 0;
    this.rowsRead = 0;
    this.linesRead = 0;
    this.skipped.length = 0;
    const stream = createReadStream(this.path, { encoding: 'utf8' });
    const lines = createInterface({ input: stream, crlfDelay: Infinity });
    let pending: CriteoRow[] = [];
    const from = this.options.rows?.from ?? 0;
    const to = this.options.rows?.to ?? Infinity;
    let dataRow = -1;
    try {
      for await (const raw of lines) {
        this.linesRead++;
        let line = raw.endsWith('\r') ? raw.slice(0, -1) : raw;
        if (this.linesRead === 1 && line.startsWith('\uFEFF')) line = line.slice(1); // UTF-8 byte-order mark
        if (line === '') continue;
        dataRow++;
        if (dataRow < from) continue;
        if (dataRow >= to) break;
        let row: CriteoRow;
        try {
          row = parseCriteoLine(line, this.features, this.path, this.linesRead);
        } catch (e) {
          if (!(e instanceof CriteoParseError) || !this.options.skipBadRows) throw e;
          this.skippedRows++;
          if (this.skipped.length < 100) this.skipped.push(e);
          continue;
        }
        this.rowsRead++;
        pending.push(row);
        if (pending.length === this.batchSize) {
          const batch = this.toBatch(pending);
          pending = [];
          yield batch;
        }
      }
      if (pending.length > 0 && !this.options.dropLast) yield this.toBatch(pending);
    } finally {
      lines.close();
      stream.destroy();
    }
  }

  private toBatch(rows: readonly CriteoRow[]): Batch {
    const B = rows.length;
    const K = this.features.length;
    const dense = new Float32Array(B * 13);
    const labels = new Float32Array(B);
    const lengths = new Int32Array(K * B);
    let total = 0;
    rows.forEach((r, b) => {
      dense.set(r.dense, b * 13);
      labels[b] = r.label;
      for (let k = 0; k < K; k++) {
        const n = r.ids[k] < 0 ? 0 : 1;
        lengths[k * B + b] = n;
        total += n;
      }
    });
    const values = new Int32Array(total);
    let at = 0;
    for (let k = 0; k < K; k++) {
      for (const r of rows) if (r.ids[k] >= 0) values[at++] = r.ids[k];
    }
    return new Batch({
      dense,
      denseDim: 13,
      labels,
      batchSize: B,
      sparse: new KeyedJaggedTensor({ keys: this.keys, stride: B, values, lengths }),
    });
  }
}

/**
 * Open a Criteo TSV file as an async iterable of batches.
 *
 * @example
 * for await (const batch of readCriteoTsv('data.tsv', { batchSize: 256 })) train(batch);
 */
export function readCriteoTsv(path: string, options: CriteoTsvOptions): CriteoTsvReader {
  return new CriteoTsvReader(path, options);
}

function categoricalIndex(key: string): number {
  const i = CRITEO_CATEGORICAL_COLUMNS.indexOf(key);
  if (i < 0)
    throw new RangeError(`Criteo feature "${key}" is not a categorical column (expected C1 … C26)`);
  return i;
}

/**
 * The number of data rows of a Criteo TSV file (its non-blank lines, malformed ones
 * included): what {@link CriteoTsvOptions.rows} counts, e.g. to split off the last rows
 * for held-out evaluation.
 *
 * @example
 * const rows = await countCriteoRows('day_0.tsv'); // 45_840_617
 */
export async function countCriteoRows(path: string): Promise<number> {
  let rows = 0;
  let lineHasText = false;
  for await (const chunk of createReadStream(path)) {
    const bytes = chunk as Buffer;
    for (let i = 0; i < bytes.length; i++) {
      const c = bytes[i];
      if (c === 10) {
        if (lineHasText) rows++;
        lineHasText = false;
      } else if (c !== 13) lineHasText = true;
    }
  }
  return lineHasText ? rows + 1 : rows;
}
