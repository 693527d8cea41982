import ndarray from 'ndarray';
import { assertArg, assertSameShape, shapeStr } from '../core/check';
import { allocFloat, type DType } from '../core/dtype';
import { dtypeOf, type Tensor } from '../core/tensor';
import { dense, denseAs } from '../layers/layerArgs';
import { defineOp } from './op';

/** Attributes of {@link localResponseNorm} (PyTorch's names and defaults). */
export interface LocalResponseNormAttrs {
  /** Number of neighbouring channels n in the window. */
  size: number;
  /** Default 1e-4 (divided by n, as PyTorch and Caffe). */
  alpha?: number;
  /** Default 0.75. */
  beta?: number;
  /** Default 1. */
  k?: number;
}

/** What {@link localResponseNorm} keeps for backward. */
export interface LocalResponseNormCache {
  x: Tensor;
  /** D = k + (α/n)·Σ_window x², per element. */
  denom: Float64Array;
  size: number;
  alpha: number;
  beta: number;
  dtype: DType;
}

/**
 * PyTorch's `local_response_norm` across channels of x `(N, C, …)`:
 * `y_c = x_c / D_c^β`, `D_c = k + (α/n)·Σ x_{c'}²` over channels c' ∈ [c − ⌊n/2⌋, c + ⌊(n−1)/2⌋]
 * (zero padding beyond the ends; an even n leans towards lower channels, as PyTorch's padding).
 * Backward: `dx_i = dy_i·D_i^−β − (2αβ/n)·x_i·Σ_{j: i ∈ win(j)} dy_j·x_j·D_j^(−β−1)`.
 */
export const localResponseNorm = defineOp<LocalResponseNormAttrs, LocalResponseNormCache>({
  name: 'local_response_norm',
  forward(inputs, attrs) {
    const [x] = inputs;
    assertArg(Array.isArray(x?.shape) && x.shape.length >= 3, 'x', 'an array of shape (N, C, …) with at least 3 axes', Array.isArray(x?.shape) ? shapeStr(x.shape) : String(x));
    const size = attrs?.size;
    assertArg(typeof size === 'number' && Number.isInteger(size) && size > 0, 'size', 'a positive integer', size);
    const alpha = attrs.alpha ?? 1e-4;
    const beta = attrs.beta ?? 0.75;
    const k = attrs.k ?? 1;
    for (const [n, v] of [['alpha', alpha], ['beta', beta], ['k', k]] as const) assertArg(Number.isFinite(v), n, 'a finite number', v);
    const [N, C] = x.shape;
    const inner = x.size / (N * C);
    const xs = dense('x', x).data;
    const dtype = dtypeOf(x);
    const denom = new Float64Array(x.size);
    const out = allocFloat(dtype, x.size);
    const lo = size >> 1;
    const hi = (size - 1) >> 1;
    for (let n = 0; n < N; n++) {
      for (let c = 0; c < C; c++) {
        const base = (n * C + c) * inner;
        const c0 = Math.max(0, c - lo);
        const c1 = Math.min(C - 1, c + hi);
        for (let p = 0; p < inner; p++) {
          let s = 0;
          for (let cc = c0; cc <= c1; cc++) {
            const v = xs[(n * C + cc) * inner + p];
            s += v * v;
          }
          const D = k + (alpha / size) * s;
          denom[base + p] = D;
          out[base + p] = xs[base + p] * Math.pow(D, -beta);
        }
      }
    }
    return { out: ndarray(out, x.shape.slice()), cache: { x, denom, size, alpha, beta, dtype } };
  },
  backward(dout, cache) {
    const { x, denom, size, alpha, beta, dtype } = cache;
    assertSameShape('x', x, 'dout', dout);
    const xs = dense('x', x).data;
    const d = denseAs('dout', dout, dtype).data;
    const [N, C] = x.shape;
    const inner = x.size / (N * C);
    // t_j = dy_j·x_j·D_j^(−β−1); channel i collects t_j over the j whose window holds i:
    // j ∈ [i − ⌊(n−1)/2⌋, i + ⌊n/2⌋].
    const t = new Float64Array(x.size);
    for (let i = 0; i < x.size; i++) t[i] = d[i] * xs[i] * Math.pow(denom[i], -beta - 1);
    const lo = (size - 1) >> 1;
    const hi = size >> 1;
    const coef = (2 * alpha * beta) / size;
    const dx = allocFloat(dtype, x.size);
    for (let n = 0; n < N; n++) {
      for (let c = 0; c < C; c++) {
        const base = (n * C + c) * inner;
        const c0 = Math.max(0, c - lo);
        const c1 = Math.min(C - 1, c + hi);
        for (let p = 0; p < inner; p++) {
          let s = 0;
          for (let cc = c0; cc <= c1; cc++) s += t[(n * C + cc) * inner + p];
          dx[base + p] = d[base + p] * Math.pow(denom[base + p], -beta) - coef * xs[base + p] * s;
        }
      }
    }
    return [ndarray(dx, x.shape.slice())];
  },
});
