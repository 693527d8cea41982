import type { Tensor } from '../core/tensor';

/**
 * The CIFAR models end with a fixed `avg_pool2d(k)` and a Linear sized for a 1×1 result, so
 * the last feature map must be k…2k−1 pixels wide: anything else would fail deep inside the
 * pool or the Linear with a message about a layer the caller never chose.
 */
export function requireFinalMap(model: string, x: Tensor, h: Tensor, k: number): Tensor {
  const [, , H, W] = h.shape;
  if (H < k || W < k || H >= 2 * k || W >= 2 * k) {
    throw new RangeError(`x: ${model} expects 32×32 images (its last ${k}×${k} average pool must leave 1×1), got ${x.shape[2]}×${x.shape[3]} (final map ${H}×${W})`);
  }
  return h;
}
