/**
 * Whether the BLAS tests can run here: null when OpenBLAS loads, else the reason they are
 * skipped (named in the skipped suite's title, and printed once).
 */
import { loadOpenBlas } from '../../../src/runtime/dense-math/openblas.ts';

let reason: string | null | undefined;

export function blasSkipReason(): string | null {
  if (reason !== undefined) return reason;
  try {
    loadOpenBlas();
    reason = null;
  } catch (e) {
    reason = (e as Error).message;
    console.warn(`BLAS tests skipped: ${reason}`);
  }
  return reason;
}
