import { assertArg } from '../core/check';
import type { RandomState } from '../core/random';
import { ones, zeros } from '../core/tensor';
import { BookNet, netRng, scaledRandn } from './bookNet';
import { Affine, BatchNormalization, Dropout, Relu, Sigmoid, type Layer } from './layers';

/** Hidden-layer activation of the book's MLPs. */
export type Activation = 'relu' | 'sigmoid';

/** `weight_init_std`: a number, or 'relu'/'he' (√(2/n_in)) or 'sigmoid'/'xavier' (√(1/n_in)). */
export type WeightInitStd = number | 'relu' | 'he' | 'sigmoid' | 'xavier';

/** Options of {@link MultiLayerNet} (the book's keyword arguments, camelCased). */
export interface MultiLayerNetOptions {
  inputSize: number;
  hiddenSizeList: number[];
  outputSize: number;
  /** Default 'relu'. */
  activation?: Activation;
  /** Default 'relu' (He). */
  weightInitStd?: WeightInitStd;
  /** λ of `0.5·λ·ΣW²`. Default 0. */
  weightDecayLambda?: number;
  /** Generator of the initial weights (and dropout masks); default the global `random` state. */
  rng?: RandomState;
}

/** The standard deviation the book's `__init_weight` uses for a layer with `nIn` inputs. */
export function initStd(weightInitStd: WeightInitStd, nIn: number): number {
  if (typeof weightInitStd === 'number') {
    assertArg(Number.isFinite(weightInitStd) && weightInitStd >= 0, 'weightInitStd', 'a finite non-negative number or relu/he/sigmoid/xavier', weightInitStd);
    return weightInitStd;
  }
  const s = String(weightInitStd).toLowerCase();
  if (s === 'relu' || s === 'he') return Math.sqrt(2 / nIn);
  if (s === 'sigmoid' || s === 'xavier') return Math.sqrt(1 / nIn);
  throw new RangeError(`weightInitStd: expected a number or 'relu', 'he', 'sigmoid', 'xavier', got ${JSON.stringify(weightInitStd)}`);
}

function checkSizes(opts: MultiLayerNetOptions): number[] {
  const sizes = [opts.inputSize, ...(opts.hiddenSizeList ?? []), opts.outputSize];
  assertArg(Array.isArray(opts.hiddenSizeList), 'hiddenSizeList', 'an array of layer widths', opts.hiddenSizeList);
  sizes.forEach((s, i) => assertArg(Number.isInteger(s) && s > 0, i === 0 ? 'inputSize' : i === sizes.length - 1 ? 'outputSize' : `hiddenSizeList[${i - 1}]`, 'a positive integer', s));
  return sizes;
}

function activationLayer(activation: Activation): Layer {
  if (activation === 'relu') return new Relu();
  if (activation === 'sigmoid') return new Sigmoid();
  throw new RangeError(`activation: expected 'relu' or 'sigmoid', got ${JSON.stringify(activation)}`);
}

/**
 * Adds `W1…W_L`, `b1…b_L` (biases zero) to `net.params` with the book's init; returns the sizes.
 * Weights are drawn in layer order, one randn per matrix, as the book's loop does.
 */
function initAffine(net: BookNet, sizes: number[], weightInitStd: WeightInitStd, rng: RandomState): void {
  for (let i = 1; i < sizes.length; i++) {
    net.params[`W${i}`] = scaledRandn(rng, initStd(weightInitStd, sizes[i - 1]), [sizes[i - 1], sizes[i]]);
    net.params[`b${i}`] = zeros([sizes[i]]);
  }
}

/**
 * `MultiLayerNet(input_size, hidden_size_list, output_size, activation='relu',
 * weight_init_std='relu', weight_decay_lambda=0)`: Affine → activation per hidden layer, a
 * last Affine, SoftmaxWithLoss.
 */
export class MultiLayerNet extends BookNet {
  readonly inputSize: number;
  readonly hiddenSizeList: number[];
  readonly outputSize: number;
  constructor(opts: MultiLayerNetOptions) {
    super(opts.weightDecayLambda ?? 0);
    const sizes = checkSizes(opts);
    this.inputSize = opts.inputSize;
    this.hiddenSizeList = opts.hiddenSizeList.slice();
    this.outputSize = opts.outputSize;
    const activation = opts.activation ?? 'relu';
    initAffine(this, sizes, opts.weightInitStd ?? 'relu', netRng(opts.rng));
    const L = sizes.length - 1;
    for (let i = 1; i <= L; i++) {
      const affine = new Affine(this.params[`W${i}`], this.params[`b${i}`]);
      this.layers.push([`Affine${i}`, affine]);
      this.gradSource[`W${i}`] = () => affine.dW;
      this.gradSource[`b${i}`] = () => affine.db;
      this.decayed.push(`W${i}`);
      if (i < L) this.layers.push([`Activation_function${i}`, activationLayer(activation)]);
    }
  }
}

/** Options of {@link MultiLayerNetExtend}. */
export interface MultiLayerNetExtendOptions extends MultiLayerNetOptions {
  /** Default false. */
  useDropout?: boolean;
  /** The book's `dropout_ration`. Default 0.5. */
  dropoutRatio?: number;
  /** Default false. */
  useBatchnorm?: boolean;
  /** Fixed dropout masks (see {@link Dropout}), for gradient checks. */
  dropoutSeed?: number;
}

/**
 * `MultiLayerNetExtend(..., use_dropout=False, dropout_ration=0.5, use_batchnorm=False)`:
 * Affine → [BatchNorm] → activation → [Dropout] per hidden layer; `gamma{i}` = 1, `beta{i}` = 0.
 */
export class MultiLayerNetExtend extends BookNet {
  readonly inputSize: number;
  readonly hiddenSizeList: number[];
  readonly outputSize: number;
  readonly useDropout: boolean;
  readonly useBatchnorm: boolean;
  constructor(opts: MultiLayerNetExtendOptions) {
    super(opts.weightDecayLambda ?? 0);
    const sizes = checkSizes(opts);
    this.inputSize = opts.inputSize;
    this.hiddenSizeList = opts.hiddenSizeList.slice();
    this.outputSize = opts.outputSize;
    this.useDropout = opts.useDropout ?? false;
    this.useBatchnorm = opts.useBatchnorm ?? false;
    const activation = opts.activation ?? 'relu';
    const rng = netRng(opts.rng);
    initAffine(this, sizes, opts.weightInitStd ?? 'relu', rng);
    const L = sizes.length - 1;
    for (let i = 1; i <= L; i++) {
      const affine = new Affine(this.params[`W${i}`], this.params[`b${i}`]);
      this.layers.push([`Affine${i}`, affine]);
      this.gradSource[`W${i}`] = () => affine.dW;
      this.gradSource[`b${i}`] = () => affine.db;
      this.decayed.push(`W${i}`);
      if (i === L) break;
      if (this.useBatchnorm) {
        this.params[`gamma${i}`] = ones([sizes[i]]);
        this.params[`beta${i}`] = zeros([sizes[i]]);
        const bn = new BatchNormalization(this.params[`gamma${i}`], this.params[`beta${i}`]);
        this.layers.push([`BatchNorm${i}`, bn]);
        this.gradSource[`gamma${i}`] = () => bn.dgamma;
        this.gradSource[`beta${i}`] = () => bn.dbeta;
      }
      this.layers.push([`Activation_function${i}`, activationLayer(activation)]);
      if (this.useDropout) {
        const d = new Dropout({ dropoutRatio: opts.dropoutRatio ?? 0.5, rng, seed: opts.dropoutSeed });
        this.layers.push([`Dropout${i}`, d]);
      }
    }
  }
}
