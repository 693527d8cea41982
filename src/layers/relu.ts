import { relu } from '../ops/activations';
import type { Tensor } from '../core/tensor';

/*
 * cs231n's ReLU layer: a face of the `relu` op (src/ops/activations.ts), which holds the maths
 * for this layer and for `nn.ReLU`.
 */

/** What {@link reluForward} keeps for the backward pass: the input. */
export interface ReluCache {
  x: Tensor;
}

/**
 * Elementwise max(0, x), any shape; output dtype = x's dtype. NaN passes through (as numpy's
 * `np.maximum`), so a diverging net shows up as a NaN loss instead of being silently zeroed.
 */
export function reluForward(x: Tensor): { out: Tensor; cache: ReluCache } {
  return { out: relu.forward([x], {}).out, cache: { x } };
}

/** Backward of {@link reluForward}: dout where x > 0, zero where x ≤ 0 (the kink gets 0, as cs231n). */
export function reluBackward(dout: Tensor, cache: ReluCache): { dx: Tensor } {
  return { dx: relu.backward(dout, { x: cache.x })[0] as Tensor };
}
