/**
 * bfloat16 emulation for the `amp` flag. tfjs has no bf16 dtype, so sparsepipe emulates
 * autocast at the sparse / dense boundary: with `amp: true` the pooled embeddings and the
 * dense features entering the dense forward are rounded to bfloat16 precision (8 bits of
 * mantissa, round-to-nearest-even); the math itself stays fp32. Loss scaling (`GradScaler`)
 * works the same with or without it.
 *
 * @example
 * roundToBfloat16(Float32Array.of(1.00390625)); // Float32Array [1]
 */
export function roundToBfloat16(values: Float32Array): Float32Array {
  const out = new Float32Array(values.length);
  const inBits = new Uint32Array(values.buffer, values.byteOffset, values.length);
  const outBits = new Uint32Array(out.buffer);
  for (let i = 0; i < values.length; i++) {
    const bits = inBits[i];
    if ((bits & 0x7f800000) === 0x7f800000) {
      // inf stays inf; NaN stays a (quiet) NaN
      outBits[i] = (bits & 0x007fffff) !== 0 ? (bits | 0x00400000) & 0xffff0000 : bits;
      continue;
    }
    const rounded = bits + 0x7fff + ((bits >>> 16) & 1);
    outBits[i] = rounded & 0xffff0000;
  }
  return out;
}
