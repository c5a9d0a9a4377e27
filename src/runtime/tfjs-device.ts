/**
 * The real-backend device: the same {@link Device} contract as the sim device, with
 * logical streams (FIFO ordering and waits, no durations) on the wall clock. TensorFlow.js
 * executes ops synchronously on the host (wasm / cpu), so streams here order work rather
 * than overlap it; the hazard checker and op log work exactly as on the sim device.
 * Initialise the tfjs backend with `initBackend` first.
 *
 * @example
 * await initBackend('wasm');
 * const device = new TfjsDevice({ rank: 0 });
 * const x = await device.run('memcpy', { kind: 'copy', label: 'copy b0' }, () => tf.tensor(batch.dense));
 * device.waitStream('default', 'memcpy');
 * const y = await device.run('default', { kind: 'forward' }, () => model.apply(x), { uses: [x] });
 */
import type { Clock, Device } from '../protocol/index.ts';
import { StreamEngine, type StreamEngineOptions } from './stream-engine.ts';
import type { OpLog } from './op-log.ts';
import { wallClock } from './wall-clock.ts';

/** Options of {@link TfjsDevice}. */
export interface TfjsDeviceOptions extends Omit<StreamEngineOptions, 'clock' | 'timing'> {
  /** Default: {@link wallClock}. */
  clock?: Clock;
  /** Where op entries go (default: none, so long real runs keep memory flat). */
  opLog?: OpLog | false;
}

export class TfjsDevice extends StreamEngine implements Device {
  readonly kind = 'tfjs' as const;

  constructor(options: TfjsDeviceOptions = {}) {
    super({
      rank: options.rank,
      clock: options.clock ?? wallClock,
      hazards: options.hazards,
      onHazard: options.onHazard,
      opLog: options.opLog ?? false,
      timing: { completion: () => undefined },
    });
  }
}
