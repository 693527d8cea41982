import type { NdArray } from 'ndarray';
import { matmul } from '../core/matmul';
import { ascontiguous, type NumStore, type Tensor } from '../core/tensor';
import { checkLossArgs, type LossResult, type VectorizedLossOptions } from './inputs';
import { softmaxRow } from '../layers/softmaxRow';
import { addL2, averageWithL2 } from './regularize';

/*
 * Softmax (cross-entropy) loss of a linear classifier, cs231n's softmax.py: W (D, C), X (N, D),
 * labels y (N,), loss = mean_i −log softmax(x_i·W)_{y_i} + reg·ΣW² (gradient 2·reg·W).
 * Scores are shifted by their row maximum before exponentiating, so large scores cannot
 * overflow; the log-probability is computed as (s_y − max) − log Σ exp(s − max) rather than
 * log of a ratio, which stays finite even when the correct class's probability underflows.
 * Float64 and Float32 both work; X is brought to W's dtype and dW comes back in it.
 */

/** Loop version: one example at a time, as the assignment's reference loops. Float64 accumulation. */
export function softmaxLossNaive(W: Tensor, X: Tensor, y: NdArray<NumStore>, reg: number): LossResult {
  const a = checkLossArgs(W, X, y, reg);
  const { N, D, C, labels } = a;
  const w = ascontiguous(W).data;
  const x = ascontiguous(a.X).data;
  const dW = new Float64Array(D * C);
  const scores = new Float64Array(C);
  let loss = 0;
  for (let i = 0; i < N; i++) {
    const xi = i * D;
    let maxScore = -Infinity;
    for (let j = 0; j < C; j++) {
      let s = 0;
      for (let d = 0; d < D; d++) s += x[xi + d] * w[d * C + j];
      scores[j] = s;
      if (s > maxScore) maxScore = s;
    }
    let sumExp = 0;
    for (let j = 0; j < C; j++) sumExp += Math.exp(scores[j] - maxScore);
    const yi = labels[i];
    loss += Math.log(sumExp) - (scores[yi] - maxScore);
    for (let j = 0; j < C; j++) {
      const p = Math.exp(scores[j] - maxScore) / sumExp;
      const coef = j === yi ? p - 1 : p;
      for (let d = 0; d < D; d++) dW[d * C + j] += coef * x[xi + d];
    }
  }
  return averageWithL2(loss, dW, N, W, reg, a.dtype);
}

/**
 * Vectorised version: scores = X·W and dW = Xᵀ·(P − Y)/N through the core matmul; the
 * stabilised softmax and its gradient are one pass over the dense score matrix, in place.
 */
export function softmaxLossVectorized(W: Tensor, X: Tensor, y: NdArray<NumStore>, reg: number, opts: VectorizedLossOptions = {}): LossResult {
  const a = checkLossArgs(W, X, y, reg);
  if (opts.backend) return opts.backend.softmaxLoss(W, X, y, reg);
  const { N, C, labels } = a;
  const scores = matmul(a.X, W);
  const s = scores.data;
  // (P − Y)/N written over the scores in place, one rounding per element.
  const grad = { out: s, scale: 1 / N, tmp: new Float64Array(C) };
  let loss = 0;
  for (let i = 0; i < N; i++) loss += softmaxRow(s, i * C, C, labels[i], grad);
  const dW = matmul(a.X, scores, { transA: true });
  return { loss: loss / N + addL2(dW, W, reg), dW };
}
