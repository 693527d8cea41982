import type { FloatArray } from '../core/dtype';
import type { DType } from '../core/dtype';
import { ascontiguous, zeros, type Tensor } from '../core/tensor';
import type { LossResult } from './inputs';

/*
 * The L2 term shared by the linear losses. cs231n's linear classifiers use reg·ΣW² (no ½),
 * so the gradient gains 2·reg·W — the factor students most often drop.
 */

/** Adds 2·reg·W to the dense gradient `dW` in place and returns reg·ΣW² (summed in float64). */
export function addL2(dW: Tensor, W: Tensor, reg: number): number {
  const w = ascontiguous(W).data;
  const g = dW.data;
  const twoReg = 2 * reg;
  let sq = 0;
  for (let t = 0; t < w.length; t++) {
    const v = w[t];
    sq += v * v;
    g[t] += twoReg * v;
  }
  return reg * sq;
}

/** x *= factor, elementwise, in place. */
export function scaleInPlace(x: FloatArray, factor: number): void {
  for (let t = 0; t < x.length; t++) x[t] *= factor;
}

/**
 * Finishes a naive (looped) linear loss: averages the summed data loss and float64 gradient
 * over N, stores the gradient in W's dtype and adds the L2 term.
 */
export function averageWithL2(lossSum: number, dWSum: Float64Array, N: number, W: Tensor, reg: number, dtype: DType): LossResult {
  const out = zeros(W.shape, dtype);
  for (let t = 0; t < dWSum.length; t++) out.data[t] = dWSum[t] / N;
  return { loss: lossSum / N + addL2(out, W, reg), dW: out };
}
