import type { Tensor } from '../../src/core/tensor';

/** Frobenius norm of the difference of two equally sized dense matrices (the notebooks' `np.linalg.norm(a - b, ord='fro')`). */
export function frobeniusDiff(a: Tensor, b: Tensor): number {
  if (a.data.length !== b.data.length) throw new RangeError(`a, b: expected equal sizes, got ${a.data.length} and ${b.data.length}`);
  let s = 0;
  for (let i = 0; i < a.data.length; i++) {
    const d = a.data[i] - b.data[i];
    s += d * d;
  }
  return Math.sqrt(s);
}

/** The median of a non-empty list. */
export function median(xs: readonly number[]): number {
  const s = [...xs].sort((p, q) => p - q);
  const m = s.length >> 1;
  return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2;
}
