/**
 * The wire layout of a one-rank sharded collection. With world size 1 the output dist and
 * the gradient dist are exchanges of a rank with itself, so the buffers they carry may be
 * laid out however that rank likes. When every slot holds whole rows (no row-wise shard)
 * and the gradient columns are exactly the pooled columns, the collection lays them out as
 * the dense side does: `[sample][pooled column]`. Lookups then write into the output
 * dist's send buffer at their final place, the received buffer *is* the pooled output (no
 * combine step), and the backward sends the output gradient as it comes and scatters from
 * the received copy at each feature's column. The collectives and device ops are the same
 * calls with the same counts and bytes; only where floats sit inside the buffers differs,
 * and every float is the same as on the general path (tested bitwise against it).
 *
 * `worldOneLayout.enabled` turns it off (tests compare both); `batches` counts the
 * lookups and backwards that used it.
 *
 * @example
 * usesWorldOneLayout(1, [{ type: 'table_wise' }], 16, 16); // true
 */

/** Switch and counters of the one-rank layout (see the file comment). */
export const worldOneLayout = { enabled: true, lookups: 0, backwards: 0 };

/**
 * Whether a collection of `worldSize` ranks whose slots are `slots` sends pooled rows and
 * gradients in the dense layout: one rank, no row-wise slot, and `gradWidthSum` (the
 * gradient columns the slots need) equal to `totalWidth` (the pooled columns; not so when
 * row-wise Adagrad needs full rows of a column-wise table).
 *
 * @example
 * usesWorldOneLayout(2, [{ type: 'table_wise' }], 16, 16); // false: two ranks
 */
export function usesWorldOneLayout(
  worldSize: number,
  slots: readonly { readonly type: string }[],
  gradWidthSum: number,
  totalWidth: number,
): boolean {
  return (
    worldOneLayout.enabled &&
    worldSize === 1 &&
    slots.every((s) => s.type !== 'row_wise') &&
    gradWidthSum === totalWidth
  );
}
