import ndarray from 'ndarray';
import { assertNdim, assertShape, ShapeError, shapeStr, showValue } from '../core/check';
import { allocFloat, type DType } from '../core/dtype';
import { dtypeOf, type Tensor } from '../core/tensor';
import { groupMoments, normalizeGroups, normalizeGroupsBackward } from './normCore';
import { alloc, dense, denseAs, featureParam, modeOf, positiveNumber } from './layerArgs';

/**
 * cs231n's `bn_param`. `mode` is required; the forward pass writes `runningMean` and
 * `runningVar` back into this object (fresh arrays each training call, as cs231n rebinds
 * `bn_param['running_mean']`), so keep passing the same object between calls.
 */
export interface BatchnormParam {
  /** 'train' normalises with the minibatch statistics, 'test' with the running ones. */
  mode: 'train' | 'test';
  /** Added to the variance before the square root. Default 1e-5. */
  eps?: number;
  /** Running-average decay: running = momentum·running + (1 − momentum)·batch. Default 0.9. */
  momentum?: number;
  /** Running mean `(D,)`; zeros when absent. */
  runningMean?: Tensor;
  /** Running (biased) variance `(D,)`; zeros when absent (cs231n's default, not ones). */
  runningVar?: Tensor;
}

/** What {@link batchnormForward} keeps for the backward passes. */
export interface BatchnormCache {
  mode: 'train' | 'test';
  /** Dense input `(N, D)` in its dtype. */
  x: Tensor;
  /** Normalised input `(N, D)`. */
  xhat: Tensor;
  /** Mean used for normalising (batch mean in train mode, running mean in test mode). */
  mean: Float64Array;
  /** sqrt(variance + eps) used for normalising. */
  std: Float64Array;
  /** Biased variance used for normalising. */
  variance: Float64Array;
  gamma: Tensor;
  eps: number;
}

/** Reads a running statistic from bnParam, or zeros(D) in x's dtype. */
function runningStat(name: string, v: Tensor | undefined, D: number, dtype: DType): Tensor {
  if (v === undefined || v === null) return alloc([D], dtype);
  if (v?.shape?.length !== 1 || v.shape[0] !== D) {
    throw new ShapeError(`${name}: expected shape (${D},) to match the ${D} features of x, got ${v?.shape ? shapeStr(v.shape) : String(v)}`);
  }
  return denseAs(name, v, dtype);
}

/**
 * Batch normalisation of x `(N, D)` per feature. Train mode: minibatch mean and biased (1/N)
 * variance, and the running statistics in `bnParam` are updated
 * (`running = momentum·running + (1 − momentum)·batch`). Test mode: the running statistics.
 * `out = gamma·xhat + beta`, in x's dtype. An unknown mode throws naming `bnParam.mode`.
 */
export function batchnormForward(x: Tensor, gamma: Tensor, beta: Tensor, bnParam: BatchnormParam): { out: Tensor; cache: BatchnormCache } {
  if (!bnParam || typeof bnParam !== 'object') throw new TypeError(`bnParam: expected an object with a mode, got ${String(bnParam)}`);
  const mode = modeOf('bnParam.mode', bnParam.mode);
  const eps = positiveNumber('bnParam.eps', bnParam.eps ?? 1e-5);
  const momentum = bnParam.momentum ?? 0.9;
  if (typeof momentum !== 'number' || !Number.isFinite(momentum)) {
    throw new RangeError(`bnParam.momentum: expected a finite number, got ${showValue(momentum)}`);
  }
  assertNdim('x', x, 2);
  const { N, D } = assertShape('x', x, ['N', 'D']);
  const xd = dense('x', x);
  const dtype = dtypeOf(xd);
  const g = featureParam('gamma', gamma, D, dtype);
  const b = featureParam('beta', beta, D, dtype);
  const runMean = runningStat('bnParam.runningMean', bnParam.runningMean, D, dtype);
  const runVar = runningStat('bnParam.runningVar', bnParam.runningVar, D, dtype);

  let mean: Float64Array;
  let variance: Float64Array;
  let std: Float64Array;
  if (mode === 'train') {
    ({ mean, variance, std } = groupMoments(xd.data, N, D, 1, eps));
    const rm = allocFloat(dtype, D);
    const rv = allocFloat(dtype, D);
    for (let j = 0; j < D; j++) {
      rm[j] = momentum * runMean.data[j] + (1 - momentum) * mean[j];
      rv[j] = momentum * runVar.data[j] + (1 - momentum) * variance[j];
    }
    bnParam.runningMean = ndarray(rm, [D]);
    bnParam.runningVar = ndarray(rv, [D]);
  } else {
    mean = Float64Array.from(runMean.data);
    variance = Float64Array.from(runVar.data);
    std = variance.map((v) => Math.sqrt(v + eps));
    bnParam.runningMean = runMean;
    bnParam.runningVar = runVar;
  }
  const xhat = allocFloat(dtype, N * D);
  normalizeGroups(xd.data, N, D, 1, mean, std, xhat);
  const out = allocFloat(dtype, N * D);
  const gd = g.data;
  const bd = b.data;
  for (let i = 0; i < N; i++) {
    const base = i * D;
    for (let j = 0; j < D; j++) out[base + j] = gd[j] * xhat[base + j] + bd[j];
  }
  return {
    out: ndarray(out, [N, D]),
    cache: { mode, x: xd, xhat: ndarray(xhat, [N, D]), mean, std, variance, gamma: g, eps },
  };
}

/** dgamma = Σ dout·xhat and dbeta = Σ dout over the batch; shared by both backward forms. */
function affineGrads(dout: ArrayLike<number>, xhat: ArrayLike<number>, N: number, D: number): { dgamma: Float64Array; dbeta: Float64Array } {
  const dgamma = new Float64Array(D);
  const dbeta = new Float64Array(D);
  for (let i = 0; i < N; i++) {
    const base = i * D;
    for (let j = 0; j < D; j++) {
      const g = dout[base + j];
      dbeta[j] += g;
      dgamma[j] += g * xhat[base + j];
    }
  }
  return { dgamma, dbeta };
}

function checkDout(dout: Tensor, cache: BatchnormCache): Tensor {
  const [N, D] = cache.x.shape;
  assertShape('dout', dout, [N, D]);
  return denseAs('dout', dout, dtypeOf(cache.x));
}

/** Test mode uses fixed statistics, so x only passes through a per-feature scale. */
function testModeBackward(dout: Float64Array | Float32Array, cache: BatchnormCache, dtype: DType): Tensor {
  const [N, D] = cache.x.shape;
  const dx = allocFloat(dtype, N * D);
  const gd = cache.gamma.data;
  for (let i = 0; i < N; i++) {
    const base = i * D;
    for (let j = 0; j < D; j++) dx[base + j] = (dout[base + j] * gd[j]) / cache.std[j];
  }
  return ndarray(dx, [N, D]);
}

function wrap(dx: Tensor, dgamma: Float64Array, dbeta: Float64Array, dtype: DType): { dx: Tensor; dgamma: Tensor; dbeta: Tensor } {
  const D = dgamma.length;
  const dg = alloc([D], dtype);
  const db = alloc([D], dtype);
  dg.data.set(dgamma);
  db.data.set(dbeta);
  return { dx, dgamma: dg, dbeta: db };
}

/**
 * Backward of {@link batchnormForward} by walking the computation graph node by node
 * (x → x − μ → (x − μ)² → σ² → sqrt(σ² + ε) → 1/· → xhat → γ·xhat + β), each node's local
 * gradient applied in reverse. Returns `{ dx (N, D), dgamma (D,), dbeta (D,) }`.
 */
export function batchnormBackward(dout: Tensor, cache: BatchnormCache): { dx: Tensor; dgamma: Tensor; dbeta: Tensor } {
  const dd = checkDout(dout, cache);
  const g = dd.data;
  const [N, D] = cache.x.shape;
  const dtype = dtypeOf(cache.x);
  const { dgamma, dbeta } = affineGrads(g, cache.xhat.data, N, D);
  if (cache.mode === 'test') return wrap(testModeBackward(g, cache, dtype), dgamma, dbeta, dtype);

  const x = cache.x.data;
  const { mean, std } = cache;
  const gam = cache.gamma.data;
  // out = γ·xhat + β  →  dxhat = dout·γ;   xhat = xmu · ivar  →  divar = Σ dxhat·xmu
  const dxhat = new Float64Array(N * D);
  const divar = new Float64Array(D);
  for (let i = 0; i < N; i++) {
    const base = i * D;
    for (let j = 0; j < D; j++) {
      const v = g[base + j] * gam[j];
      dxhat[base + j] = v;
      divar[j] += v * (x[base + j] - mean[j]);
    }
  }
  // ivar = 1/sqrtvar → dsqrtvar = −divar/sqrtvar²;  sqrtvar = sqrt(var + ε) → dvar = dsqrtvar/(2·sqrtvar)
  const dvar = new Float64Array(D);
  for (let j = 0; j < D; j++) {
    const dsqrtvar = -divar[j] / (std[j] * std[j]);
    dvar[j] = (0.5 * dsqrtvar) / std[j];
  }
  // var = mean(sq) → dsq = dvar/N;  sq = xmu² → dxmu2 = 2·xmu·dsq;  dxmu1 = dxhat·ivar
  // xmu = x − μ → dx1 = dxmu1 + dxmu2, dmu = −Σ dx1;  μ = mean(x) → dx2 = dmu/N
  const dx1 = new Float64Array(N * D);
  const dmu = new Float64Array(D);
  for (let i = 0; i < N; i++) {
    const base = i * D;
    for (let j = 0; j < D; j++) {
      const xmu = x[base + j] - mean[j];
      const v = dxhat[base + j] / std[j] + 2 * xmu * (dvar[j] / N);
      dx1[base + j] = v;
      dmu[j] -= v;
    }
  }
  const dx = allocFloat(dtype, N * D);
  for (let i = 0; i < N; i++) {
    const base = i * D;
    for (let j = 0; j < D; j++) dx[base + j] = dx1[base + j] + dmu[j] / N;
  }
  return wrap(ndarray(dx, [N, D]), dgamma, dbeta, dtype);
}

/**
 * Backward of {@link batchnormForward} with the gradient simplified on paper:
 * `dx = γ/σ · (dout − mean(dout) − xhat·mean(dout·xhat))`. Same result as
 * {@link batchnormBackward} to round-off, with fewer passes over the data.
 */
export function batchnormBackwardAlt(dout: Tensor, cache: BatchnormCache): { dx: Tensor; dgamma: Tensor; dbeta: Tensor } {
  const dd = checkDout(dout, cache);
  const g = dd.data;
  const [N, D] = cache.x.shape;
  const dtype = dtypeOf(cache.x);
  const { dgamma, dbeta } = affineGrads(g, cache.xhat.data, N, D);
  if (cache.mode === 'test') return wrap(testModeBackward(g, cache, dtype), dgamma, dbeta, dtype);
  const gam = cache.gamma.data;
  const dxhat = new Float64Array(N * D);
  for (let i = 0; i < N; i++) {
    const base = i * D;
    for (let j = 0; j < D; j++) dxhat[base + j] = g[base + j] * gam[j];
  }
  const dx = allocFloat(dtype, N * D);
  normalizeGroupsBackward(dxhat, cache.xhat.data, N, D, 1, cache.std, dx);
  return wrap(ndarray(dx, [N, D]), dgamma, dbeta, dtype);
}
