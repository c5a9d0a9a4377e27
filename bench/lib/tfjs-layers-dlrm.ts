/**
 * P5b: the reference DLRM written the ordinary TensorFlow.js way — `tf.layers.embedding`
 * tables, dense layers, 36 `tf.layers.dot` pairwise interactions, `model.fit` with SGD — to
 * show that plain tfjs cannot train it: on `wasm` the gradient of the embedding gather
 * throws; on `cpu` it is a dense `unsortedSegmentSum` over every table and one step takes
 * very long. Run as a child process (a synchronous step cannot be interrupted); prints one
 * JSON line.
 *
 * Usage: npx tsx bench/lib/tfjs-layers-dlrm.ts wasm|cpu [batch]
 *
 * @example
 * // {"backend":"wasm","ok":false,"error":"…","buildMs":…}
 */
import * as tf from '@tensorflow/tfjs';
import '@tensorflow/tfjs-backend-wasm';

const backend = (process.argv[2] ?? 'wasm') as 'wasm' | 'cpu';
const B = Number(process.argv[3] ?? 512);
const T = 8;
const ROWS = 100_000;
const D = 16;
const L = 4;

await tf.setBackend(backend);
await tf.ready();
const t0 = performance.now();
const denseIn = tf.input({ shape: [13], name: 'dense' });
let x = tf.layers.dense({ units: 512, activation: 'relu' }).apply(denseIn) as tf.SymbolicTensor;
x = tf.layers.dense({ units: 256, activation: 'relu' }).apply(x) as tf.SymbolicTensor;
const bottom = tf.layers.dense({ units: D, activation: 'relu' }).apply(x) as tf.SymbolicTensor;
const idInputs: tf.SymbolicTensor[] = [];
const vectors: tf.SymbolicTensor[] = [bottom];
for (let t = 0; t < T; t++) {
  const ids = tf.input({ shape: [L], dtype: 'int32', name: `ids${t}` });
  idInputs.push(ids);
  const emb = tf.layers
    .embedding({ inputDim: ROWS, outputDim: D, name: `table${t}` })
    .apply(ids) as tf.SymbolicTensor; // [B, L, D]
  // sum pooling = L × mean pooling (tfjs layers have no sum-pooling layer)
  vectors.push(tf.layers.globalAveragePooling1d().apply(emb) as tf.SymbolicTensor);
}
const pairs: tf.SymbolicTensor[] = [];
for (let i = 0; i < vectors.length; i++) {
  for (let j = i + 1; j < vectors.length; j++)
    pairs.push(tf.layers.dot({ axes: -1 }).apply([vectors[i], vectors[j]]) as tf.SymbolicTensor);
}
let y = tf.layers.concatenate().apply([bottom, ...pairs]) as tf.SymbolicTensor; // 16 + 36 = 52
y = tf.layers.dense({ units: 512, activation: 'relu' }).apply(y) as tf.SymbolicTensor;
y = tf.layers.dense({ units: 256, activation: 'relu' }).apply(y) as tf.SymbolicTensor;
const out = tf.layers.dense({ units: 1, activation: 'sigmoid' }).apply(y) as tf.SymbolicTensor;
const model = tf.model({ inputs: [denseIn, ...idInputs], outputs: out });
model.compile({ optimizer: tf.train.sgd(0.05), loss: 'binaryCrossentropy' });
const buildMs = performance.now() - t0;

const xs = [
  tf.randomNormal([B, 13]),
  ...Array.from({ length: T }, () => tf.randomUniform([B, L], 0, ROWS, 'int32')),
];
const labels = tf.cast(tf.less(tf.randomUniform([B, 1]), 0.25), 'float32');
const s0 = performance.now();
try {
  const h = await model.fit(xs, labels, { batchSize: B, epochs: 1, verbose: 0 });
  const stepMs = performance.now() - s0;
  console.log(
    JSON.stringify({ backend, ok: true, batch: B, buildMs, stepMs, loss: h.history.loss[0] }),
  );
} catch (e) {
  console.log(
    JSON.stringify({
      backend,
      ok: false,
      batch: B,
      buildMs,
      afterMs: performance.now() - s0,
      error: e instanceof Error ? e.message : String(e),
    }),
  );
}
