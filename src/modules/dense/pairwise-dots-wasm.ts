/**
 * The pairwise dot interaction as WebAssembly SIMD loops on the tfjs wasm heap (the module
 * imports the backend's own `WebAssembly.Memory`): the forward for width 16, the backward
 * for widths that are multiples of 8.
 *
 * Forward: two dots per `f64x2` (rows j and j+1 in the two lanes, x_t splatted), each lane
 * summed from `+0` by ascending t, rounded once — the order of `pairwiseDotsForward`.
 * Micro-bench (batch 512, 8 sparse features): 0.20 ms in JavaScript, 0.12 ms here.
 *
 * Backward: it computes exactly what `pairwiseDotsBackward` computes, in the same
 * order, with the same float64 operations, two columns per instruction: for each example
 * and vector k, a block of 16 columns (8 when the width is not a multiple of 16) is eight
 * (four) `f64x2` sums that start from the pass-through gradient (k = 0) or `+0` and add
 * `g(k, m)·v_m` for `m ≠ k` by ascending m; each f32 is promoted exactly and each sum
 * rounds once to f32 (round to nearest even, as a `Float32Array` store does). So the bits
 * equal the JavaScript loops' for every finite input. Micro-bench (batch 512, 8 sparse
 * features, width 16): 0.44 ms in JavaScript, 0.16 ms here.
 *
 * @example
 * const backward = wasmDotsBackward(heap.memory);
 * if (!backward(dense, sparse, dOut, batch, numSparse, dim, dDense, dSparse)) {
 *   pairwiseDotsBackward(dense, sparse, dOut, batch, numSparse, dim, dDense, dSparse);
 * }
 */
import {
  OP,
  assembleModule,
  get,
  i32,
  set,
  uleb,
  whileLess,
  type FunctionSpec,
} from '../../runtime/dense-math/wasm-assembler.ts';
import { pairCount } from './pairwise-dots.ts';

const simd = (code: number): number[] => [0xfd, ...uleb(code)];
/** `v128.load64_zero` at `offset` bytes past the address: two f32 in the low lanes. */
const load2 = (offset: number): number[] => [...simd(0x5d), 2, ...uleb(offset)];
/** `v128.store64_lane 0` at `offset` bytes past the address: the two low f32 lanes. */
const store2 = (offset: number): number[] => [...simd(0x5b), 2, ...uleb(offset), 0];
const F64X2_PROMOTE_LOW = simd(0x5f);
const F32X4_DEMOTE_ZERO = simd(0x5e);
const F64X2_SPLAT = simd(0x14);
const F64X2_ADD = simd(0xf0);
const F64X2_MUL = simd(0xf2);
const F32_LOAD = [0x2a, 2, 0];
const F64_PROMOTE_F32 = [0xbb];
const I32_NE = [0x47];
const I32_LT_U = [0x49];
const I32_SHR_U = [0x76];
const IF = [0x04, 0x40];
const ELSE = [0x05];
const inc = (index: number, step: number): number[] => [
  ...get(index),
  ...i32(step),
  ...OP.i32Add,
  ...set(index),
];

// Parameters: byte addresses dense 0, sparse 1, dOut 2, dDense 3, dSparse 4; counts batch 5, n 6, dim 7.
const [DENSE, SPARSE, DOUT, DDENSE, DSPARSE, BATCH, N, DIM] = [0, 1, 2, 3, 4, 5, 6, 7];
// i32 locals
const [B, K, M, C, ROW, DROW, SROW, SRC, TGT, LO, HI, WIDTH4, DIMB, SWB] = [
  8, 9, 10, 11, 12, 13, 14, 15, 16, 17, 18, 19, 20, 21,
];
// v128 locals: the splatted gradient, then `sums` f64x2 sums (a block of 2·sums columns)
const G = 22;

/**
 * The loop over a block of `2·sums` columns at a time (`sums` 4: widths that are multiples
 * of 8; 8: multiples of 16, which load the pair's gradient half as often).
 */
function backwardBody(sums: number): number[] {
  const ACC = Array.from({ length: sums }, (_, q) => G + 1 + q);
  const BLOCK_BYTES = 8 * sums;

  /** `acc_q = acc_q + g · promote(load2(src + 8q))` for every sum. */
  const addScaledBlock: number[] = ACC.flatMap((a, q) => [
    ...get(a),
    ...get(G),
    ...get(SRC),
    ...load2(8 * q),
    ...F64X2_PROMOTE_LOW,
    ...F64X2_MUL,
    ...F64X2_ADD,
    ...set(a),
  ]);

  return [
    // WIDTH4 = (dim + n(n−1)/2)·4; DIMB = dim·4; SWB = (n−1)·dim·4
    ...get(DIM),
    ...get(N),
    ...get(N),
    ...i32(1),
    ...OP.i32Sub,
    ...OP.i32Mul,
    ...i32(1),
    ...I32_SHR_U,
    ...OP.i32Add,
    ...i32(2),
    ...OP.i32Shl,
    ...set(WIDTH4),
    ...get(DIM),
    ...i32(2),
    ...OP.i32Shl,
    ...set(DIMB),
    ...get(N),
    ...i32(1),
    ...OP.i32Sub,
    ...get(DIMB),
    ...OP.i32Mul,
    ...set(SWB),
    ...whileLess(B, BATCH, [
      // ROW = dOut + b·WIDTH4; DROW = dense + b·DIMB; SROW = sparse + b·SWB
      ...get(DOUT),
      ...get(B),
      ...get(WIDTH4),
      ...OP.i32Mul,
      ...OP.i32Add,
      ...set(ROW),
      ...get(DENSE),
      ...get(B),
      ...get(DIMB),
      ...OP.i32Mul,
      ...OP.i32Add,
      ...set(DROW),
      ...get(SPARSE),
      ...get(B),
      ...get(SWB),
      ...OP.i32Mul,
      ...OP.i32Add,
      ...set(SROW),
      ...i32(0),
      ...set(K),
      ...whileLess(K, N, [
        // TGT: the gradient row of vector k (dDense for k = 0, else its block of dSparse)
        ...get(K),
        ...OP.i32Eqz,
        ...IF,
        ...get(DDENSE),
        ...get(B),
        ...get(DIMB),
        ...OP.i32Mul,
        ...OP.i32Add,
        ...set(TGT),
        ...ELSE,
        ...get(DSPARSE),
        ...get(B),
        ...get(SWB),
        ...OP.i32Mul,
        ...OP.i32Add,
        ...get(K),
        ...i32(1),
        ...OP.i32Sub,
        ...get(DIMB),
        ...OP.i32Mul,
        ...OP.i32Add,
        ...set(TGT),
        ...OP.end,
        ...i32(0),
        ...set(C),
        ...whileLess(C, DIMB, [
          // the sums start from the pass-through gradient (k = 0) or +0
          ...get(K),
          ...OP.i32Eqz,
          ...IF,
          ...ACC.flatMap((a, q) => [
            ...get(ROW),
            ...get(C),
            ...OP.i32Add,
            ...load2(8 * q),
            ...F64X2_PROMOTE_LOW,
            ...set(a),
          ]),
          ...ELSE,
          ...ACC.flatMap((a) => [...simd(0x0c), ...new Array<number>(16).fill(0), ...set(a)]),
          ...OP.end,
          ...i32(0),
          ...set(M),
          ...whileLess(M, N, [
            ...get(M),
            ...get(K),
            ...I32_NE,
            ...IF,
            // LO = min(k, m), HI = max(k, m); the pair's gradient sits at
            // dim + LO·n − LO(LO+1)/2 + HI − LO − 1 in the row
            ...get(K),
            ...get(M),
            ...get(K),
            ...get(M),
            ...I32_LT_U,
            ...OP.select,
            ...set(LO),
            ...get(M),
            ...get(K),
            ...get(K),
            ...get(M),
            ...I32_LT_U,
            ...OP.select,
            ...set(HI),
            ...get(ROW),
            ...get(DIM),
            ...get(LO),
            ...get(N),
            ...OP.i32Mul,
            ...OP.i32Add,
            ...get(LO),
            ...get(LO),
            ...i32(1),
            ...OP.i32Add,
            ...OP.i32Mul,
            ...i32(1),
            ...I32_SHR_U,
            ...OP.i32Sub,
            ...get(HI),
            ...OP.i32Add,
            ...get(LO),
            ...OP.i32Sub,
            ...i32(1),
            ...OP.i32Sub,
            ...i32(2),
            ...OP.i32Shl,
            ...OP.i32Add,
            ...F32_LOAD,
            ...F64_PROMOTE_F32,
            ...F64X2_SPLAT,
            ...set(G),
            // SRC: vector m's columns c… (the dense vector for m = 0)
            ...get(M),
            ...OP.i32Eqz,
            ...IF,
            ...get(DROW),
            ...get(C),
            ...OP.i32Add,
            ...set(SRC),
            ...ELSE,
            ...get(SROW),
            ...get(M),
            ...i32(1),
            ...OP.i32Sub,
            ...get(DIMB),
            ...OP.i32Mul,
            ...OP.i32Add,
            ...get(C),
            ...OP.i32Add,
            ...set(SRC),
            ...OP.end,
            ...addScaledBlock,
            ...OP.end,
            ...inc(M, 1),
          ]),
          // round each sum once to f32 and store the block
          ...ACC.flatMap((a, q) => [
            ...get(TGT),
            ...get(C),
            ...OP.i32Add,
            ...get(a),
            ...F32X4_DEMOTE_ZERO,
            ...store2(8 * q),
          ]),
          ...inc(C, BLOCK_BYTES),
        ]),
        ...inc(K, 1),
      ]),
      ...inc(B, 1),
    ]),
  ];
}

const backwardSpec = (name: string, sums: number): FunctionSpec => ({
  name,
  params: ['i32', 'i32', 'i32', 'i32', 'i32', 'i32', 'i32', 'i32'],
  locals: [...new Array<'i32'>(14).fill('i32'), ...new Array<'v128'>(1 + sums).fill('v128')],
  body: backwardBody(sums),
});

// ── forward, width 16: out[b] = [dense[b], ⟨vᵢ, vⱼ⟩ for i < j] ──────────────────────────
// Parameters: byte addresses dense 0, sparse 1, out 2; counts batch 3, n 4.
const [F_DENSE, F_SPARSE, F_OUT, F_BATCH, F_N] = [0, 1, 2, 3, 4];
// i32 locals: example, vector i, pairs left in the row, x / y / out addresses, sparse row end
const [FB, FI, FLEFT, FX, FY, FO, FEND] = [5, 6, 7, 8, 9, 10, 11];
// v128 locals: x_t splatted as f64x2 (16), then the sum of two dots
const FXS = 12;
const FACC = FXS + 16;
const V128_LOAD32_ZERO = (offset: number): number[] => [...simd(0x5c), 2, ...uleb(offset)];
const V128_LOAD32_LANE1 = (offset: number): number[] => [...simd(0x56), 2, ...uleb(offset), 1];
const V128_STORE32_LANE0 = [...simd(0x5a), 2, 0, 0];
const V128_LOAD = [...simd(0x00), 2, 0];
const V128_STORE = [...simd(0x0b), 2, 0];
const I32_GT_U = [0x4b];

/**
 * `acc = Σ_t x_t · [y(t), y2(t)]` from `+0` by ascending t (y at FY, y2 one row later, or
 * lane 1 left at 0 when `pair` is false): lane q is the dot of x with row q, summed in the
 * order of the JavaScript loop.
 */
const twoDots = (pair: boolean): number[] => [
  ...simd(0x0c),
  ...new Array<number>(16).fill(0),
  ...set(FACC),
  ...Array.from({ length: 16 }, (_, t) => [
    ...get(FACC),
    ...get(FXS + t),
    ...get(FY),
    ...V128_LOAD32_ZERO(4 * t),
    ...(pair
      ? [...set(FACC + 1), ...get(FY), ...get(FACC + 1), ...V128_LOAD32_LANE1(64 + 4 * t)]
      : []),
    ...F64X2_PROMOTE_LOW,
    ...F64X2_MUL,
    ...F64X2_ADD,
    ...set(FACC),
  ]).flat(),
];

const forward16Body: number[] = [
  ...whileLess(FB, F_BATCH, [
    // FX: the dense row; FO: the output row, which starts with a copy of it
    ...get(F_DENSE),
    ...get(FB),
    ...i32(6),
    ...OP.i32Shl,
    ...OP.i32Add,
    ...set(FX),
    ...get(F_OUT),
    ...get(FB),
    ...i32(16),
    ...get(F_N),
    ...get(F_N),
    ...i32(1),
    ...OP.i32Sub,
    ...OP.i32Mul,
    ...i32(1),
    ...I32_SHR_U,
    ...OP.i32Add,
    ...OP.i32Mul,
    ...i32(2),
    ...OP.i32Shl,
    ...OP.i32Add,
    ...set(FO),
    ...[0, 16, 32, 48].flatMap((o) => [
      ...get(FO),
      ...i32(o),
      ...OP.i32Add,
      ...get(FX),
      ...i32(o),
      ...OP.i32Add,
      ...V128_LOAD,
      ...V128_STORE,
    ]),
    ...inc(FO, 64),
    // FEND: the end of this example's sparse rows (n − 1 rows of 64 bytes)
    ...get(F_SPARSE),
    ...get(FB),
    ...i32(1),
    ...OP.i32Add,
    ...get(F_N),
    ...i32(1),
    ...OP.i32Sub,
    ...OP.i32Mul,
    ...i32(6),
    ...OP.i32Shl,
    ...OP.i32Add,
    ...set(FEND),
    // FY starts at the first sparse row; vector i = 0 is the dense row, then each sparse row
    ...get(FEND),
    ...get(F_N),
    ...i32(1),
    ...OP.i32Sub,
    ...i32(6),
    ...OP.i32Shl,
    ...OP.i32Sub,
    ...set(FY),
    ...i32(0),
    ...set(FI),
    ...get(F_N),
    ...i32(1),
    ...OP.i32Sub,
    ...set(FLEFT),
    ...whileLess(FI, F_N, [
      ...Array.from({ length: 16 }, (_, t) => [
        ...get(FX),
        ...F32_LOAD.slice(0, 2),
        ...uleb(4 * t),
        ...F64_PROMOTE_F32,
        ...F64X2_SPLAT,
        ...set(FXS + t),
      ]).flat(),
      // the pairs (i, j > i): rows j start at FY; two dots at a time
      ...OP.block,
      ...OP.loop,
      ...get(FLEFT),
      ...i32(1),
      ...I32_GT_U,
      ...OP.i32Eqz,
      ...[0x0d, 1], // br_if 1: fewer than two left
      ...twoDots(true),
      ...get(FO),
      ...get(FACC),
      ...F32X4_DEMOTE_ZERO,
      ...store2(0),
      ...inc(FO, 8),
      ...inc(FY, 128),
      ...get(FLEFT),
      ...i32(2),
      ...OP.i32Sub,
      ...set(FLEFT),
      ...[0x0c, 0], // br 0
      ...OP.end,
      ...OP.end,
      ...get(FLEFT),
      ...IF,
      ...twoDots(false),
      ...get(FO),
      ...get(FACC),
      ...F32X4_DEMOTE_ZERO,
      ...V128_STORE32_LANE0,
      ...inc(FO, 4),
      ...OP.end,
      // next i: x is the next sparse row; its pairs start one row further
      ...get(FI),
      ...OP.i32Eqz,
      ...IF,
      ...get(FEND),
      ...get(F_N),
      ...i32(1),
      ...OP.i32Sub,
      ...i32(6),
      ...OP.i32Shl,
      ...OP.i32Sub,
      ...set(FX),
      ...ELSE,
      ...inc(FX, 64),
      ...OP.end,
      ...get(FX),
      ...i32(64),
      ...OP.i32Add,
      ...set(FY),
      ...get(FEND),
      ...get(FY),
      ...OP.i32Sub,
      ...i32(6),
      ...I32_SHR_U,
      ...set(FLEFT),
      ...inc(FI, 1),
    ]),
    ...inc(FB, 1),
  ]),
];

const forward16Spec: FunctionSpec = {
  name: 'dotsForward16',
  params: ['i32', 'i32', 'i32', 'i32', 'i32'],
  locals: [...new Array<'i32'>(7).fill('i32'), ...new Array<'v128'>(18).fill('v128')],
  body: forward16Body,
};

type DotsBackwardFunction = (
  dense: number,
  sparse: number,
  dOut: number,
  dDense: number,
  dSparse: number,
  batch: number,
  n: number,
  dim: number,
) => void;

interface DotsBackwardExports {
  /** Widths that are multiples of 8. */
  dotsBackward8: DotsBackwardFunction;
  /** Widths that are multiples of 16. */
  dotsBackward16: DotsBackwardFunction;
  /** Width 16. */
  dotsForward16(dense: number, sparse: number, out: number, batch: number, n: number): void;
}

/** How often the wasm loops ran (tests read it). */
export const wasmDotsCalls = { backward: 0, forward: 0 };

let compiled: WebAssembly.Module | undefined;
const instances = new WeakMap<WebAssembly.Memory, DotsBackwardExports | null>();

/** The module's bytes (exported for a validation test). */
export function dotsBackwardModuleBytes(): Uint8Array<ArrayBuffer> {
  return assembleModule([
    backwardSpec('dotsBackward8', 4),
    backwardSpec('dotsBackward16', 8),
    forward16Spec,
  ]);
}

/** A typed-array signature over `memory`'s heap; false when it does not apply. */
export type WasmDotsBackward = (
  dense: Float32Array,
  sparse: Float32Array,
  dOut: Float32Array,
  batch: number,
  numSparse: number,
  dim: number,
  dDense: Float32Array,
  dSparse: Float32Array,
) => boolean;

/** The module's exports on `memory` (null: no WebAssembly SIMD here, or a shared memory). */
function exportsFor(memory: WebAssembly.Memory): DotsBackwardExports | null {
  let exports = instances.get(memory);
  if (exports === undefined) {
    try {
      compiled ??= new WebAssembly.Module(dotsBackwardModuleBytes());
      exports = new WebAssembly.Instance(compiled, { env: { memory } })
        .exports as unknown as DotsBackwardExports;
    } catch {
      exports = null; // the JavaScript loops run
    }
    instances.set(memory, exports);
  }
  return exports;
}

/**
 * The wasm backward on `memory` (compiled once per process, instantiated once per memory).
 * It runs, and answers true, only when every array is a view of `memory`'s current buffer
 * and `dim` is a multiple of 8; otherwise it does nothing and answers false.
 */
export function wasmDotsBackward(memory: WebAssembly.Memory): WasmDotsBackward {
  const run = exportsFor(memory);
  if (run === null) return () => false;
  return (dense, sparse, dOut, batch, numSparse, dim, dDense, dSparse) => {
    const buffer = memory.buffer;
    if (
      dim % 8 !== 0 ||
      dense.buffer !== buffer ||
      sparse.buffer !== buffer ||
      dOut.buffer !== buffer ||
      dDense.buffer !== buffer ||
      dSparse.buffer !== buffer ||
      dOut.length < batch * (dim + pairCount(numSparse))
    )
      return false;
    wasmDotsCalls.backward++;
    (dim % 16 === 0 ? run.dotsBackward16 : run.dotsBackward8)(
      dense.byteOffset,
      sparse.byteOffset,
      dOut.byteOffset,
      dDense.byteOffset,
      dSparse.byteOffset,
      batch,
      numSparse + 1,
      dim,
    );
    return true;
  };
}

/** The forward's typed-array signature over `memory`'s heap; false when it does not apply. */
export type WasmDotsForward = (
  dense: Float32Array,
  sparse: Float32Array,
  batch: number,
  numSparse: number,
  dim: number,
  out: Float32Array,
) => boolean;

/**
 * The wasm forward on `memory`: runs, and answers true, only for width 16 with every array
 * a view of `memory`'s current buffer; otherwise does nothing and answers false.
 */
export function wasmDotsForward(memory: WebAssembly.Memory): WasmDotsForward {
  const run = exportsFor(memory);
  if (run === null) return () => false;
  return (dense, sparse, batch, numSparse, dim, out) => {
    const buffer = memory.buffer;
    if (
      dim !== 16 ||
      dense.buffer !== buffer ||
      sparse.buffer !== buffer ||
      out.buffer !== buffer ||
      out.length < batch * (dim + pairCount(numSparse))
    )
      return false;
    wasmDotsCalls.forward++;
    run.dotsForward16(dense.byteOffset, sparse.byteOffset, out.byteOffset, batch, numSparse + 1);
    return true;
  };
}
