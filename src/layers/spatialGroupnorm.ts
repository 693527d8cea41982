import ndarray from 'ndarray';
import { assertArg, assertNdim, assertSameShape } from '../core/check';
import { allocFloat } from '../core/dtype';
import { dtypeOf, type Tensor } from '../core/tensor';
import { groupMoments, normalizeGroups, normalizeGroupsBackward } from './normCore';
import { alloc, channelParam, dense, positiveNumber } from './layerArgs';

/** cs231n's `gn_param`: only `eps` matters (no running statistics; same in train and test). */
export interface GroupnormParam {
  /** Added to the variance before the square root. Default 1e-5. */
  eps?: number;
  /** Accepted and ignored (the notebook passes `{ mode: 'train' }`). */
  mode?: 'train' | 'test';
}

/** What {@link spatialGroupnormForward} keeps for the backward pass. */
export interface SpatialGroupnormCache {
  xhat: Tensor;
  std: Float64Array;
  gamma: Tensor;
  G: number;
  paramShape: number[];
}

/**
 * Group norm of x `(N, C, H, W)`: each sample's channels split into G contiguous groups of C/G,
 * each group normalised over its (C/G, H, W) values (biased variance), then per-channel
 * `gamma·xhat + beta`. gamma/beta `(C,)` or `(1, C, 1, 1)`. G must divide C.
 */
export function spatialGroupnormForward(
  x: Tensor, gamma: Tensor, beta: Tensor, G: number, gnParam: GroupnormParam = {},
): { out: Tensor; cache: SpatialGroupnormCache } {
  assertNdim('x', x, 4);
  const [N, C, H, W] = x.shape;
  assertArg(Number.isInteger(G) && G > 0 && C % G === 0, 'G', `a positive integer dividing the ${C} channels of x`, G);
  const eps = positiveNumber('gnParam.eps', gnParam?.eps ?? 1e-5);
  const xd = dense('x', x);
  const dtype = dtypeOf(xd);
  const g = channelParam('gamma', gamma, C, dtype);
  const b = channelParam('beta', beta, C, dtype);
  const HW = H * W;
  // Groups are contiguous in memory: the (A, S, T) view is (1, N·G, (C/G)·H·W).
  const S = N * G;
  const T = (C / G) * HW;
  const { mean, std } = groupMoments(xd.data, 1, S, T, eps);
  const xhat = allocFloat(dtype, N * C * HW);
  normalizeGroups(xd.data, 1, S, T, mean, std, xhat);
  const out = allocFloat(dtype, N * C * HW);
  const gd = g.values.data;
  const bd = b.values.data;
  for (let n = 0; n < N; n++) {
    for (let c = 0; c < C; c++) {
      const base = (n * C + c) * HW;
      const gc = gd[c];
      const bc = bd[c];
      for (let p = 0; p < HW; p++) out[base + p] = gc * xhat[base + p] + bc;
    }
  }
  return {
    out: ndarray(out, [N, C, H, W]),
    cache: { xhat: ndarray(xhat, [N, C, H, W]), std, gamma: ndarray(gd, [C]), G, paramShape: g.shape },
  };
}

/** Backward of {@link spatialGroupnormForward}: `{ dx, dgamma, dbeta }`, dgamma/dbeta in gamma's shape. */
export function spatialGroupnormBackward(dout: Tensor, cache: SpatialGroupnormCache): { dx: Tensor; dgamma: Tensor; dbeta: Tensor } {
  const { xhat, std, gamma, G, paramShape } = cache;
  assertSameShape('x', xhat, 'dout', dout);
  const [N, C, H, W] = xhat.shape;
  const HW = H * W;
  const dtype = dtypeOf(xhat);
  const d = dense('dout', dout).data;
  const xh = xhat.data;
  const gd = gamma.data;
  const dgamma = new Float64Array(C);
  const dbeta = new Float64Array(C);
  const dxhat = new Float64Array(N * C * HW);
  for (let n = 0; n < N; n++) {
    for (let c = 0; c < C; c++) {
      const base = (n * C + c) * HW;
      const gc = gd[c];
      let sg = 0;
      let sb = 0;
      for (let p = 0; p < HW; p++) {
        const v = d[base + p];
        sb += v;
        sg += v * xh[base + p];
        dxhat[base + p] = v * gc;
      }
      dgamma[c] += sg;
      dbeta[c] += sb;
    }
  }
  const dx = allocFloat(dtype, N * C * HW);
  normalizeGroupsBackward(dxhat, xh, 1, N * G, (C / G) * HW, std, dx);
  const dg = alloc(paramShape, dtype);
  const db = alloc(paramShape, dtype);
  dg.data.set(dgamma);
  db.data.set(dbeta);
  return { dx: ndarray(dx, [N, C, H, W]), dgamma: dg, dbeta: db };
}
