import ndarray from 'ndarray';
import { ShapeError, shapeStr } from '../core/check';
import { allocFloat, allocFloatUninit } from '../core/dtype';
import { dtypeOf } from '../core/tensor';
import { dense, denseAs } from '../layers/layerArgs';
import { runPlanes } from './kernels/planeTasks';
import { defineOp } from './op';

/** What channelScale keeps for backward. */
export interface ChannelScaleCache {
  x: Float64Array | Float32Array;
  s: Float64Array | Float32Array;
  shape: number[];
}

/**
 * y = x ⊙ s with x `(N, C, H, W)` and one scale per sample and channel, s `(N, C, 1, 1)` (or
 * `(N, C)`), broadcast over H and W: the gate of a squeeze-and-excitation block.
 * Gradients `[dy ⊙ s, Σ_{H,W} dy ⊙ x]` (the second in s's shape).
 */
export const channelScale = defineOp<Record<string, never>, ChannelScaleCache & { sShape: number[] }>({
  name: 'channel_scale',
  forward(inputs) {
    const [x, s] = inputs;
    if (x?.shape?.length !== 4) throw new ShapeError(`x: expected shape (N, C, H, W), got ${x?.shape ? shapeStr(x.shape) : String(x)}`);
    const [N, C, H, W] = x.shape;
    const ok = s?.shape && ((s.shape.length === 4 && s.shape[0] === N && s.shape[1] === C && s.shape[2] === 1 && s.shape[3] === 1) || (s.shape.length === 2 && s.shape[0] === N && s.shape[1] === C));
    if (!ok) throw new ShapeError(`scale: expected shape (${N}, ${C}, 1, 1) to match x ${shapeStr(x.shape)}, got ${s?.shape ? shapeStr(s.shape) : String(s)}`);
    const xd = dense('x', x).data;
    const dtype = dtypeOf(x);
    const sd = denseAs('scale', s, dtype).data;
    const T = H * W;
    // Every element is written: no zero fill.
    const out = allocFloatUninit(dtype, xd.length);
    runPlanes('scale', N * C, T, xd, sd, out);
    return { out: ndarray(out, [N, C, H, W]), cache: { x: xd, s: sd, shape: [N, C, H, W], sShape: s.shape.slice() } };
  },
  backward(dout, cache) {
    const { x, s, shape, sShape } = cache;
    const [N, C, H, W] = shape;
    if (dout?.shape?.length !== 4 || dout.shape.some((d, i) => d !== shape[i])) {
      throw new ShapeError(`dout: expected shape ${shapeStr(shape)} (the forward output), got ${dout?.shape ? shapeStr(dout.shape) : String(dout)}`);
    }
    const dtype = x instanceof Float32Array ? 'float32' : 'float64';
    const g = denseAs('dout', dout, dtype).data;
    const T = H * W;
    const dx = allocFloatUninit(dtype, x.length);
    const ds = allocFloat(dtype, N * C);
    runPlanes('scaleBwd', N * C, T, g, x, s, dx, ds);
    return [ndarray(dx, shape.slice()), ndarray(ds, sShape.slice())];
  },
});
