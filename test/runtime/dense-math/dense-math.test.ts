/**
 * Choosing the dense-math engine: the pinned tfjs internals the BLAS kernels read (fails
 * loudly when tfjs changes under them), `auto` falling back to stock wasm with one notice
 * naming the install hint, `blas` refusing clearly, and bad thread counts.
 */
import * as tf from '@tensorflow/tfjs';
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { beforeAll, describe, expect, it } from 'vitest';
import { initBackend } from '../../../src/runtime/tfjs-backend.ts';
import {
  DenseMathUnavailableError,
  denseMathInfo,
  initDenseMath,
  isBlasInstalled,
} from '../../../src/runtime/dense-math/dense-math.ts';
import {
  PINNED_TFJS_VERSION,
  WasmInternalsChangedError,
  checkWasmInternals,
} from '../../../src/runtime/dense-math/wasm-heap.ts';
import { OPENBLAS_INSTALL_HINT } from '../../../src/runtime/dense-math/openblas.ts';

const root = new URL('../../../', import.meta.url);

beforeAll(async () => {
  tf.env().set('IS_TEST', true);
  await initBackend('wasm', { denseMath: 'wasm' });
});

describe('the tfjs internals the BLAS kernels read', () => {
  it('package.json pins @tensorflow/tfjs and -backend-wasm to the exact version the kernels were written against, and that version is installed', () => {
    const pkg = JSON.parse(readFileSync(new URL('package.json', root), 'utf8')) as {
      dependencies: Record<string, string>;
    };
    const require = createRequire(new URL('package.json', root));
    for (const name of ['@tensorflow/tfjs', '@tensorflow/tfjs-backend-wasm']) {
      expect(pkg.dependencies[name], `${name} in package.json`).toBe(PINNED_TFJS_VERSION);
      const installed = JSON.parse(
        readFileSync(require.resolve(`${name}/package.json`), 'utf8'),
      ) as { version: string };
      expect(installed.version, `installed ${name}`).toBe(PINNED_TFJS_VERSION);
    }
    expect(tf.version_core).toBe(PINNED_TFJS_VERSION);
  });

  it('still mean what the kernels assume on the live wasm backend (heap views read and write tensors)', () => {
    const tensors = tf.memory().numTensors;
    expect(() => checkWasmInternals(tf.backend())).not.toThrow();
    expect(tf.memory().numTensors).toBe(tensors);
  });

  it('are reported loudly, naming the way out, when a backend lacks them', () => {
    const fake = { wasm: {}, dataIdMap: new Map(), makeOutput: () => null };
    expect(() => checkWasmInternals(fake)).toThrow(WasmInternalsChangedError);
    expect(() => checkWasmInternals(fake)).toThrow(/--dense-math wasm/);
    const memory = new WebAssembly.Memory({ initial: 1 });
    const lying = {
      wasm: { HEAPU8: new Uint8Array(memory.buffer), asm: { memory } },
      dataIdMap: { get: () => ({ memoryOffset: 0, dtype: 'float32', shape: [3] }) },
      makeOutput: () => ({ dataId: {}, shape: [2], dtype: 'float32' }),
    };
    expect(() => checkWasmInternals(lying)).toThrow(/heap view of a tensor reads \[0, 0, 0\]/);
  });
});

describe('choosing the engine', () => {
  it('auto without the library falls back to stock wasm and says so once, with the install hint', () => {
    const notices: string[] = [];
    const warn = (m: string) => notices.push(m);
    const info = initDenseMath('auto', { library: 'libopenblas-not-here.so.0', warn });
    initDenseMath('auto', { library: 'libopenblas-not-here.so.0', warn });
    expect(info.engine).toBe('wasm');
    expect(info.fallbackReason).toContain(OPENBLAS_INSTALL_HINT);
    expect(isBlasInstalled()).toBe(false);
    expect(notices).toHaveLength(1);
    expect(notices[0]).toMatch(/falls back to stock wasm kernels: .*libopenblas0-pthread/);
    expect(denseMathInfo()).toEqual(info);
  });

  it('blas without the library is an error naming the library and the install hint', () => {
    expect(() => initDenseMath('blas', { library: 'libopenblas-not-here.so.0' })).toThrow(
      DenseMathUnavailableError,
    );
    expect(() => initDenseMath('blas', { library: 'libopenblas-not-here.so.0' })).toThrow(
      /libopenblas-not-here\.so\.0.*apt-get install libopenblas0-pthread/,
    );
  });

  it('refuses bad thread counts and unknown choices before touching anything', () => {
    expect(() => initDenseMath('auto', { threads: 0 })).toThrow(/integer from 1 to 256, got 0/);
    expect(() => initDenseMath('auto', { threads: 1.5 })).toThrow(/got 1\.5/);
    expect(() => initDenseMath('fast' as 'auto')).toThrow(
      /unknown dense math "fast" \(choose auto, blas, wasm\)/,
    );
  });

  it('on the cpu backend: auto and wasm leave its kernels alone, blas is refused', async () => {
    await initBackend('cpu');
    expect(denseMathInfo()).toMatchObject({ engine: 'stock', requested: 'auto' });
    expect(() => initDenseMath('blas')).toThrow(/active backend is "cpu" \(use --device wasm\)/);
    await initBackend('wasm', { denseMath: 'wasm' });
    expect(denseMathInfo()).toEqual({ requested: 'wasm', engine: 'wasm' });
  });
});
