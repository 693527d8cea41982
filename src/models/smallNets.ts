import type { RandomState } from '../core/random';
import { zeros, type Tensor } from '../core/tensor';
import { Conv2d } from '../nn/conv2d';
import { constant, normal } from '../nn/init';
import { Linear } from '../nn/linear';
import type { Module } from '../nn/module';
import { Block, type Tape } from '../nn/tape';
import type { LayerOptions } from './init';
import { checkInput } from './inputCheck';
import { dropout, maxPool, reluLayer } from './layers';
import { positiveInt, positiveNumber, probability, registerModel, type ModelOptions } from './registry';

/*
 * The small networks of the course and the book as nn modules, so they train with the same
 * optimizers, solver and summary as the zoo: cs231n's ThreeLayerConvNet, and Deep Learning from
 * Scratch's SimpleConvNet (ch. 7) and DeepConvNet (ch. 8). Weights use each source's own
 * initialisation (cs231n: N(0, weightScale²); the book: N(0, 0.01²) and He N(0, 2/fan_in)), drawn
 * through the RandomState; biases start at zero.
 */

/** `inputDim` option: [C, H, W] of positive integers. */
function inputDimOption(v: unknown, fallback: [number, number, number]): [number, number, number] {
  if (v === undefined) return fallback;
  if (!Array.isArray(v) || v.length !== 3) throw new RangeError(`inputDim: expected [C, H, W], got ${JSON.stringify(v)}`);
  return [positiveInt('inputDim[0]', v[0]), positiveInt('inputDim[1]', v[1]), positiveInt('inputDim[2]', v[2])];
}

/**
 * Weights N(0, std²) (std per layer), biases zero, drawn in registration order as the
 * sources draw them: a Linear's weights as its (in, out) matrix, transposed into PyTorch's
 * (out, in). So a model seeded like cs231n's or the book's net gets the very same weights.
 */
function initGaussian(layers: Array<Conv2d | Linear>, std: (l: Conv2d | Linear) => number, rng?: RandomState): void {
  for (const l of layers) {
    if (l instanceof Linear) {
      const [nIn, nOut] = [l.inFeatures, l.outFeatures];
      const drawn = normal(zeros([nIn, nOut]), 0, std(l), rng).data;
      const w = l.weight.data.data;
      for (let o = 0; o < nOut; o++) for (let i = 0; i < nIn; i++) w[o * nIn + i] = drawn[i * nOut + o];
    } else normal(l.weight.data, 0, std(l), rng);
    if (l.bias) constant(l.bias.data, 0);
  }
}

/** He's N(0, 2/fan_in) of the book's DeepConvNet (fan_in: inputs of a unit). */
const heStd = (l: Conv2d | Linear): number => Math.sqrt(2 / (l instanceof Linear ? l.inFeatures : l.inChannels * l.kernelSize * l.kernelSize));

/** Spatial size after a conv with `pad`, stride 1, then a 2×2/2 max pool; an error naming `option` if nothing is left. */
function convPoolSize(option: string, size: number, k: number, pad: number): number {
  const conv = size + 2 * pad - k + 1;
  if (conv < 2) throw new RangeError(`${option}: a ${k}×${k} filter (pad ${pad}) leaves ${conv} pixels of a ${size}-pixel input, too few for the 2×2 pool`);
  return Math.floor(conv / 2);
}

/** What distinguishes cs231n's ThreeLayerConvNet from the book's SimpleConvNet (same layer pattern). */
interface ConvPoolMlpSpec {
  /** Registered name (for input errors). */
  name: string;
  /** Module name of the convolution (`conv` in cs231n's net, `conv1` in the book's). */
  convName: string;
  input: [number, number, number];
  filters: number;
  filterSize: number;
  hidden: number;
  weightScale: number;
  /** "Same" padding (k − 1)/2 (cs231n) or none (the book). */
  samePadding: boolean;
}

/**
 * conv - ReLU - 2×2 max pool - Linear - ReLU - Linear, every weight N(0, weightScale²) and biases
 * zero: cs231n's ThreeLayerConvNet and the book's SimpleConvNet, which differ only in the
 * defaults and names of {@link ConvPoolMlpSpec}. Options `inputDim`, `numFilters`,
 * `filterSize`, `hiddenDim`, `weightScale` override the defaults.
 */
class ConvPoolMlp extends Block {
  readonly conv: Conv2d;
  readonly fc1: Linear;
  readonly fc2: Linear;
  private readonly relu: Module = reluLayer();
  private readonly pool: Module = maxPool(2, 2);
  readonly inputDim: [number, number, number];

  constructor(private readonly spec: ConvPoolMlpSpec, opts: ModelOptions) {
    super();
    const [C, H, W] = (this.inputDim = inputDimOption(opts.inputDim, spec.input));
    const F = positiveInt('numFilters', opts.numFilters ?? spec.filters);
    const k = positiveInt('filterSize', opts.filterSize ?? spec.filterSize);
    const hidden = positiveInt('hiddenDim', opts.hiddenDim ?? spec.hidden);
    const ws = positiveNumber('weightScale', opts.weightScale ?? spec.weightScale);
    const pad = spec.samePadding ? Math.floor((k - 1) / 2) : 0;
    const m: LayerOptions = { dtype: opts.dtype, rng: opts.rng, init: false };
    this.conv = this.addModule(spec.convName, new Conv2d(C, F, k, { padding: pad, ...m }));
    const feats = F * convPoolSize('filterSize', H, k, pad) * convPoolSize('filterSize', W, k, pad);
    this.fc1 = this.addModule('fc1', new Linear(feats, hidden, m));
    this.fc2 = this.addModule('fc2', new Linear(hidden, opts.numClasses ?? 10, m));
    if (opts.init !== false) initGaussian([this.conv, this.fc1, this.fc2], () => ws, opts.rng);
  }

  protected run(x: Tensor, t: Tape): Tensor {
    checkInput(this.spec.name, x, this.inputDim[0], { exact: [this.inputDim[1], this.inputDim[2]] });
    const h = t.seq(x, this.conv, this.relu, this.pool);
    return t.seq(t.flatten(h), this.fc1, this.relu, this.fc2);
  }
}

/**
 * cs231n's ThreeLayerConvNet: conv (stride 1, "same" padding (k − 1)/2) - ReLU - 2×2 max pool -
 * affine - ReLU - affine. Defaults as the assignment: `inputDim` [3, 32, 32], `numFilters` 32,
 * `filterSize` 7, `hiddenDim` 100, `weightScale` 1e-3.
 */
export class ThreeLayerConvNet extends ConvPoolMlp {
  constructor(opts: ModelOptions) {
    super({ name: 'three_layer_convnet', convName: 'conv', input: [3, 32, 32], filters: 32, filterSize: 7, hidden: 100, weightScale: 1e-3, samePadding: true }, opts);
  }
}

/**
 * The book's SimpleConvNet (ch. 7): conv (30 filters 5×5, no padding) - ReLU - 2×2 pool -
 * Linear(4320, 100) - ReLU - Linear(100, 10) on 1×28×28; `weightScale` is the book's
 * weight_init_std, 0.01.
 */
export class SimpleConvNet extends ConvPoolMlp {
  /** The convolution under the book's name. */
  get conv1(): Conv2d {
    return this.conv;
  }

  constructor(opts: ModelOptions) {
    super({ name: 'simple_convnet', convName: 'conv1', input: [1, 28, 28], filters: 30, filterSize: 5, hidden: 100, weightScale: 0.01, samePadding: false }, opts);
  }
}

/** (out channels, padding) of the six 3×3 convs of the book's DeepConvNet; a pool follows every second. */
const DEEP_CONVS: ReadonlyArray<readonly [number, number]> = [[16, 1], [16, 1], [32, 1], [32, 2], [64, 1], [64, 1]];

/**
 * The book's DeepConvNet (ch. 8) on 1×28×28: six 3×3 convs with ReLU (16, 16, 32, 32 with
 * padding 2, 64, 64), a 2×2 pool after every second, Linear(1024, 50) - ReLU - Dropout -
 * Linear(50, 10) - Dropout. The dropouts are PyTorch's (inverted, `dropout` = drop probability,
 * default the book's 0.5), not the book's scaled-at-test-time ones. He initialisation.
 */
export class DeepConvNet extends Block {
  readonly convs: Conv2d[];
  readonly fc1: Linear;
  readonly fc2: Linear;
  private readonly relu: Module = reluLayer();
  private readonly pool: Module = maxPool(2, 2);
  private readonly drop1: Module;
  private readonly drop2: Module;

  constructor(opts: ModelOptions) {
    super();
    const p = probability('dropout', opts.dropout ?? 0.5);
    const m: LayerOptions = { dtype: opts.dtype, rng: opts.rng, init: false };
    let c = 1;
    this.convs = DEEP_CONVS.map(([cout, pad], i) => {
      const conv = this.addModule(`conv${i + 1}`, new Conv2d(c, cout, 3, { padding: pad, ...m }));
      c = cout;
      return conv;
    });
    this.fc1 = this.addModule('fc1', new Linear(64 * 4 * 4, 50, m));
    this.fc2 = this.addModule('fc2', new Linear(50, opts.numClasses ?? 10, m));
    // Registered (no state) so that train()/eval() reach them.
    this.drop1 = this.addModule('drop1', dropout(p, opts.rng));
    this.drop2 = this.addModule('drop2', dropout(p, opts.rng));
    if (opts.init !== false) initGaussian([...this.convs, this.fc1, this.fc2], heStd, opts.rng);
  }

  protected run(x: Tensor, t: Tape): Tensor {
    checkInput('deep_convnet', x, 1, { exact: 28 });
    let h = x;
    this.convs.forEach((conv, i) => {
      h = t.seq(h, conv, this.relu);
      if (i % 2 === 1) h = t.call(this.pool, h);
    });
    return t.seq(t.flatten(h), this.fc1, this.relu, this.drop1, this.fc2, this.drop2);
  }
}

registerModel({
  name: 'three_layer_convnet', description: "cs231n's ThreeLayerConvNet: conv-ReLU-pool-affine-ReLU-affine", numClasses: 10, input: [3, 32, 32],
  options: ['inputDim', 'numFilters', 'filterSize', 'hiddenDim', 'weightScale'], build: (o) => new ThreeLayerConvNet(o),
});
registerModel({
  name: 'simple_convnet', description: "Deep Learning from Scratch's SimpleConvNet (ch. 7), 1×28×28", numClasses: 10, input: [1, 28, 28],
  options: ['inputDim', 'numFilters', 'filterSize', 'hiddenDim', 'weightScale'], build: (o) => new SimpleConvNet(o),
});
registerModel({
  name: 'deep_convnet', description: "Deep Learning from Scratch's DeepConvNet (ch. 8), 1×28×28, PyTorch-style dropout", numClasses: 10, input: [1, 28, 28],
  options: ['dropout'], build: (o) => new DeepConvNet(o),
});
