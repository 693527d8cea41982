import ndarray from 'ndarray';
import { assertArg, ShapeError, shapeStr } from '../core/check';
import { allocFloat } from '../core/dtype';
import type { RandomState } from '../core/random';
import { dtypeOf, sizeOf, type Tensor } from '../core/tensor';
import { affineBackward, affineForward, type AffineCache } from '../layers/affine';
import { batchnormBackward, batchnormForward, type BatchnormCache, type BatchnormParam } from '../layers/batchnorm';
import { conv2dBackward, conv2dForward, type ConvFastCache } from '../layers/convFast';
import { dropoutBackward, dropoutForward, type DropoutCache } from '../layers/dropout';
import { dense } from '../layers/layerArgs';
import { softmaxLoss, type Labels } from '../layers/losses';
import { maxPoolBackwardNaive, maxPoolForwardNaive, type PoolCache } from '../layers/pool';
import { reluBackward, reluForward, type ReluCache } from '../layers/relu';

/*
 * The book's common/layers.py classes: `forward(x, trainFlg)` / `backward(dout)` objects that
 * keep their own cache, with the parameter arrays held by reference (the network's `params`
 * record) and the gradients left in `dW`, `db`, … after backward. The arithmetic is the
 * package's layer functions (src/layers); the book's conventions sit on top:
 *   Affine        flattens N-D input and restores the shape in backward (affineForward does).
 *   Relu          mask x ≤ 0 (reluForward's rule).
 *   SoftmaxWithLoss  loss −Σ log(y_t + 1e-7)/N, gradient (y − t)/N; one-hot or index labels.
 *   Dropout       NON-inverted: train x·mask, test x·(1 − ratio).
 *   BatchNormalization  per feature of the input flattened to (N, C·H·W), eps 1e-6, running
 *                 statistics r = 0.9·r + 0.1·batch (biased variance), starting from zeros.
 *   Convolution   im2col + GEMM (the package's conv2dForward, floor output size).
 *   Pooling       max only, first maximum of a window wins (the naive pool's rule), no padding.
 */

/** A layer of the book's nets. */
export interface Layer {
  /** Forward pass; `trainFlg` matters only to Dropout and BatchNormalization (default false). */
  forward(x: Tensor, trainFlg?: boolean): Tensor;
  /** Backward pass from the gradient of the output; leaves parameter gradients on the layer. */
  backward(dout: Tensor): Tensor;
}

function noCache(layer: string): never {
  throw new Error(`${layer}.backward: call forward first (there is no cached input)`);
}

/** `Relu`: max(0, x); gradient 0 where x ≤ 0. */
export class Relu implements Layer {
  private cache: ReluCache | null = null;
  forward(x: Tensor): Tensor {
    const r = reluForward(x);
    this.cache = r.cache;
    return r.out;
  }
  backward(dout: Tensor): Tensor {
    if (!this.cache) noCache('Relu');
    return reluBackward(dout, this.cache).dx;
  }
}

/** Elementwise logistic function 1/(1 + e^−x), in x's dtype. */
export function sigmoid(x: Tensor): Tensor {
  const xd = dense('x', x).data;
  const o = allocFloat(dtypeOf(x), xd.length);
  const exp = Math.exp;
  for (let i = 0; i < xd.length; i++) o[i] = 1 / (1 + exp(-xd[i]));
  return ndarray(o, x.shape.slice());
}

/** `Sigmoid`: gradient dout·y·(1 − y). */
export class Sigmoid implements Layer {
  private out: Tensor | null = null;
  forward(x: Tensor): Tensor {
    this.out = sigmoid(x);
    return this.out;
  }
  backward(dout: Tensor): Tensor {
    const y = this.out;
    if (!y) noCache('Sigmoid');
    if (dout.shape.length !== y.shape.length || dout.shape.some((d, i) => d !== y.shape[i])) {
      throw new ShapeError(`dout: expected shape ${shapeStr(y.shape)} (the forward output), got ${shapeStr(dout.shape)}`);
    }
    const g = dense('dout', dout).data;
    const o = allocFloat(dtypeOf(y), g.length);
    for (let i = 0; i < g.length; i++) o[i] = g[i] * y.data[i] * (1 - y.data[i]);
    return ndarray(o, y.shape.slice());
  }
}

/** `Affine(W, b)`: x (N, …) flattened to (N, D), `x·W + b` with W (D, M); backward restores x's shape. */
export class Affine implements Layer {
  dW: Tensor | null = null;
  db: Tensor | null = null;
  private cache: AffineCache | null = null;
  constructor(public W: Tensor, public b: Tensor) {}
  forward(x: Tensor): Tensor {
    const r = affineForward(x, this.W, this.b);
    this.cache = r.cache;
    return r.out;
  }
  backward(dout: Tensor): Tensor {
    if (!this.cache) noCache('Affine');
    const { dx, dw, db } = affineBackward(dout, this.cache);
    this.dW = dw;
    this.db = db;
    return dx;
  }
}

/**
 * Class indices from the book's labels: `(N,)` integers, or one-hot `(N, C)` rows (the argmax
 * of each row, as the book's `t.argmax(axis=1)`).
 */
export function labelIndices(t: Labels | Tensor, N: number, C: number): Labels {
  if (t?.shape?.length === 2) {
    if (t.shape[0] !== N || t.shape[1] !== C) throw new ShapeError(`t: expected one-hot labels of shape ${shapeStr([N, C])}, got ${shapeStr(t.shape)}`);
    const idx = new Int32Array(N);
    for (let i = 0; i < N; i++) {
      let best = -Infinity;
      for (let j = 0; j < C; j++) {
        const v = Number(t.get(i, j));
        if (v > best) {
          best = v;
          idx[i] = j;
        }
      }
    }
    return ndarray(idx, [N]);
  }
  return t as Labels;
}

/** The book adds this inside the log of the cross-entropy so that log(0) cannot occur. */
export const CROSS_ENTROPY_DELTA = 1e-7;

/**
 * `SoftmaxWithLoss`: softmax then `−Σ log(y[t] + 1e-7)/N`; backward gives `(y − t)/N`. The
 * softmax and its gradient are the package's softmaxLoss; the probabilities are read back from
 * that gradient (y = N·dx + onehot) to apply the book's 1e-7.
 */
export class SoftmaxWithLoss {
  /** Softmax output of the last forward pass. */
  y: Tensor | null = null;
  loss = NaN;
  private dx: Tensor | null = null;
  forward(x: Tensor, t: Labels | Tensor): number {
    if (x?.shape?.length !== 2) throw new ShapeError(`x: expected scores of shape (N, C), got ${x?.shape ? shapeStr(x.shape) : String(x)}`);
    const [N, C] = x.shape;
    const idx = labelIndices(t, N, C);
    const { dx } = softmaxLoss(x, idx);
    const y = allocFloat(dtypeOf(dx), N * C);
    let loss = 0;
    for (let i = 0; i < N; i++) {
      const ti = Number(idx.get(i));
      for (let j = 0; j < C; j++) y[i * C + j] = dx.data[i * C + j] * N + (j === ti ? 1 : 0);
      loss -= Math.log(y[i * C + ti] + CROSS_ENTROPY_DELTA);
    }
    this.y = ndarray(y, [N, C]);
    this.dx = dx;
    this.loss = loss / N;
    return this.loss;
  }
  /** Gradient of the loss with respect to the scores, times `dout` (default 1). */
  backward(dout = 1): Tensor {
    if (!this.dx) noCache('SoftmaxWithLoss');
    if (dout === 1) return this.dx;
    const o = allocFloat(dtypeOf(this.dx), this.dx.data.length);
    for (let i = 0; i < o.length; i++) o[i] = this.dx.data[i] * dout;
    return ndarray(o, this.dx.shape.slice());
  }
}

/** Options of {@link Dropout}. */
export interface DropoutOptions {
  /** Fraction of units dropped in training (the book's `dropout_ratio`). Default 0.5. */
  dropoutRatio?: number;
  /** Generator of the masks (one seed drawn per training pass). */
  rng?: RandomState;
  /**
   * When given, every training pass uses the same mask (from `RandomState(seed)`), so a
   * network with dropout can be gradient-checked; overrides `rng`.
   */
  seed?: number;
}

/**
 * `Dropout(dropout_ratio=0.5)`, the book's NON-inverted form: train `x·mask` (each unit kept
 * with probability 1 − ratio), test `x·(1 − ratio)`. Built on the package's inverted dropout
 * (which divides by the keep probability) by scaling back with the keep probability.
 */
export class Dropout implements Layer {
  readonly dropoutRatio: number;
  private cache: DropoutCache | null = null;
  private readonly rng?: RandomState;
  private readonly seed?: number;
  constructor(opts: DropoutOptions = {}) {
    const r = opts.dropoutRatio ?? 0.5;
    assertArg(typeof r === 'number' && r >= 0 && r < 1, 'dropoutRatio', 'a number in [0, 1)', r);
    if (opts.rng === undefined && opts.seed === undefined) throw new TypeError('Dropout: expected an rng or a seed for the masks');
    this.dropoutRatio = r;
    this.rng = opts.rng;
    this.seed = opts.seed;
  }
  forward(x: Tensor, trainFlg = false): Tensor {
    const keep = 1 - this.dropoutRatio;
    if (!trainFlg) {
      this.cache = null;
      return scaled(dense('x', x), keep);
    }
    const seed = this.seed ?? (this.rng as RandomState).randint(0, 2 ** 31 - 1);
    const r = dropoutForward(x, { mode: 'train', p: keep, seed });
    this.cache = r.cache;
    return scaled(r.out, keep);
  }
  backward(dout: Tensor): Tensor {
    if (!this.cache) {
      // After a test-mode forward the layer is the constant scale (1 − ratio).
      return scaled(dense('dout', dout), 1 - this.dropoutRatio);
    }
    return scaled(dropoutBackward(dout, this.cache).dx, 1 - this.dropoutRatio);
  }
}

function scaled(a: Tensor, s: number): Tensor {
  const o = allocFloat(dtypeOf(a), a.data.length);
  for (let i = 0; i < o.length; i++) o[i] = a.data[i] * s;
  return ndarray(o, a.shape.slice());
}

/** The book's BatchNormalization epsilon (`10e-7`). */
export const BOOK_BN_EPS = 1e-6;

/**
 * `BatchNormalization(gamma, beta, momentum=0.9)`: per-feature normalisation of the input
 * flattened to (N, D) — for 4-D input every (c, h, w) is its own feature, not every channel —
 * with eps 1e-6; the package's batchnormForward/Backward on that 2-D view.
 */
export class BatchNormalization implements Layer {
  dgamma: Tensor | null = null;
  dbeta: Tensor | null = null;
  readonly momentum: number;
  /** Running mean and (biased) variance; null until the first training pass, as in the book. */
  runningMean: Tensor | null;
  runningVar: Tensor | null;
  private cache: BatchnormCache | null = null;
  private inputShape: number[] = [];
  constructor(public gamma: Tensor, public beta: Tensor, opts: { momentum?: number; runningMean?: Tensor; runningVar?: Tensor } = {}) {
    this.momentum = opts.momentum ?? 0.9;
    this.runningMean = opts.runningMean ?? null;
    this.runningVar = opts.runningVar ?? null;
  }
  forward(x: Tensor, trainFlg = false): Tensor {
    const N = x.shape[0];
    const D = sizeOf(x.shape.slice(1));
    const x2 = ndarray(dense('x', x).data, [N, D]);
    const param: BatchnormParam = {
      mode: trainFlg ? 'train' : 'test',
      eps: BOOK_BN_EPS,
      momentum: this.momentum,
      ...(this.runningMean ? { runningMean: this.runningMean } : {}),
      ...(this.runningVar ? { runningVar: this.runningVar } : {}),
    };
    const r = batchnormForward(x2, this.gamma, this.beta, param);
    this.runningMean = param.runningMean ?? null;
    this.runningVar = param.runningVar ?? null;
    this.cache = r.cache;
    this.inputShape = x.shape.slice();
    return ndarray(r.out.data, x.shape.slice());
  }
  backward(dout: Tensor): Tensor {
    if (!this.cache) noCache('BatchNormalization');
    const N = dout.shape[0];
    const d2 = ndarray(dense('dout', dout).data, [N, sizeOf(dout.shape.slice(1))]);
    const { dx, dgamma, dbeta } = batchnormBackward(d2, this.cache);
    this.dgamma = dgamma;
    this.dbeta = dbeta;
    return ndarray(dx.data, this.inputShape.slice());
  }
}

/** `Convolution(W, b, stride=1, pad=0)`: W (FN, C, FH, FW), out_h = 1 + (H + 2P − FH)//S. */
export class Convolution implements Layer {
  dW: Tensor | null = null;
  db: Tensor | null = null;
  private cache: ConvFastCache | null = null;
  constructor(public W: Tensor, public b: Tensor, public readonly stride = 1, public readonly pad = 0) {}
  forward(x: Tensor): Tensor {
    const r = conv2dForward(x, this.W, this.b, { stride: this.stride, pad: this.pad });
    this.cache = r.cache;
    return r.out;
  }
  backward(dout: Tensor): Tensor {
    if (!this.cache) noCache('Convolution');
    const { dx, dw, db } = conv2dBackward(dout, this.cache);
    this.dW = dw;
    this.db = db;
    return dx;
  }
}

/** `Pooling(pool_h, pool_w, stride=1, pad=0)`: max pooling; only pad 0 (all the book's nets use). */
export class Pooling implements Layer {
  private cache: PoolCache | null = null;
  constructor(public readonly poolH: number, public readonly poolW: number, public readonly stride = 1, pad = 0) {
    assertArg(pad === 0, 'pad', '0 (padded max pooling is not used by the book and not supported)', pad);
  }
  forward(x: Tensor): Tensor {
    const r = maxPoolForwardNaive(x, { poolHeight: this.poolH, poolWidth: this.poolW, stride: this.stride });
    this.cache = r.cache;
    return r.out;
  }
  backward(dout: Tensor): Tensor {
    if (!this.cache) noCache('Pooling');
    return maxPoolBackwardNaive(dout, this.cache).dx;
  }
}
