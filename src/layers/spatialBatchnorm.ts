import ndarray from 'ndarray';
import { assertNdim, assertSameShape } from '../core/check';
import { allocFloat, type FloatArray } from '../core/dtype';
import { dtypeOf, type Tensor } from '../core/tensor';
import { batchnormBackwardAlt, batchnormForward, type BatchnormCache, type BatchnormParam } from './batchnorm';
import { channelParam, dense } from './layerArgs';

/*
 * Spatial batch norm is vanilla batch norm with every pixel of every image counted as one example
 * of C features: (N, C, H, W) is laid out as (N·H·W, C), handed to batchnormForward (so the
 * running-statistics update and modes are exactly those of the vanilla layer), and laid back.
 */

/** What {@link spatialBatchnormForward} keeps for the backward pass. */
export interface SpatialBatchnormCache {
  bnCache: BatchnormCache;
  shape: number[];
  /** gamma's shape as passed, so dgamma/dbeta come back in it. */
  paramShape: number[];
}

/** (N, C, HW) → (N·HW, C). */
function toRows(src: FloatArray, N: number, C: number, HW: number, dst: FloatArray): void {
  for (let n = 0; n < N; n++) {
    for (let c = 0; c < C; c++) {
      const s = (n * C + c) * HW;
      const d = n * HW * C + c;
      for (let p = 0; p < HW; p++) dst[d + p * C] = src[s + p];
    }
  }
}

/** (N·HW, C) → (N, C, HW). */
function fromRows(src: FloatArray, N: number, C: number, HW: number, dst: FloatArray): void {
  for (let n = 0; n < N; n++) {
    for (let c = 0; c < C; c++) {
      const d = (n * C + c) * HW;
      const s = n * HW * C + c;
      for (let p = 0; p < HW; p++) dst[d + p] = src[s + p * C];
    }
  }
}

/**
 * Batch norm of x `(N, C, H, W)` per channel, statistics over (N, H, W). gamma/beta `(C,)` or
 * `(1, C, 1, 1)`; `bnParam` as for {@link batchnormForward} (running stats `(C,)`, updated in place).
 */
export function spatialBatchnormForward(x: Tensor, gamma: Tensor, beta: Tensor, bnParam: BatchnormParam): { out: Tensor; cache: SpatialBatchnormCache } {
  assertNdim('x', x, 4);
  const [N, C, H, W] = x.shape;
  const xd = dense('x', x);
  const dtype = dtypeOf(xd);
  const g = channelParam('gamma', gamma, C, dtype);
  const b = channelParam('beta', beta, C, dtype);
  const HW = H * W;
  const rows = allocFloat(dtype, N * HW * C);
  toRows(xd.data, N, C, HW, rows);
  const { out: o2, cache: bnCache } = batchnormForward(ndarray(rows, [N * HW, C]), ndarray(g.values.data, [C]), ndarray(b.values.data, [C]), bnParam);
  const out = allocFloat(dtype, N * C * HW);
  fromRows(o2.data, N, C, HW, out);
  return { out: ndarray(out, [N, C, H, W]), cache: { bnCache, shape: [N, C, H, W], paramShape: g.shape } };
}

/** Backward of {@link spatialBatchnormForward}: `{ dx, dgamma, dbeta }`, dgamma/dbeta in gamma's shape. */
export function spatialBatchnormBackward(dout: Tensor, cache: SpatialBatchnormCache): { dx: Tensor; dgamma: Tensor; dbeta: Tensor } {
  const { shape, paramShape } = cache;
  assertSameShape('x', { shape }, 'dout', dout);
  const [N, C, H, W] = shape;
  const HW = H * W;
  const dtype = dtypeOf(cache.bnCache.x);
  const dd = dense('dout', dout);
  const rows = allocFloat(dtype, N * HW * C);
  toRows(dd.data, N, C, HW, rows);
  const { dx: dx2, dgamma, dbeta } = batchnormBackwardAlt(ndarray(rows, [N * HW, C]), cache.bnCache);
  const dx = allocFloat(dtype, N * C * HW);
  fromRows(dx2.data, N, C, HW, dx);
  return { dx: ndarray(dx, shape.slice()), dgamma: ndarray(dgamma.data, paramShape.slice()), dbeta: ndarray(dbeta.data, paramShape.slice()) };
}
