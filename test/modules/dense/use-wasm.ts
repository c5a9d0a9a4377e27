/** Test helper: run tfjs on the `wasm` backend (the library default). */
import * as tf from '@tensorflow/tfjs';
import '@tensorflow/tfjs-backend-wasm';

export async function useWasm(): Promise<void> {
  tf.env().set('IS_TEST', true); // silences tfjs's "hi there" console banner
  if (tf.getBackend() !== 'wasm') await tf.setBackend('wasm');
  await tf.ready();
}
