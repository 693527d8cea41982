import ndarray from 'ndarray';
import { assertNdim, ShapeError, shapeStr } from '../core/check';
import { allocFloat, type DType } from '../core/dtype';
import { dtypeOf, type Tensor } from '../core/tensor';
import { windowGeometry, type WindowGeometry } from './im2col';
import { dense, denseAs } from './layerArgs';

/** cs231n's `pool_param` (no padding). */
export interface PoolParam {
  poolHeight: number;
  poolWidth: number;
  stride: number;
}

/** What {@link maxPoolForwardNaive} keeps for the backward pass. */
export interface PoolCache {
  x: Tensor;
  poolParam: PoolParam;
}

/** Validates x `(N, C, H, W)` and the pool parameters; returns the window geometry. */
export function checkPoolArgs(x: Tensor, poolParam: PoolParam): WindowGeometry {
  if (!poolParam || typeof poolParam !== 'object') {
    throw new TypeError(`poolParam: expected an object { poolHeight, poolWidth, stride }, got ${String(poolParam)}`);
  }
  assertNdim('x', x, 4);
  for (const key of ['poolHeight', 'poolWidth', 'stride'] as const) {
    const v = poolParam[key];
    if (!(typeof v === 'number' && Number.isInteger(v) && v > 0)) {
      throw new RangeError(`poolParam.${key}: expected a positive integer, got ${JSON.stringify(v)}`);
    }
  }
  return windowGeometry(x.shape, poolParam.poolHeight, poolParam.poolWidth, poolParam.stride, 0);
}

/** Checks dout against the pooled shape `(N, C, H', W')`. */
export function checkPoolDout(dout: Tensor, g: WindowGeometry, dtype: DType): Tensor {
  const s = dout?.shape;
  const want = [g.N, g.C, g.outH, g.outW];
  if (!Array.isArray(s) || s.length !== 4 || s.some((d, i) => d !== want[i])) {
    throw new ShapeError(`dout: expected shape ${shapeStr(want)} (the forward output), got ${Array.isArray(s) ? shapeStr(s) : String(dout)}`);
  }
  return denseAs('dout', dout, dtype);
}

/**
 * Position (flat index into x) of the maximum of one window; the first in row-major window order
 * wins ties, as numpy's argmax. A NaN wins over every number (and a later NaN over an earlier
 * one), as in PyTorch's kernel and the `max_pool2d` op, so NaN propagates as numpy's `np.max`
 * does. These plain loops are the independent reference that the fast layer (which is the
 * `max_pool2d` op) is tested against.
 */
function windowArgmax(xs: ArrayLike<number>, plane: number, W: number, h0: number, w0: number, ph: number, pw: number): number {
  let best = -Infinity;
  let at = plane + h0 * W + w0;
  for (let i = 0; i < ph; i++) {
    const row = plane + (h0 + i) * W + w0;
    for (let j = 0; j < pw; j++) {
      const v = xs[row + j];
      if (v > best || v !== v) {
        best = v;
        at = row + j;
      }
    }
  }
  return at;
}

/**
 * Reference max pooling with plain loops (cs231n's `max_pool_forward_naive`): x `(N, C, H, W)` →
 * `(N, C, H', W')`, H' = 1 + floor((H − poolHeight)/stride). Windows may overlap (stride < pool).
 */
export function maxPoolForwardNaive(x: Tensor, poolParam: PoolParam): { out: Tensor; cache: PoolCache } {
  const g = checkPoolArgs(x, poolParam);
  const { N, C, H, W, fh, fw, stride, outH, outW } = g;
  const xs = dense('x', x).data;
  const out = allocFloat(dtypeOf(x), N * C * outH * outW);
  let k = 0;
  for (let nc = 0; nc < N * C; nc++) {
    const plane = nc * H * W;
    for (let oh = 0; oh < outH; oh++) {
      for (let ow = 0; ow < outW; ow++) out[k++] = xs[windowArgmax(xs, plane, W, oh * stride, ow * stride, fh, fw)];
    }
  }
  return { out: ndarray(out, [N, C, outH, outW]), cache: { x, poolParam: { ...poolParam } } };
}

/**
 * Backward of {@link maxPoolForwardNaive}: each window's gradient goes to its (first) maximum,
 * and gradients of overlapping windows that share a maximum accumulate (`+=`, not `=`).
 */
export function maxPoolBackwardNaive(dout: Tensor, cache: PoolCache): { dx: Tensor } {
  const g = checkPoolArgs(cache.x, cache.poolParam);
  const { N, C, H, W, fh, fw, stride, outH, outW } = g;
  const dtype = dtypeOf(cache.x);
  const d = checkPoolDout(dout, g, dtype).data;
  const xs = dense('x', cache.x).data;
  const dx = allocFloat(dtype, N * C * H * W);
  let k = 0;
  for (let nc = 0; nc < N * C; nc++) {
    const plane = nc * H * W;
    for (let oh = 0; oh < outH; oh++) {
      for (let ow = 0; ow < outW; ow++) dx[windowArgmax(xs, plane, W, oh * stride, ow * stride, fh, fw)] += d[k++];
    }
  }
  return { dx: ndarray(dx, [N, C, H, W]) };
}
