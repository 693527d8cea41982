import ndarray from 'ndarray';
import { ShapeError } from '../core/check';
import { allocFloat } from '../core/dtype';
import { dtypeOf, type Tensor } from '../core/tensor';
import { im2colInto } from './im2col';
import { checkPoolArgs, checkPoolDout, type PoolParam } from './pool';
import { dense } from './layerArgs';

/*
 * Fast max pooling picks one of two paths, as cs231n's `max_pool_forward_fast`:
 *
 * - reshape path, when poolHeight == poolWidth == stride and the windows tile H and W exactly:
 *   windows are disjoint blocks. Backward splits each window's gradient evenly among the
 *   entries equal to its maximum (cs231n's `max_pool_backward_reshape` divides by the number of
 *   ties), so with ties it differs from the naive layer, which gives everything to the first.
 * - im2col path otherwise (overlapping or strided windows): x is unfolded as (N·C, 1, H, W),
 *   each column's argmax (first maximum in row-major window order, like numpy) is recorded, and
 *   backward adds each output gradient onto its argmax — the same single winner as the naive
 *   layer. The additions are made in output order, the naive layer's order, so overlapping
 *   windows accumulate bit-identically. Like cs231n's im2col pool, this path needs
 *   (H − poolHeight) and (W − poolWidth) divisible by the stride.
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
  const xs = dense('x', x).data;
  const dtype = dtypeOf(x);
  const pp = { poolHeight: fh, poolWidth: fw, stride };
  const P = outH * outW;
  const out = allocFloat(dtype, N * C * P);
  if (fh === fw && fw === stride && H % fh === 0 && W % fw === 0) {
    let k = 0;
    for (let nc = 0; nc < N * C; nc++) {
      const plane = nc * H * W;
      for (let oh = 0; oh < outH; oh++) {
        for (let ow = 0; ow < outW; ow++) {
          let best = -Infinity;
          for (let i = 0; i < fh; i++) {
            const row = plane + (oh * fh + i) * W + ow * fw;
            for (let j = 0; j < fw; j++) if (xs[row + j] > best) best = xs[row + j];
          }
          out[k++] = best;
        }
      }
    }
    const o = ndarray(out, [N, C, outH, outW]);
    return { out: o, cache: { x, poolParam: pp, method: 'reshape', out: o } };
  }
  if ((H - fh) % stride !== 0 || (W - fw) % stride !== 0) {
    const bad = (H - fh) % stride !== 0 ? `H − poolHeight = ${H} − ${fh} = ${H - fh}` : `W − poolWidth = ${W} − ${fw} = ${W - fw}`;
    throw new ShapeError(`poolParam.stride: the fast max pool needs windows that fit a whole number of strides, but ${bad} is not divisible by stride ${stride} (x ${JSON.stringify(x.shape)})`);
  }
  const NC = N * C;
  const NCP = NC * P;
  const cols = allocFloat(dtype, fh * fw * NCP);
  // Each channel plane is one single-channel "sample" of the unfolding.
  im2colInto(xs, { ...g, N: NC, C: 1 }, 0, 1, cols);
  const best = new Float64Array(NCP).fill(-Infinity);
  const arg = new Int32Array(NCP);
  for (let r = 0; r < fh * fw; r++) {
    const base = r * NCP;
    for (let q = 0; q < NCP; q++) {
      const v = cols[base + q];
      if (v > best[q]) {
        best[q] = v;
        arg[q] = r;
      }
    }
  }
  const argmax = new Int32Array(NCP);
  for (let q = 0; q < NCP; q++) {
    const nc = Math.floor(q / P);
    const p = q - nc * P;
    const oh = Math.floor(p / outW);
    const ow = p - oh * outW;
    const ki = Math.floor(arg[q] / fw);
    const kj = arg[q] - ki * fw;
    argmax[q] = nc * H * W + (oh * stride + ki) * W + ow * stride + kj;
    out[q] = xs[argmax[q]];
  }
  return { out: ndarray(out, [N, C, outH, outW]), cache: { x, poolParam: pp, method: 'im2col', argmax } };
}

/** Backward of {@link maxPoolForwardFast}; tie handling per path is in the file comment. */
export function maxPoolBackwardFast(dout: Tensor, cache: PoolFastCache): { dx: Tensor } {
  const g = checkPoolArgs(cache.x, cache.poolParam);
  const { N, C, H, W, fh, fw, outH, outW } = g;
  const dtype = dtypeOf(cache.x);
  const d = checkPoolDout(dout, g, dtype).data;
  const dx = allocFloat(dtype, N * C * H * W);
  if (cache.method === 'im2col') {
    const argmax = cache.argmax as Int32Array;
    for (let q = 0; q < argmax.length; q++) dx[argmax[q]] += d[q];
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
