import { reluGrad, reluRow } from './reluMath';
import ndarray from 'ndarray';
import { ShapeError, shapeStr } from '../core/check';
import { recycleFloat } from '../core/bufferPool';
import { allocFloat, type FloatArray } from '../core/dtype';
import { dtypeOf, type Tensor } from '../core/tensor';
import { dense, denseAs } from '../layers/layerArgs';
import { groupMoments } from '../layers/normCore';
import { defineOp } from './op';

/**
 * Running statistics of a batch norm (`BatchNorm1d/2d` buffers), updated in place by a
 * training-mode forward; absent when the layer does not track them.
 */
export interface BatchNormState {
  runningMean: FloatArray;
  runningVar: FloatArray;
  /** Batches seen in training (PyTorch's `num_batches_tracked`). */
  numBatchesTracked: number;
}

/** Settings of {@link batchNorm}, as `torch.nn.functional.batch_norm`. */
export interface BatchNormAttrs {
  /** Batch statistics (and a running update) when true; running statistics when false and `state` is given. */
  training: boolean;
  /** Running-average factor (default 0.1); null for a cumulative average over all batches. */
  momentum?: number | null;
  /** Added to the variance (default 1e-5). */
  eps?: number;
  /** Running statistics, updated in place when training. */
  state?: BatchNormState | null;
  /**
   * Apply ReLU to the output (`relu(batch_norm(x))`) in the same pass, and mask the gradient
   * by it in backward: one output and one gradient array instead of three of each, and two
   * fewer passes over memory. Values equal the two ops run one after the other. Default false.
   */
  relu?: boolean;
}

/** What batchNorm keeps for backward. */
export interface BatchNormCache {
  shape: number[];
  xhat: FloatArray;
  /** sqrt(var + eps) per channel (batch or running). */
  std: Float64Array;
  gamma: FloatArray | null;
  /** Whether the statistics came from the batch (their gradient then flows into dx). */
  batchStats: boolean;
  hasAffine: boolean;
  /** The output, when a fused ReLU's mask (out > 0, which is bn(x) > 0) gates the gradient. */
  reluOut: FloatArray | null;
}

/*
 * x (N, C, *) is viewed as (A = N, S = C, T = prod(*)), the layout the normalisation core
 * (layers/normCore.ts) computes per-channel moments over; cs231n's batch, layer and group norms
 * use the same core. PyTorch's rules: the normalisation uses the biased batch variance, the
 * running variance is updated with the unbiased one, and a channel with one value per batch is
 * an error in training (its variance is undefined).
 */

/**
 * Batch normalisation over the channel axis 1 of x `(N, C)`, `(N, C, L)` or `(N, C, H, W)`:
 * inputs `[x, weight, bias]` (or `[x]` when not affine). Gradients `[dx, dweight, dbias]`.
 */
export const batchNorm = defineOp<BatchNormAttrs, BatchNormCache>({
  name: 'batch_norm',
  forward(inputs, attrs) {
    const [x, gamma, beta] = inputs;
    const xd = dense('x', x);
    const shape = xd.shape.slice();
    if (shape.length < 2) throw new ShapeError(`x: expected shape (N, C, …) with at least 2 axes, got ${shapeStr(shape)}`);
    const [N, C] = shape;
    const T = shape.slice(2).reduce((a, b) => a * b, 1);
    const dtype = dtypeOf(xd);
    const eps = attrs.eps ?? 1e-5;
    if (!(eps > 0 && Number.isFinite(eps))) throw new RangeError(`eps: expected a finite positive number, got ${eps}`);
    const momentum = attrs.momentum === undefined ? 0.1 : attrs.momentum;
    if (momentum !== null && !(momentum >= 0 && momentum <= 1)) throw new RangeError(`momentum: expected a number in [0, 1] or null, got ${momentum}`);
    const g = gamma ? channelVec('weight', gamma, C, dtype) : null;
    const bt = beta ? channelVec('bias', beta, C, dtype) : null;
    const state = attrs.state ?? null;
    if (state && (state.runningMean.length !== C || state.runningVar.length !== C)) {
      throw new ShapeError(`running statistics: expected ${C} channels, got mean ${state.runningMean.length} and var ${state.runningVar.length}`);
    }
    const batchStats = attrs.training || state === null;
    let std: Float64Array;
    let mean: ArrayLike<number>;
    if (batchStats) {
      const M = N * T;
      if (attrs.training && M <= 1) {
        throw new ShapeError(`x: expected more than 1 value per channel when training, got input of shape ${shapeStr(shape)}`);
      }
      const mom = groupMoments(xd.data, N, C, T, eps);
      std = mom.std;
      mean = mom.mean;
      if (attrs.training && state) {
        state.numBatchesTracked += 1;
        const f = momentum === null ? 1 / state.numBatchesTracked : momentum;
        const unbias = M / (M - 1);
        for (let c = 0; c < C; c++) {
          state.runningMean[c] = (1 - f) * state.runningMean[c] + f * mom.mean[c];
          state.runningVar[c] = (1 - f) * state.runningVar[c] + f * mom.variance[c] * unbias;
        }
      }
    } else {
      std = new Float64Array(C);
      for (let c = 0; c < C; c++) std[c] = Math.sqrt(state!.runningVar[c] + eps);
      mean = state!.runningMean;
    }
    const xs = xd.data;
    const relu = attrs.relu === true;
    const xhat = allocFloat(dtype, xs.length);
    const out = allocFloat(dtype, xs.length);
    for (let n = 0; n < N; n++) {
      for (let c = 0; c < C; c++) {
        const base = (n * C + c) * T;
        const inv = 1 / std[c];
        const ga = g ? g[c] : 1;
        const be = bt ? bt[c] : 0;
        if (relu) normalizeReluRow(xs, xhat, out, base, base + T, mean[c], inv, ga, be);
        else normalizeRow(xs, xhat, out, base, base + T, mean[c], inv, ga, be);
      }
    }
    return { out: ndarray(out, shape), cache: { shape, xhat, std, gamma: g, batchStats, hasAffine: g !== null, reluOut: relu ? out : null } };
  },
  release(cache) {
    recycleFloat(cache.xhat);
  },
  backward(dout, cache) {
    const { shape, xhat, std, gamma, batchStats, hasAffine, reluOut } = cache;
    const dtype = xhat instanceof Float32Array ? 'float32' : 'float64';
    const s = dout?.shape;
    if (!Array.isArray(s) || s.length !== shape.length || s.some((d, i) => d !== shape[i])) {
      throw new ShapeError(`dout: expected shape ${shapeStr(shape)} (the forward output), got ${Array.isArray(s) ? shapeStr(s) : String(dout)}`);
    }
    const gd = denseAs('dout', dout, dtype).data;
    const [N, C] = shape;
    const T = xhat.length / (N * C);
    // Per channel: S1 = Σ g and S2 = Σ g·xhat (g masked by a fused ReLU), in float64. They are
    // dbeta and dgamma, and with dxhat = γ·g the batch-statistics gradient is
    // dx = (γ·g − γ·S1/M − xhat·γ·S2/M) / std: two passes over g and xhat, no dxhat array.
    const dgamma = new Float64Array(C);
    const dbeta = new Float64Array(C);
    const sums = new Float64Array(2);
    for (let n = 0; n < N; n++) {
      for (let c = 0; c < C; c++) {
        const base = (n * C + c) * T;
        if (reluOut) gradSumsRelu(gd, xhat, reluOut, base, base + T, sums);
        else gradSums(gd, xhat, base, base + T, sums);
        dbeta[c] += sums[0];
        dgamma[c] += sums[1];
      }
    }
    const M = N * T;
    const dx = allocFloat(dtype, gd.length);
    const m1 = new Float64Array(C);
    const m2 = new Float64Array(C);
    if (batchStats) {
      for (let c = 0; c < C; c++) {
        const ga = gamma ? gamma[c] : 1;
        m1[c] = (ga * dbeta[c]) / M;
        m2[c] = (ga * dgamma[c]) / M;
      }
    }
    for (let n = 0; n < N; n++) {
      for (let c = 0; c < C; c++) {
        const base = (n * C + c) * T;
        const ga = gamma ? gamma[c] : 1;
        // PyTorch multiplies by invstd too; a division per element costs several multiplies.
        const inv = 1 / std[c];
        const a = m1[c];
        const b = m2[c];
        if (reluOut) dxReluRow(gd, xhat, reluOut, dx, base, base + T, ga, a, b, inv);
        else dxRow(gd, xhat, dx, base, base + T, ga, a, b, inv);
      }
    }
    const grads: Array<Tensor | null> = [ndarray(dx, shape.slice())];
    if (hasAffine) grads.push(ndarray(allocFloat(dtype, C).map((_, i) => dgamma[i]), [C]), ndarray(allocFloat(dtype, C).map((_, i) => dbeta[i]), [C]));
    return grads;
  },
});

/*
 * The per-(sample, channel) rows of the loops above, as small functions. WHY: written inline,
 * the long loops of the big forward/backward bodies ran through on-stack replacement with
 * partial type feedback and were deoptimised again and again (`--trace-deopt`); measured on a
 * 64×96×32×32 float32 tensor, fused BN+ReLU took 19 ns an element forward and 45 backward. A
 * row function called thousands of times per pass is optimised once, whole. Same arithmetic,
 * same order: the results are unchanged to the bit.
 */

function normalizeRow(xs: FloatArray, xhat: FloatArray, out: FloatArray, t0: number, t1: number, mu: number, inv: number, ga: number, be: number): void {
  for (let t = t0; t < t1; t++) {
    const h = (xs[t] - mu) * inv;
    xhat[t] = h;
    out[t] = ga * h + be;
  }
}

/**
 * normalizeRow then ReLU over the same (cache-resident) row: ReLU commutes with rounding to the
 * store's dtype, so this equals rounding ReLU(γ·xhat + β) once.
 */
function normalizeReluRow(xs: FloatArray, xhat: FloatArray, out: FloatArray, t0: number, t1: number, mu: number, inv: number, ga: number, be: number): void {
  normalizeRow(xs, xhat, out, t0, t1, mu, inv, ga, be);
  reluRow(out, out, t0, t1);
}

/** sums[0] = Σ g, sums[1] = Σ g·xhat over [t0, t1). */
function gradSums(gd: FloatArray, xhat: FloatArray, t0: number, t1: number, sums: Float64Array): void {
  let s1 = 0;
  let s2 = 0;
  for (let t = t0; t < t1; t++) {
    const v = gd[t];
    s1 += v;
    s2 += v * xhat[t];
  }
  sums[0] = s1;
  sums[1] = s2;
}

/** As gradSums with g masked by the fused ReLU's output (branch-free; see ./reluMath.ts). */
function gradSumsRelu(gd: FloatArray, xhat: FloatArray, reluOut: FloatArray, t0: number, t1: number, sums: Float64Array): void {
  let s1 = 0;
  let s2 = 0;
  for (let t = t0; t < t1; t++) {
    const v = gd[t] * +(reluOut[t] > 0);
    s1 += v;
    s2 += v * xhat[t];
  }
  // g·0 is NaN for an infinite or NaN g where the ReLU blocks it: then the exact masked sums.
  if (s1 - s1 !== 0 || s2 - s2 !== 0) {
    s1 = 0;
    s2 = 0;
    for (let t = t0; t < t1; t++) {
      const v = reluGrad(gd[t], reluOut[t]);
      s1 += v;
      s2 += v * xhat[t];
    }
  }
  sums[0] = s1;
  sums[1] = s2;
}

function dxRow(gd: FloatArray, xhat: FloatArray, dx: FloatArray, t0: number, t1: number, ga: number, a: number, b: number, inv: number): void {
  for (let t = t0; t < t1; t++) dx[t] = (ga * gd[t] - a - xhat[t] * b) * inv;
}

function dxReluRow(gd: FloatArray, xhat: FloatArray, reluOut: FloatArray, dx: FloatArray, t0: number, t1: number, ga: number, a: number, b: number, inv: number): void {
  let bad = 0;
  for (let t = t0; t < t1; t++) {
    const m = gd[t] * +(reluOut[t] > 0);
    dx[t] = (ga * (m + 0) - a - xhat[t] * b) * inv;
    bad += m - m;
  }
  if (bad !== 0) for (let t = t0; t < t1; t++) dx[t] = (ga * reluGrad(gd[t], reluOut[t]) - a - xhat[t] * b) * inv;
}

function channelVec(name: string, t: Tensor, C: number, dtype: 'float32' | 'float64'): FloatArray {
  if (t?.shape?.length !== 1 || t.shape[0] !== C) {
    throw new ShapeError(`${name}: expected shape (${C},) to match the ${C} channels of x, got ${t?.shape ? shapeStr(t.shape) : String(t)}`);
  }
  return denseAs(name, t, dtype).data;
}
