import ndarray from 'ndarray';
import { ShapeError, shapeStr } from '../core/check';
import { allocFloat, allocFloatUninit, type FloatArray } from '../core/dtype';
import { dtypeOf, type Tensor } from '../core/tensor';
import { dense, denseAs } from '../layers/layerArgs';
import { batchNormStats, runBatchNorm } from './kernels/batchNormTasks';
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
   * Apply ReLU (true) or ReLU6 ('relu6') to the output (`relu(batch_norm(x))`) in the same
   * pass, and mask the gradient by it in backward: one output and one gradient array instead
   * of three of each, and two fewer passes over memory. Values equal the two ops run one after
   * the other (the relu / relu6 ops' bits). Default false.
   */
  relu?: boolean | 'relu6';
  /**
   * No backward will follow (an eval or noGrad forward): x is not kept, and a backward on
   * this cache is an error.
   */
  inference?: boolean;
}

/**
 * What batchNorm keeps for backward: the input itself, as PyTorch's native_batch_norm does
 * (with its mean and std). WHY not the normalised input: it would be one more full-size
 * array written by the forward and held until the backward, and the backward computes it
 * again from x at the cost of a subtract and a multiply; the fused activation's mask too
 * (0 < γ·h + β, and < 6 for ReLU6, in the output's type), so the output need not be kept or
 * read either.
 * Like PyTorch's, the backward is wrong if x is changed in place in between.
 */
export interface BatchNormCache {
  shape: number[];
  /** Null after an `inference` forward. */
  x: FloatArray | null;
  /** The mean and sqrt(var + eps) per channel (batch or running). */
  mean: Float64Array;
  std: Float64Array;
  gamma: FloatArray | null;
  beta: FloatArray | null;
  /** Whether the statistics came from the batch (their gradient then flows into dx). */
  batchStats: boolean;
  hasAffine: boolean;
  /** The fused activation whose mask gates the gradient: 0 none, 1 ReLU, 2 ReLU6. */
  relu: number;
}

/*
 * x (N, C, *) is viewed as (N, C, T = prod(*)) and computed per channel by the tasks of
 * kernels/batchNormTasks.ts, on every thread (the moments in the order of layers/normCore.ts,
 * which cs231n's batch, layer and group norms use). PyTorch's rules: the normalisation uses the biased batch variance, the
 * running variance is updated with the unbiased one, and a channel with one value per batch is
 * an error in training (its variance is undefined).
 */

/**
 * Batch normalisation over the channel axis 1 of x `(N, C)`, `(N, C, L)` or `(N, C, H, W)`:
 * inputs `[x, weight, bias]` (or `[x]` when not affine). Gradients `[dx, dweight, dbias]`.
 * Float64 computes in float64. Float32, as PyTorch's CPU kernel, sums in float64 and does the
 * elementwise steps in float32, one rounding each (u = 2⁻²⁴): |out − exact| ≤ 8u·(|γ·x̂| + |β|),
 * |dweight − exact| ≤ 8u·Σ|dout·x̂|, and |dx − exact| ≤ 12u·|γ|/σ·(|dout| + |Σdout|/M +
 * |x̂|·Σ|dout·x̂|/M) over the M values of a channel (test/batchNormFloat32.test.ts).
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
    if (batchStats && attrs.training && N * T <= 1) {
      throw new ShapeError(`x: expected more than 1 value per channel when training, got input of shape ${shapeStr(shape)}`);
    }
    const stats = batchNormStats(C);
    if (!batchStats) {
      for (let c = 0; c < C; c++) {
        stats[c] = state!.runningMean[c];
        stats[2 * C + c] = Math.sqrt(state!.runningVar[c] + eps);
      }
    }
    if (!(attrs.relu === undefined || typeof attrs.relu === 'boolean' || attrs.relu === 'relu6')) {
      throw new RangeError(`relu: expected true, false or 'relu6', got ${String(attrs.relu)}`);
    }
    const relu = attrs.relu === 'relu6' ? 2 : attrs.relu === true ? 1 : 0;
    const out = allocFloatUninit(dtype, xd.data.length);
    runBatchNorm({ fwd: true, N, C, T, relu, batchStats, eps, x: xd.data, out, g: null, dx: null, gamma: g, beta: bt, stats });
    if (batchStats && attrs.training && state) {
      const M = N * T;
      state.numBatchesTracked += 1;
      const f = momentum === null ? 1 / state.numBatchesTracked : momentum;
      const unbias = M / (M - 1);
      for (let c = 0; c < C; c++) {
        state.runningMean[c] = (1 - f) * state.runningMean[c] + f * stats[c];
        state.runningVar[c] = (1 - f) * state.runningVar[c] + f * stats[C + c] * unbias;
      }
    }
    const cache: BatchNormCache = {
      shape, x: attrs.inference === true ? null : xd.data, mean: stats.slice(0, C), std: stats.slice(2 * C, 3 * C),
      gamma: g, beta: bt, batchStats, hasAffine: g !== null, relu,
    };
    return { out: ndarray(out, shape), cache };
  },
  backward(dout, cache) {
    const { shape, x, mean, std, gamma, beta, batchStats, hasAffine, relu } = cache;
    if (x === null) throw new Error('batch_norm: backward after a forward with `inference: true` (it keeps nothing for a backward)');
    const dtype = x instanceof Float32Array ? 'float32' : 'float64';
    const s = dout?.shape;
    if (!Array.isArray(s) || s.length !== shape.length || s.some((d, i) => d !== shape[i])) {
      throw new ShapeError(`dout: expected shape ${shapeStr(shape)} (the forward output), got ${Array.isArray(s) ? shapeStr(s) : String(dout)}`);
    }
    const gd = denseAs('dout', dout, dtype).data;
    const [N, C] = shape;
    const T = x.length / (N * C);
    const stats = batchNormStats(C);
    stats.set(std, 2 * C);
    stats.set(mean, 3 * C);
    const dx = allocFloatUninit(dtype, gd.length);
    runBatchNorm({ fwd: false, N, C, T, relu, batchStats, eps: 0, x, out: null, g: gd, dx, gamma, beta, stats });
    const grads: Array<Tensor | null> = [ndarray(dx, shape.slice())];
    if (hasAffine) grads.push(ndarray(allocFloat(dtype, C).map((_, i) => stats[C + i]), [C]), ndarray(allocFloat(dtype, C).map((_, i) => stats[i]), [C]));
    return grads;
  },
});

function channelVec(name: string, t: Tensor, C: number, dtype: 'float32' | 'float64'): FloatArray {
  if (t?.shape?.length !== 1 || t.shape[0] !== C) {
    throw new ShapeError(`${name}: expected shape (${C},) to match the ${C} channels of x, got ${t?.shape ? shapeStr(t.shape) : String(t)}`);
  }
  return denseAs(name, t, dtype).data;
}
