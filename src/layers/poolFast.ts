import ndarray from 'ndarray';
import { ShapeError } from '../core/check';
import { allocFloat } from '../core/dtype';
import { dtypeOf, type Tensor } from '../core/tensor';
import { maxPool2dKernel, maxPool2dScatter } from '../ops/maxPool2d';
import { checkPoolArgs, checkPoolDout, type PoolParam } from './pool';
import { dense } from './layerArgs';

/*
 * Fast max pooling is the `max_pool2d` op's kernel (src/ops/maxPool2d.ts: window maxima with
 * their argmax, NaN propagating). Its backward keeps cs231n's two paths, named as in
 * cs231n's `max_pool_forward_fast`:
 *
 * - reshape path, when poolHeight == poolWidth == stride and the windows tile H and W exactly:
 *   windows are disjoint blocks. Backward splits each window's gradient evenly among the
 *   entries equal to its maximum (cs231n's `max_pool_backward_reshape` divides by the number of
 *   ties), so with ties it differs from the naive layer, which gives everything to the first.
 * - "im2col" path otherwise (overlapping or strided windows; cs231n unfolds with im2col, the
 *   op scans each window in place): backward adds each output gradient onto its argmax (the
 *   first maximum in row-major window order, like numpy) in output order — the naive layer's
 *   single winner and order, so overlapping windows accumulate bit-identically. Like cs231n's
 *   im2col pool, this path needs (H − poolHeight) and (W − poolWidth) divisible by the stride.
 */

/** What {@link maxPoolForwardFast} keeps for the backward pass. */
export interface PoolFastCache {
  x: Tensor;
  poolParam: PoolParam;
  method: 'reshape' | 'im2col';
  /** reshape path: the pooled output (window maxima). */
  out?: Tensor;
  /** im2col path: flat index into x of each output's maximum. */
  argmax?: Int32Array;
}

/**
 * Max pooling of x `(N, C, H, W)` by the fastest path that applies (see the file comment).
 * Throws naming `poolParam.stride` when the windows neither tile nor fit a whole number of
 * strides.
 */
export function maxPoolForwardFast(x: Tensor, poolParam: PoolParam): { out: Tensor; cache: PoolFastCache } {
  const g = checkPoolArgs(x, poolParam);
  const { N, C, H, W, fh, fw, stride, outH, outW } = g;
  const pp = { poolHeight: fh, poolWidth: fw, stride };
  const tiles = fh === fw && fw === stride && H % fh === 0 && W % fw === 0;
  if (!tiles && ((H - fh) % stride !== 0 || (W - fw) % stride !== 0)) {
    const bad = (H - fh) % stride !== 0 ? `H − poolHeight = ${H} − ${fh} = ${H - fh}` : `W − poolWidth = ${W} − ${fw} = ${W - fw}`;
    throw new ShapeError(`poolParam.stride: the fast max pool needs windows that fit a whole number of strides, but ${bad} is not divisible by stride ${stride} (x ${JSON.stringify(x.shape)})`);
  }
  const n = N * C * outH * outW;
  const out = allocFloat(dtypeOf(x), n);
  const argmax = tiles ? null : new Int32Array(n);
  const geometry = { N, C, H, W, kh: fh, kw: fw, sh: stride, sw: stride, ph: 0, pw: 0, outH, outW };
  maxPool2dKernel(dense('x', x).data, geometry, out, argmax);
  const o = ndarray(out, [N, C, outH, outW]);
  if (tiles) return { out: o, cache: { x, poolParam: pp, method: 'reshape', out: o } };
  return { out: o, cache: { x, poolParam: pp, method: 'im2col', argmax: argmax as Int32Array } };
}

/** Backward of {@link maxPoolForwardFast}; tie handling per path is in the file comment. */
export function maxPoolBackwardFast(dout: Tensor, cache: PoolFastCache): { dx: Tensor } {
  const g = checkPoolArgs(cache.x, cache.poolParam);
  const { N, C, H, W, fh, fw, outH, outW } = g;
  const dtype = dtypeOf(cache.x);
  const d = checkPoolDout(dout, g, dtype).data;
  const dx = allocFloat(dtype, N * C * H * W);
  if (cache.method === 'im2col') {
    maxPool2dScatter(d, cache.argmax as Int32Array, dx);
    return { dx: ndarray(dx, [N, C, H, W]) };
  }
  const xs = dense('x', cache.x).data;
  const o = (cache.out as Tensor).data;
  let k = 0;
  for (let nc = 0; nc < N * C; nc++) {
    const plane = nc * H * W;
    for (let oh = 0; oh < outH; oh++) {
      for (let ow = 0; ow < outW; ow++, k++) {
        const m = o[k];
        let ties = 0;
        for (let i = 0; i < fh; i++) {
          const row = plane + (oh * fh + i) * W + ow * fw;
          for (let j = 0; j < fw; j++) if (xs[row + j] === m) ties++;
        }
        if (ties === 0) continue;
        const share = d[k] / ties;
        for (let i = 0; i < fh; i++) {
          const row = plane + (oh * fh + i) * W + ow * fw;
          for (let j = 0; j < fw; j++) if (xs[row + j] === m) dx[row + j] = share;
        }
      }
    }
  }
  return { dx: ndarray(dx, [N, C, H, W]) };
}
