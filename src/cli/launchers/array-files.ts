/**
 * Plain data with typed arrays as a pair of files, `NAME.json` + `NAME.bin`, in the
 * checkpoint's array format (src/checkpoint/FORMAT.md: `{ "$array": … }` references,
 * little-endian). How the MPI launcher hands specs to rank processes and gets results back.
 *
 * @example
 * await writeArrayJson(dir, 'spec-0', spec);
 * const back = await readArrayJson<RankJobSpec>(dir, 'spec-0');
 */
import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { BinarySink, decodeArrays, encodeArrays } from '../../checkpoint/array-tree.ts';

export async function writeArrayJson(dir: string, name: string, value: unknown): Promise<void> {
  const sink = new BinarySink(`${name}.bin`);
  const json = encodeArrays(value, sink);
  await writeFile(join(dir, sink.file), sink.bytes());
  await writeFile(join(dir, `${name}.json`), JSON.stringify(json));
}

export async function readArrayJson<T>(dir: string, name: string): Promise<T> {
  const json = JSON.parse(await readFile(join(dir, `${name}.json`), 'utf8')) as unknown;
  const bytes = new Uint8Array(await readFile(join(dir, `${name}.bin`)));
  return decodeArrays(json, { [`${name}.bin`]: bytes }, dir) as T;
}
