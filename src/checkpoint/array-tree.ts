/**
 * Typed arrays out of a JSON tree and back: {@link encodeArrays} replaces every
 * `Float32Array`, `Float64Array` and `Int32Array` of a plain-data tree by an array
 * reference `{ "$array": { file, dtype, offset, length } }` and appends its bytes
 * (little-endian, 8-byte aligned) to that file's chunk list; {@link decodeArrays} does the
 * reverse from the files' bytes, checking every reference.
 *
 * @example
 * const sink = new BinarySink('rank-0.bin');
 * const json = encodeArrays({ w: Float32Array.of(1, 2) }, sink); // { w: { $array: { file: 'rank-0.bin', dtype: 'float32', offset: 0, length: 2 } } }
 * decodeArrays(json, { 'rank-0.bin': sink.bytes() }, 'ckpt'); // { w: Float32Array [1, 2] }
 */
import { endianness } from 'node:os';
import { CheckpointError } from './checkpoint-error.ts';

/** Element types a checkpoint stores. */
export type ArrayDtype = 'float32' | 'float64' | 'int32';

/** Where one typed array lives: `length` elements from byte `offset` of `file`. */
export interface ArrayRef {
  file: string;
  dtype: ArrayDtype;
  /** Byte offset (a multiple of 8). */
  offset: number;
  /** Number of elements. */
  length: number;
}

type StoredArray = Float32Array | Float64Array | Int32Array;

const BYTES: Record<ArrayDtype, number> = { float32: 4, float64: 8, int32: 4 };
const LITTLE_ENDIAN_HOST = endianness() === 'LE';

function dtypeOf(a: unknown): ArrayDtype | undefined {
  if (a instanceof Float32Array) return 'float32';
  if (a instanceof Float64Array) return 'float64';
  if (a instanceof Int32Array) return 'int32';
  return undefined;
}

/**
 * The bytes of one `.bin` file, built by appending arrays.
 *
 * @example
 * const sink = new BinarySink('rank-0.bin'); sink.append(Float32Array.of(1)); sink.bytes().length; // 4
 */
export class BinarySink {
  private readonly chunks: Uint8Array[] = [];
  private size = 0;

  constructor(readonly file: string) {}

  /** Append `array` (little-endian, padded to 8 bytes) and return its reference. */
  append(array: StoredArray): ArrayRef {
    const dtype = dtypeOf(array);
    if (!dtype)
      throw new TypeError(`BinarySink.append: ${this.file}: not a float32, float64 or int32 array`);
    const offset = this.size;
    const bytes = toLittleEndian(array, dtype);
    this.chunks.push(bytes);
    const pad = (8 - (bytes.length % 8)) % 8;
    if (pad > 0) this.chunks.push(new Uint8Array(pad));
    this.size += bytes.length + pad;
    return { file: this.file, dtype, offset, length: array.length };
  }

  /** Everything appended so far, as one buffer. */
  bytes(): Uint8Array {
    const out = new Uint8Array(this.size);
    let at = 0;
    for (const c of this.chunks) {
      out.set(c, at);
      at += c.length;
    }
    return out;
  }
}

function toLittleEndian(array: StoredArray, dtype: ArrayDtype): Uint8Array {
  if (LITTLE_ENDIAN_HOST)
    return new Uint8Array(
      array.buffer.slice(array.byteOffset, array.byteOffset + array.byteLength),
    );
  const out = new Uint8Array(array.length * BYTES[dtype]);
  const view = new DataView(out.buffer);
  for (let i = 0; i < array.length; i++) {
    if (dtype === 'float32') view.setFloat32(i * 4, array[i], true);
    else if (dtype === 'float64') view.setFloat64(i * 8, array[i], true);
    else view.setInt32(i * 4, array[i], true);
  }
  return out;
}

function fromLittleEndian(bytes: Uint8Array, dtype: ArrayDtype, length: number): StoredArray {
  const copy = bytes.slice(); // own, aligned buffer
  if (LITTLE_ENDIAN_HOST) {
    if (dtype === 'float32') return new Float32Array(copy.buffer, 0, length);
    if (dtype === 'float64') return new Float64Array(copy.buffer, 0, length);
    return new Int32Array(copy.buffer, 0, length);
  }
  const view = new DataView(copy.buffer);
  const out =
    dtype === 'float32'
      ? new Float32Array(length)
      : dtype === 'float64'
        ? new Float64Array(length)
        : new Int32Array(length);
  for (let i = 0; i < length; i++) {
    out[i] =
      dtype === 'float32'
        ? view.getFloat32(i * 4, true)
        : dtype === 'float64'
          ? view.getFloat64(i * 8, true)
          : view.getInt32(i * 4, true);
  }
  return out;
}

/**
 * A JSON-ready copy of `value` with every typed array moved into `sink`. Plain objects,
 * arrays, strings, finite numbers, booleans and null are kept; anything else throws.
 *
 * @example
 * encodeArrays({ rows: Int32Array.of(3, 7) }, sink);
 */
export function encodeArrays(value: unknown, sink: BinarySink, path = '$'): unknown {
  if (value === null || typeof value === 'string' || typeof value === 'boolean') return value;
  if (typeof value === 'number') {
    if (!Number.isFinite(value))
      throw new TypeError(`checkpoint: ${path} is ${value}, which JSON cannot hold`);
    return value;
  }
  if (value === undefined) return null;
  if (dtypeOf(value)) return { $array: sink.append(value as StoredArray) };
  if (ArrayBuffer.isView(value))
    throw new TypeError(
      `checkpoint: ${path} is a ${value.constructor.name}; only Float32Array, Float64Array and Int32Array are stored`,
    );
  if (Array.isArray(value)) return value.map((v, i) => encodeArrays(v, sink, `${path}[${i}]`));
  if (typeof value === 'object') {
    const out: Record<string, unknown> = {};
    for (const [k, v] of Object.entries(value))
      if (v !== undefined) out[k] = encodeArrays(v, sink, `${path}.${k}`);
    return out;
  }
  throw new TypeError(`checkpoint: ${path} is a ${typeof value}, which a checkpoint cannot hold`);
}

function isRef(value: unknown): value is { $array: ArrayRef } {
  return (
    typeof value === 'object' &&
    value !== null &&
    !Array.isArray(value) &&
    '$array' in value &&
    Object.keys(value).length === 1
  );
}

/**
 * `json` with every array reference replaced by its typed array, read from `files` (file
 * name → bytes). Throws a {@link CheckpointError} naming the JSON path of a bad reference.
 *
 * @example
 * const state = decodeArrays(manifest.ranks[0], { 'rank-0.bin': bytes }, 'ckpt');
 */
export function decodeArrays(
  json: unknown,
  files: Readonly<Record<string, Uint8Array>>,
  dir: string,
  path = '$',
): unknown {
  if (Array.isArray(json)) return json.map((v, i) => decodeArrays(v, files, dir, `${path}[${i}]`));
  if (isRef(json)) return readRef(json.$array, files, dir, path);
  if (typeof json === 'object' && json !== null) {
    const out: Record<string, unknown> = {};
    for (const [k, v] of Object.entries(json)) out[k] = decodeArrays(v, files, dir, `${path}.${k}`);
    return out;
  }
  return json;
}

function readRef(
  ref: ArrayRef,
  files: Readonly<Record<string, Uint8Array>>,
  dir: string,
  path: string,
): StoredArray {
  const bad = (what: string): never => {
    throw new CheckpointError(dir, `manifest.json ${path}: ${what}`);
  };
  if (typeof ref !== 'object' || ref === null) bad('array reference is not an object');
  if (!(ref.dtype in BYTES))
    bad(`unknown dtype ${JSON.stringify(ref.dtype)} (float32, float64 or int32)`);
  if (!Number.isSafeInteger(ref.offset) || ref.offset < 0 || ref.offset % 8 !== 0)
    bad(`offset ${JSON.stringify(ref.offset)} is not a non-negative multiple of 8`);
  if (!Number.isSafeInteger(ref.length) || ref.length < 0)
    bad(`length ${JSON.stringify(ref.length)} is not a non-negative integer`);
  const bytes = files[ref.file];
  if (!bytes) bad(`refers to ${JSON.stringify(ref.file)}, which is not a file of the checkpoint`);
  const end = ref.offset + ref.length * BYTES[ref.dtype];
  if (end > bytes.length)
    bad(
      `${ref.length} ${ref.dtype} values from byte ${ref.offset} run past the end of ${ref.file} (${bytes.length} bytes)`,
    );
  return fromLittleEndian(bytes.subarray(ref.offset, end), ref.dtype, ref.length);
}
