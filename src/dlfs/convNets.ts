import { assertArg } from '../core/check';
import type { RandomState } from '../core/random';
import { zeros } from '../core/tensor';
import { BookNet, netRng, scaledRandn } from './bookNet';
import { Affine, Convolution, Dropout, Pooling, Relu } from './layers';

/** The book's `conv_param` dictionary. */
export interface BookConvParam {
  filterNum: number;
  filterSize: number;
  pad: number;
  stride: number;
}

/** Output length of a convolution, checked to be a whole positive number (names the argument). */
function convOut(name: string, size: number, p: BookConvParam): number {
  const o = (size + 2 * p.pad - p.filterSize) / p.stride + 1;
  assertArg(Number.isInteger(o) && o > 0, name, `a conv_param whose windows tile the ${size}-pixel input (got output size ${o})`, p);
  return o;
}

function checkConvParam(name: string, p: BookConvParam): BookConvParam {
  for (const k of ['filterNum', 'filterSize', 'stride'] as const) assertArg(Number.isInteger(p?.[k]) && p[k] > 0, `${name}.${k}`, 'a positive integer', p?.[k]);
  assertArg(Number.isInteger(p.pad) && p.pad >= 0, `${name}.pad`, 'a non-negative integer', p.pad);
  return p;
}

/** Options of {@link SimpleConvNet}. */
export interface SimpleConvNetOptions {
  /** (C, H, W). Default [1, 28, 28]. */
  inputDim?: [number, number, number];
  /** Default { filterNum: 30, filterSize: 5, pad: 0, stride: 1 }. */
  convParam?: BookConvParam;
  /** Default 100. */
  hiddenSize?: number;
  /** Default 10. */
  outputSize?: number;
  /** Default 0.01. */
  weightInitStd?: number;
  rng?: RandomState;
}

/**
 * `SimpleConvNet`: conv → ReLU → max pool 2×2 s2 → Affine → ReLU → Affine → SoftmaxWithLoss.
 * Params W1 (FN, C, FS, FS), b1; W2 (FN·(OH/2)·(OW/2), hidden), b2; W3 (hidden, output), b3.
 */
export class SimpleConvNet extends BookNet {
  readonly inputDim: [number, number, number];
  readonly convParam: BookConvParam;
  constructor(opts: SimpleConvNetOptions = {}) {
    super(0);
    const inputDim = opts.inputDim ?? [1, 28, 28];
    const cp = checkConvParam('convParam', opts.convParam ?? { filterNum: 30, filterSize: 5, pad: 0, stride: 1 });
    const hidden = opts.hiddenSize ?? 100;
    const output = opts.outputSize ?? 10;
    const std = opts.weightInitStd ?? 0.01;
    assertArg(inputDim.length === 3 && inputDim.every((d) => Number.isInteger(d) && d > 0), 'inputDim', 'a (C, H, W) triple of positive integers', inputDim);
    assertArg(Number.isInteger(hidden) && hidden > 0, 'hiddenSize', 'a positive integer', hidden);
    assertArg(Number.isInteger(output) && output > 0, 'outputSize', 'a positive integer', output);
    assertArg(Number.isFinite(std) && std >= 0, 'weightInitStd', 'a finite non-negative number', std);
    this.inputDim = [inputDim[0], inputDim[1], inputDim[2]];
    this.convParam = { ...cp };
    const oh = convOut('convParam', inputDim[1], cp);
    const ow = convOut('convParam', inputDim[2], cp);
    // The book's int(filter_num * (conv_output_size/2)**2): a 2×2 pool floors odd sizes.
    const poolOut = cp.filterNum * Math.floor(oh / 2) * Math.floor(ow / 2);
    const rng = netRng(opts.rng);
    const p = this.params;
    p.W1 = scaledRandn(rng, std, [cp.filterNum, inputDim[0], cp.filterSize, cp.filterSize]);
    p.b1 = zeros([cp.filterNum]);
    p.W2 = scaledRandn(rng, std, [poolOut, hidden]);
    p.b2 = zeros([hidden]);
    p.W3 = scaledRandn(rng, std, [hidden, output]);
    p.b3 = zeros([output]);
    const conv1 = new Convolution(p.W1, p.b1, cp.stride, cp.pad);
    const affine1 = new Affine(p.W2, p.b2);
    const affine2 = new Affine(p.W3, p.b3);
    this.layers.push(['Conv1', conv1], ['Relu1', new Relu()], ['Pool1', new Pooling(2, 2, 2)], ['Affine1', affine1], ['Relu2', new Relu()], ['Affine2', affine2]);
    Object.assign(this.gradSource, {
      W1: () => conv1.dW, b1: () => conv1.db, W2: () => affine1.dW, b2: () => affine1.db, W3: () => affine2.dW, b3: () => affine2.db,
    });
  }
}

/** Options of {@link DeepConvNet}. */
export interface DeepConvNetOptions {
  /** (C, H, W). Default [1, 28, 28]. */
  inputDim?: [number, number, number];
  convParam1?: BookConvParam;
  convParam2?: BookConvParam;
  convParam3?: BookConvParam;
  convParam4?: BookConvParam;
  convParam5?: BookConvParam;
  convParam6?: BookConvParam;
  /** Default 50. */
  hiddenSize?: number;
  /** Default 10. */
  outputSize?: number;
  rng?: RandomState;
  /** Fixed dropout masks (see {@link Dropout}), for gradient checks. */
  dropoutSeed?: number;
}

/** The book's six conv_params of DeepConvNet (the fourth pads by 2). */
export const DEEP_CONV_PARAMS: readonly BookConvParam[] = [
  { filterNum: 16, filterSize: 3, pad: 1, stride: 1 },
  { filterNum: 16, filterSize: 3, pad: 1, stride: 1 },
  { filterNum: 32, filterSize: 3, pad: 1, stride: 1 },
  { filterNum: 32, filterSize: 3, pad: 2, stride: 1 },
  { filterNum: 64, filterSize: 3, pad: 1, stride: 1 },
  { filterNum: 64, filterSize: 3, pad: 1, stride: 1 },
];

/**
 * `DeepConvNet`: [conv-ReLU-conv-ReLU-pool] ×3 → Affine → ReLU → Dropout(0.5) → Affine →
 * Dropout(0.5) → SoftmaxWithLoss, He init with the book's fan-ins (C·3·3 of each conv's input,
 * the flattened pool output, hidden). 123,552 parameters for 1×28×28 input.
 */
export class DeepConvNet extends BookNet {
  readonly inputDim: [number, number, number];
  constructor(opts: DeepConvNetOptions = {}) {
    super(0);
    const inputDim = opts.inputDim ?? [1, 28, 28];
    assertArg(inputDim.length === 3 && inputDim.every((d) => Number.isInteger(d) && d > 0), 'inputDim', 'a (C, H, W) triple of positive integers', inputDim);
    const hidden = opts.hiddenSize ?? 50;
    const output = opts.outputSize ?? 10;
    assertArg(Number.isInteger(hidden) && hidden > 0, 'hiddenSize', 'a positive integer', hidden);
    assertArg(Number.isInteger(output) && output > 0, 'outputSize', 'a positive integer', output);
    this.inputDim = [inputDim[0], inputDim[1], inputDim[2]];
    const cps = [opts.convParam1, opts.convParam2, opts.convParam3, opts.convParam4, opts.convParam5, opts.convParam6].map((c, i) => checkConvParam(`convParam${i + 1}`, c ?? DEEP_CONV_PARAMS[i]));
    // Spatial size through the stack (pool 2×2 s2 after every second conv).
    let [C, H, W] = inputDim;
    const fanIn: number[] = [];
    cps.forEach((cp, i) => {
      fanIn.push(C * cp.filterSize * cp.filterSize);
      H = convOut(`convParam${i + 1}`, H, cp);
      W = convOut(`convParam${i + 1}`, W, cp);
      C = cp.filterNum;
      if (i % 2 === 1) {
        H = Math.floor(H / 2);
        W = Math.floor(W / 2);
      }
    });
    const flat = C * H * W;
    assertArg(flat > 0, 'inputDim', 'an image large enough for three 2×2 poolings', inputDim);
    fanIn.push(flat, hidden);
    const rng = netRng(opts.rng);
    const p = this.params;
    let pre = inputDim[0];
    cps.forEach((cp, i) => {
      p[`W${i + 1}`] = scaledRandn(rng, Math.sqrt(2 / fanIn[i]), [cp.filterNum, pre, cp.filterSize, cp.filterSize]);
      p[`b${i + 1}`] = zeros([cp.filterNum]);
      pre = cp.filterNum;
    });
    p.W7 = scaledRandn(rng, Math.sqrt(2 / fanIn[6]), [flat, hidden]);
    p.b7 = zeros([hidden]);
    p.W8 = scaledRandn(rng, Math.sqrt(2 / fanIn[7]), [hidden, output]);
    p.b8 = zeros([output]);
    const dropout = { dropoutRatio: 0.5, rng, seed: opts.dropoutSeed };
    cps.forEach((cp, i) => {
      const conv = new Convolution(p[`W${i + 1}`], p[`b${i + 1}`], cp.stride, cp.pad);
      this.layers.push([`Conv${i + 1}`, conv], [`Relu${i + 1}`, new Relu()]);
      this.gradSource[`W${i + 1}`] = () => conv.dW;
      this.gradSource[`b${i + 1}`] = () => conv.db;
      if (i % 2 === 1) this.layers.push([`Pool${(i + 1) / 2}`, new Pooling(2, 2, 2)]);
    });
    const a1 = new Affine(p.W7, p.b7);
    const a2 = new Affine(p.W8, p.b8);
    this.layers.push(['Affine1', a1], ['Relu7', new Relu()], ['Dropout1', new Dropout(dropout)], ['Affine2', a2], ['Dropout2', new Dropout(dropout)]);
    Object.assign(this.gradSource, { W7: () => a1.dW, b7: () => a1.db, W8: () => a2.dW, b8: () => a2.db });
  }
}
