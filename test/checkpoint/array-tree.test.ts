/**
 * Typed arrays in and out of the JSON tree: any tree of plain data and Float32/Float64/
 * Int32 arrays survives encode → bytes → decode bit for bit; bad references are refused
 * with the JSON path.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { BinarySink, decodeArrays, encodeArrays } from '../../src/checkpoint/array-tree.ts';

describe('encodeArrays / decodeArrays', () => {
  it('round-trips trees of arrays bit for bit, 8-byte aligned', () => {
    const arrays = fc.oneof(
      fc.float32Array({ maxLength: 9 }),
      fc.float64Array({ maxLength: 5 }),
      fc.int32Array({ maxLength: 7 }),
    );
    fc.assert(
      fc.property(
        fc.dictionary(
          fc.string({ minLength: 1, maxLength: 4 }),
          fc.oneof(arrays, fc.integer(), fc.array(arrays, { maxLength: 3 })),
        ),
        (tree) => {
          const sink = new BinarySink('r.bin');
          const json = JSON.parse(JSON.stringify(encodeArrays(tree, sink)));
          const back = decodeArrays(json, { 'r.bin': sink.bytes() }, 'ckpt') as typeof tree;
          expect(Object.keys(back)).toEqual(Object.keys(tree));
          for (const [k, v] of Object.entries(tree)) {
            const w = back[k];
            if (ArrayBuffer.isView(v)) {
              expect(w.constructor).toBe(v.constructor);
              expect(new Uint8Array((w as Float32Array).buffer)).toEqual(
                new Uint8Array(v.buffer, v.byteOffset, v.byteLength),
              );
            } else expect(w).toEqual(v);
          }
          expect(sink.bytes().length % 8).toBe(0);
        },
      ),
    );
  });

  it('refuses non-finite numbers and unsupported arrays, naming the path', () => {
    const sink = new BinarySink('r.bin');
    expect(() => encodeArrays({ a: { b: NaN } }, sink)).toThrow(
      'checkpoint: $.a.b is NaN, which JSON cannot hold',
    );
    expect(() => encodeArrays({ u: new Uint8Array(2) }, sink)).toThrow('$.u is a Uint8Array');
  });

  it('refuses references outside the file, to unknown files or with unknown dtypes', () => {
    const bytes = new Uint8Array(16);
    const ref = (r: object) => ({
      w: { $array: { file: 'r.bin', dtype: 'float32', offset: 0, length: 4, ...r } },
    });
    expect(() => decodeArrays(ref({ length: 5 }), { 'r.bin': bytes }, 'ck')).toThrow(
      'checkpoint ck: manifest.json $.w: 5 float32 values from byte 0 run past the end of r.bin (16 bytes)',
    );
    expect(() => decodeArrays(ref({ file: 'x.bin' }), { 'r.bin': bytes }, 'ck')).toThrow(
      'refers to "x.bin", which is not a file of the checkpoint',
    );
    expect(() => decodeArrays(ref({ dtype: 'float16' }), { 'r.bin': bytes }, 'ck')).toThrow(
      'unknown dtype "float16"',
    );
    expect(() => decodeArrays(ref({ offset: 3 }), { 'r.bin': bytes }, 'ck')).toThrow(
      'offset 3 is not a non-negative multiple of 8',
    );
  });
});
