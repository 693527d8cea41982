import { showValue } from '../core/check';
import type { Tensor } from '../core/tensor';
import { chainBackward, chainForward, type ChainCache, type ChainStep } from './chain';
import { affineBackward, affineForward } from './affine';
import { batchnormBackwardAlt, batchnormForward, type BatchnormParam } from './batchnorm';
import type { ConvParam } from './conv';
import { convBackwardFast, convForwardFast } from './convFast';
import { layernormBackward, layernormForward, type LayernormParam } from './layernorm';
import type { PoolParam } from './pool';
import { maxPoolBackwardFast, maxPoolForwardFast } from './poolFast';
import { reluBackward, reluForward } from './relu';
import { spatialBatchnormBackward, spatialBatchnormForward } from './spatialBatchnorm';

/*
 * Common layer stacks (cs231n's layer_utils) as chains of the single layers (chain.ts): no cache
 * is written and no gradient derived here. Convolutions and pools use the fast versions, as
 * cs231n's do.
 */

/** The chain steps of the single layers, for stacks built elsewhere (FullyConnectedNet). */
export const layerSteps = {
  affine: (w: Tensor, b: Tensor, names?: Record<string, string>): ChainStep => ({ forward: (h) => affineForward(h, w, b), backward: affineBackward, names }),
  relu: (): ChainStep => ({ forward: reluForward, backward: reluBackward }),
  batchnorm: (gamma: Tensor, beta: Tensor, p: BatchnormParam, names?: Record<string, string>): ChainStep => ({ forward: (h) => batchnormForward(h, gamma, beta, p), backward: batchnormBackwardAlt, names }),
  layernorm: (gamma: Tensor, beta: Tensor, p: LayernormParam, names?: Record<string, string>): ChainStep => ({ forward: (h) => layernormForward(h, gamma, beta, p), backward: layernormBackward, names }),
  conv: (w: Tensor, b: Tensor, convParam: ConvParam): ChainStep => ({ forward: (h) => convForwardFast(h, w, b, convParam), backward: convBackwardFast }),
  maxPool: (poolParam: PoolParam): ChainStep => ({ forward: (h) => maxPoolForwardFast(h, poolParam), backward: maxPoolBackwardFast }),
  spatialBatchnorm: (gamma: Tensor, beta: Tensor, p: BatchnormParam): ChainStep => ({ forward: (h) => spatialBatchnormForward(h, gamma, beta, p), backward: spatialBatchnormBackward }),
};

/** Cache of every sandwich layer: its chain. */
export type AffineReluCache = ChainCache;
export type AffineNormReluCache = ChainCache;
export type ConvReluCache = ChainCache;
export type ConvReluPoolCache = ChainCache;
export type ConvBnReluCache = ChainCache;

/** affine → ReLU. */
export function affineReluForward(x: Tensor, w: Tensor, b: Tensor): { out: Tensor; cache: AffineReluCache } {
  return chainForward(x, [layerSteps.affine(w, b), layerSteps.relu()]);
}

/** Backward of {@link affineReluForward}: `{ dx, dw, db }`. */
export function affineReluBackward(dout: Tensor, cache: AffineReluCache): { dx: Tensor; dw: Tensor; db: Tensor } {
  return chainBackward(dout, cache);
}

/** Which normalisation {@link affineNormReluForward} inserts. */
export type Normalization = 'batchnorm' | 'layernorm';

/** The normalisation step of a hidden block (checks the name). */
export function normStep(normalization: Normalization, gamma: Tensor, beta: Tensor, normParam: BatchnormParam | LayernormParam, names?: Record<string, string>): ChainStep {
  if (normalization === 'batchnorm') return layerSteps.batchnorm(gamma, beta, normParam as BatchnormParam, names);
  if (normalization === 'layernorm') return layerSteps.layernorm(gamma, beta, normParam as LayernormParam, names);
  throw new RangeError(`normalization: expected 'batchnorm' or 'layernorm', got ${showValue(normalization)}`);
}

/**
 * affine → batch norm or layer norm → ReLU (the hidden block of cs231n's FullyConnectedNet).
 * `normParam` is the BN param (mode and running statistics, updated in place) or the LN param.
 */
export function affineNormReluForward(
  x: Tensor, w: Tensor, b: Tensor, gamma: Tensor, beta: Tensor, normParam: BatchnormParam | LayernormParam, normalization: Normalization,
): { out: Tensor; cache: AffineNormReluCache } {
  return chainForward(x, [layerSteps.affine(w, b), normStep(normalization, gamma, beta, normParam), layerSteps.relu()]);
}

/** Backward of {@link affineNormReluForward}: `{ dx, dw, db, dgamma, dbeta }`. */
export function affineNormReluBackward(
  dout: Tensor, cache: AffineNormReluCache,
): { dx: Tensor; dw: Tensor; db: Tensor; dgamma: Tensor; dbeta: Tensor } {
  return chainBackward(dout, cache);
}

/** conv (fast) → ReLU. */
export function convReluForward(x: Tensor, w: Tensor, b: Tensor, convParam: ConvParam): { out: Tensor; cache: ConvReluCache } {
  return chainForward(x, [layerSteps.conv(w, b, convParam), layerSteps.relu()]);
}

/** Backward of {@link convReluForward}: `{ dx, dw, db }`. */
export function convReluBackward(dout: Tensor, cache: ConvReluCache): { dx: Tensor; dw: Tensor; db: Tensor } {
  return chainBackward(dout, cache);
}

/** conv (fast) → ReLU → max pool (fast). */
export function convReluPoolForward(
  x: Tensor, w: Tensor, b: Tensor, convParam: ConvParam, poolParam: PoolParam,
): { out: Tensor; cache: ConvReluPoolCache } {
  return chainForward(x, [layerSteps.conv(w, b, convParam), layerSteps.relu(), layerSteps.maxPool(poolParam)]);
}

/** Backward of {@link convReluPoolForward}: `{ dx, dw, db }`. */
export function convReluPoolBackward(dout: Tensor, cache: ConvReluPoolCache): { dx: Tensor; dw: Tensor; db: Tensor } {
  return chainBackward(dout, cache);
}

/** conv (fast) → spatial batch norm → ReLU. */
export function convBnReluForward(
  x: Tensor, w: Tensor, b: Tensor, gamma: Tensor, beta: Tensor, convParam: ConvParam, bnParam: BatchnormParam,
): { out: Tensor; cache: ConvBnReluCache } {
  return chainForward(x, [layerSteps.conv(w, b, convParam), layerSteps.spatialBatchnorm(gamma, beta, bnParam), layerSteps.relu()]);
}

/** Backward of {@link convBnReluForward}: `{ dx, dw, db, dgamma, dbeta }`. */
export function convBnReluBackward(
  dout: Tensor, cache: ConvBnReluCache,
): { dx: Tensor; dw: Tensor; db: Tensor; dgamma: Tensor; dbeta: Tensor } {
  return chainBackward(dout, cache);
}
