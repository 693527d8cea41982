import { showValue } from '../core/check';
import type { Tensor } from '../core/tensor';
import { affineBackward, affineForward, type AffineCache } from './affine';
import { batchnormBackwardAlt, batchnormForward, type BatchnormCache, type BatchnormParam } from './batchnorm';
import type { ConvParam } from './conv';
import { convBackwardFast, convForwardFast, type ConvFastCache } from './convFast';
import { layernormBackward, layernormForward, type LayernormCache, type LayernormParam } from './layernorm';
import type { PoolParam } from './pool';
import { maxPoolBackwardFast, maxPoolForwardFast, type PoolFastCache } from './poolFast';
import { reluBackward, reluForward, type ReluCache } from './relu';
import { spatialBatchnormBackward, spatialBatchnormForward, type SpatialBatchnormCache } from './spatialBatchnorm';

/*
 * Common layer stacks (cs231n's layer_utils), composed from the single layers — no gradient is
 * derived here. Convolutions and pools use the fast versions, as cs231n's do.
 */

/** Cache of {@link affineReluForward}. */
export interface AffineReluCache {
  fcCache: AffineCache;
  reluCache: ReluCache;
}

/** affine → ReLU. */
export function affineReluForward(x: Tensor, w: Tensor, b: Tensor): { out: Tensor; cache: AffineReluCache } {
  const a = affineForward(x, w, b);
  const r = reluForward(a.out);
  return { out: r.out, cache: { fcCache: a.cache, reluCache: r.cache } };
}

/** Backward of {@link affineReluForward}: `{ dx, dw, db }`. */
export function affineReluBackward(dout: Tensor, cache: AffineReluCache): { dx: Tensor; dw: Tensor; db: Tensor } {
  const { dx: da } = reluBackward(dout, cache.reluCache);
  return affineBackward(da, cache.fcCache);
}

/** Which normalisation {@link affineNormReluForward} inserts. */
export type Normalization = 'batchnorm' | 'layernorm';

/** Cache of {@link affineNormReluForward}. */
export interface AffineNormReluCache {
  normalization: Normalization;
  fcCache: AffineCache;
  normCache: BatchnormCache | LayernormCache;
  reluCache: ReluCache;
}

/**
 * affine → batch norm or layer norm → ReLU (the hidden block of cs231n's FullyConnectedNet).
 * `normParam` is the BN param (mode and running statistics, updated in place) or the LN param.
 */
export function affineNormReluForward(
  x: Tensor, w: Tensor, b: Tensor, gamma: Tensor, beta: Tensor, normParam: BatchnormParam | LayernormParam, normalization: Normalization,
): { out: Tensor; cache: AffineNormReluCache } {
  const a = affineForward(x, w, b);
  let n: { out: Tensor; cache: BatchnormCache | LayernormCache };
  if (normalization === 'batchnorm') n = batchnormForward(a.out, gamma, beta, normParam as BatchnormParam);
  else if (normalization === 'layernorm') n = layernormForward(a.out, gamma, beta, normParam as LayernormParam);
  else throw new RangeError(`normalization: expected 'batchnorm' or 'layernorm', got ${showValue(normalization)}`);
  const r = reluForward(n.out);
  return { out: r.out, cache: { normalization, fcCache: a.cache, normCache: n.cache, reluCache: r.cache } };
}

/** Backward of {@link affineNormReluForward}: `{ dx, dw, db, dgamma, dbeta }`. */
export function affineNormReluBackward(
  dout: Tensor, cache: AffineNormReluCache,
): { dx: Tensor; dw: Tensor; db: Tensor; dgamma: Tensor; dbeta: Tensor } {
  const { dx: dn } = reluBackward(dout, cache.reluCache);
  const { dx: da, dgamma, dbeta } = cache.normalization === 'batchnorm'
    ? batchnormBackwardAlt(dn, cache.normCache as BatchnormCache)
    : layernormBackward(dn, cache.normCache as LayernormCache);
  const { dx, dw, db } = affineBackward(da, cache.fcCache);
  return { dx, dw, db, dgamma, dbeta };
}

/** Cache of {@link convReluForward}. */
export interface ConvReluCache {
  convCache: ConvFastCache;
  reluCache: ReluCache;
}

/** conv (fast) → ReLU. */
export function convReluForward(x: Tensor, w: Tensor, b: Tensor, convParam: ConvParam): { out: Tensor; cache: ConvReluCache } {
  const c = convForwardFast(x, w, b, convParam);
  const r = reluForward(c.out);
  return { out: r.out, cache: { convCache: c.cache, reluCache: r.cache } };
}

/** Backward of {@link convReluForward}: `{ dx, dw, db }`. */
export function convReluBackward(dout: Tensor, cache: ConvReluCache): { dx: Tensor; dw: Tensor; db: Tensor } {
  const { dx: da } = reluBackward(dout, cache.reluCache);
  return convBackwardFast(da, cache.convCache);
}

/** Cache of {@link convReluPoolForward}. */
export interface ConvReluPoolCache {
  convCache: ConvFastCache;
  reluCache: ReluCache;
  poolCache: PoolFastCache;
}

/** conv (fast) → ReLU → max pool (fast). */
export function convReluPoolForward(
  x: Tensor, w: Tensor, b: Tensor, convParam: ConvParam, poolParam: PoolParam,
): { out: Tensor; cache: ConvReluPoolCache } {
  const c = convForwardFast(x, w, b, convParam);
  const r = reluForward(c.out);
  const p = maxPoolForwardFast(r.out, poolParam);
  return { out: p.out, cache: { convCache: c.cache, reluCache: r.cache, poolCache: p.cache } };
}

/** Backward of {@link convReluPoolForward}: `{ dx, dw, db }`. */
export function convReluPoolBackward(dout: Tensor, cache: ConvReluPoolCache): { dx: Tensor; dw: Tensor; db: Tensor } {
  const { dx: ds } = maxPoolBackwardFast(dout, cache.poolCache);
  const { dx: da } = reluBackward(ds, cache.reluCache);
  return convBackwardFast(da, cache.convCache);
}

/** Cache of {@link convBnReluForward}. */
export interface ConvBnReluCache {
  convCache: ConvFastCache;
  bnCache: SpatialBatchnormCache;
  reluCache: ReluCache;
}

/** conv (fast) → spatial batch norm → ReLU. */
export function convBnReluForward(
  x: Tensor, w: Tensor, b: Tensor, gamma: Tensor, beta: Tensor, convParam: ConvParam, bnParam: BatchnormParam,
): { out: Tensor; cache: ConvBnReluCache } {
  const c = convForwardFast(x, w, b, convParam);
  const n = spatialBatchnormForward(c.out, gamma, beta, bnParam);
  const r = reluForward(n.out);
  return { out: r.out, cache: { convCache: c.cache, bnCache: n.cache, reluCache: r.cache } };
}

/** Backward of {@link convBnReluForward}: `{ dx, dw, db, dgamma, dbeta }`. */
export function convBnReluBackward(
  dout: Tensor, cache: ConvBnReluCache,
): { dx: Tensor; dw: Tensor; db: Tensor; dgamma: Tensor; dbeta: Tensor } {
  const { dx: dn } = reluBackward(dout, cache.reluCache);
  const { dx: dc, dgamma, dbeta } = spatialBatchnormBackward(dn, cache.bnCache);
  const { dx, dw, db } = convBackwardFast(dc, cache.convCache);
  return { dx, dw, db, dgamma, dbeta };
}
