import type { NdArray } from 'ndarray';
import { assertShape, ShapeError, shapeStr } from '../core/check';
import { arrayCtor, type DType } from '../core/dtype';
import { defaultRandomState, type RandomState } from '../core/random';
import { argmax } from '../core/reduce';
import { affineBackward, affineForward } from '../layers/affine';
import { softmaxLoss } from '../layers/losses';
import { affineReluBackward, affineReluForward } from '../layers/sandwich';
import { astype, copy, fromData, isContiguous, takeRows, zeros, type IntTensor, type NumStore, type Tensor } from '../core/tensor';
import { assertFinite, assertInt, assertNonNegative, floatMatrix, labelArray } from './inputs';

/*
 * The classic (2019/20) cs231n two-layer net: affine – ReLU – affine – softmax, with its own
 * SGD loop inside the class. Its L2 term is reg·(ΣW1² + ΣW2²) without the ½ — the only
 * convention that reproduces the notebook's 1.30378789133 — so the weight gradients get 2·reg·W.
 */

/** The parameters of a {@link TwoLayerNet}, cs231n's `params` dict. */
export interface TwoLayerNetParams {
  /** First-layer weights (D, H). */
  W1: Tensor;
  /** First-layer biases (H,). */
  b1: Tensor;
  /** Second-layer weights (H, C). */
  W2: Tensor;
  /** Second-layer biases (C,). */
  b2: Tensor;
}

/** Parameter names in the order cs231n lists them. */
export const TWO_LAYER_NET_PARAM_NAMES = ['W1', 'b1', 'W2', 'b2'] as const;

/** Options of the {@link TwoLayerNet} constructor. */
export interface TwoLayerNetOptions {
  /** Scale of the Gaussian initial weights. Default 1e-4 (cs231n's `std`). */
  std?: number;
  /** Generator for the weights (W1 drawn first, then W2). Default: the module-level default RandomState. */
  rng?: RandomState;
  /** Dtype of the parameters and of every computation. Default 'float64'. */
  dtype?: DType;
}

/** What {@link TwoLayerNet.loss} returns when labels are given. */
export interface TwoLayerNetLoss {
  /** Mean softmax loss plus reg·(ΣW1² + ΣW2²). */
  loss: number;
  /** Gradient of `loss` for every parameter, same shapes and dtype as `params`. */
  grads: TwoLayerNetParams;
}

/** One step of {@link TwoLayerNet.train}, reported to `onProgress`. */
export interface TwoLayerNetTrainProgress {
  /** 0-based iteration just finished. */
  iteration: number;
  /** Total number of iterations of this run. */
  numIters: number;
  /** Minibatch loss of this iteration. */
  loss: number;
  /** Learning rate used for this iteration's update. */
  learningRate: number;
  /** Set on iterations that end an epoch: minibatch accuracy. */
  trainAcc?: number;
  /** Set on iterations that end an epoch: validation accuracy. */
  valAcc?: number;
}

/** Options of {@link TwoLayerNet.train}; defaults are cs231n's. */
export interface TwoLayerNetTrainOptions {
  /** SGD step size. Default 1e-3. */
  learningRate?: number;
  /** Factor applied to the learning rate after every epoch. Default 0.95. */
  learningRateDecay?: number;
  /** L2 strength. Default 5e-6. */
  reg?: number;
  /** Number of SGD steps. Default 100. */
  numIters?: number;
  /** Minibatch size (sampled with replacement). Default 200. */
  batchSize?: number;
  /** Print the loss every 100 iterations, as cs231n does. Default false. */
  verbose?: boolean;
  /** Generator for the minibatches. Default: the module-level default RandomState. */
  rng?: RandomState;
  /** Called after every iteration (e.g. to drive a progress bar). */
  onProgress?: (p: TwoLayerNetTrainProgress) => void;
}

/** What {@link TwoLayerNet.train} returns: cs231n's `loss_history`, `train_acc_history`, `val_acc_history`. */
export interface TwoLayerNetTrainResult {
  /** Minibatch loss of every iteration. */
  lossHistory: number[];
  /** Minibatch accuracy at the end of every epoch. */
  trainAccHistory: number[];
  /** Validation accuracy at the end of every epoch. */
  valAccHistory: number[];
}

/**
 * cs231n's `neural_net.TwoLayerNet` (2019/20): input D → hidden H (ReLU) → C class scores,
 * trained with softmax loss and minibatch SGD.
 *
 * ```ts
 * const net = new TwoLayerNet(4, 10, 3, { std: 1e-1, rng: new RandomState(0) });
 * const scores = net.loss(X);                 // (N, C)
 * const { loss, grads } = net.loss(X, y, 0.05);
 * ```
 */
export class TwoLayerNet {
  /** The weights and biases; updated in place by {@link train}. */
  readonly params: TwoLayerNetParams;
  /** Dtype of the parameters and computations. */
  readonly dtype: DType;
  /** D, the width of the inputs. */
  readonly inputSize: number;
  /** H, the number of hidden ReLU units. */
  readonly hiddenSize: number;
  /** C, the number of classes. */
  readonly outputSize: number;

  /**
   * Draws `W1 = std·randn(D, H)` then `W2 = std·randn(H, C)` (this order keeps the notebook's
   * seeds meaningful) and zero biases.
   */
  constructor(inputSize: number, hiddenSize: number, outputSize: number, opts: TwoLayerNetOptions = {}) {
    assertInt('inputSize', inputSize, 1);
    assertInt('hiddenSize', hiddenSize, 1);
    assertInt('outputSize', outputSize, 1);
    const { std = 1e-4, dtype = 'float64' } = opts;
    assertFinite('std', std);
    arrayCtor(dtype);
    const rng = opts.rng ?? defaultRandomState();
    this.inputSize = inputSize;
    this.hiddenSize = hiddenSize;
    this.outputSize = outputSize;
    this.dtype = dtype;
    const scaled = (t: Tensor): Tensor => {
      const d = t.data;
      for (let i = 0; i < d.length; i++) d[i] *= std;
      return astype(t, dtype);
    };
    const W1 = scaled(rng.randn(inputSize, hiddenSize));
    const W2 = scaled(rng.randn(hiddenSize, outputSize));
    this.params = { W1, b1: zeros([hiddenSize], dtype), W2, b2: zeros([outputSize], dtype) };
  }

  /** Class scores (N, C) for X (N, D). */
  loss(X: NdArray<NumStore>, y?: null, reg?: number): Tensor;
  /** Loss and gradients for X (N, D) with labels y (N,) in [0, C); `reg` is the L2 strength (default 0). */
  loss(X: NdArray<NumStore>, y: NdArray<NumStore>, reg?: number): TwoLayerNetLoss;
  loss(X: NdArray<NumStore>, y?: NdArray<NumStore> | null, reg?: number): Tensor | TwoLayerNetLoss;
  loss(X: NdArray<NumStore>, y?: NdArray<NumStore> | null, reg = 0): Tensor | TwoLayerNetLoss {
    const { W1, b1, W2, b2 } = this.checkedParams();
    const Xf = this.inputMatrix('X', X);
    const N = Xf.shape[0];
    const C = this.outputSize;
    const labels = y === undefined || y === null ? null : labelArray('y', y, N, C);
    assertNonNegative('reg', reg);

    // Composed from the layer set (affine–ReLU, affine, softmax) rather than re-derived here.
    const first = affineReluForward(Xf, W1, b1);
    const second = affineForward(first.out, W2, b2);
    const scores = second.out;
    if (!labels) return scores;
    if (N === 0) throw new ShapeError(`X: expected at least one example to average the loss over, got shape ${shapeStr(Xf.shape)}`);

    const data = softmaxLoss(scores, fromData(labels, [N]));
    const loss = data.loss + reg * (sumSquares(W1) + sumSquares(W2));
    const back2 = affineBackward(data.dx, second.cache);
    const back1 = affineReluBackward(back2.dx, first.cache);
    const dW1 = back1.dw;
    const dW2 = back2.dw;
    addScaled(dW1, W1, 2 * reg);
    addScaled(dW2, W2, 2 * reg);
    const db1 = back1.db;
    const db2 = back2.db;
    return { loss, grads: { W1: dW1, b1: db1, W2: dW2, b2: db2 } };
  }

  /**
   * Minibatch SGD, as cs231n's `train`: each iteration samples `batchSize` rows with
   * replacement (`rng.choice(numTrain, batchSize)`), records the loss and steps every
   * parameter. Whenever `it % iterationsPerEpoch === 0`, with
   * `iterationsPerEpoch = max(numTrain / batchSize, 1)` kept as a float (so with a fractional
   * value only iteration 0 may qualify, exactly like the notebook), it records the minibatch
   * and validation accuracies and multiplies the learning rate by `learningRateDecay`.
   */
  train(
    X: NdArray<NumStore>,
    y: NdArray<NumStore>,
    Xval: NdArray<NumStore>,
    yval: NdArray<NumStore>,
    opts: TwoLayerNetTrainOptions = {},
  ): TwoLayerNetTrainResult {
    const {
      learningRate = 1e-3, learningRateDecay = 0.95, reg = 5e-6, numIters = 100, batchSize = 200, verbose = false,
    } = opts;
    const rng = opts.rng ?? defaultRandomState();
    assertNonNegative('learningRate', learningRate);
    assertFinite('learningRateDecay', learningRateDecay);
    assertNonNegative('reg', reg);
    assertInt('numIters', numIters, 0);
    assertInt('batchSize', batchSize, 1);
    // Convert once: minibatches are gathered from the converted copy, not re-converted per step.
    const Xf = this.inputMatrix('X', X);
    const numTrain = Xf.shape[0];
    if (numTrain === 0) throw new ShapeError(`X: expected at least one training example, got shape ${shapeStr(Xf.shape)}`);
    const labels = labelArray('y', y, numTrain, this.outputSize);
    const Xv = this.inputMatrix('Xval', Xval);
    if (Xv.shape[0] === 0) throw new ShapeError(`Xval: expected at least one validation example, got shape ${shapeStr(Xv.shape)}`);
    const valLabels = labelArray('yval', yval, Xv.shape[0], this.outputSize);

    const iterationsPerEpoch = Math.max(numTrain / batchSize, 1);
    let lr = learningRate;
    const lossHistory: number[] = [];
    const trainAccHistory: number[] = [];
    const valAccHistory: number[] = [];
    const yBatch = new Int32Array(batchSize);
    for (let it = 0; it < numIters; it++) {
      const idx = rng.choice(numTrain, batchSize).data;
      const XBatch = takeRows(Xf, idx);
      for (let i = 0; i < batchSize; i++) yBatch[i] = labels[idx[i]];
      const yBatchArr = fromData(yBatch, [batchSize]);
      const { loss, grads } = this.loss(XBatch, yBatchArr, reg);
      lossHistory.push(loss);
      const stepLr = lr;
      for (const name of TWO_LAYER_NET_PARAM_NAMES) addScaled(this.params[name], grads[name], -lr);
      if (verbose && it % 100 === 0) console.log(`iteration ${it} / ${numIters}: loss ${loss.toFixed(6)}`);
      const progress: TwoLayerNetTrainProgress = { iteration: it, numIters, loss, learningRate: stepLr };
      if (it % iterationsPerEpoch === 0) {
        progress.trainAcc = accuracy(this.predict(XBatch).data, yBatch);
        progress.valAcc = accuracy(this.predict(Xv).data, valLabels);
        trainAccHistory.push(progress.trainAcc);
        valAccHistory.push(progress.valAcc);
        lr *= learningRateDecay;
      }
      opts.onProgress?.(progress);
    }
    return { lossHistory, trainAccHistory, valAccHistory };
  }

  /** Predicted labels (N,) for X (N, D): the argmax of the scores (first maximum on ties). */
  predict(X: NdArray<NumStore>): IntTensor {
    return argmax(this.loss(X), 1);
  }

  /** X as a float matrix of width D in the parameters' dtype (no copy when it already is one). */
  private inputMatrix(name: string, X: NdArray<NumStore>): Tensor {
    const Xf = floatMatrix(name, X);
    assertShape(name, Xf, [null, 'D'], { D: this.inputSize });
    return astype(Xf, this.dtype);
  }

  /**
   * The parameters, checked: users may assign `params.W1 = …` between calls (cs231n's gradient
   * check does), so shapes are re-verified and strided replacements made dense.
   */
  private checkedParams(): TwoLayerNetParams {
    const D = this.inputSize;
    const H = this.hiddenSize;
    const C = this.outputSize;
    const expected: Record<keyof TwoLayerNetParams, number[]> = { W1: [D, H], b1: [H], W2: [H, C], b2: [C] };
    for (const name of TWO_LAYER_NET_PARAM_NAMES) {
      const p = this.params[name];
      assertShape(`params.${name}`, p, expected[name]);
      let q = astype(p, this.dtype);
      if (!isContiguous(q)) q = copy(q);
      this.params[name] = q;
    }
    return this.params;
  }
}

function sumSquares(a: Tensor): number {
  const d = a.data;
  let s = 0;
  for (let i = 0; i < d.length; i++) s += d[i] * d[i];
  return s;
}

/** target += alpha · src, elementwise over dense arrays of the same shape. */
function addScaled(target: Tensor, src: Tensor, alpha: number): void {
  if (alpha === 0) return;
  const t = target.data;
  const s = src.data;
  for (let i = 0; i < t.length; i++) t[i] += alpha * s[i];
}

function accuracy(pred: ArrayLike<number>, labels: ArrayLike<number>): number {
  let hits = 0;
  for (let i = 0; i < labels.length; i++) if (pred[i] === labels[i]) hits++;
  return hits / labels.length;
}
