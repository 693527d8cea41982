import ndarray from 'ndarray';
import { assertArg } from '../core/check';
import { allocFloat, allocFloatUninit, type FloatArray } from '../core/dtype';
import { dtypeOf, type Tensor } from '../core/tensor';
import { dense, denseAs } from '../layers/layerArgs';
import { runAvgPool } from './kernels/avgPoolTasks';
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

/** The pool job of geometry `g` (kernels/avgPoolTasks.ts: every window, on every thread). */
function windows(g: Pool2dGeometry, countIncludePad: boolean, backward: boolean, src: FloatArray, dst: FloatArray): Parameters<typeof runAvgPool>[0] {
  const { N, C, ...window } = g;
  return { backward, planes: N * C, ...window, countIncludePad, src, dst };
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
    // Every window writes its output: no zero fill.
    const out = allocFloatUninit(dtype, g.N * g.C * g.outH * g.outW);
    if (wholePlane(g)) {
      // On every thread (kernels/planeTasks.ts): MobileNet V2's 4×4 pool of 1280 channels took 6.6 ms alone.
      runPlanes('mean', g.N * g.C, g.H * g.W, xs, out);
      return { out: ndarray(out, [g.N, g.C, 1, 1]), cache: { g, countIncludePad, dtype } };
    }
    runAvgPool(windows(g, countIncludePad, false, xs, out));
    return { out: ndarray(out, [g.N, g.C, g.outH, g.outW]), cache: { g, countIncludePad, dtype } };
  },
  backward(dout, cache) {
    const { g, dtype } = cache;
    checkPooledDout(dout, [g.N, g.C, g.outH, g.outW]);
    const d = denseAs('dout', dout, dtype).data;
    if (wholePlane(g)) {
      const dx = allocFloatUninit(dtype, g.N * g.C * g.H * g.W);
      runPlanes('spread', g.N * g.C, g.H * g.W, d, dx);
      return [ndarray(dx, [g.N, g.C, g.H, g.W]) as Tensor];
    }
    const dx = allocFloat(dtype, g.N * g.C * g.H * g.W);
    runAvgPool(windows(g, cache.countIncludePad, true, d, dx));
    return [ndarray(dx, [g.N, g.C, g.H, g.W]) as Tensor];
  },
});
