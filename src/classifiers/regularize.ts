import type { FloatArray } from '../core/dtype';
import { ascontiguous, type Tensor } from '../core/tensor';

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
