/**
 * Dense layers: `Linear` (y = x W + b) and `MLP` (a stack of `Linear`s with ReLU between
 * them and a configurable last activation), initialised deterministically from a seed with
 * PyTorch's `nn.Linear` default, U(-1/√in, 1/√in) for weight and bias.
 *
 * Weights are stored `[in, out]` so the forward is a plain (non-transposed) matMul, the fast
 * path on wasm. A layer runs as one fused kernel (matMul + bias + ReLU, see `fused-linear.ts`);
 * constructing a layer installs its gradient and the explicit-transpose `BatchMatMul` one.
 *
 * @example
 * const mlp = new MLP({ inFeatures: 13, layerSizes: [512, 256, 16], seed: 1 });
 * const y = mlp.forward(tf.zeros([8, 13]));            // [8, 16], ReLU after every layer
 * mlp.namedParameters().map(([n]) => n);                 // ['layers.0.weight', 'layers.0.bias', …]
 */
import * as tf from '@tensorflow/tfjs';
import { Module } from '../module.ts';
import { installFastBatchMatMulGrad } from './batch-matmul-grad.ts';
import { fusedLinear, installFusedLinearGrad } from './fused-linear.ts';
import { SeededRandom, deriveSeed, uniformArray } from './init.ts';

/** Activation applied after a layer. */
export type Activation = 'relu' | 'sigmoid' | 'none';

function checkPositiveInt(value: number, what: string): void {
  if (!Number.isInteger(value) || value <= 0)
    throw new Error(`${what} must be a positive integer, got ${value}`);
}

export interface LinearOptions {
  inFeatures: number;
  outFeatures: number;
  /** Init seed: the same seed gives bit-identical parameters. */
  seed: number;
  /** Add a bias (default true). */
  bias?: boolean;
}

/**
 * A fully connected layer `y = x W + b`, `W: [in, out]`, `b: [out]`.
 *
 * @example
 * const fc = new Linear({ inFeatures: 4, outFeatures: 2, seed: 3 });
 * fc.forward(tf.ones([5, 4])).shape; // [5, 2]
 */
export class Linear extends Module {
  readonly inFeatures: number;
  readonly outFeatures: number;
  weight: tf.Variable<tf.Rank.R2>;
  bias: tf.Variable<tf.Rank.R1> | undefined;

  constructor(options: LinearOptions) {
    super();
    const { inFeatures, outFeatures, seed } = options;
    checkPositiveInt(inFeatures, 'Linear: inFeatures');
    checkPositiveInt(outFeatures, 'Linear: outFeatures');
    installFastBatchMatMulGrad();
    installFusedLinearGrad();
    this.inFeatures = inFeatures;
    this.outFeatures = outFeatures;
    const bound = 1 / Math.sqrt(inFeatures);
    this.weight = makeVariable(
      uniformArray(inFeatures * outFeatures, bound, new SeededRandom(deriveSeed(seed, 'weight'))),
      [inFeatures, outFeatures],
    );
    this.bias =
      options.bias === false
        ? undefined
        : makeVariable(
            uniformArray(outFeatures, bound, new SeededRandom(deriveSeed(seed, 'bias'))),
            [outFeatures],
          );
  }

  /** `x: [B, in]` → `[B, out]`, then `activation` (default none). */
  forward(x: tf.Tensor2D, activation: Activation = 'none'): tf.Tensor2D {
    if (x.rank !== 2 || x.shape[1] !== this.inFeatures) {
      throw new Error(`Linear: expected input [batch, ${this.inFeatures}], got [${x.shape}]`);
    }
    if (activation === 'sigmoid')
      return tf.tidy(() => tf.sigmoid(fusedLinear(x, this.weight, this.bias, 'linear')));
    return fusedLinear(x, this.weight, this.bias, activation === 'relu' ? 'relu' : 'linear');
  }

  /** Free the parameters. */
  dispose(): void {
    this.weight.dispose();
    this.bias?.dispose();
  }
}

function makeVariable<R extends tf.Rank>(values: Float32Array, shape: number[]): tf.Variable<R> {
  const initial = tf.tensor(values, shape, 'float32');
  const variable = tf.variable(initial, true) as tf.Variable<R>;
  initial.dispose();
  return variable;
}

export interface MLPOptions {
  inFeatures: number;
  /** Output width of each layer, e.g. `[512, 256, 16]`. */
  layerSizes: readonly number[];
  seed: number;
  /** Activation after the last layer (default `'relu'`, like TorchRec's `MLP`); ReLU between layers always. */
  lastActivation?: Activation;
}

/**
 * A stack of `Linear` layers with ReLU between them.
 *
 * @example
 * const top = new MLP({ inFeatures: 52, layerSizes: [512, 256, 1], seed: 2, lastActivation: 'none' });
 * top.forward(x); // logits [B, 1]
 */
export class MLP extends Module {
  readonly inFeatures: number;
  readonly outFeatures: number;
  readonly lastActivation: Activation;
  layers: Linear[];

  constructor(options: MLPOptions) {
    super();
    const { inFeatures, layerSizes, seed } = options;
    if (layerSizes.length === 0) throw new Error('MLP: layerSizes must name at least one layer');
    this.inFeatures = inFeatures;
    this.lastActivation = options.lastActivation ?? 'relu';
    this.layers = [];
    let width = inFeatures;
    layerSizes.forEach((size, i) => {
      checkPositiveInt(size, `MLP: layerSizes[${i}]`);
      this.layers.push(
        new Linear({ inFeatures: width, outFeatures: size, seed: deriveSeed(seed, i) }),
      );
      width = size;
    });
    this.outFeatures = width;
  }

  /** `x: [B, in]` → `[B, layerSizes.at(-1)]`. */
  forward(x: tf.Tensor2D): tf.Tensor2D {
    let h = x;
    this.layers.forEach((layer, i) => {
      const last = i === this.layers.length - 1;
      h = layer.forward(h, last ? this.lastActivation : 'relu');
    });
    return h;
  }

  /** Free every layer's parameters. */
  dispose(): void {
    for (const layer of this.layers) layer.dispose();
  }
}
