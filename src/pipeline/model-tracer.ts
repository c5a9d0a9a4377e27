/**
 * The model rewrite's tracer: finds which sharded modules take their input straight from
 * the batch (attribute / index access, positional or keyword), so their input dist can be
 * started a batch ahead (TorchRec `_rewrite_model`).
 *
 * It runs `model.forward` once on a recording proxy of a real batch. Every object reached
 * from the batch by property access is a proxy that remembers its path; a sharded module's
 * `forward` (through the forward scope) receives its input and the tracer looks it up:
 * a known proxy → pipelined with that path; a plain object whose values are known proxies →
 * pipelined with keyword args; anything else (a computed input) → not pipelined, with the
 * reason. Sharded modules answer zeros of the right shape during tracing so the dense part
 * runs unchanged; all tensors made while tracing are released.
 *
 * @example
 * const plan = traceModel(model, firstBatch);
 * plan.pipelined;     // [{ name: 'sparseArch', argInfo: { kind: 'path', path: ['sparse'] } }]
 * plan.notPipelined;  // [{ name: 'other', reason: 'input is computed by the model …' }]
 */
import * as tf from '@tensorflow/tfjs';
import {
  isShardedModule,
  type NotPipelinedModule,
  type ShardedModuleContract,
} from '../protocol/index.ts';
import { withForwardScope } from '../modules/forward-scope.ts';
import type { Model, Module } from '../modules/module.ts';
import { isPostprocModule, type PostprocModule } from '../modules/postproc.ts';
import type { ArgInfo } from './arg-info.ts';

export interface PipelinedModule {
  name: string;
  module: ShardedModuleContract;
  argInfo: ArgInfo;
}

export interface TracePlan {
  pipelined: PipelinedModule[];
  notPipelined: NotPipelinedModule[];
  /** Postproc modules run ahead on the dist stage, and the sharded module each one feeds. */
  pipelinedPostprocs: Array<{ name: string; feeds: string }>;
}

/** Sharded modules of `model` by dotted name, in property order. */
export function findShardedModules(model: Module): Array<[string, ShardedModuleContract]> {
  return model
    .namedModules()
    .filter(([, m]) => isShardedModule(m))
    .map(([name, m]) => [name || '(model)', m as unknown as ShardedModuleContract]);
}

export function traceModel<B>(model: Model<B>, batch: B): TracePlan {
  const sharded = findShardedModules(model);
  const paths = new WeakMap<object, readonly PropertyKey[]>();
  const calls = new Map<ShardedModuleContract, unknown[]>();
  const batchSize = inferBatchSize(batch);

  const proxy = recordingProxy(batch, [], paths);
  // Postproc modules: record what each call's output was computed from.
  const postprocOut = new WeakMap<
    object,
    { name: string; module: PostprocModule; input: unknown }
  >();
  const wrapped: PostprocModule[] = [];
  for (const [name, m] of model.namedModules()) {
    if (!isPostprocModule(m)) continue;
    const original = m.forward;
    m.forward = (input: unknown) => {
      const out = original.call(m, input);
      if (typeof out === 'object' && out !== null) postprocOut.set(out, { name, module: m, input });
      return out;
    };
    wrapped.push(m);
  }
  try {
    tf.tidy(() => {
      withForwardScope(
        {
          resolve(module, input) {
            const list = calls.get(module) ?? [];
            list.push(input);
            calls.set(module, list);
            return tf.zeros([batchSize, module.outputWidth]) as tf.Tensor2D;
          },
        },
        () => {
          const out = model.forward(proxy as B);
          return out.losses;
        },
      );
    });
  } finally {
    // the instance property shadowed the class method: removing it restores the original
    for (const m of wrapped) delete (m as { forward?: unknown }).forward;
  }

  const plan: TracePlan = { pipelined: [], notPipelined: [], pipelinedPostprocs: [] };
  for (const [name, module] of sharded) {
    const inputs = calls.get(module) ?? [];
    if (inputs.length === 0) {
      plan.notPipelined.push({
        name,
        module,
        reason: 'not called by model.forward on the traced batch',
      });
      continue;
    }
    if (inputs.length > 1) {
      plan.notPipelined.push({
        name,
        module,
        reason: `called ${inputs.length} times in one forward (only single calls are pipelined)`,
      });
      continue;
    }
    const post =
      typeof inputs[0] === 'object' && inputs[0] !== null ? postprocOut.get(inputs[0]) : undefined;
    const info = post ? postprocArgInfo(post, paths) : argInfoOf(inputs[0], paths);
    if (typeof info === 'string') plan.notPipelined.push({ name, module, reason: info });
    else {
      plan.pipelined.push({ name, module, argInfo: info });
      if (info.kind === 'postproc') plan.pipelinedPostprocs.push({ name: info.name, feeds: name });
    }
  }
  return plan;
}

/** A sharded module fed by a postproc module: pipelined when the postproc can run ahead. */
function postprocArgInfo(
  post: { name: string; module: PostprocModule; input: unknown },
  paths: WeakMap<object, readonly PropertyKey[]>,
): ArgInfo | string {
  if (post.module.namedParameters().length > 0)
    return `postproc '${post.name}' has trainable parameters (it cannot run a batch ahead)`;
  const arg = argInfoOf(post.input, paths);
  if (typeof arg === 'string') return `postproc '${post.name}': ${arg}`;
  return { kind: 'postproc', name: post.name, module: post.module, arg };
}

function argInfoOf(
  input: unknown,
  paths: WeakMap<object, readonly PropertyKey[]>,
): ArgInfo | string {
  if (typeof input === 'object' && input !== null) {
    const path = paths.get(input);
    if (path) return { kind: 'path', path };
    if (Object.getPrototypeOf(input) === Object.prototype) {
      const entries: Array<readonly [string, readonly PropertyKey[]]> = [];
      for (const [k, v] of Object.entries(input)) {
        const p = typeof v === 'object' && v !== null ? paths.get(v) : undefined;
        if (!p) return `keyword argument '${k}' is computed by the model, not read from the batch`;
        entries.push([k, p]);
      }
      return { kind: 'kwargs', entries };
    }
  }
  return 'input is computed by the model (not an attribute or index path of the batch)';
}

/** Objects worth proxying: plain objects, arrays and class instances; not typed arrays or tensors. */
function isTraceable(v: unknown): v is object {
  return (
    typeof v === 'object' &&
    v !== null &&
    !ArrayBuffer.isView(v) &&
    !(v instanceof ArrayBuffer) &&
    !(v instanceof tf.Tensor)
  );
}

function recordingProxy(
  target: unknown,
  path: readonly PropertyKey[],
  paths: WeakMap<object, readonly PropertyKey[]>,
): unknown {
  if (!isTraceable(target)) return target;
  const cache = new Map<PropertyKey, unknown>();
  const p = new Proxy(target, {
    get(obj, key, receiver) {
      const value = Reflect.get(obj, key, receiver === p ? obj : receiver);
      if (typeof value === 'function' || !isTraceable(value)) return value;
      if (!cache.has(key)) cache.set(key, recordingProxy(value, [...path, key], paths));
      return cache.get(key);
    },
  });
  paths.set(p, path);
  return p;
}

function inferBatchSize(batch: unknown): number {
  const b = batch as { batchSize?: unknown };
  if (typeof b?.batchSize === 'number') return b.batchSize;
  throw new TypeError('cannot trace the model: the batch has no numeric batchSize');
}
