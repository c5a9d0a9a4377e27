/**
 * Concatenate typed arrays of one kind into a new array of that kind.
 *
 * @example
 * concatTyped([Int32Array.of(1, 2), Int32Array.of(3)], (n) => new Int32Array(n)); // Int32Array [1, 2, 3]
 */
export function concatTyped<T extends Int32Array | Float32Array>(
  parts: readonly T[],
  make: (length: number) => T,
): T {
  let length = 0;
  for (const p of parts) length += p.length;
  const out = make(length);
  let at = 0;
  for (const p of parts) {
    out.set(p, at);
    at += p.length;
  }
  return out;
}

/** Int32 parts → one Int32Array. */
export const concatInt32 = (parts: readonly Int32Array[]): Int32Array =>
  concatTyped(parts, (n) => new Int32Array(n));

/** Float32 parts → one Float32Array. */
export const concatFloat32 = (parts: readonly Float32Array[]): Float32Array =>
  concatTyped(parts, (n) => new Float32Array(n));
