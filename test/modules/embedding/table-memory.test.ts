/**
 * Table memory: zero-filled arrays of the asked length; large blocks start on 64-byte cache
 * lines and are advised for huge pages on Linux, small ones are plain arrays; table shards
 * are initialised into it with the same values as a plain array.
 */
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { describe, expect, it } from 'vitest';
import { initTableSlice } from '../../../src/modules/embedding/init.ts';
import { EmbeddingTableShard } from '../../../src/modules/embedding/table-shard.ts';
import {
  allocateTableMemory,
  HUGE_PAGE_MIN_BYTES,
  tableMemoryStats,
} from '../../../src/modules/embedding/table-memory.ts';

const koffi = (() => {
  try {
    return createRequire(import.meta.url)('koffi') as typeof import('koffi');
  } catch {
    return undefined;
  }
})();
const hugePagesOn = (() => {
  try {
    return !/\[never\]/.test(readFileSync('/sys/kernel/mm/transparent_hugepage/enabled', 'utf8'));
  } catch {
    return false;
  }
})();
const native = process.platform === 'linux' && koffi !== undefined;

describe('allocateTableMemory', () => {
  it('gives small blocks as plain arrays (no FFI needed)', () => {
    const before = { ...tableMemoryStats };
    for (const n of [16, 1000, HUGE_PAGE_MIN_BYTES / 4 - 1]) {
      const a = allocateTableMemory(n);
      expect(a.length).toBe(n);
      expect(a.byteOffset).toBe(0);
      expect(a.buffer.byteLength).toBe(n * 4);
    }
    expect(tableMemoryStats.plain).toBe(before.plain + 3);
    expect(tableMemoryStats.aligned).toBe(before.aligned);
  });

  it.skipIf(!native)('aligns large blocks to cache lines (Linux, koffi)', () => {
    const before = tableMemoryStats.aligned;
    const a = allocateTableMemory(100_000 * 16);
    expect(a.length).toBe(100_000 * 16);
    expect(a.every((v) => v === 0)).toBe(true);
    expect(BigInt(koffi!.address(a) as bigint) % 64n).toBe(0n);
    expect(tableMemoryStats.aligned).toBe(before + 1);
  });

  it.skipIf(!native || !hugePagesOn)(
    'advises large blocks for huge pages, 2 MiB aligned (transparent huge pages on)',
    () => {
      const before = tableMemoryStats.hugePages;
      const a = allocateTableMemory(HUGE_PAGE_MIN_BYTES / 4);
      expect(tableMemoryStats.hugePages).toBe(before + 1);
      expect(BigInt(koffi!.address(a) as bigint) % BigInt(2 << 20)).toBe(0n);
      a.fill(1); // writable over its whole length
      expect(a[a.length - 1]).toBe(1);
    },
  );

  it('initialises a shard into it with the values of a plain array', () => {
    const table = { name: 't', rows: 70_000, dim: 16, pooling: 'sum' as const, features: ['f'] };
    const block = { rowStart: 0, rowEnd: table.rows, colStart: 0, colEnd: 16 };
    const shard = new EmbeddingTableShard({
      table,
      block,
      seed: 3,
      optimizer: { kind: 'sgd', lr: 1 },
    });
    const plain = initTableSlice(table, 3, block);
    const w = shard.weights;
    const same = Buffer.from(w.buffer, w.byteOffset, w.byteLength).equals(
      Buffer.from(plain.buffer),
    );
    expect(same).toBe(true);
    expect(() => initTableSlice(table, 3, block, new Float32Array(5))).toThrow(
      /table 't' block needs 1120000 values, the array has 5/,
    );
  });
});
