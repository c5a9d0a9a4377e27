/**
 * Copies of several 4-byte typed arrays laid end to end in one new `ArrayBuffer` (what a
 * batch copy uses).
 *
 * @example
 * const [values, lengths] = packedCopies([kjt.values, kjt.lengths]);
 */

/**
 * An array {@link packedCopies} can copy (`undefined` stays `undefined`).
 *
 * @example
 * const parts: Packable[] = [kjt.values, kjt.lengths, kjt.weights];
 */
export type Packable = Int32Array | Float32Array | undefined;

/**
 * Copies of `arrays` (same types, same contents) in one new buffer: one allocation instead
 * of one per array (a batch copy is up to five arrays, and each separate `ArrayBuffer` costs
 * about a microsecond of allocator and garbage-collector work on top of its bytes). The
 * copies share no memory with their sources, only a buffer with each other.
 *
 * @example
 * const [values, lengths, weights] = packedCopies([kjt.values, kjt.lengths, kjt.weights]);
 * values.buffer === lengths.buffer; // true
 */
export function packedCopies<const T extends readonly Packable[]>(
  arrays: T,
): { -readonly [K in keyof T]: T[K] } {
  let elements = 0;
  for (const a of arrays) if (a) elements += a.length;
  const buffer = new ArrayBuffer(4 * elements);
  let at = 0;
  const out = arrays.map((a) => {
    if (!a) return undefined;
    const copy =
      a instanceof Int32Array
        ? new Int32Array(buffer, at, a.length)
        : new Float32Array(buffer, at, a.length);
    copy.set(a);
    at += a.byteLength;
    return copy;
  });
  return out as { -readonly [K in keyof T]: T[K] };
}
