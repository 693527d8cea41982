import ndarray from 'ndarray';
import { assertArg, assertNdim } from '../core/check';
import { allocFloat, allocFloatUninit } from '../core/dtype';
import { dtypeOf } from '../core/tensor';
import { dense, denseAs } from '../layers/layerArgs';
import { defineOp } from './op';
import { runPlanes } from './kernels/planeTasks';
import { checkPooledDout } from './poolArgs';

/** Attributes of {@link adaptiveAvgPool2d}. */
export interface AdaptiveAvgPool2dAttrs {
  /** Output `(H', W')`: one integer for both, or a pair whose entries may be null (keep that input size). */
  outputSize: number | readonly [number | null, number | null];
}

/** What {@link adaptiveAvgPool2d} keeps for backward. */
export interface AdaptiveAvgPool2dCache {
  shape: number[];
  outH: number;
  outW: number;
  dtype: 'float32' | 'float64';
}

/** Bin i of `out` over `size`: input rows [floor(i·size/out), ceil((i+1)·size/out)) (bins may overlap). */
function bins(size: number, out: number): Int32Array {
  const b = new Int32Array(2 * out);
  for (let i = 0; i < out; i++) {
    b[2 * i] = Math.floor((i * size) / out);
    b[2 * i + 1] = Math.ceil(((i + 1) * size) / out);
  }
  return b;
}

/** The output size `[H', W']` for an input of H×W (nulls keep the input's size); validates `v`. */
export function adaptiveOutputSize(v: unknown, H: number, W: number): [number, number] {
  const pos = (d: unknown) => typeof d === 'number' && Number.isInteger(d) && d > 0;
  if (pos(v)) return [v as number, v as number];
  const ok = Array.isArray(v) && v.length === 2 && v.every((d) => d === null || pos(d));
  assertArg(ok, 'outputSize', 'a positive integer or a pair [h, w] of positive integers or nulls', v);
  const [h, w] = v as [number | null, number | null];
  return [h ?? H, w ?? W];
}

/**
 * `adaptive_avg_pool2d`: x `(N, C, H, W)` → `(N, C, H', W')` for any output size (larger than
 * the input too), each output the mean of its bin (PyTorch's and torchvision's bin rule).
 */
export const adaptiveAvgPool2d = defineOp<AdaptiveAvgPool2dAttrs, AdaptiveAvgPool2dCache>({
  name: 'adaptive_avg_pool2d',
  forward(inputs, attrs) {
    const [x] = inputs;
    assertNdim('x', x, 4);
    const [N, C, H, W] = x.shape;
    assertArg(H > 0 && W > 0, 'x', 'a non-empty spatial size', `shape (${x.shape.join(', ')})`);
    const [outH, outW] = adaptiveOutputSize(attrs?.outputSize, H, W);
    const dtype = dtypeOf(x);
    const xs = dense('x', x).data;
    const bh = bins(H, outH);
    const bw = bins(W, outW);
    const out = allocFloat(dtype, N * C * outH * outW);
    const cache = { shape: x.shape.slice(), outH, outW, dtype };
    // The global pool (squeeze-and-excitation's, the classifiers'): planes on every thread.
    if (outH === 1 && outW === 1) {
      runPlanes('mean', N * C, H * W, xs, out);
      return { out: ndarray(out, [N, C, 1, 1]), cache };
    }
    let q = 0;
    for (let nc = 0; nc < N * C; nc++) {
      const plane = nc * H * W;
      for (let i = 0; i < outH; i++) {
        for (let j = 0; j < outW; j++, q++) {
          let s = 0;
          if (bw[2 * j] === 0 && bw[2 * j + 1] === W) {
            // A full-width bin is one run of rows: four partial sums, not one chain of dependent
            // adds (bound by the add latency), as the global pool's tasks sum a plane.
            let s1 = 0, s2 = 0, s3 = 0;
            const end = plane + bh[2 * i + 1] * W;
            let t = plane + bh[2 * i] * W;
            for (; t + 4 <= end; t += 4) {
              s += xs[t];
              s1 += xs[t + 1];
              s2 += xs[t + 2];
              s3 += xs[t + 3];
            }
            for (; t < end; t++) s += xs[t];
            s = (s + s1) + (s2 + s3);
          } else {
            for (let h = bh[2 * i]; h < bh[2 * i + 1]; h++) for (let w = bw[2 * j]; w < bw[2 * j + 1]; w++) s += xs[plane + h * W + w];
          }
          out[q] = s / ((bh[2 * i + 1] - bh[2 * i]) * (bw[2 * j + 1] - bw[2 * j]));
        }
      }
    }
    return { out: ndarray(out, [N, C, outH, outW]), cache };
  },
  backward(dout, cache) {
    const { shape, outH, outW, dtype } = cache;
    const [N, C, H, W] = shape;
    checkPooledDout(dout, [N, C, outH, outW]);
    const d = denseAs('dout', dout, dtype).data;
    if (outH === 1 && outW === 1) {
      const dx = allocFloatUninit(dtype, N * C * H * W);
      runPlanes('spread', N * C, H * W, d, dx);
      return [ndarray(dx, shape.slice())];
    }
    const bh = bins(H, outH);
    const bw = bins(W, outW);
    const dx = allocFloat(dtype, N * C * H * W);
    let q = 0;
    for (let nc = 0; nc < N * C; nc++) {
      const plane = nc * H * W;
      for (let i = 0; i < outH; i++) {
        for (let j = 0; j < outW; j++, q++) {
          const v = d[q] / ((bh[2 * i + 1] - bh[2 * i]) * (bw[2 * j + 1] - bw[2 * j]));
          for (let h = bh[2 * i]; h < bh[2 * i + 1]; h++) for (let w = bw[2 * j]; w < bw[2 * j + 1]; w++) dx[plane + h * W + w] += v;
        }
      }
    }
    return [ndarray(dx, shape.slice())];
  },
});
