/**
 * What a checkpoint records of the data it was trained on, so that `--resume` refuses a
 * different file even at the same path (and accepts the same file moved elsewhere): the
 * Criteo file's size and sha256, read in one streaming pass before training.
 *
 * @example
 * await dataIdentity('day_0.tsv'); // { bytes: 1048576, sha256: '9f86d0…' }
 */
import { createHash } from 'node:crypto';
import { createReadStream } from 'node:fs';

export interface DataIdentity {
  bytes: number;
  sha256: string;
}

export async function dataIdentity(path: string): Promise<DataIdentity> {
  const hash = createHash('sha256');
  let bytes = 0;
  for await (const chunk of createReadStream(path, { highWaterMark: 1 << 20 })) {
    const b = chunk as Buffer;
    bytes += b.length;
    hash.update(b);
  }
  return { bytes, sha256: hash.digest('hex') };
}
