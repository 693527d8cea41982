/*
 * From validated ndarrays to a gpu.js plan and back: each method of a gpu.js backend is
 * "check, build the plan, run it (sync or async), wrap the result".
 */
import ndarray from 'ndarray';
import type { NdArray } from 'ndarray';
import type { IntTensor, NumStore, Tensor } from '../core/tensor';
import { checkDistances, checkLoss, checkMatmul, checkVote, viewOf, type MatmulOpts } from './args';
import { distanceSteps } from './distanceSteps';
import { gemmSteps } from './gemmSteps';
import type { Steps } from './kernelCall';
import { linearLossSteps, type FlatLoss, type LinearLossKind } from './linearLossSteps';
import type { TileLimits } from './tiling';
import { tensorFrom } from './tsPath';
import type { DistanceOptions, LossAndGrad } from './types';
import { knnVoteSteps } from './voteSteps';

/** A plan and how to turn its result into the method's return value. */
export interface KernelPlan<R, T> {
  steps: Steps<R>;
  finish(result: R): T;
}

/** Matrix product plan. */
export function gpuMatmulPlan(A: Tensor, B: Tensor, opts: MatmulOpts, lim: TileLimits): KernelPlan<Float64Array, Tensor> {
  const { a, b, m, n, dtype } = checkMatmul(A, B, opts);
  return { steps: gemmSteps(a, b, lim), finish: (r) => tensorFrom(r, m, n, dtype) };
}

/** kNN distance plan. */
export function distancesPlan(test: Tensor, train: Tensor, opts: DistanceOptions, lim: TileLimits): KernelPlan<Float64Array, Tensor> {
  const { dtype, M, N } = checkDistances(test, train);
  return {
    steps: distanceSteps(viewOf(test), viewOf(train), lim, { squared: opts.squared }),
    finish: (r) => tensorFrom(r, M, N, dtype),
  };
}

/** Linear loss plan. */
export function lossPlan(kind: LinearLossKind, W: Tensor, X: Tensor, y: NdArray<NumStore>, reg: number, lim: TileLimits): KernelPlan<FlatLoss, LossAndGrad> {
  const { D, C, labels, dtype } = checkLoss(W, X, y, reg);
  return {
    steps: linearLossSteps(kind, viewOf(W), viewOf(X), labels, reg, lim),
    finish: (r) => ({ loss: r.loss, dW: tensorFrom(r.dW, D, C, dtype) }),
  };
}

/** kNN vote plan. */
export function votePlan(dists: Tensor, yTrain: NdArray<NumStore>, k: number, numClasses: number | undefined, lim: TileLimits): KernelPlan<Int32Array, IntTensor> {
  const { M, labels, classes } = checkVote(dists, yTrain, k, numClasses);
  return { steps: knnVoteSteps(viewOf(dists), labels, k, classes, lim), finish: (r) => ndarray(r, [M]) };
}
