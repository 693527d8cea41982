import ndarray from 'ndarray';
import { assertArg } from '../core/check';
import { allocFloat, allocFloatUninit } from '../core/dtype';
import { dtypeOf, type Tensor } from '../core/tensor';
import { dense, denseAs } from '../layers/layerArgs';
import { runPlanes } from './kernels/planeTasks';
import { defineOp } from './op';
import { checkPooledDout, pool2dGeometry, type Pool2dAttrs, type Pool2dGeometry } from './poolArgs';

/** Attributes of {@link avgPool2d}: the window plus PyTorch's divisor rule. */
export interface AvgPool2dAttrs extends Pool2dAttrs {
  /**
   * Divide by the window clipped to the padded input (true, PyTorch's default) or by the
   * number of real input positions in it (false). Either way a ceil-mode window hanging past
   * the right padding is clipped there, as PyTorch does.
   */
  countIncludePad?: boolean;
}

/** What {@link avgPool2d} keeps for backward: the geometry only. */
export interface AvgPool2dCache {
  g: Pool2dGeometry;
  countIncludePad: boolean;
  dtype: 'float32' | 'float64';
}

/**
 * Visits every window: `fn(q, plane, h0, h1, w0, w1, divisor)` with the output index, the
 * window's clipped input rows [h0, h1) and columns [w0, w1), and its divisor.
 */
function eachWindow(g: Pool2dGeometry, countIncludePad: boolean, fn: (q: number, plane: number, h0: number, h1: number, w0: number, w1: number, div: number) => void): void {
  const { N, C, H, W, kh, kw, sh, sw, ph, pw, outH, outW } = g;
  let q = 0;
  for (let nc = 0; nc < N * C; nc++) {
    const plane = nc * H * W;
    for (let oh = 0; oh < outH; oh++) {
      const hs = oh * sh - ph;
      const he = Math.min(hs + kh, H + ph);
      const h0 = Math.max(hs, 0);
      const h1 = Math.min(he, H);
      for (let ow = 0; ow < outW; ow++, q++) {
        const ws = ow * sw - pw;
        const we = Math.min(ws + kw, W + pw);
        const w0 = Math.max(ws, 0);
        const w1 = Math.min(we, W);
        fn(q, plane, h0, h1, w0, w1, countIncludePad ? (he - hs) * (we - ws) : (h1 - h0) * (w1 - w0));
      }
    }
  }
}

/** One window covering each whole plane (a classifier's final pool): the planes' means. */
const wholePlane = (g: Pool2dGeometry): boolean => g.kh === g.H && g.kw === g.W && g.ph === 0 && g.pw === 0 && g.outH === 1 && g.outW === 1;

/**
 * `avg_pool2d`: window means of x `(N, C, H, W)` with PyTorch's kernel size, stride, zero
 * padding, ceil mode and `count_include_pad`; backward spreads dout/divisor over each window.
 */
export const avgPool2d = defineOp<AvgPool2dAttrs, AvgPool2dCache>({
  name: 'avg_pool2d',
  forward(inputs, attrs) {
    const [x] = inputs;
    const g = pool2dGeometry('avg_pool2d', x, attrs);
    const countIncludePad = attrs.countIncludePad ?? true;
    assertArg(typeof countIncludePad === 'boolean', 'countIncludePad', 'a boolean', countIncludePad);
    const dtype = dtypeOf(x);
    const xs = dense('x', x).data;
    const { W } = g;
    const out = allocFloat(dtype, g.N * g.C * g.outH * g.outW);
    if (wholePlane(g)) {
      // On every thread (kernels/planeTasks.ts): MobileNet V2's 4×4 pool of 1280 channels took 6.6 ms alone.
      runPlanes('mean', g.N * g.C, g.H * g.W, xs, out);
      return { out: ndarray(out, [g.N, g.C, 1, 1]), cache: { g, countIncludePad, dtype } };
    }
    eachWindow(g, countIncludePad, (q, plane, h0, h1, w0, w1, div) => {
      let s = 0;
      for (let i = h0; i < h1; i++) for (let j = w0; j < w1; j++) s += xs[plane + i * W + j];
      out[q] = s / div;
    });
    return { out: ndarray(out, [g.N, g.C, g.outH, g.outW]), cache: { g, countIncludePad, dtype } };
  },
  backward(dout, cache) {
    const { g, dtype } = cache;
    checkPooledDout(dout, [g.N, g.C, g.outH, g.outW]);
    const d = denseAs('dout', dout, dtype).data;
    const { W } = g;
    if (wholePlane(g)) {
      const dx = allocFloatUninit(dtype, g.N * g.C * g.H * g.W);
      runPlanes('spread', g.N * g.C, g.H * g.W, d, dx);
      return [ndarray(dx, [g.N, g.C, g.H, g.W]) as Tensor];
    }
    const dx = allocFloat(dtype, g.N * g.C * g.H * g.W);
    eachWindow(g, cache.countIncludePad, (q, plane, h0, h1, w0, w1, div) => {
      const v = d[q] / div;
      for (let i = h0; i < h1; i++) for (let j = w0; j < w1; j++) dx[plane + i * W + j] += v;
    });
    return [ndarray(dx, [g.N, g.C, g.H, g.W]) as Tensor];
  },
});
