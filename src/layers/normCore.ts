import type { FloatArray } from '../core/dtype';

/*
 * The arithmetic every normalisation layer shares. Batch, layer, spatial-batch and group norm all
 * compute statistics over some elements of a dense array; viewing the array as (A, S, T), with the
 * statistic indexed by s and taken over (a, t), covers each of them:
 *   batch norm (N, D):         A = N, S = D,     T = 1
 *   layer norm (N, D):         A = 1, S = N,     T = D
 *   group norm (N, C, H, W):   A = 1, S = N·G,   T = (C/G)·H·W
 * The per-channel scale and shift differ per layer, so each layer applies gamma/beta itself.
 * Sums accumulate in float64 whatever the storage dtype.
 */

/** Statistics per s of an (A, S, T) view: mean, biased (1/M) variance, sqrt(var + eps). */
export interface GroupMoments {
  mean: Float64Array;
  variance: Float64Array;
  std: Float64Array;
}

/** Two-pass mean and biased variance per s (as numpy's `x.var()`), plus sqrt(var + eps). */
export function groupMoments(x: FloatArray, A: number, S: number, T: number, eps: number): GroupMoments {
  const M = A * T;
  const mean = new Float64Array(S);
  const variance = new Float64Array(S);
  const std = new Float64Array(S);
  // Row sums in small functions: optimised whole rather than through on-stack replacement
  // (see the row functions of ops/batchNorm.ts); the same additions in the same order.
  for (let a = 0; a < A; a++) {
    for (let s = 0; s < S; s++) mean[s] += rowSum(x, (a * S + s) * T, T);
  }
  for (let s = 0; s < S; s++) mean[s] /= M;
  for (let a = 0; a < A; a++) {
    for (let s = 0; s < S; s++) variance[s] += rowSquaredDeviation(x, (a * S + s) * T, T, mean[s]);
  }
  for (let s = 0; s < S; s++) {
    variance[s] /= M;
    std[s] = Math.sqrt(variance[s] + eps);
  }
  return { mean, variance, std };
}

function rowSum(x: FloatArray, base: number, T: number): number {
  let acc = 0;
  for (let t = 0; t < T; t++) acc += x[base + t];
  return acc;
}

function rowSquaredDeviation(x: FloatArray, base: number, T: number, mu: number): number {
  let acc = 0;
  for (let t = 0; t < T; t++) {
    const d = x[base + t] - mu;
    acc += d * d;
  }
  return acc;
}

/** xhat = (x − mean[s]) / std[s] written into `out` (same layout). */
export function normalizeGroups(
  x: FloatArray, A: number, S: number, T: number, mean: ArrayLike<number>, std: ArrayLike<number>, out: FloatArray,
): void {
  for (let a = 0; a < A; a++) {
    for (let s = 0; s < S; s++) {
      const base = (a * S + s) * T;
      const mu = mean[s];
      const sd = std[s];
      for (let t = 0; t < T; t++) out[base + t] = (x[base + t] - mu) / sd;
    }
  }
}

/**
 * Gradient through xhat = (x − mean)/std with mean and variance taken over the group:
 * dx = (dxhat − mean(dxhat) − xhat · mean(dxhat · xhat)) / std, per group s. This is the
 * simplified ("alt") batch-norm formula, valid for every layout above.
 */
export function normalizeGroupsBackward(
  dxhat: ArrayLike<number>, xhat: ArrayLike<number>, A: number, S: number, T: number, std: ArrayLike<number>, dx: FloatArray,
): void {
  const M = A * T;
  const sum1 = new Float64Array(S);
  const sum2 = new Float64Array(S);
  for (let a = 0; a < A; a++) {
    for (let s = 0; s < S; s++) {
      const base = (a * S + s) * T;
      let s1 = 0;
      let s2 = 0;
      for (let t = 0; t < T; t++) {
        const g = dxhat[base + t];
        s1 += g;
        s2 += g * xhat[base + t];
      }
      sum1[s] += s1;
      sum2[s] += s2;
    }
  }
  for (let s = 0; s < S; s++) {
    sum1[s] /= M;
    sum2[s] /= M;
  }
  for (let a = 0; a < A; a++) {
    for (let s = 0; s < S; s++) {
      const base = (a * S + s) * T;
      const m1 = sum1[s];
      const m2 = sum2[s];
      const sd = std[s];
      for (let t = 0; t < T; t++) dx[base + t] = (dxhat[base + t] - m1 - xhat[base + t] * m2) / sd;
    }
  }
}
