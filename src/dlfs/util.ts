import { assertArg } from '../core/check';
import type { RandomState } from '../core/random';
import { takeRows, type Tensor } from '../core/tensor';
import { evalNumericalGradient } from '../gradientCheck';
import type { Labels } from '../layers/losses';

/** The book's common/gradient.py step. */
export const NUMERICAL_GRADIENT_H = 1e-4;

/**
 * `numerical_gradient(f, x)`: centred difference with the book's h = 1e-4, x perturbed in place
 * and restored (the package's evalNumericalGradient with the book's step).
 */
export function numericalGradient(f: (x: Tensor) => number, x: Tensor): Tensor {
  return evalNumericalGradient(f, x, { h: NUMERICAL_GRADIENT_H });
}

/** Zeroth-order modified Bessel function of the first kind (series; what np.kaiser uses). */
function besselI0(x: number): number {
  let sum = 1;
  let term = 1;
  const q = (x / 2) ** 2;
  for (let k = 1; k < 200; k++) {
    term *= q / (k * k);
    sum += term;
    if (term < 1e-17 * sum) break;
  }
  return sum;
}

/** numpy's `np.kaiser(M, beta)`. */
export function kaiser(M: number, beta: number): number[] {
  assertArg(Number.isInteger(M) && M >= 1, 'M', 'a positive integer', M);
  if (M === 1) return [1];
  const den = besselI0(beta);
  return Array.from({ length: M }, (_, n) => besselI0(beta * Math.sqrt(1 - ((2 * n) / (M - 1) - 1) ** 2)) / den);
}

/**
 * `smooth_curve(x)`: the book's loss-curve smoother — the series reflected by 10 points at each
 * end, convolved with a normalised Kaiser window (length 11, β = 2), the valid part kept, then
 * the first 5 and last 5 values dropped. The result has length len(x) (needs ≥ 11 points).
 */
export function smoothCurve(x: ArrayLike<number>): number[] {
  const windowLen = 11;
  const n = x.length;
  assertArg(n >= windowLen, 'x', `at least ${windowLen} values`, n);
  // np.r_[x[window_len-1:0:-1], x, x[-1:-window_len:-1]]
  const s: number[] = [];
  for (let i = windowLen - 1; i >= 1; i--) s.push(x[i]);
  for (let i = 0; i < n; i++) s.push(x[i]);
  for (let i = n - 1; i > n - windowLen; i--) s.push(x[i]);
  const w = kaiser(windowLen, 2);
  const total = w.reduce((a, b) => a + b, 0);
  // np.convolve(w/w.sum(), s, mode='valid'); the window is symmetric, so no flip is needed.
  const valid: number[] = [];
  for (let i = 0; i + windowLen <= s.length; i++) {
    let acc = 0;
    for (let k = 0; k < windowLen; k++) acc += (w[k] / total) * s[i + k];
    valid.push(acc);
  }
  return valid.slice(5, valid.length - 5);
}

/** `shuffle_dataset(x, t)`: the same random permutation of the rows of x and t. */
export function shuffleDataset<T extends Tensor>(x: T, t: Labels, rng: RandomState): { x: Tensor; t: Labels } {
  assertArg(x.shape[0] === t.shape[0], 't', `${x.shape[0]} labels (one per row of x)`, t.shape[0]);
  const perm = rng.permutation(x.shape[0]);
  return { x: takeRows(x, perm.data), t: takeRows(t, perm.data) };
}
