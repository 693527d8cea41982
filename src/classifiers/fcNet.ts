import { showValue } from '../core/check';
import type { DType } from '../core/dtype';
import { defaultRandomState, type RandomState } from '../core/random';
import { astype, type Tensor } from '../core/tensor';
import {
  chainBackward,
  chainForward,
  dropoutBackward,
  dropoutForward,
  layerSteps,
  normStep,
  softmaxLoss,
  type BatchnormParam,
  type ChainStep,
  type DropoutParam,
  type Labels,
  type LayernormParam,
} from '../layers';
import type { LossAndGrads } from '../layers/losses';
import { addHalfL2, checkDtype, checkOptionNames, gaussian, nonNegativeOption, onesOf, positiveIntOption, zerosOf } from './netParams';

/*
 * cs231n's fc_net.py: the modular two-layer net and the fully connected net of any depth with
 * optional batch/layer normalisation and dropout. Both follow the Solver's model contract
 * (params by name; loss(X) → scores, loss(X, y) → { loss, grads }) and use ½·reg·ΣW² on the
 * weights only, so their weight gradients gain reg·W.
 */

/** Options of {@link ModularTwoLayerNet}; defaults are cs231n's `TwoLayerNet`. */
export interface ModularTwoLayerNetOptions {
  /** Input size D. Default 3072 (3·32·32). */
  inputDim?: number;
  /** Hidden units H. Default 100. */
  hiddenDim?: number;
  /** Classes C. Default 10. */
  numClasses?: number;
  /** Standard deviation of the Gaussian initial weights. Default 1e-3. */
  weightScale?: number;
  /** L2 strength (the loss adds ½·reg·ΣW²). Default 0. */
  reg?: number;
  /** Generator for the weights (W1 then W2). Default: the module default RandomState (cs231n draws from np.random). */
  rng?: RandomState;
  /** Dtype of the parameters and the computation. Default 'float64'. */
  dtype?: DType;
}

const TWO_LAYER_OPTIONS = ['inputDim', 'hiddenDim', 'numClasses', 'weightScale', 'reg', 'rng', 'dtype'];

/**
 * cs231n's modular `TwoLayerNet` (fc_net.py, 2021+ assignment 1 / 2019–20 assignment 2):
 * affine – ReLU – affine – softmax with parameters W1 `(D, H)`, b1, W2 `(H, C)`, b2.
 */
export class ModularTwoLayerNet {
  /** W1, b1, W2, b2 (replaced by the Solver after each update). */
  params: Record<string, Tensor>;
  /** L2 strength; may be changed between calls, as the notebook does (`model.reg = 1.0`). */
  reg: number;
  /** Dtype of the parameters; inputs are converted to it. */
  readonly dtype: DType;

  constructor(opts: ModularTwoLayerNetOptions = {}) {
    checkOptionNames('ModularTwoLayerNet', opts, TWO_LAYER_OPTIONS);
    const D = positiveIntOption('inputDim', opts.inputDim ?? 3 * 32 * 32);
    const H = positiveIntOption('hiddenDim', opts.hiddenDim ?? 100);
    const C = positiveIntOption('numClasses', opts.numClasses ?? 10);
    const ws = nonNegativeOption('weightScale', opts.weightScale ?? 1e-3);
    this.reg = nonNegativeOption('reg', opts.reg ?? 0);
    this.dtype = checkDtype(opts.dtype ?? 'float64');
    const rng = opts.rng ?? defaultRandomState();
    this.params = {
      W1: gaussian(rng, [D, H], ws, this.dtype),
      b1: zerosOf(H, this.dtype),
      W2: gaussian(rng, [H, C], ws, this.dtype),
      b2: zerosOf(C, this.dtype),
    };
  }

  /** Scores `(N, C)` without labels; `{ loss, grads }` with labels. */
  loss(X: Tensor): Tensor;
  loss(X: Tensor, y: Labels): LossAndGrads;
  loss(X: Tensor, y?: Labels | null): Tensor | LossAndGrads;
  loss(X: Tensor, y?: Labels | null): Tensor | LossAndGrads {
    const p = this.params;
    const x = astype(X, this.dtype);
    const { out: scores, cache } = chainForward(x, [
      layerSteps.affine(p.W1, p.b1, { dw: 'W1', db: 'b1' }),
      layerSteps.relu(),
      layerSteps.affine(p.W2, p.b2, { dw: 'W2', db: 'b2' }),
    ]);
    if (y === undefined || y === null) return scores;
    const { loss: dataLoss, dx: dscores } = softmaxLoss(scores, y);
    const { dx: _dx, ...grads } = chainBackward(dscores, cache);
    const loss = dataLoss + addHalfL2(p, grads, ['W1', 'W2'], this.reg);
    return { loss, grads };
  }
}

/** Normalisation inside each hidden block of a {@link FullyConnectedNet}. */
export type FcNormalization = 'batchnorm' | 'layernorm' | null;

/** Options of {@link FullyConnectedNet}; defaults are cs231n's (2021+ names, camelCased). */
export interface FullyConnectedNetOptions {
  /** Sizes of the hidden layers, e.g. [100, 100]. Required (may be empty: a softmax classifier). */
  hiddenDims: number[];
  /** Input size D. Default 3072. */
  inputDim?: number;
  /** Classes C. Default 10. */
  numClasses?: number;
  /** Probability of KEEPING a unit in each dropout layer, in (0, 1]; 1 = no dropout. Default 1. */
  dropoutKeepRatio?: number;
  /** null (none), 'batchnorm' or 'layernorm'. Default null. */
  normalization?: FcNormalization;
  /** L2 strength (½·reg·ΣW² on the weights only). Default 0. */
  reg?: number;
  /** Standard deviation of the Gaussian initial weights. Default 1e-2. */
  weightScale?: number;
  /** Dtype of the parameters and the computation. Default 'float32' (cs231n's np.float32). */
  dtype?: DType;
  /** Seed of the dropout masks: every forward pass then uses the same masks (for gradient checks). */
  seed?: number;
  /** Generator for the weights, drawn W1, W2, … in layer order. Default: the module default RandomState. */
  rng?: RandomState;
}

const FC_OPTIONS = ['hiddenDims', 'inputDim', 'numClasses', 'dropoutKeepRatio', 'normalization', 'reg', 'weightScale', 'dtype', 'seed', 'rng'];

/**
 * cs231n's `FullyConnectedNet`: `{affine – [batch/layer norm] – ReLU – [dropout]} × (L−1) –
 * affine – softmax`. Parameters W1…WL, b1…bL and, with normalisation, gamma1…gamma(L−1)
 * (ones) and beta1…beta(L−1) (zeros). `loss(X)` runs in test mode (dropout off, batch norm
 * with running statistics); `loss(X, y)` in training mode.
 */
export class FullyConnectedNet {
  /** W1…WL, b1…bL and, with normalisation, gamma1…, beta1… (replaced by the Solver after each update). */
  params: Record<string, Tensor>;
  /** L2 strength; may be changed between calls. */
  reg: number;
  /** Dtype of the parameters; inputs are converted to it. */
  readonly dtype: DType;
  /** Affine layers L (hidden layers + 1). */
  readonly numLayers: number;
  /** Normalisation in the hidden blocks (null: none). */
  readonly normalization: FcNormalization;
  /** True when dropoutKeepRatio < 1. */
  readonly useDropout: boolean;
  /** cs231n's `dropout_param`: `{ mode, p[, seed] }` shared by every dropout layer. */
  readonly dropoutParam: DropoutParam;
  /** One param object per hidden layer when normalising: BN `{ mode, runningMean, runningVar }` or LN `{}`. */
  readonly bnParams: Array<BatchnormParam | LayernormParam>;

  constructor(opts: FullyConnectedNetOptions) {
    if (!opts || typeof opts !== 'object') throw new TypeError('FullyConnectedNet: expected options { hiddenDims, … }');
    checkOptionNames('FullyConnectedNet', opts, FC_OPTIONS);
    const { hiddenDims } = opts;
    if (!Array.isArray(hiddenDims)) throw new TypeError(`hiddenDims: expected an array of layer sizes, got ${showValue(hiddenDims)}`);
    hiddenDims.forEach((h, i) => positiveIntOption(`hiddenDims[${i}]`, h));
    const D = positiveIntOption('inputDim', opts.inputDim ?? 3 * 32 * 32);
    const C = positiveIntOption('numClasses', opts.numClasses ?? 10);
    const keep = opts.dropoutKeepRatio ?? 1;
    if (!(typeof keep === 'number' && keep > 0 && keep <= 1)) throw new RangeError(`dropoutKeepRatio: expected a keep probability in (0, 1], got ${showValue(keep)}`);
    const norm = opts.normalization ?? null;
    if (norm !== null && norm !== 'batchnorm' && norm !== 'layernorm') {
      throw new RangeError(`normalization: expected null, 'batchnorm' or 'layernorm', got ${showValue(norm)}`);
    }
    this.reg = nonNegativeOption('reg', opts.reg ?? 0);
    const ws = nonNegativeOption('weightScale', opts.weightScale ?? 1e-2);
    this.dtype = checkDtype(opts.dtype ?? 'float32');
    this.normalization = norm;
    this.numLayers = hiddenDims.length + 1;
    this.useDropout = keep !== 1;
    this.dropoutParam = { mode: 'train', p: keep };
    if (opts.seed !== undefined && opts.seed !== null) this.dropoutParam.seed = opts.seed;
    const rng = opts.rng ?? defaultRandomState();
    const dims = [D, ...hiddenDims, C];
    this.params = {};
    for (let i = 1; i <= this.numLayers; i++) {
      this.params[`W${i}`] = gaussian(rng, [dims[i - 1], dims[i]], ws, this.dtype);
      this.params[`b${i}`] = zerosOf(dims[i], this.dtype);
      if (norm !== null && i < this.numLayers) {
        this.params[`gamma${i}`] = onesOf(dims[i], this.dtype);
        this.params[`beta${i}`] = zerosOf(dims[i], this.dtype);
      }
    }
    this.bnParams = norm === 'batchnorm'
      ? hiddenDims.map((): BatchnormParam => ({ mode: 'train' }))
      : norm === 'layernorm' ? hiddenDims.map((): LayernormParam => ({})) : [];
  }

  /** Scores `(N, C)` without labels (test mode); `{ loss, grads }` with labels (training mode). */
  loss(X: Tensor): Tensor;
  loss(X: Tensor, y: Labels): LossAndGrads;
  loss(X: Tensor, y?: Labels | null): Tensor | LossAndGrads;
  loss(X: Tensor, y?: Labels | null): Tensor | LossAndGrads {
    const mode = y === undefined || y === null ? 'test' : 'train';
    this.dropoutParam.mode = mode;
    if (this.normalization === 'batchnorm') for (const bp of this.bnParams) (bp as BatchnormParam).mode = mode;
    const p = this.params;
    const L = this.numLayers;
    // The net is one chain of the single layers; the step names map each gradient to its parameter.
    const chain: ChainStep[] = [];
    for (let i = 1; i <= L; i++) {
      chain.push(layerSteps.affine(p[`W${i}`], p[`b${i}`], { dw: `W${i}`, db: `b${i}` }));
      if (i === L) break;
      if (this.normalization !== null) {
        chain.push(normStep(this.normalization, p[`gamma${i}`], p[`beta${i}`], this.bnParams[i - 1], { dgamma: `gamma${i}`, dbeta: `beta${i}` }));
      }
      chain.push(layerSteps.relu());
      if (this.useDropout) chain.push({ forward: (h) => dropoutForward(h, this.dropoutParam), backward: dropoutBackward });
    }
    const { out: scores, cache } = chainForward(astype(X, this.dtype), chain);
    if (mode === 'test') return scores;
    const { loss: dataLoss, dx: dscores } = softmaxLoss(scores, y!);
    const { dx: _dx, ...grads } = chainBackward(dscores, cache);
    const weights = Array.from({ length: L }, (_, i) => `W${i + 1}`);
    const loss = dataLoss + addHalfL2(p, grads, weights, this.reg);
    return { loss, grads };
  }

  /** Batch-norm running statistics (`bn1.runningMean`, `bn1.runningVar`, …) for checkpoints. */
  getBuffers(): Record<string, Tensor> {
    const out: Record<string, Tensor> = {};
    if (this.normalization !== 'batchnorm') return out;
    this.bnParams.forEach((bp, i) => {
      const b = bp as BatchnormParam;
      if (b.runningMean) out[`bn${i + 1}.runningMean`] = b.runningMean;
      if (b.runningVar) out[`bn${i + 1}.runningVar`] = b.runningVar;
    });
    return out;
  }

  /** Restores what {@link FullyConnectedNet.getBuffers} returned. */
  setBuffers(buffers: Record<string, Tensor>): void {
    for (const [k, v] of Object.entries(buffers)) {
      const m = /^bn(\d+)\.(runningMean|runningVar)$/.exec(k);
      const i = m ? Number(m[1]) - 1 : -1;
      if (!m || this.normalization !== 'batchnorm' || i < 0 || i >= this.bnParams.length) {
        throw new RangeError(`buffers.${k}: not a buffer of this net (it has ${this.normalization === 'batchnorm' ? `bn1…bn${this.bnParams.length} running statistics` : 'no buffers'})`);
      }
      (this.bnParams[i] as BatchnormParam)[m[2] as 'runningMean' | 'runningVar'] = v;
    }
  }
}
