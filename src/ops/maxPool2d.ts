import ndarray from 'ndarray';
import { recycleFloat } from '../core/bufferPool';
import { allocFloat, allocFloatUninit, type FloatArray } from '../core/dtype';
import { dtypeOf } from '../core/tensor';
import { dense, denseAs } from '../layers/layerArgs';
import { runMaxPool2x2 } from './kernels/maxPoolTasks';
import { defineOp } from './op';
import { checkPooledDout, pool2dGeometry, type Pool2dAttrs, type Pool2dGeometry } from './poolArgs';

/** What {@link maxPool2d} keeps for backward: where each output's maximum came from. */
export interface MaxPool2dCache {
  shape: number[];
  outShape: number[];
  dtype: 'float32' | 'float64';
  /** Flat index into x of each output's maximum, in output order. */
  argmax: Int32Array;
  /**
   * The pooled float32 store `argmax` views (its bits reinterpreted), given back by `release`.
   * WHY: an argmax as large as the output, new every step, was fresh pages each time — on
   * these VMs a page fault per 4 KiB, more than the pool itself.
   */
  store: Float32Array;
}

/**
 * The max-pooling kernel over a dense `(N, C, H, W)` store: each window's maximum and its flat
 * index into x. Padding acts as −∞ (padded positions are never visited); ties go to the first
 * maximum in row-major window order; a NaN wins over every number and a later NaN over an
 * earlier one, as PyTorch's CPU kernel (`val > max || isnan(val)`), so NaN propagates.
 * `argmax` may be null when only the maxima are wanted (cs231n's reshape path).
 */
export function maxPool2dKernel(xs: FloatArray, g: Pool2dGeometry, out: FloatArray, argmax: Int32Array | null): void {
  const { N, C, H, W, kh, kw, sh, sw, ph, pw, outH, outW } = g;
  if (kh === 2 && kw === 2 && sh === 2 && sw === 2 && ph === 0 && pw === 0) {
    // WHY its own kernel: the general loop's per-window bounds, and its branches on data,
    // made a LeNet-sized pool take 9 ms; kernels/maxPoolTasks.ts threads it and runs float32 in SIMD.
    runMaxPool2x2(xs, N * C, H, W, out, argmax);
    return;
  }
  let q = 0;
  for (let nc = 0; nc < N * C; nc++) {
    const plane = nc * H * W;
    for (let oh = 0; oh < outH; oh++) {
      const h0 = Math.max(oh * sh - ph, 0);
      const h1 = Math.min(oh * sh - ph + kh, H);
      for (let ow = 0; ow < outW; ow++, q++) {
        const w0 = Math.max(ow * sw - pw, 0);
        const w1 = Math.min(ow * sw - pw + kw, W);
        let best = -Infinity;
        let at = plane + h0 * W + w0;
        for (let i = h0; i < h1; i++) {
          const row = plane + i * W;
          for (let j = w0; j < w1; j++) {
            const v = xs[row + j];
            if (v > best || v !== v) {
              best = v;
              at = row + j;
            }
          }
        }
        out[q] = best;
        if (argmax) argmax[q] = at;
      }
    }
  }
}

/** Adds each output gradient onto its maximum, in output order (overlapping windows accumulate). */
export function maxPool2dScatter(d: ArrayLike<number>, argmax: Int32Array, dx: FloatArray): void {
  for (let q = 0; q < argmax.length; q++) dx[argmax[q]] += d[q];
}

/**
 * `max_pool2d`: x `(N, C, H, W)` → `(N, C, H', W')` with PyTorch's kernel size, stride (default:
 * the kernel), padding (≤ half the kernel, acting as −∞) and ceil mode; backward routes each
 * gradient to its window's maximum.
 */
export const maxPool2d = defineOp<Pool2dAttrs, MaxPool2dCache>({
  name: 'max_pool2d',
  forward(inputs, attrs) {
    const [x] = inputs;
    const g = pool2dGeometry('max_pool2d', x, attrs);
    const dtype = dtypeOf(x);
    const n = g.N * g.C * g.outH * g.outW;
    const out = allocFloatUninit(dtype, n);
    const store = allocFloatUninit('float32', n) as Float32Array;
    const argmax = new Int32Array(store.buffer, store.byteOffset, n);
    maxPool2dKernel(dense('x', x).data, g, out, argmax);
    return { out: ndarray(out, [g.N, g.C, g.outH, g.outW]), cache: { shape: x.shape.slice(), outShape: [g.N, g.C, g.outH, g.outW], dtype, argmax, store } };
  },
  backward(dout, cache) {
    checkPooledDout(dout, cache.outShape);
    const dx = allocFloat(cache.dtype, cache.shape.reduce((a, b) => a * b, 1));
    maxPool2dScatter(denseAs('dout', dout, cache.dtype).data, cache.argmax, dx);
    return [ndarray(dx, cache.shape.slice())];
  },
  release(cache) {
    recycleFloat(cache.store);
  },
});
