/**
 * Element-wise passes of the dense layers as WebAssembly SIMD loops that run directly on
 * the tfjs wasm backend's heap (the module imports the backend's own `WebAssembly.Memory`):
 * the ReLU after a product, the ReLU gradient fused with the bias gradient, and the SGD
 * and Adagrad updates. A JavaScript loop over the same floats runs 5–10× slower; a tfjs kernel per pass
 * adds an intermediate tensor and a dispatch.
 *
 * Every function takes byte offsets into the heap (see `WasmHeap.offset`) and element counts.
 * Numerics: each element sees exactly the f32 operations of the tfjs ops it replaces
 * (`relu`, `mul(dy, step(y))`, `sub(p, mul(g, lr))`, Adagrad's `add`, `square`, `sqrt`,
 * `div`); column sums add the rows in order,
 * row 0 first, in f32.
 *
 * @example
 * const simd = simdKernels(memory);             // memory: the wasm backend's WebAssembly.Memory
 * simd.relu(heap.offset(out), out.size);       // in place
 */
import {
  OP,
  advance,
  assembleModule,
  f32,
  get,
  i32,
  set,
  whileLess,
  type FunctionSpec,
} from './wasm-assembler.ts';

/** The SIMD passes, on byte offsets into the heap they were instantiated on. */
export interface SimdKernels {
  /** `x[i] = max(x[i], 0)` in place over `n` floats (NaN stays NaN, −0 becomes +0). */
  relu(x: number, n: number): void;
  /**
   * `dz = dy · step(y)` (step: 1 where y > 0, NaN where y is NaN, else 0) over a
   * `rows × cols` matrix, and `db[j] = Σ_rows dz[·, j]`.
   */
  reluGradColumnSums(
    dy: number,
    y: number,
    dz: number,
    db: number,
    rows: number,
    cols: number,
  ): void;
  /** `db[j] = Σ_rows x[·, j]` over a `rows × cols` matrix. */
  columnSums(x: number, db: number, rows: number, cols: number): void;
  /** `p[i] = p[i] − g[i] · lr` over `n` floats (`lr` as an f32). */
  sgd(p: number, g: number, n: number, lr: number): void;
  /** `x[r, j] = max(x[r, j] + bias[j], 0)` in place over a `rows × cols` matrix. */
  biasRelu(x: number, bias: number, rows: number, cols: number): void;
  /** `x[r, j] = x[r, j] + bias[j]` in place over a `rows × cols` matrix. */
  biasAdd(x: number, bias: number, rows: number, cols: number): void;
  /** Adagrad over `n` floats: `s = s + g·g; p = p − (g·lr) / (√s + eps)` (`lr`, `eps` as f32). */
  adagrad(p: number, g: number, s: number, n: number, lr: number, eps: number): void;
}

/** `end = base + count·4`, `end4 = base + (count & ~3)·4` into locals. */
const ends = (base: number, count: number, end: number, end4: number): number[] => [
  ...get(base),
  ...get(count),
  ...i32(2),
  ...OP.i32Shl,
  ...OP.i32Add,
  ...set(end),
  ...get(base),
  ...get(count),
  ...i32(-4),
  ...OP.i32And,
  ...i32(2),
  ...OP.i32Shl,
  ...OP.i32Add,
  ...set(end4),
];

// relu(x, n); locals: end 2, end4 3, zero 4 (v128, starts at 0)
const relu: FunctionSpec = {
  name: 'relu',
  params: ['i32', 'i32'],
  locals: ['i32', 'i32', 'v128'],
  body: [
    ...ends(0, 1, 2, 3),
    ...whileLess(0, 3, [
      ...get(0),
      ...get(0),
      ...OP.v128Load,
      ...get(4),
      ...OP.f32x4Max,
      ...OP.v128Store,
      ...advance(0, 16),
    ]),
    ...whileLess(0, 2, [
      ...get(0),
      ...get(0),
      ...OP.f32Load,
      ...f32(0),
      ...OP.f32Max,
      ...OP.f32Store,
      ...advance(0, 4),
    ]),
  ],
};

/**
 * A column-sum kernel: for each row, `value` (which may read and advance the row pointers)
 * is added into `db`. `db` at param 1 of the layout below.
 */
function columnSumsOf(
  name: string,
  params: number,
  L: { db: number; rows: number; cols: number; r: number; pdb: number; end: number; end4: number },
  extraLocals: FunctionSpec['locals'],
  prologue: number[],
  vectorValue: number[],
  scalarValue: number[],
): FunctionSpec {
  return {
    name,
    params: Array.from({ length: params }, () => 'i32' as const),
    locals: ['i32', 'i32', 'i32', 'i32', ...extraLocals],
    body: [
      ...prologue,
      ...ends(L.db, L.cols, L.end, L.end4),
      // db = 0
      ...get(L.db),
      ...set(L.pdb),
      ...whileLess(L.pdb, L.end, [...get(L.pdb), ...f32(0), ...OP.f32Store, ...advance(L.pdb, 4)]),
      ...whileLess(L.r, L.rows, [
        ...get(L.db),
        ...set(L.pdb),
        ...whileLess(L.pdb, L.end4, [
          ...get(L.pdb),
          ...get(L.pdb),
          ...OP.v128Load,
          ...vectorValue,
          ...OP.f32x4Add,
          ...OP.v128Store,
          ...advance(L.pdb, 16),
        ]),
        ...whileLess(L.pdb, L.end, [
          ...get(L.pdb),
          ...get(L.pdb),
          ...OP.f32Load,
          ...scalarValue,
          ...OP.f32Add,
          ...OP.f32Store,
          ...advance(L.pdb, 4),
        ]),
        ...advance(L.r, 1),
      ]),
    ],
  };
}

// columnSums(x 0, db 1, rows 2, cols 3); locals r 4, pdb 5, end 6, end4 7
const columnSums = columnSumsOf(
  'columnSums',
  4,
  { db: 1, rows: 2, cols: 3, r: 4, pdb: 5, end: 6, end4: 7 },
  [],
  [],
  [...get(0), ...OP.v128Load, ...advance(0, 16)],
  [...get(0), ...OP.f32Load, ...advance(0, 4)],
);

// reluGradColumnSums(dy 0, y 1, dz 2, db 3, rows 4, cols 5);
// locals r 6, pdb 7, end 8, end4 9, one 10 (v128), yv 11 (v128), v 12 (v128), ys 13 (f32), vs 14 (f32)
const G = { dy: 0, y: 1, dz: 2, one: 10, yv: 11, v: 12, ys: 13, vs: 14 };
const reluGradColumnSums = columnSumsOf(
  'reluGradColumnSums',
  6,
  { db: 3, rows: 4, cols: 5, r: 6, pdb: 7, end: 8, end4: 9 },
  ['v128', 'v128', 'v128', 'f32', 'f32'],
  [...f32(1), ...OP.f32x4Splat, ...set(G.one)],
  [
    // yv = y; s = bitselect(yv, (yv > 0) & one, yv != yv); v = dy · s
    ...get(G.y),
    ...OP.v128Load,
    ...set(G.yv),
    ...get(G.dy),
    ...OP.v128Load,
    ...get(G.yv),
    ...get(G.yv),
    ...f32(0),
    ...OP.f32x4Splat,
    ...OP.f32x4Gt,
    ...get(G.one),
    ...OP.v128And,
    ...get(G.yv),
    ...get(G.yv),
    ...OP.f32x4Ne,
    ...OP.v128Bitselect,
    ...OP.f32x4Mul,
    ...set(G.v),
    ...get(G.dz),
    ...get(G.v),
    ...OP.v128Store,
    ...get(G.v),
    ...advance(G.dy, 16),
    ...advance(G.y, 16),
    ...advance(G.dz, 16),
  ],
  [
    ...get(G.y),
    ...OP.f32Load,
    ...set(G.ys),
    ...get(G.dy),
    ...OP.f32Load,
    // s = y > 0 ? 1 : (y != y ? y : 0)
    ...f32(1),
    ...get(G.ys),
    ...f32(0),
    ...get(G.ys),
    ...get(G.ys),
    ...OP.f32Ne,
    ...OP.select,
    ...get(G.ys),
    ...f32(0),
    ...OP.f32Gt,
    ...OP.select,
    ...OP.f32Mul,
    ...set(G.vs),
    ...get(G.dz),
    ...get(G.vs),
    ...OP.f32Store,
    ...get(G.vs),
    ...advance(G.dy, 4),
    ...advance(G.y, 4),
    ...advance(G.dz, 4),
  ],
);

// sgd(p 0, g 1, n 2, lr 3: f32); locals end 4, end4 5, lrv 6 (v128)
const sgd: FunctionSpec = {
  name: 'sgd',
  params: ['i32', 'i32', 'i32', 'f32'],
  locals: ['i32', 'i32', 'v128'],
  body: [
    ...ends(0, 2, 4, 5),
    ...get(3),
    ...OP.f32x4Splat,
    ...set(6),
    ...whileLess(0, 5, [
      ...get(0),
      ...get(0),
      ...OP.v128Load,
      ...get(1),
      ...OP.v128Load,
      ...get(6),
      ...OP.f32x4Mul,
      ...OP.f32x4Sub,
      ...OP.v128Store,
      ...advance(0, 16),
      ...advance(1, 16),
    ]),
    ...whileLess(0, 4, [
      ...get(0),
      ...get(0),
      ...OP.f32Load,
      ...get(1),
      ...OP.f32Load,
      ...get(3),
      ...OP.f32Mul,
      ...OP.f32Sub,
      ...OP.f32Store,
      ...advance(0, 4),
      ...advance(1, 4),
    ]),
  ],
};

// adagrad(p 0, g 1, s 2, n 3, lr 4: f32, eps 5: f32); locals end 6, end4 7, lrv 8, epsv 9, gv 10, sv 11 (v128), gs 12, ss 13 (f32)
// s = s + g·g; p = p − (g·lr) / (√s + eps)
const adagrad: FunctionSpec = {
  name: 'adagrad',
  params: ['i32', 'i32', 'i32', 'i32', 'f32', 'f32'],
  locals: ['i32', 'i32', 'v128', 'v128', 'v128', 'v128', 'f32', 'f32'],
  body: [
    ...ends(0, 3, 6, 7),
    ...get(4),
    ...OP.f32x4Splat,
    ...set(8),
    ...get(5),
    ...OP.f32x4Splat,
    ...set(9),
    ...whileLess(0, 7, [
      ...get(1),
      ...OP.v128Load,
      ...set(10),
      // s += g·g
      ...get(2),
      ...get(2),
      ...OP.v128Load,
      ...get(10),
      ...get(10),
      ...OP.f32x4Mul,
      ...OP.f32x4Add,
      ...set(11),
      ...get(11),
      ...OP.v128Store,
      // p −= (g·lr) / (√s + eps)
      ...get(0),
      ...get(0),
      ...OP.v128Load,
      ...get(10),
      ...get(8),
      ...OP.f32x4Mul,
      ...get(11),
      ...OP.f32x4Sqrt,
      ...get(9),
      ...OP.f32x4Add,
      ...OP.f32x4Div,
      ...OP.f32x4Sub,
      ...OP.v128Store,
      ...advance(0, 16),
      ...advance(1, 16),
      ...advance(2, 16),
    ]),
    ...whileLess(0, 6, [
      ...get(1),
      ...OP.f32Load,
      ...set(12),
      ...get(2),
      ...get(2),
      ...OP.f32Load,
      ...get(12),
      ...get(12),
      ...OP.f32Mul,
      ...OP.f32Add,
      ...set(13),
      ...get(13),
      ...OP.f32Store,
      ...get(0),
      ...get(0),
      ...OP.f32Load,
      ...get(12),
      ...get(4),
      ...OP.f32Mul,
      ...get(13),
      ...OP.f32Sqrt,
      ...get(5),
      ...OP.f32Add,
      ...OP.f32Div,
      ...OP.f32Sub,
      ...OP.f32Store,
      ...advance(0, 4),
      ...advance(1, 4),
      ...advance(2, 4),
    ]),
  ],
};

/** `x[r, j] = act(x[r, j] + bias[j])` over a `rows × cols` matrix, for `act` relu or identity. */
function biasActivation(name: string, relu: boolean): FunctionSpec {
  // (x 0, bias 1, rows 2, cols 3); locals r 4, pb 5, end 6, end4 7, zero 8 (v128)
  const act = (vector: boolean) =>
    relu ? (vector ? [...get(8), ...OP.f32x4Max] : [...f32(0), ...OP.f32Max]) : [];
  return {
    name,
    params: ['i32', 'i32', 'i32', 'i32'],
    locals: ['i32', 'i32', 'i32', 'i32', 'v128'],
    body: [
      ...ends(1, 3, 6, 7),
      ...whileLess(4, 2, [
        ...get(1),
        ...set(5),
        ...whileLess(5, 7, [
          ...get(0),
          ...get(0),
          ...OP.v128Load,
          ...get(5),
          ...OP.v128Load,
          ...OP.f32x4Add,
          ...act(true),
          ...OP.v128Store,
          ...advance(0, 16),
          ...advance(5, 16),
        ]),
        ...whileLess(5, 6, [
          ...get(0),
          ...get(0),
          ...OP.f32Load,
          ...get(5),
          ...OP.f32Load,
          ...OP.f32Add,
          ...act(false),
          ...OP.f32Store,
          ...advance(0, 4),
          ...advance(5, 4),
        ]),
        ...advance(4, 1),
      ]),
    ],
  };
}

let compiled: WebAssembly.Module | undefined;

/** The module's bytes (for tests and for a validity check). */
export function simdModuleBytes(): Uint8Array<ArrayBuffer> {
  return assembleModule([
    relu,
    reluGradColumnSums,
    columnSums,
    sgd,
    biasActivation('biasRelu', true),
    biasActivation('biasAdd', false),
    adagrad,
  ]);
}

/**
 * The SIMD passes on `memory` (compiled once per process, instantiated per memory). Throws
 * when this runtime lacks WebAssembly SIMD or the memory is shared (tfjs's threaded build).
 *
 * @example
 * const simd = simdKernels(memory);
 * simd.sgd(heap.offset(param), heap.offset(grad), param.size, 0.1);
 */
export function simdKernels(memory: WebAssembly.Memory): SimdKernels {
  compiled ??= new WebAssembly.Module(simdModuleBytes());
  const instance = new WebAssembly.Instance(compiled, { env: { memory } });
  return instance.exports as unknown as SimdKernels;
}
