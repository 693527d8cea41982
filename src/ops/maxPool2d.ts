import ndarray from 'ndarray';
import { allocFloat, allocFloatUninit, type FloatArray } from '../core/dtype';
import { dtypeOf } from '../core/tensor';
import { dense, denseAs } from '../layers/layerArgs';
import { defineOp } from './op';
import { checkPooledDout, pool2dGeometry, type Pool2dAttrs, type Pool2dGeometry } from './poolArgs';

/** What {@link maxPool2d} keeps for backward: where each output's maximum came from. */
export interface MaxPool2dCache {
  shape: number[];
  outShape: number[];
  dtype: 'float32' | 'float64';
  /** Flat index into x of each output's maximum, in output order. */
  argmax: Int32Array;
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
    pool2x2(xs, N * C, H, W, outH, outW, out, argmax);
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

/**
 * The 2×2 stride-2 windows without padding (every window whole, so no bounds), unrolled: the
 * same comparisons in the same order as the general loop. WHY: the general loop's per-window
 * bounds and inner loops made a LeNet-sized pool (64×30×24×24) take 9 ms.
 */
function pool2x2(xs: FloatArray, planes: number, H: number, W: number, outH: number, outW: number, out: FloatArray, argmax: Int32Array | null): void {
  let q = 0;
  for (let p = 0; p < planes; p++) {
    for (let oh = 0; oh < outH; oh++) {
      const r0 = (p * H + 2 * oh) * W;
      const r1 = r0 + W;
      for (let ow = 0; ow < outW; ow++, q++) {
        const i0 = r0 + 2 * ow;
        const i2 = r1 + 2 * ow;
        let best = xs[i0];
        let at = i0;
        const b = xs[i0 + 1];
        if (b > best || b !== b) {
          best = b;
          at = i0 + 1;
        }
        const c = xs[i2];
        if (c > best || c !== c) {
          best = c;
          at = i2;
        }
        const d = xs[i2 + 1];
        if (d > best || d !== d) {
          best = d;
          at = i2 + 1;
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
    const argmax = new Int32Array(n);
    maxPool2dKernel(dense('x', x).data, g, out, argmax);
    return { out: ndarray(out, [g.N, g.C, g.outH, g.outW]), cache: { shape: x.shape.slice(), outShape: [g.N, g.C, g.outH, g.outW], dtype, argmax } };
  },
  backward(dout, cache) {
    checkPooledDout(dout, cache.outShape);
    const dx = allocFloat(cache.dtype, cache.shape.reduce((a, b) => a * b, 1));
    maxPool2dScatter(denseAs('dout', dout, cache.dtype).data, cache.argmax, dx);
    return [ndarray(dx, cache.shape.slice())];
  },
});
