/**
 * What a pipeline can move between devices and streams (TorchRec's `Pipelineable`).
 *
 * @example
 * const onDevice = await batch.to(device, 'memcpy');
 * onDevice.recordStream(device, 'default');
 */
import type { Device } from './device.ts';
import type { StreamName } from './ids.ts';

export interface Pipelineable {
  /** Copy to `device`, issued on `stream`; resolves when the copy has completed. */
  to(device: Device, stream: StreamName): Promise<this>;
  /** Mark every buffer as used by `stream` of `device`. */
  recordStream(device: Device, stream: StreamName): void;
  /** Bytes moved by `to` (for cost models). */
  byteSize(): number;
}
