/**
 * A full mesh of `MessageChannel`s for `worldSize` ranks: `ports[i][j]` is rank i's end of
 * the channel to rank j (`undefined` at `i === j`). The launcher transfers row i to rank i's
 * worker; tests may also keep every row in one thread.
 *
 * @example
 * const ports = createMeshPorts(3);
 * const groups = ports.map((row, rank) => createThreadProcessGroup(row, { rank, worldSize: 3 }));
 */
import { MessageChannel, type MessagePort } from 'node:worker_threads';

export function createMeshPorts(worldSize: number): (MessagePort | undefined)[][] {
  if (!Number.isInteger(worldSize) || worldSize < 1)
    throw new RangeError(`createMeshPorts: worldSize must be an integer ≥ 1, got ${worldSize}`);
  const ports: (MessagePort | undefined)[][] = Array.from({ length: worldSize }, () =>
    new Array<MessagePort | undefined>(worldSize).fill(undefined),
  );
  for (let i = 0; i < worldSize; i++) {
    for (let j = i + 1; j < worldSize; j++) {
      const { port1, port2 } = new MessageChannel();
      ports[i][j] = port1;
      ports[j][i] = port2;
    }
  }
  return ports;
}
