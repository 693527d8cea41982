import ndarray from 'ndarray';
import { assertSameShape } from '../core/check';
import { allocFloat } from '../core/dtype';
import { dtypeOf, type Tensor } from '../core/tensor';
import { dense, denseAs } from './layerArgs';

/** What {@link reluForward} keeps for the backward pass: the input. */
export interface ReluCache {
  x: Tensor;
}

/**
 * Elementwise max(0, x), any shape; output dtype = x's dtype. NaN passes through (as numpy's
 * `np.maximum`), so a diverging net shows up as a NaN loss instead of being silently zeroed.
 */
export function reluForward(x: Tensor): { out: Tensor; cache: ReluCache } {
  const xd = dense('x', x).data;
  const o = allocFloat(dtypeOf(x), xd.length);
  for (let i = 0; i < xd.length; i++) {
    const v = xd[i];
    o[i] = v <= 0 ? 0 : v;
  }
  return { out: ndarray(o, x.shape.slice()), cache: { x } };
}

/** Backward of {@link reluForward}: dout where x > 0, zero where x ≤ 0 (the kink gets 0, as cs231n). */
export function reluBackward(dout: Tensor, cache: ReluCache): { dx: Tensor } {
  const { x } = cache;
  assertSameShape('x', x, 'dout', dout);
  const xd = dense('x', x).data;
  const g = denseAs('dout', dout, dtypeOf(x)).data;
  const dx = allocFloat(dtypeOf(x), xd.length);
  for (let i = 0; i < xd.length; i++) dx[i] = xd[i] > 0 ? g[i] : 0;
  return { dx: ndarray(dx, x.shape.slice()) };
}
