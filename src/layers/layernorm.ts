import ndarray from 'ndarray';
import { assertNdim, assertShape } from '../core/check';
import { allocFloat } from '../core/dtype';
import { dtypeOf, type Tensor } from '../core/tensor';
import { groupMoments, normalizeGroups, normalizeGroupsBackward } from './normCore';
import { alloc, dense, denseAs, featureParam, positiveNumber } from './layerArgs';

/** cs231n's `ln_param`: only `eps` matters (layer norm keeps no running statistics). */
export interface LayernormParam {
  /** Added to the variance before the square root. Default 1e-5. */
  eps?: number;
  /** Accepted and ignored: layer norm behaves the same in train and test. */
  mode?: 'train' | 'test';
}

/** What {@link layernormForward} keeps for the backward pass. */
export interface LayernormCache {
  xhat: Tensor;
  std: Float64Array;
  gamma: Tensor;
}

/**
 * Layer normalisation of x `(N, D)`: each row normalised by its own mean and biased variance,
 * then `gamma·xhat + beta` per feature (gamma, beta `(D,)`). Same in train and test.
 */
export function layernormForward(x: Tensor, gamma: Tensor, beta: Tensor, lnParam: LayernormParam = {}): { out: Tensor; cache: LayernormCache } {
  const eps = positiveNumber('lnParam.eps', lnParam?.eps ?? 1e-5);
  assertNdim('x', x, 2);
  const { N, D } = assertShape('x', x, ['N', 'D']);
  const xd = dense('x', x);
  const dtype = dtypeOf(xd);
  const gt = featureParam('gamma', gamma, D, dtype);
  const g = gt.data;
  const b = featureParam('beta', beta, D, dtype).data;
  // One statistic per row: the (A, S, T) view is (1, N, D).
  const { mean, std } = groupMoments(xd.data, 1, N, D, eps);
  const xhat = allocFloat(dtype, N * D);
  normalizeGroups(xd.data, 1, N, D, mean, std, xhat);
  const out = allocFloat(dtype, N * D);
  for (let i = 0; i < N; i++) {
    const base = i * D;
    for (let j = 0; j < D; j++) out[base + j] = g[j] * xhat[base + j] + b[j];
  }
  return { out: ndarray(out, [N, D]), cache: { xhat: ndarray(xhat, [N, D]), std, gamma: gt } };
}

/** Backward of {@link layernormForward}: `{ dx (N, D), dgamma (D,), dbeta (D,) }`. */
export function layernormBackward(dout: Tensor, cache: LayernormCache): { dx: Tensor; dgamma: Tensor; dbeta: Tensor } {
  const [N, D] = cache.xhat.shape;
  assertShape('dout', dout, [N, D]);
  const dtype = dtypeOf(cache.xhat);
  const g = denseAs('dout', dout, dtype).data;
  const xhat = cache.xhat.data;
  const gam = cache.gamma.data;
  const dgamma = new Float64Array(D);
  const dbeta = new Float64Array(D);
  const dxhat = new Float64Array(N * D);
  for (let i = 0; i < N; i++) {
    const base = i * D;
    for (let j = 0; j < D; j++) {
      const v = g[base + j];
      dbeta[j] += v;
      dgamma[j] += v * xhat[base + j];
      dxhat[base + j] = v * gam[j];
    }
  }
  const dx = allocFloat(dtype, N * D);
  normalizeGroupsBackward(dxhat, xhat, 1, N, D, cache.std, dx);
  const dg = alloc([D], dtype);
  const db = alloc([D], dtype);
  dg.data.set(dgamma);
  db.data.set(dbeta);
  return { dx: ndarray(dx, [N, D]), dgamma: dg, dbeta: db };
}
