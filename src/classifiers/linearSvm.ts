import type { NdArray } from 'ndarray';
import { matmul } from '../core/matmul';
import { ascontiguous, type NumStore, type Tensor } from '../core/tensor';
import { checkLossArgs, type LossResult, type VectorizedLossOptions } from './inputs';
import { addL2, averageWithL2, scaleInPlace } from './regularize';

/*
 * Multiclass SVM (hinge) loss of a linear classifier, cs231n's linear_svm.py: W (D, C),
 * X (N, D), labels y (N,), margin delta = 1, loss = mean_i Σ_{j≠y_i} max(0, s_j − s_{y_i} + 1)
 * + reg·ΣW², so the regulariser's gradient is 2·reg·W. Float64 and Float32 both work; X is
 * brought to W's dtype and dW comes back in it. A margin exactly 0 counts as inactive (the
 * subgradient 0), in both versions, so they agree everywhere.
 */

/**
 * Loop version: one example at a time, one class at a time, as the assignment's reference
 * loops. Accumulates in Float64 whatever the dtype.
 */
export function svmLossNaive(W: Tensor, X: Tensor, y: NdArray<NumStore>, reg: number): LossResult {
  const a = checkLossArgs(W, X, y, reg);
  const { N, D, C, labels } = a;
  const w = ascontiguous(W).data;
  const x = ascontiguous(a.X).data;
  const dW = new Float64Array(D * C);
  const scores = new Float64Array(C);
  let loss = 0;
  for (let i = 0; i < N; i++) {
    const xi = i * D;
    for (let j = 0; j < C; j++) {
      let s = 0;
      for (let d = 0; d < D; d++) s += x[xi + d] * w[d * C + j];
      scores[j] = s;
    }
    const yi = labels[i];
    const correct = scores[yi];
    for (let j = 0; j < C; j++) {
      if (j === yi) continue;
      const margin = scores[j] - correct + 1;
      if (margin > 0) {
        loss += margin;
        for (let d = 0; d < D; d++) {
          dW[d * C + j] += x[xi + d];
          dW[d * C + yi] -= x[xi + d];
        }
      }
    }
  }
  return averageWithL2(loss, dW, N, W, reg, a.dtype);
}

/**
 * Vectorised version: scores = X·W and dW = Xᵀ·dScores through the core matmul; the margins
 * and the (N, C) score gradient are one tight pass over the dense score matrix, reusing its
 * memory.
 */
export function svmLossVectorized(W: Tensor, X: Tensor, y: NdArray<NumStore>, reg: number, opts: VectorizedLossOptions = {}): LossResult {
  const a = checkLossArgs(W, X, y, reg);
  if (opts.backend) return opts.backend.svmLoss(W, X, y, reg);
  const { N, C, labels } = a;
  const scores = matmul(a.X, W);
  const s = scores.data;
  let loss = 0;
  for (let i = 0; i < N; i++) {
    const base = i * C;
    const yi = labels[i];
    const correct = s[base + yi];
    let active = 0;
    for (let j = 0; j < C; j++) {
      if (j === yi) continue;
      const margin = s[base + j] - correct + 1;
      if (margin > 0) {
        loss += margin;
        s[base + j] = 1;
        active++;
      } else {
        s[base + j] = 0;
      }
    }
    s[base + yi] = -active;
  }
  scaleInPlace(s, 1 / N);
  const dW = matmul(a.X, scores, { transA: true });
  return { loss: loss / N + addL2(dW, W, reg), dW };
}
