/*
 * The pure-TypeScript kernels behind mode 'ts': the core matmul (packed, multi-threaded) for
 * the products, plain loops for the rest, in the inputs' dtype (float64 stays float64).
 */
import ndarray from 'ndarray';
import type { NdArray } from 'ndarray';
import { allocFloat, type DType } from '../core/dtype';
import { matmul } from '../core/matmul';
import { ascontiguous, astype, type IntTensor, type NumStore, type Tensor } from '../core/tensor';
import { checkDistances, checkLoss, checkMatmul, checkVote, viewOf, type MatmulOpts } from './args';
import { nearestNeighbors, voteLabels } from '../core/nearest';
import { softmaxRow } from '../layers/softmaxRow';
import { rowSquaredNorms } from './distanceSteps';
import type { LinearLossKind } from './linearLossSteps';
import type { DistanceOptions, LossAndGrad } from './types';

/** op(A)·op(B) through the core matmul. */
export function tsMatmul(A: Tensor, B: Tensor, opts: MatmulOpts = {}): Tensor {
  checkMatmul(A, B, opts);
  return matmul(A, B, { transA: opts.transA === true, transB: opts.transB === true });
}

/** kNN distances: core matmul for the cross term, norms in float64. */
export function tsDistances(test: Tensor, train: Tensor, opts: DistanceOptions = {}): Tensor {
  const { dtype, M, N } = checkDistances(test, train);
  const a = astype(test, dtype);
  const b = astype(train, dtype);
  const out = matmul(a, b, { transB: true });
  const tn = rowSquaredNorms(viewOf(a));
  const rn = rowSquaredNorms(viewOf(b));
  const o = out.data;
  const sq = opts.squared === true;
  for (let i = 0; i < M; i++) {
    for (let j = 0; j < N; j++) {
      const s = tn[i] + rn[j] - 2 * o[i * N + j];
      o[i * N + j] = s > 0 ? (sq ? s : Math.sqrt(s)) : 0;
    }
  }
  return out;
}

/** SVM or softmax loss and gradient in W's dtype. */
export function tsLinearLoss(kind: LinearLossKind, W: Tensor, X: Tensor, y: NdArray<NumStore>, reg: number): LossAndGrad {
  const { N, C, labels, dtype } = checkLoss(W, X, y, reg);
  const Xd = astype(X, dtype);
  const scores = matmul(Xd, W);
  const s = scores.data;
  const grad = { out: s, scale: 1 / N, tmp: new Float64Array(C) };
  let loss = 0;
  for (let i = 0; i < N; i++) {
    const base = i * C;
    const yi = labels[i];
    if (kind === 'svm') {
      const sy = s[base + yi];
      let active = 0;
      for (let j = 0; j < C; j++) {
        if (j === yi) continue;
        const m = s[base + j] - sy + 1;
        if (m > 0) {
          loss += m;
          s[base + j] = 1;
          active++;
        } else s[base + j] = 0;
      }
      s[base + yi] = -active;
    } else {
      loss += softmaxRow(s, base, C, yi, grad);
    }
  }
  // The softmax rows already carry the 1/N.
  if (kind === 'svm') for (let t = 0; t < s.length; t++) s[t] /= N;
  const dW = matmul(Xd, scores, { transA: true });
  const w = ascontiguous(W).data;
  let wsq = 0;
  for (let t = 0; t < w.length; t++) {
    wsq += w[t] * w[t];
    dW.data[t] += 2 * reg * w[t];
  }
  return { loss: loss / N + reg * wsq, dW };
}

/** kNN vote: the k nearest of each row (ties by training index), a majority vote, ties to the smaller label. */
export function tsKnnVote(dists: Tensor, yTrain: NdArray<NumStore>, k: number, numClasses?: number): IntTensor {
  const { M, labels, classes } = checkVote(dists, yTrain, k, numClasses);
  return ndarray(voteLabels(nearestNeighbors(dists, k), M, k, k, labels, classes), [M]);
}

/** A dense (rows, cols) tensor of `dtype` holding `values`. */
export function tensorFrom(values: Float64Array, rows: number, cols: number, dtype: DType): Tensor {
  if (dtype === 'float64') return ndarray(values, [rows, cols]);
  const out = allocFloat(dtype, values.length);
  out.set(values);
  return ndarray(out, [rows, cols]);
}
