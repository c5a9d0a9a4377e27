/**
 * Dense optimizers (SGD, Adagrad) over named `tf.Variable`s, with gradient-accumulation
 * buffers and an optional data-parallel all-reduce.
 *
 * One optimizer step, as the pipeline drives it:
 *
 * ```
 * accumulate(grads)  × A micro-batches   buffers += grads (caller keeps ownership of grads)
 * synchronize()                          (data parallel) flatten buffers in parameter order,
 *                                        allReduce → average of all replicas, unflatten
 * step(scale)                            param ← update(param, buffer × scale); buffers cleared
 * ```
 *
 * `step` calls `synchronize` itself when it was not called; calling it first lets a
 * `GradScaler` check the *reduced* gradients (the same on every replica) for inf/NaN.
 * Parameters without an accumulated gradient are left alone (PyTorch skips `grad is None`),
 * except under all-reduce, where every replica contributes zeros for them.
 *
 * @example
 * const opt = new SGD(model, { lr: 0.1 });                 // or a list of [name, variable]
 * const { grads } = tf.variableGrads(() => model.forward(batch).losses as tf.Scalar);
 * opt.accumulate(grads); tf.dispose(grads);
 * await opt.step();                                         // applies and clears the buffers
 */
import * as tf from '@tensorflow/tfjs';
import { tensorFloats } from '../modules/dense/tensor-floats.ts';
import { Module } from '../modules/module.ts';
import { adagradInPlace, sgdInPlace } from '../runtime/dense-math/sgd-in-place.ts';

/** Parameters to optimize, by name, in a fixed order (the flattening order of all-reduce). */
export type NamedVariables = ReadonlyArray<readonly [string, tf.Variable]>;

/**
 * Averages a flat gradient across data-parallel replicas (every replica calls it once per
 * optimizer step with the same layout) and resolves to the average, same length.
 */
export type AllReduceHook = (flat: Float32Array) => Promise<Float32Array>;

/** Gradients by parameter name; a missing or undefined entry means no gradient. */
export type NamedGradients = Readonly<Record<string, tf.Tensor | undefined>>;

export interface DenseOptimizerOptions {
  lr: number;
  /** Data parallel: average the accumulated gradients across replicas once per step. */
  allReduce?: AllReduceHook;
}

/** Where a parameter's gradient sits in the flat all-reduce buffer. */
export interface GradientSlice {
  name: string;
  shape: number[];
  offset: number;
  size: number;
}

/**
 * Everything needed to resume an optimizer (parameters themselves are checkpointed with the
 * model). Typed arrays are copies.
 */
export interface DenseOptimizerState {
  kind: 'sgd' | 'adagrad';
  lr: number;
  /** Other hyper-parameters (e.g. Adagrad's `eps`). */
  hyper: Record<string, number>;
  stepCount: number;
  /** Per-parameter optimizer state: slot name → parameter name → values (e.g. `sum` for Adagrad). */
  slots: Record<string, Record<string, Float32Array>>;
  /** Accumulated, not yet applied gradients (empty at a step boundary). */
  accumulated: Record<string, Float32Array>;
}

function sameShape(a: readonly number[], b: readonly number[]): boolean {
  return a.length === b.length && a.every((d, i) => d === b[i]);
}

function checkLearningRate(lr: number, where: string): void {
  if (!Number.isFinite(lr) || lr < 0)
    throw new Error(`${where}: lr must be a finite number >= 0, got ${lr}`);
}

/**
 * Base of the dense optimizers: accumulation buffers, all-reduce, state export. Subclasses
 * implement {@link DenseOptimizer.applyUpdate}.
 *
 * @example
 * class SignSGD extends DenseOptimizer {
 *   readonly kind = 'sgd';
 *   protected applyUpdate(p: tf.Variable, g: tf.Tensor) { p.assign(tf.sub(p, tf.mul(tf.sign(g), this.lr))); }
 * }
 */
export abstract class DenseOptimizer {
  abstract readonly kind: DenseOptimizerState['kind'];
  /** Learning rate (may be changed between steps, e.g. by a schedule). */
  lr: number;
  protected readonly params: ReadonlyMap<string, tf.Variable>;
  /** tfjs variable name (`tf.variableGrads`' keys) → parameter name. */
  private readonly byVariableName: ReadonlyMap<string, string>;
  private readonly layout: readonly GradientSlice[];
  private readonly allReduce: AllReduceHook | undefined;
  private buffers = new Map<string, tf.Tensor>();
  /** The all-reduce input, reused every step (a new ~1 MB array per step drove V8's GC). */
  private flat: Float32Array | undefined;
  private synchronized = false;
  private steps = 0;

  constructor(params: NamedVariables | Module, options: DenseOptimizerOptions) {
    const list = params instanceof Module ? params.namedParameters() : params;
    checkLearningRate(options.lr, this.constructor.name);
    this.lr = options.lr;
    this.allReduce = options.allReduce;
    const map = new Map<string, tf.Variable>();
    const layout: GradientSlice[] = [];
    let offset = 0;
    for (const [name, variable] of list) {
      if (map.has(name))
        throw new Error(`${this.constructor.name}: parameter name '${name}' appears twice`);
      if (variable.dtype !== 'float32')
        throw new Error(
          `${this.constructor.name}: parameter '${name}' must be float32, got ${variable.dtype}`,
        );
      map.set(name, variable);
      layout.push({ name, shape: [...variable.shape], offset, size: variable.size });
      offset += variable.size;
    }
    this.params = map;
    this.layout = layout;
    this.byVariableName = new Map([...map].map(([name, v]) => [v.name, name]));
  }

  /** Parameter names in the fixed (all-reduce) order. */
  get paramNames(): string[] {
    return this.layout.map((s) => s.name);
  }

  /** The parameters in {@link paramNames} order, e.g. the `xs` of `tf.engine().gradients`. */
  get variables(): tf.Variable[] {
    return this.layout.map((s) => this.params.get(s.name)!);
  }

  /** Optimizer steps applied so far. */
  get stepCount(): number {
    return this.steps;
  }

  /** True when some gradient has been accumulated since the last step / zeroGrad. */
  get hasGradients(): boolean {
    return this.buffers.size > 0;
  }

  /** Layout of the flat all-reduce buffer: each parameter's slice, in order. */
  gradientLayout(): GradientSlice[] {
    return this.layout.map((s) => ({ ...s, shape: [...s.shape] }));
  }

  /**
   * Add `grads` into the accumulation buffers. Keys are parameter names or tfjs variable
   * names (the keys of `tf.variableGrads(f).grads`). The caller keeps ownership of `grads`
   * (dispose them after). Throws on an unknown name or a shape mismatch.
   */
  accumulate(grads: NamedGradients | ReadonlyMap<string, tf.Tensor | undefined>): void {
    this.checkNotSynchronized('accumulate');
    const entries = grads instanceof Map ? [...grads.entries()] : Object.entries(grads);
    for (const [key, grad] of entries) {
      if (grad === undefined) continue;
      const name = this.params.has(key) ? key : this.byVariableName.get(key);
      if (name === undefined)
        throw new Error(
          `${this.constructor.name}.accumulate: no parameter named '${key}' (known: ${this.paramNames.join(', ')})`,
        );
      this.addToBuffer(name, grad);
    }
  }

  /**
   * Add gradients given in {@link variables} order (e.g. the first `grads` of
   * `tf.engine().gradients(f, [...opt.variables, ...leaves])`); `undefined` = no gradient.
   */
  accumulateOrdered(grads: ReadonlyArray<tf.Tensor | undefined>): void {
    this.checkNotSynchronized('accumulateOrdered');
    if (grads.length !== this.layout.length) {
      throw new Error(
        `${this.constructor.name}.accumulateOrdered: got ${grads.length} gradients for ${this.layout.length} parameters`,
      );
    }
    grads.forEach((grad, i) => {
      if (grad !== undefined) this.addToBuffer(this.layout[i].name, grad);
    });
  }

  private checkNotSynchronized(method: string): void {
    if (this.synchronized) {
      throw new Error(
        `${this.constructor.name}.${method}: gradients were already all-reduced for this step; call step() or zeroGrad() first`,
      );
    }
  }

  private addToBuffer(name: string, grad: tf.Tensor): void {
    const param = this.params.get(name)!;
    if (!sameShape(grad.shape, param.shape)) {
      throw new Error(
        `${this.constructor.name}.accumulate: gradient of '${name}' has shape [${grad.shape}], parameter has [${param.shape}]`,
      );
    }
    const previous = this.buffers.get(name);
    // the first gradient is kept by reference (a reshape shares the data; the caller still
    // disposes its own handle): on wasm, cast and clone would each copy it
    const next = tf.tidy(() =>
      previous
        ? tf.add(previous, grad)
        : grad.dtype === 'float32'
          ? tf.reshape(grad, grad.shape)
          : tf.cast(grad, 'float32'),
    );
    previous?.dispose();
    this.buffers.set(name, next);
  }

  /**
   * Data parallel: replace the buffers by their average over all replicas (one allReduce of
   * every gradient flattened in {@link paramNames} order). A no-op without an `allReduce`
   * hook, or when already done for this step.
   */
  async synchronize(): Promise<void> {
    if (!this.allReduce || this.synchronized) return;
    this.flat ??= new Float32Array(this.flatSize());
    const flat = this.flat;
    this.fillFlat(flat);
    const reduced = await this.allReduce(flat);
    if (reduced.length !== flat.length) {
      throw new Error(
        `${this.constructor.name}.synchronize: allReduce returned ${reduced.length} values, expected ${flat.length}`,
      );
    }
    this.loadFlatGradients(reduced);
    this.synchronized = true;
  }

  /** All accumulated gradients in one array, in {@link gradientLayout} order (zeros where none). */
  flattenGradients(): Float32Array {
    const flat = new Float32Array(this.flatSize());
    this.fillFlat(flat);
    return flat;
  }

  private flatSize(): number {
    const last = this.layout[this.layout.length - 1];
    return last ? last.offset + last.size : 0;
  }

  /** Overwrite `flat` with the gradients (read in place from the wasm heap where possible). */
  private fillFlat(flat: Float32Array): void {
    for (const slice of this.layout) {
      const buffer = this.buffers.get(slice.name);
      if (!buffer) flat.fill(0, slice.offset, slice.offset + slice.size);
      else tensorFloats.compute([buffer], [], ([g]) => flat.set(g, slice.offset));
    }
  }

  /** Replace every buffer by its slice of `flat` (the inverse of {@link flattenGradients}). */
  loadFlatGradients(flat: Float32Array): void {
    this.clearBuffers();
    for (const slice of this.layout) {
      this.buffers.set(
        slice.name,
        tf.tensor(flat.subarray(slice.offset, slice.offset + slice.size), slice.shape, 'float32'),
      );
    }
  }

  /** True when an accumulated gradient holds an inf or NaN (after {@link synchronize}, the same on every replica). */
  hasNonFiniteGrads(): boolean {
    if (this.buffers.size === 0) return false;
    const allFinite = tf.tidy(() =>
      tf.all(tf.stack([...this.buffers.values()].map((b) => tf.all(tf.isFinite(b))))),
    );
    const ok = allFinite.dataSync()[0];
    allFinite.dispose();
    return !ok;
  }

  /** Apply the accumulated gradients × `scale` (e.g. 1/lossScale), then clear them. */
  async step(scale = 1): Promise<void> {
    if (!Number.isFinite(scale))
      throw new Error(`${this.constructor.name}.step: scale must be finite, got ${scale}`);
    await this.synchronize();
    tf.tidy(() => {
      for (const slice of this.layout) {
        const grad = this.buffers.get(slice.name);
        if (!grad) continue;
        const param = this.params.get(slice.name)!;
        this.applyUpdate(param, scale === 1 ? grad : tf.mul(grad, scale), slice.name);
      }
    });
    this.steps += 1;
    this.zeroGrad();
  }

  /** Drop the accumulated gradients. */
  zeroGrad(): void {
    this.clearBuffers();
    this.synchronized = false;
  }

  /** A copy of everything needed to resume (see {@link DenseOptimizerState}). */
  exportState(): DenseOptimizerState {
    const accumulated: Record<string, Float32Array> = {};
    for (const [name, buffer] of this.buffers)
      accumulated[name] = Float32Array.from(buffer.dataSync() as Float32Array);
    return {
      kind: this.kind,
      lr: this.lr,
      hyper: this.exportHyper(),
      stepCount: this.steps,
      slots: this.exportSlots(),
      accumulated,
    };
  }

  /** Restore a state from {@link exportState} (hyper-parameters included, like PyTorch's `load_state_dict`). */
  importState(state: DenseOptimizerState): void {
    const where = `${this.constructor.name}.importState`;
    if (state.kind !== this.kind)
      throw new Error(`${where}: state is for a '${state.kind}' optimizer, this is '${this.kind}'`);
    checkLearningRate(state.lr, where);
    for (const [name, values] of Object.entries(state.accumulated))
      this.checkValues(where, `accumulated['${name}']`, name, values);
    this.checkExtraState(state.hyper, state.slots, where); // validate everything before changing anything
    this.loadExtraState(state.hyper, state.slots);
    this.lr = state.lr;
    this.steps = state.stepCount;
    this.zeroGrad();
    for (const [name, values] of Object.entries(state.accumulated)) {
      this.buffers.set(name, tf.tensor(values, this.params.get(name)!.shape, 'float32'));
    }
  }

  /** Free the buffers and optimizer state (not the parameters). */
  dispose(): void {
    this.zeroGrad();
  }

  /** `param ← update(param, grad)`; runs inside a `tf.tidy`. */
  protected abstract applyUpdate(param: tf.Variable, grad: tf.Tensor, name: string): void;

  protected exportHyper(): Record<string, number> {
    return {};
  }

  protected exportSlots(): Record<string, Record<string, Float32Array>> {
    return {};
  }

  /** Throw (naming the field) unless `hyper` and `slots` can be loaded; must not change anything. */
  protected checkExtraState(
    _hyper: Record<string, number>,
    _slots: Record<string, Record<string, Float32Array>>,
    _where: string,
  ): void {}

  /** Load hyper-parameters and slots already checked by {@link checkExtraState}. */
  protected loadExtraState(
    _hyper: Record<string, number>,
    _slots: Record<string, Record<string, Float32Array>>,
  ): void {}

  /** Throws unless `values` fits parameter `name`. */
  protected checkValues(where: string, what: string, name: string, values: Float32Array): void {
    const param = this.params.get(name);
    if (!param) throw new Error(`${where}: ${what} names no parameter of this optimizer`);
    if (!(values instanceof Float32Array) || values.length !== param.size) {
      throw new Error(
        `${where}: ${what} must be a Float32Array of ${param.size} values, got ${values?.length}`,
      );
    }
  }

  private clearBuffers(): void {
    for (const buffer of this.buffers.values()) buffer.dispose();
    this.buffers.clear();
  }
}

/**
 * Plain SGD: `p ← p − lr·g`.
 *
 * @example
 * const opt = new SGD(model.namedParameters(), { lr: 0.05 });
 */
export class SGD extends DenseOptimizer {
  readonly kind = 'sgd' as const;

  protected applyUpdate(param: tf.Variable, grad: tf.Tensor): void {
    // on --dense-math blas: one SIMD pass in the parameter's own memory, same bits
    if (sgdInPlace(param, grad, this.lr)) return;
    param.assign(tf.sub(param, tf.mul(grad, this.lr)));
  }
}

export interface AdagradOptions extends DenseOptimizerOptions {
  /** Added to √sum (default 1e-10, PyTorch's). */
  eps?: number;
  /** Initial value of the squared-gradient sums (default 0). */
  initialAccumulatorValue?: number;
}

/**
 * Adagrad (PyTorch's): `sum ← sum + g²; p ← p − lr·g / (√sum + eps)`.
 *
 * @example
 * const opt = new Adagrad(model, { lr: 0.01, eps: 1e-10 });
 */
export class Adagrad extends DenseOptimizer {
  readonly kind = 'adagrad' as const;
  eps: number;
  readonly initialAccumulatorValue: number;
  private readonly sums = new Map<string, tf.Variable>();

  constructor(params: NamedVariables | Module, options: AdagradOptions) {
    super(params, options);
    this.eps = options.eps ?? 1e-10;
    this.initialAccumulatorValue = options.initialAccumulatorValue ?? 0;
    if (!(this.eps >= 0)) throw new Error(`Adagrad: eps must be >= 0, got ${this.eps}`);
    for (const [name, param] of this.params) {
      const init = tf.fill(param.shape, this.initialAccumulatorValue, 'float32');
      this.sums.set(name, tf.variable(init, false));
      init.dispose();
    }
  }

  protected applyUpdate(param: tf.Variable, grad: tf.Tensor, name: string): void {
    const sum = this.sums.get(name)!;
    // on --dense-math blas: one SIMD pass in the parameter's and the sum's memory, same bits
    if (adagradInPlace(param, grad, sum, this.lr, this.eps)) return;
    sum.assign(tf.add(sum, tf.square(grad)));
    param.assign(tf.sub(param, tf.div(tf.mul(grad, this.lr), tf.add(tf.sqrt(sum), this.eps))));
  }

  protected override exportHyper(): Record<string, number> {
    return { eps: this.eps, initialAccumulatorValue: this.initialAccumulatorValue };
  }

  protected override exportSlots(): Record<string, Record<string, Float32Array>> {
    const sum: Record<string, Float32Array> = {};
    for (const [name, v] of this.sums) sum[name] = Float32Array.from(v.dataSync() as Float32Array);
    return { sum };
  }

  protected override checkExtraState(
    hyper: Record<string, number>,
    slots: Record<string, Record<string, Float32Array>>,
    where: string,
  ): void {
    if (hyper.eps !== undefined && !(hyper.eps >= 0))
      throw new Error(`${where}: hyper.eps must be >= 0, got ${hyper.eps}`);
    const sum = slots.sum;
    if (!sum) throw new Error(`${where}: Adagrad state has no 'sum' slot`);
    for (const name of this.sums.keys()) {
      const values = sum[name];
      if (!values) throw new Error(`${where}: slots.sum has no entry for parameter '${name}'`);
      this.checkValues(where, `slots.sum['${name}']`, name, values);
    }
  }

  protected override loadExtraState(
    hyper: Record<string, number>,
    slots: Record<string, Record<string, Float32Array>>,
  ): void {
    if (hyper.eps !== undefined) this.eps = hyper.eps;
    for (const [name, v] of this.sums) {
      const t = tf.tensor(slots.sum[name], v.shape, 'float32');
      v.assign(t);
      t.dispose();
    }
  }

  override dispose(): void {
    super.dispose();
    for (const v of this.sums.values()) v.dispose();
    this.sums.clear();
  }
}
