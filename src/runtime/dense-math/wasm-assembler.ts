/**
 * A minimal WebAssembly assembler: enough of the binary format to build one module of
 * straight-line SIMD loops that imports an existing `WebAssembly.Memory` (the tfjs wasm
 * backend's heap) and exports functions of `i32`/`f32` parameters. Instructions are written
 * as byte arrays with the helpers below; {@link assembleModule} adds the sections around them.
 *
 * @example
 * const bytes = assembleModule([
 *   { name: 'twice', params: ['i32'], locals: [], body: [...get(0), ...get(0), ...OP.i32Add, ...OP.drop] },
 * ]);
 * WebAssembly.validate(bytes); // true
 */

/** Value types used here. */
export type ValueType = 'i32' | 'f32' | 'v128';

const TYPE_CODE: Record<ValueType, number> = { i32: 0x7f, f32: 0x7d, v128: 0x7b };

/** Unsigned LEB128. */
export function uleb(value: number): number[] {
  const out: number[] = [];
  let v = value >>> 0;
  do {
    let byte = v & 0x7f;
    v >>>= 7;
    if (v !== 0) byte |= 0x80;
    out.push(byte);
  } while (v !== 0);
  return out;
}

/** Signed LEB128 (32-bit). */
export function sleb(value: number): number[] {
  const out: number[] = [];
  let v = value | 0;
  for (;;) {
    const byte = v & 0x7f;
    v >>= 7;
    const done = (v === 0 && (byte & 0x40) === 0) || (v === -1 && (byte & 0x40) !== 0);
    out.push(done ? byte : byte | 0x80);
    if (done) return out;
  }
}

const simd = (code: number): number[] => [0xfd, ...uleb(code)];
/** Memory argument: alignment exponent (a hint) and offset 0. */
const memarg = (alignLog2: number): number[] => [alignLog2, 0];

/** Opcodes (without immediates unless fixed). */
export const OP = {
  block: [0x02, 0x40],
  loop: [0x03, 0x40],
  end: [0x0b],
  drop: [0x1a],
  i32Add: [0x6a],
  i32Sub: [0x6b],
  i32Mul: [0x6c],
  i32And: [0x71],
  i32Shl: [0x74],
  i32GeU: [0x4f],
  i32GtU: [0x4b],
  i32Eqz: [0x45],
  f32Load: [0x2a, ...memarg(2)],
  f32Store: [0x38, ...memarg(2)],
  f32Add: [0x92],
  f32Sub: [0x93],
  f32Mul: [0x94],
  f32Max: [0x97],
  f32Div: [0x95],
  f32Sqrt: [0x91],
  f32Gt: [0x5e],
  f32Ne: [0x5c],
  select: [0x1b],
  v128Load: [...simd(0x00), ...memarg(2)],
  v128Store: [...simd(0x0b), ...memarg(2)],
  f32x4Splat: simd(0x13),
  f32x4Ne: simd(0x42),
  f32x4Gt: simd(0x44),
  v128And: simd(0x4e),
  v128Bitselect: simd(0x52),
  f32x4Add: simd(0xe4),
  f32x4Sub: simd(0xe5),
  f32x4Mul: simd(0xe6),
  f32x4Max: simd(0xe9),
  f32x4Sqrt: simd(0xe3),
  f32x4Div: simd(0xe7),
} as const;

export const get = (index: number): number[] => [0x20, ...uleb(index)];
export const set = (index: number): number[] => [0x21, ...uleb(index)];
export const i32 = (value: number): number[] => [0x41, ...sleb(value)];
export const f32 = (value: number): number[] => {
  const bytes = new Uint8Array(new Float32Array([value]).buffer);
  return [0x43, ...bytes];
};
/** Branch to the `depth`-th enclosing label (0: innermost). */
export const br = (depth: number): number[] => [0x0c, ...uleb(depth)];
export const brIf = (depth: number): number[] => [0x0d, ...uleb(depth)];
/** `local[index] += step` for an i32 local. */
export const advance = (index: number, step: number): number[] => [
  ...get(index),
  ...i32(step),
  ...OP.i32Add,
  ...set(index),
];

/**
 * `block { loop { if (local[a] >= local[b]) break; body; continue } }`: a counted loop
 * whose body must move `local[a]` towards `local[b]`.
 */
export const whileLess = (a: number, b: number, body: number[]): number[] => [
  ...OP.block,
  ...OP.loop,
  ...get(a),
  ...get(b),
  ...OP.i32GeU,
  ...brIf(1),
  ...body,
  ...br(0),
  ...OP.end,
  ...OP.end,
];

/** One exported function: parameters come first in the local index space, then `locals`. */
export interface FunctionSpec {
  name: string;
  params: readonly ValueType[];
  locals: readonly ValueType[];
  body: readonly number[];
}

const vec = (items: readonly number[][]): number[] => [...uleb(items.length), ...items.flat()];
const section = (id: number, content: number[]): number[] => [
  id,
  ...uleb(content.length),
  ...content,
];
const name = (s: string): number[] => {
  const bytes = [...new TextEncoder().encode(s)];
  return [...uleb(bytes.length), ...bytes];
};

/**
 * A module importing `env.memory` (non-shared, at least 0 pages) and exporting `functions`
 * (no results).
 *
 * @example
 * const bytes = assembleModule([{ name: 'noop', params: [], locals: [], body: [] }]);
 */
export function assembleModule(functions: readonly FunctionSpec[]): Uint8Array<ArrayBuffer> {
  const types = functions.map((f) => [0x60, ...vec(f.params.map((p) => [TYPE_CODE[p]])), 0]);
  const imports = [[...name('env'), ...name('memory'), 0x02, 0x00, ...uleb(0)]];
  const declared = functions.map((_, i) => uleb(i));
  const exports = functions.map((f, i) => [...name(f.name), 0x00, ...uleb(i)]);
  const bodies = functions.map((f) => {
    const locals = vec(f.locals.map((t) => [1, TYPE_CODE[t]]));
    const code = [...locals, ...f.body, ...OP.end];
    return [...uleb(code.length), ...code];
  });
  return new Uint8Array([
    0x00,
    0x61,
    0x73,
    0x6d,
    0x01,
    0x00,
    0x00,
    0x00,
    ...section(1, vec(types)),
    ...section(2, vec(imports)),
    ...section(3, vec(declared)),
    ...section(7, vec(exports)),
    ...section(10, vec(bodies)),
  ]);
}
