/**
 * Plain data with typed arrays (a `RankResult`) as one `Int32Array`, so it can travel
 * through an MPI collective (`allToAllV` carries Int32Array or Float32Array) instead of a
 * shared filesystem.
 *
 * Layout, in bytes of the words' buffer (little-endian):
 *
 * ```
 * 0   magic "SPW1"           (4 bytes)
 * 4   JSON byte length J     (uint32)
 * 8   arrays byte length A   (uint32)
 * 12  JSON text (UTF-8)      J bytes: the tree, typed arrays replaced by `{ "$array": … }` references
 * …   arrays                 A bytes: the checkpoint array format (src/checkpoint/FORMAT.md)
 * …   zero padding to a multiple of 4 bytes
 * ```
 *
 * Non-finite numbers must sit in typed arrays (as `RankResult` keeps them); `undefined`
 * object fields are dropped.
 *
 * @example
 * const words = packWords(result);                         // Int32Array
 * const back = unpackWords<RankResult>(words, "rank 1's result");
 */
import { BinarySink, decodeArrays, encodeArrays } from '../../checkpoint/array-tree.ts';

const MAGIC = 0x31575053; // "SPW1" read as a little-endian uint32
const HEADER_BYTES = 12;
const ARRAYS_FILE = 'arrays';

/**
 * `value` packed into 32-bit words (see the module doc).
 *
 * @example
 * packWords({ losses: Float64Array.of(0.5, NaN), rank: 1 }).length; // 29 (12-byte header, 88 bytes of JSON, 16 of arrays)
 */
export function packWords(value: unknown): Int32Array {
  const sink = new BinarySink(ARRAYS_FILE);
  const json = new TextEncoder().encode(JSON.stringify(encodeArrays(value, sink)));
  const arrays = sink.bytes();
  const used = HEADER_BYTES + json.length + arrays.length;
  const words = new Int32Array(Math.ceil(used / 4));
  const bytes = new Uint8Array(words.buffer);
  const header = new DataView(words.buffer);
  header.setUint32(0, MAGIC, true);
  header.setUint32(4, json.length, true);
  header.setUint32(8, arrays.length, true);
  bytes.set(json, HEADER_BYTES);
  bytes.set(arrays, HEADER_BYTES + json.length);
  return words;
}

/**
 * The value {@link packWords} packed. Throws naming `what` when the words are not such a
 * packing (wrong magic, lengths past the end, bad JSON or array references).
 *
 * @example
 * unpackWords<{ rank: number }>(packWords({ rank: 1 }), 'a test value'); // { rank: 1 }
 */
export function unpackWords<T>(words: Int32Array, what: string): T {
  const bytes = new Uint8Array(words.buffer, words.byteOffset, words.byteLength);
  if (bytes.length < HEADER_BYTES)
    throw new Error(
      `${what}: ${bytes.length} bytes is shorter than the ${HEADER_BYTES}-byte header`,
    );
  const header = new DataView(words.buffer, words.byteOffset, words.byteLength);
  if (header.getUint32(0, true) !== MAGIC)
    throw new Error(`${what}: does not start with the packed-result magic "SPW1"`);
  const jsonLength = header.getUint32(4, true);
  const arraysLength = header.getUint32(8, true);
  const end = HEADER_BYTES + jsonLength + arraysLength;
  if (end > bytes.length)
    throw new Error(`${what}: header announces ${end} bytes but only ${bytes.length} arrived`);
  let json: unknown;
  try {
    json = JSON.parse(
      new TextDecoder().decode(bytes.subarray(HEADER_BYTES, HEADER_BYTES + jsonLength)),
    );
  } catch (e) {
    throw new Error(`${what}: the JSON part is malformed (${(e as Error).message})`, { cause: e });
  }
  return decodeArrays(
    json,
    { [ARRAYS_FILE]: bytes.subarray(HEADER_BYTES + jsonLength, end) },
    what,
  ) as T;
}
