import type { DType } from '../core/dtype';
import { ShapeError, shapeStr, showValue } from '../core/check';
import { defaultRandomState, type RandomState } from '../core/random';
import { astype, type Tensor } from '../core/tensor';
import {
  affineBackward,
  affineForward,
  affineReluBackward,
  affineReluForward,
  convReluPoolBackward,
  convReluPoolForward,
  softmaxLoss,
  type ConvParam,
  type Labels,
  type PoolParam,
} from '../layers';
import type { LossAndGrads } from '../layers/losses';
import { addHalfL2, checkDtype, checkOptionNames, gaussian, nonNegativeOption, positiveIntOption, zerosOf } from './netParams';

/** Options of {@link ThreeLayerConvNet}; defaults are cs231n's. */
export interface ThreeLayerConvNetOptions {
  /** (C, H, W) of one input image. Default [3, 32, 32]; MNIST-format data is [1, 28, 28]. */
  inputDim?: [number, number, number];
  /** Filters of the convolution. Default 32. */
  numFilters?: number;
  /** Side of the square filters (odd sizes keep H×W: pad = (filterSize − 1) / 2). Default 7. */
  filterSize?: number;
  /** Units of the hidden affine layer. Default 100. */
  hiddenDim?: number;
  /** Classes. Default 10. */
  numClasses?: number;
  /** Standard deviation of the Gaussian initial weights. Default 1e-3. */
  weightScale?: number;
  /** L2 strength (½·reg·ΣW² on W1, W2, W3). Default 0. */
  reg?: number;
  /** Dtype of the parameters and the computation. Default 'float32'. */
  dtype?: DType;
  /** Generator for the weights (W1, W2, W3 in order). Default: the module default RandomState. */
  rng?: RandomState;
}

const CNN_OPTIONS = ['inputDim', 'numFilters', 'filterSize', 'hiddenDim', 'numClasses', 'weightScale', 'reg', 'dtype', 'rng'];

/**
 * cs231n's `ThreeLayerConvNet`: conv – ReLU – 2×2 max pool – affine – ReLU – affine – softmax,
 * on images `(N, C, H, W)`. The convolution has stride 1 and pad (filterSize − 1) / 2
 * (size-preserving for odd sizes); conv, ReLU and pool run through the fast sandwich layer, so
 * the conv output must have even height and width (32×32 CIFAR and 28×28 MNIST do).
 * Parameters W1 `(F, C, fs, fs)`, b1, W2 `(F·H'·W', hidden)`, b2, W3 `(hidden, classes)`, b3.
 */
export class ThreeLayerConvNet {
  /** W1, b1, W2, b2, W3, b3 (replaced by the Solver after each update). */
  params: Record<string, Tensor>;
  /** L2 strength; may be changed between calls. */
  reg: number;
  /** Dtype of the parameters; inputs are converted to it. */
  readonly dtype: DType;
  /** (C, H, W) of one input image. */
  readonly inputDim: [number, number, number];
  /** Convolution: stride 1, pad (filterSize − 1) / 2. */
  readonly convParam: ConvParam;
  /** Pooling: 2×2, stride 2. */
  readonly poolParam: PoolParam;

  constructor(opts: ThreeLayerConvNetOptions = {}) {
    checkOptionNames('ThreeLayerConvNet', opts, CNN_OPTIONS);
    const inputDim = opts.inputDim ?? [3, 32, 32];
    if (!Array.isArray(inputDim) || inputDim.length !== 3) throw new ShapeError(`inputDim: expected [C, H, W], got ${showValue(inputDim)}`);
    const [C, H, W] = inputDim.map((v, i) => positiveIntOption(`inputDim[${i}]`, v));
    const F = positiveIntOption('numFilters', opts.numFilters ?? 32);
    const fs = positiveIntOption('filterSize', opts.filterSize ?? 7);
    const hidden = positiveIntOption('hiddenDim', opts.hiddenDim ?? 100);
    const numClasses = positiveIntOption('numClasses', opts.numClasses ?? 10);
    const ws = nonNegativeOption('weightScale', opts.weightScale ?? 1e-3);
    this.reg = nonNegativeOption('reg', opts.reg ?? 0);
    this.dtype = checkDtype(opts.dtype ?? 'float32');
    this.inputDim = [C, H, W];
    this.convParam = { stride: 1, pad: Math.floor((fs - 1) / 2) };
    this.poolParam = { poolHeight: 2, poolWidth: 2, stride: 2 };
    const pad = this.convParam.pad;
    const Hc = H + 2 * pad - fs + 1;
    const Wc = W + 2 * pad - fs + 1;
    // The fast 2×2 / stride-2 pool (as cs231n's) needs the conv output to tile exactly.
    if (Hc < 2 || Wc < 2 || Hc % 2 !== 0 || Wc % 2 !== 0) {
      throw new ShapeError(`filterSize: ${fs} (pad ${pad}) gives a ${Hc}×${Wc} conv output for ${H}×${W} inputs, but the fast 2×2 max pool needs even sizes of at least 2 (H + 2·pad − filterSize + 1 must be even)`);
    }
    const Hp = Hc / 2;
    const Wp = Wc / 2;
    const rng = opts.rng ?? defaultRandomState();
    this.params = {
      W1: gaussian(rng, [F, C, fs, fs], ws, this.dtype),
      b1: zerosOf(F, this.dtype),
      W2: gaussian(rng, [F * Hp * Wp, hidden], ws, this.dtype),
      b2: zerosOf(hidden, this.dtype),
      W3: gaussian(rng, [hidden, numClasses], ws, this.dtype),
      b3: zerosOf(numClasses, this.dtype),
    };
  }

  /** Scores `(N, classes)` without labels; `{ loss, grads }` with labels. */
  loss(X: Tensor): Tensor;
  loss(X: Tensor, y: Labels): LossAndGrads;
  loss(X: Tensor, y?: Labels | null): Tensor | LossAndGrads;
  loss(X: Tensor, y?: Labels | null): Tensor | LossAndGrads {
    const [C, H, W] = this.inputDim;
    const s = X?.shape;
    if (!Array.isArray(s) || s.length !== 4 || s[1] !== C || s[2] !== H || s[3] !== W) {
      throw new ShapeError(`X: expected shape (N, ${C}, ${H}, ${W}) to match inputDim, got ${Array.isArray(s) ? shapeStr(s) : String(X)}`);
    }
    const p = this.params;
    const x = astype(X, this.dtype);
    const c1 = convReluPoolForward(x, p.W1, p.b1, this.convParam, this.poolParam);
    const h2 = affineReluForward(c1.out, p.W2, p.b2);
    const s3 = affineForward(h2.out, p.W3, p.b3);
    if (y === undefined || y === null) return s3.out;
    const { loss: dataLoss, dx: dscores } = softmaxLoss(s3.out, y);
    const g3 = affineBackward(dscores, s3.cache);
    const g2 = affineReluBackward(g3.dx, h2.cache);
    const g1 = convReluPoolBackward(g2.dx, c1.cache);
    const grads: Record<string, Tensor> = { W1: g1.dw, b1: g1.db, W2: g2.dw, b2: g2.db, W3: g3.dw, b3: g3.db };
    const loss = dataLoss + addHalfL2(p, grads, ['W1', 'W2', 'W3'], this.reg);
    return { loss, grads };
  }
}
