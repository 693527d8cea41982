import ndarray, { type NdArray } from 'ndarray';
import { assertLabels, assertNdim, assertShape } from '../core/check';
import { allocFloat } from '../core/dtype';
import { dtypeOf, type NumStore, type Tensor } from '../core/tensor';
import { dense } from './layerArgs';
import { softmaxRow } from './softmaxRow';

/** Integer class labels `(N,)`: Int32 as produced by the data loaders; other integer stores accepted. */
export type Labels = NdArray<NumStore>;

/**
 * What a model's `loss(X, y)` returns when labels are given: the scalar loss and one gradient
 * per parameter. Defined here, below both the models and the Solver, so neither imports the other.
 */
export interface LossAndGrads {
  loss: number;
  grads: Record<string, Tensor>;
}

function checkScores(x: Tensor, y: Labels): { N: number; C: number; xs: Float64Array | Float32Array; ys: number[] } {
  assertNdim('x', x, 2);
  const { N, C } = assertShape('x', x, ['N', 'C']);
  assertShape('y', y, [N]);
  assertLabels('y', y, C);
  const ys = new Array<number>(N);
  for (let i = 0; i < N; i++) ys[i] = Number(y.get(i));
  return { N, C, xs: dense('x', x).data, ys };
}

/**
 * Multiclass SVM (hinge) loss on scores x `(N, C)` with labels y `(N,)`, margin 1, averaged over
 * N, no regularisation: `{ loss, dx }`, dx in x's dtype.
 */
export function svmLoss(x: Tensor, y: Labels): { loss: number; dx: Tensor } {
  const { N, C, xs, ys } = checkScores(x, y);
  const dx = allocFloat(dtypeOf(x), N * C);
  let loss = 0;
  for (let i = 0; i < N; i++) {
    const base = i * C;
    const correct = xs[base + ys[i]];
    let positive = 0;
    for (let j = 0; j < C; j++) {
      if (j === ys[i]) continue;
      const margin = xs[base + j] - correct + 1;
      if (margin > 0) {
        loss += margin;
        positive++;
        dx[base + j] = 1 / N;
      }
    }
    dx[base + ys[i]] = -positive / N;
  }
  return { loss: loss / N, dx: ndarray(dx, [N, C]) };
}

/**
 * Softmax (cross-entropy) loss on scores x `(N, C)` with labels y `(N,)`, averaged over N:
 * `{ loss, dx }`. Scores are shifted by their row maximum and the loss is taken from log-probs,
 * so large scores neither overflow nor give log(0).
 */
export function softmaxLoss(x: Tensor, y: Labels): { loss: number; dx: Tensor } {
  const { N, C, xs, ys } = checkScores(x, y);
  const dx = allocFloat(dtypeOf(x), N * C);
  const grad = { out: dx, scale: 1 / N, tmp: new Float64Array(C) };
  let loss = 0;
  for (let i = 0; i < N; i++) loss += softmaxRow(xs, i * C, C, ys[i], grad);
  return { loss: loss / N, dx: ndarray(dx, [N, C]) };
}
