import ndarray, { type NdArray } from 'ndarray';
import { assertShape, floatDtype, ShapeError, shapeStr } from '../core/check';
import { matmul } from '../core/matmul';
import { defaultRandomState, type RandomState } from '../core/random';
import { ascontiguous, astype, dtypeOf, takeRows, zeros, type IntTensor, type NumStore, type Tensor } from '../core/tensor';
import type { Backend } from '../gpu';
import { assertInt, assertNonNegative, labelArray, numClassesOf, type LossResult, type VectorizedLossOptions } from './inputs';
import { svmLossVectorized } from './linearSvm';
import { softmaxLossVectorized } from './softmax';

/** Options of {@link LinearClassifier.train}; defaults are cs231n's. */
export interface LinearTrainOptions {
  /** SGD step size. Default 1e-3. */
  learningRate?: number;
  /** L2 strength (loss term reg·ΣW²). Default 1e-5. */
  reg?: number;
  /** Number of SGD steps. Default 100. */
  numIters?: number;
  /** Examples per minibatch, drawn with replacement. Default 200. */
  batchSize?: number;
  /** Print `iteration i / n: loss x` every 100 iterations. Default false. */
  verbose?: boolean;
  /** Generator for W's initialisation and the minibatches. Default: the global `defaultRandomState()`. */
  rng?: RandomState;
  /** Compute each minibatch's loss and gradient on this backend (see `createBackend`); default the pure-TS path. */
  backend?: Backend;
}

/**
 * A linear classifier scores = X·W trained by minibatch SGD (cs231n's linear_classifier.py).
 * Subclasses supply the loss. W is created on the first `train` call as
 * `0.001 * rng.randn(D, C)` with C = max(y) + 1, in X's dtype, and kept across calls; each
 * iteration draws `rng.choice(numTrain, batchSize)` (with replacement). These are the notebook's
 * numpy calls in the notebook's order, so a `RandomState` seeded like `np.random.seed` follows
 * the same run.
 */
export abstract class LinearClassifier {
  /** The weights (D, C); null until the first {@link train}. */
  W: Tensor | null = null;

  /** The weights, or a clear error when {@link train} has not created them yet. */
  protected weights(): Tensor {
    if (this.W === null) throw new Error(`${this.constructor.name}: W is not initialised; call train(X, y) first (or set W)`);
    return this.W;
  }

  /** Loss and gradient on a minibatch; the subclass picks SVM or softmax. */
  abstract loss(XBatch: Tensor, yBatch: NdArray<NumStore>, reg: number, opts?: VectorizedLossOptions): LossResult;

  /** Runs SGD on X (N, D) float, labels y (N,); returns the loss of every iteration. */
  train(X: Tensor, y: NdArray<NumStore>, opts: LinearTrainOptions = {}): number[] {
    const { learningRate = 1e-3, reg = 1e-5, numIters = 100, batchSize = 200, verbose = false } = opts;
    const rng = opts.rng ?? defaultRandomState();
    const dtype = floatDtype('X', X);
    const { N, D } = assertShape('X', X, ['N', 'D']);
    if (N === 0) throw new ShapeError(`X: expected at least one training example, got shape ${shapeStr(X.shape)}`);
    const labels = labelArray('y', y, N);
    assertNonNegative('learningRate', learningRate);
    assertNonNegative('reg', reg);
    assertInt('numIters', numIters, 0);
    assertInt('batchSize', batchSize, 1);

    if (this.W === null) {
      const init = rng.randn(D, numClassesOf(labels));
      const W = zeros(init.shape, dtype);
      for (let t = 0; t < W.data.length; t++) W.data[t] = 0.001 * init.data[t];
      this.W = W;
    } else {
      assertShape('X', X, [null, this.W.shape[0]]);
    }
    const W = this.W;
    // One dense copy in W's dtype up front, so gathering a minibatch is a row memcpy.
    const Xd = ascontiguous(astype(X, dtypeOf(W)));
    const w = W.data;
    const yBatch = new Int32Array(batchSize);
    const history: number[] = [];
    const rows = new Int32Array(batchSize);
    const XBatch = zeros([batchSize, D], dtypeOf(W));
    for (let it = 0; it < numIters; it++) {
      const idx = rng.choice(N, batchSize);
      for (let b = 0; b < batchSize; b++) {
        rows[b] = idx.get(b);
        yBatch[b] = labels[rows[b]];
      }
      const { loss, dW } = this.loss(takeRows(Xd, rows, XBatch), ndarray(yBatch, [batchSize]), reg, { backend: opts.backend });
      history.push(loss);
      const g = dW.data;
      for (let t = 0; t < w.length; t++) w[t] -= learningRate * g[t];
      if (verbose && it % 100 === 0) console.log(`iteration ${it} / ${numIters}: loss ${loss.toFixed(6)}`);
    }
    return history;
  }

  /** Labels (N,) = argmax over classes of X·W (first maximum on ties, as numpy). */
  predict(X: Tensor): IntTensor {
    const W = this.weights();
    floatDtype('X', X);
    const { N } = assertShape('X', X, ['N', W.shape[0]]);
    const C = W.shape[1];
    const scores = matmul(astype(X, dtypeOf(W)), W).data;
    const pred = new Int32Array(N);
    for (let i = 0; i < N; i++) {
      let best = 0;
      for (let j = 1; j < C; j++) if (scores[i * C + j] > scores[i * C + best]) best = j;
      pred[i] = best;
    }
    return ndarray(pred, [N]);
  }
}

/** Linear classifier with the multiclass SVM (hinge) loss. */
export class LinearSVM extends LinearClassifier {
  /** {@link svmLossVectorized} with the current W. */
  override loss(XBatch: Tensor, yBatch: NdArray<NumStore>, reg: number, opts: VectorizedLossOptions = {}): LossResult {
    return svmLossVectorized(this.weights(), XBatch, yBatch, reg, opts);
  }
}

/** Linear classifier with the softmax (cross-entropy) loss. */
export class Softmax extends LinearClassifier {
  /** {@link softmaxLossVectorized} with the current W. */
  override loss(XBatch: Tensor, yBatch: NdArray<NumStore>, reg: number, opts: VectorizedLossOptions = {}): LossResult {
    return softmaxLossVectorized(this.weights(), XBatch, yBatch, reg, opts);
  }
}
