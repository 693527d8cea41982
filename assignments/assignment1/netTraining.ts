import type { NdArray } from 'ndarray';
import { TwoLayerNet, type TwoLayerNetTrainResult } from '../../src/classifiers/twoLayerNet';
import type { RandomState } from '../../src/core/random';
import type { IntTensor, NumStore, Tensor } from '../../src/core/tensor';
import { progressBar } from '../../src/util/progress';
import { fmtParam } from './gridSearch';
import { accuracy } from './images';

/*
 * Training a classic TwoLayerNet for the scripts: one setting = the notebook's train()
 * arguments plus the hidden size; a run optionally drives a progress bar whose trailing text
 * is the latest minibatch loss.
 */

/** Hidden size and the train() arguments of one run. */
export interface NetSettings {
  hiddenSize: number;
  learningRate: number;
  learningRateDecay: number;
  reg: number;
  numIters: number;
  batchSize: number;
}

/** Train / validation rows a net is fitted on. */
export interface NetSplits {
  XTrain: Tensor;
  yTrain: IntTensor;
  XVal: Tensor;
  yVal: IntTensor;
}

/** `H 50, lr 1e-4, reg 0.25, decay 0.95`. */
export function describeSettings(s: Pick<NetSettings, 'hiddenSize' | 'learningRate' | 'reg' | 'learningRateDecay'>): string {
  return `H ${s.hiddenSize}, lr ${fmtParam(s.learningRate)}, reg ${fmtParam(s.reg)}, decay ${fmtParam(s.learningRateDecay)}`;
}

/**
 * A fresh net (cs231n's std 1e-4 unless `std` is given; weights drawn from `rng`) trained on
 * `data` with `s`, minibatches from `rng` too. `bar` labels a progress bar (none when omitted,
 * e.g. inside a search that has its own bar); `onStep` is called after every iteration.
 */
export function trainNet(
  data: NetSplits,
  numClasses: number,
  s: NetSettings,
  rng: RandomState,
  opts: { bar?: string; std?: number; onStep?: () => void } = {},
): {
  net: TwoLayerNet;
  stats: TwoLayerNetTrainResult;
} {
  const net = new TwoLayerNet(data.XTrain.shape[1], s.hiddenSize, numClasses, { rng, std: opts.std });
  const bar = opts.bar ? progressBar(s.numIters, { label: opts.bar }) : null;
  try {
    const stats = net.train(data.XTrain, data.yTrain, data.XVal, data.yVal, {
      learningRate: s.learningRate,
      learningRateDecay: s.learningRateDecay,
      reg: s.reg,
      numIters: s.numIters,
      batchSize: s.batchSize,
      rng,
      onProgress: (p) => {
        bar?.tick(1, `loss ${p.loss.toFixed(4)}`);
        opts.onStep?.();
      },
    });
    return { net, stats };
  } finally {
    bar?.stop();
  }
}

/** Accuracy of `net` on the first `limit` rows of X (all rows by default). */
export function netAccuracy(net: TwoLayerNet, X: Tensor, y: IntTensor, limit = Infinity): number {
  const n = Math.min(limit, X.shape[0]);
  const Xs = (n === X.shape[0] ? X : X.hi(n, X.shape[1])) as NdArray<NumStore>;
  const ys = (n === y.shape[0] ? y : y.hi(n)) as IntTensor;
  return accuracy(net.predict(Xs), ys).accuracy;
}
