import ndarray from 'ndarray';
import { assertArg, ShapeError, shapeStr } from '../core/check';
import { defaultRandomState, type RandomState } from '../core/random';
import { sizeOf, zeros, type Tensor } from '../core/tensor';
import type { Labels } from '../layers/losses';
import { labelIndices, SoftmaxWithLoss, type Layer } from './layers';
import type { ParamRecord } from './params';
import { numericalGradient } from './util';

/*
 * What the book's four networks share: an ordered dictionary of layers ending in
 * SoftmaxWithLoss, `predict` / `loss` / `accuracy` / `gradient` / `numericalGradient`, and the
 * optional `0.5·λ·ΣW²` weight decay over the weight matrices (not biases, not γ/β).
 */

/** Where a parameter's gradient is found after backward: a getter per parameter name. */
export type GradientSource = Record<string, () => Tensor | null>;

/** The shared behaviour of MultiLayerNet, MultiLayerNetExtend, SimpleConvNet and DeepConvNet. */
export abstract class BookNet {
  /** The parameters by the book's names (`W1`, `b1`, …); layers hold these same arrays. */
  readonly params: ParamRecord = {};
  /** The layers in order, by the book's names (`Affine1`, `Relu1`, `Conv1`, …). */
  readonly layers: Array<[string, Layer]> = [];
  readonly lastLayer = new SoftmaxWithLoss();
  /** λ of the `0.5·λ·ΣW²` term added to the loss (0: none). */
  readonly weightDecayLambda: number;
  /** The parameter names that weight decay applies to. */
  protected readonly decayed: string[] = [];
  protected readonly gradSource: GradientSource = {};

  protected constructor(weightDecayLambda = 0) {
    assertArg(Number.isFinite(weightDecayLambda) && weightDecayLambda >= 0, 'weightDecayLambda', 'a finite non-negative number', weightDecayLambda);
    this.weightDecayLambda = weightDecayLambda;
  }

  /** `predict(x, train_flg=False)`: the scores before the softmax. */
  predict(x: Tensor, trainFlg = false): Tensor {
    let out = x;
    for (const [, layer] of this.layers) out = layer.forward(out, trainFlg);
    return out;
  }

  /** `loss(x, t, train_flg=False)`: softmax cross-entropy (+ weight decay). */
  loss(x: Tensor, t: Labels | Tensor, trainFlg = false): number {
    const y = this.predict(x, trainFlg);
    let decay = 0;
    if (this.weightDecayLambda > 0) {
      for (const k of this.decayed) {
        let s = 0;
        for (const v of this.params[k].data) s += v * v;
        decay += 0.5 * this.weightDecayLambda * s;
      }
    }
    return this.lastLayer.forward(y, t) + decay;
  }

  /**
   * `accuracy(x, t, batch_size=100)`: fraction of argmax(predict) equal to the label (test-mode
   * forward), computed in batches so large test sets do not need one huge activation.
   */
  accuracy(x: Tensor, t: Labels | Tensor, batchSize = 100): number {
    const N = x.shape[0];
    assertArg(Number.isInteger(batchSize) && batchSize > 0, 'batchSize', 'a positive integer', batchSize);
    if (N === 0) return NaN;
    const pred = this.predictLabels(x, batchSize);
    const C = pred.classes;
    const idx = labelIndices(t, N, C);
    if (idx.shape[0] !== N) throw new ShapeError(`t: expected ${N} labels to match x ${shapeStr(x.shape)}, got ${shapeStr(idx.shape)}`);
    let hits = 0;
    for (let i = 0; i < N; i++) if (pred.labels[i] === Number(idx.get(i))) hits++;
    return hits / N;
  }

  /** Argmax of the test-mode scores for every row of x, in batches. */
  predictLabels(x: Tensor, batchSize = 100): { labels: Int32Array; classes: number } {
    const N = x.shape[0];
    const row = sizeOf(x.shape.slice(1));
    const labels = new Int32Array(N);
    let classes = 0;
    for (let s = 0; s < N; s += batchSize) {
      const e = Math.min(N, s + batchSize);
      const xb = batchRows(x, s, e, row);
      const y = this.predict(xb, false);
      const C = y.shape[1];
      classes = C;
      for (let i = 0; i < e - s; i++) {
        let best = -Infinity;
        for (let j = 0; j < C; j++) {
          const v = y.data[i * C + j];
          if (v > best) {
            best = v;
            labels[s + i] = j;
          }
        }
      }
    }
    return { labels, classes };
  }

  /** `gradient(x, t)`: backpropagation (training-mode forward), one gradient per parameter. */
  gradient(x: Tensor, t: Labels | Tensor): ParamRecord {
    this.loss(x, t, true);
    let dout = this.lastLayer.backward(1);
    for (let i = this.layers.length - 1; i >= 0; i--) dout = this.layers[i][1].backward(dout);
    const grads: ParamRecord = {};
    for (const k of Object.keys(this.params)) {
      const g = this.gradSource[k]?.();
      if (!g) throw new Error(`gradient: no gradient was produced for ${k}`);
      grads[k] = g;
    }
    if (this.weightDecayLambda > 0) {
      for (const k of this.decayed) {
        const g = grads[k];
        const w = this.params[k].data;
        const out = new Float64Array(g.data.length);
        for (let i = 0; i < out.length; i++) out[i] = g.data[i] + this.weightDecayLambda * w[i];
        grads[k] = ndarray(out, g.shape.slice());
      }
    }
    return grads;
  }

  /**
   * `numerical_gradient(x, t)`: centred differences (h = 1e-4) of the training-mode loss for
   * every parameter; slow (two forward passes per scalar), meant for small nets and checks.
   */
  numericalGradient(x: Tensor, t: Labels | Tensor): ParamRecord {
    const grads: ParamRecord = {};
    for (const k of Object.keys(this.params)) grads[k] = numericalGradient(() => this.loss(x, t, true), this.params[k]);
    return grads;
  }
}

/** Rows [s, e) of x as a dense array (a view when x is dense). */
export function batchRows(x: Tensor, s: number, e: number, row: number): Tensor {
  const shape = [e - s, ...x.shape.slice(1)];
  if (x.offset === 0 && x.data.length === x.shape[0] * row && isRowMajor(x)) {
    return ndarray(x.data.subarray(s * row, e * row), shape);
  }
  const out = zeros(shape);
  let k = 0;
  const idx = new Array<number>(x.shape.length).fill(0);
  const rest = x.shape.slice(1);
  for (let i = s; i < e; i++) {
    idx[0] = i;
    for (let f = 0; f < row; f++) {
      let r = f;
      for (let d = rest.length - 1; d >= 0; d--) {
        idx[d + 1] = r % rest[d];
        r = Math.floor(r / rest[d]);
      }
      out.data[k++] = x.get(...idx);
    }
  }
  return out;
}

function isRowMajor(x: Tensor): boolean {
  let expect = 1;
  for (let d = x.shape.length - 1; d >= 0; d--) {
    if (x.shape[d] !== 1 && x.stride[d] !== expect) return false;
    expect *= x.shape[d];
  }
  return true;
}

/** `scale · randn(...shape)` from rng (the book's `weight_init_std * np.random.randn(...)`). */
export function scaledRandn(rng: RandomState, scale: number, shape: number[]): Tensor {
  const r = rng.randn(...shape);
  for (let i = 0; i < r.data.length; i++) r.data[i] *= scale;
  return r;
}

/** The generator a net draws from: the given one, else numpy-style global state. */
export function netRng(rng?: RandomState): RandomState {
  return rng ?? defaultRandomState();
}
