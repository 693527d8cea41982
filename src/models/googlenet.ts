import ndarray from 'ndarray';
import { dtypeOf, full, type Tensor } from '../core/tensor';
import { BatchNorm2d } from '../nn/batchNorm';
import { Conv2d } from '../nn/conv2d';
import { Linear } from '../nn/linear';
import type { Module } from '../nn/module';
import { Sequential } from '../nn/sequential';
import { Block, type Tape } from '../nn/tape';
import { add } from '../ops/add';
import { channelScale } from '../ops/channelScale';
import { initModel, type LayerOptions } from './init';
import { checkInput } from './inputCheck';
import { adaptiveAvgPool, avgPool, dropout, maxPool, reluLayer } from './layers';
import { probability, registerModel, type ModelOptions } from './registry';

/*
 * GoogLeNet (Szegedy et al. 2014) as torchvision builds it — BasicConv2d (conv without bias, BN
 * eps 1e-3, ReLU), nine Inception blocks whose "5×5" branch is a 3×3 conv (torchvision's known
 * deviation, kept for weight compatibility), optional auxiliary heads after 4a and 4d — and
 * kuangliu's CIFAR-10 GoogLeNet (3×3 stem with 192 channels, biased convs, two 3×3 convs in the
 * third branch, 8×8 average pool).
 */

/** Channel plan of an Inception block: in, 1×1, 3×3 reduce, 3×3, "5×5" reduce, "5×5", pool projection. */
type InceptionCfg = readonly [number, number, number, number, number, number, number];
const INCEPTIONS: Record<string, InceptionCfg> = {
  '3a': [192, 64, 96, 128, 16, 32, 32],
  '3b': [256, 128, 128, 192, 32, 96, 64],
  '4a': [480, 192, 96, 208, 16, 48, 64],
  '4b': [512, 160, 112, 224, 24, 64, 64],
  '4c': [512, 128, 128, 256, 24, 64, 64],
  '4d': [512, 112, 144, 288, 32, 64, 64],
  '4e': [528, 256, 160, 320, 32, 128, 128],
  '5a': [832, 256, 160, 320, 32, 128, 128],
  '5b': [832, 384, 192, 384, 48, 128, 128],
};

/** torchvision's BasicConv2d: conv (no bias) → BN (eps 1e-3) → ReLU. */
export class BasicConv2d extends Block {
  readonly conv: Conv2d;
  readonly bn: BatchNorm2d;
  private readonly relu: Module = reluLayer();

  constructor(m: LayerOptions, cin: number, cout: number, k: number, stride = 1, padding = 0) {
    super();
    this.conv = this.addModule('conv', new Conv2d(cin, cout, k, { stride, padding, bias: false, ...m }));
    this.bn = this.addModule('bn', new BatchNorm2d(cout, { eps: 1e-3, dtype: m.dtype }));
  }

  protected run(x: Tensor, t: Tape): Tensor {
    return t.seq(x, this.conv, this.bn, this.relu);
  }
}

/** Four branches on the same input, concatenated along channels. */
abstract class FourBranches extends Block {
  protected abstract branches(): Module[];
  protected run(x: Tensor, t: Tape): Tensor {
    return t.concat(this.branches().map((b) => t.call(b, x)));
  }
}

/** torchvision's Inception block (`branch1` … `branch4`). */
export class Inception extends FourBranches {
  readonly branch1: Module;
  readonly branch2: Sequential;
  readonly branch3: Sequential;
  readonly branch4: Sequential;

  constructor(m: LayerOptions, [cin, c1, c3r, c3, c5r, c5, pp]: InceptionCfg) {
    super();
    this.branch1 = this.addModule('branch1', new BasicConv2d(m, cin, c1, 1));
    this.branch2 = this.addModule('branch2', new Sequential(new BasicConv2d(m, cin, c3r, 1), new BasicConv2d(m, c3r, c3, 3, 1, 1)));
    this.branch3 = this.addModule('branch3', new Sequential(new BasicConv2d(m, cin, c5r, 1), new BasicConv2d(m, c5r, c5, 3, 1, 1)));
    this.branch4 = this.addModule('branch4', new Sequential(maxPool(3, 1, 1, true), new BasicConv2d(m, cin, pp, 1)));
  }

  protected branches(): Module[] {
    return [this.branch1, this.branch2, this.branch3, this.branch4];
  }
}

/** torchvision's auxiliary classifier: 4×4 average → 1×1 conv (128) → fc 2048→1024 → ReLU → dropout → fc. */
export class InceptionAux extends Block {
  readonly conv: BasicConv2d;
  readonly fc1: Linear;
  readonly fc2: Linear;
  readonly dropout: Module;
  private readonly pool: Module = adaptiveAvgPool(4);
  private readonly relu: Module = reluLayer();

  constructor(m: LayerOptions, cin: number, numClasses: number, p: number, rng: ModelOptions['rng']) {
    super();
    this.conv = this.addModule('conv', new BasicConv2d(m, cin, 128, 1));
    this.fc1 = this.addModule('fc1', new Linear(2048, 1024, m));
    this.fc2 = this.addModule('fc2', new Linear(1024, numClasses, m));
    this.dropout = this.addModule('dropout', dropout(p, rng));
  }

  protected run(x: Tensor, t: Tape): Tensor {
    const h = t.seq(x, this.pool, this.conv);
    return t.seq(t.flatten(h), this.fc1, this.relu, this.dropout, this.fc2);
  }
}

/** Gradients of the auxiliary outputs, for {@link GoogLeNet.backward}. */
export interface GoogLeNetAuxGrads {
  aux1?: Tensor;
  aux2?: Tensor;
}

/**
 * torchvision's GoogLeNet. Options as torchvision's (camelCase): `auxLogits` (default false, see
 * the registration below), `transformInput` (false), `dropout` (0.2), `dropoutAux` (0.7).
 *
 * Auxiliary heads, when present, run only in train mode, as in torchvision. Where torchvision's
 * forward then returns a tuple `(logits, aux2, aux1)`, ours keeps `forward(x)` → main logits
 * (every Module returns one tensor) and exposes the heads' outputs as {@link auxOutputs}; a loss
 * over them passes its gradients as `backward(dout, { aux1, aux2 })`, and they flow back into
 * the trunk. A head given no gradient contributes none.
 */
export class GoogLeNet extends Block {
  readonly conv1: BasicConv2d;
  readonly maxpool1: Module;
  readonly conv2: BasicConv2d;
  readonly conv3: BasicConv2d;
  readonly maxpool2: Module;
  readonly inception3: Inception[];
  readonly maxpool3: Module;
  readonly inception4: Inception[];
  readonly maxpool4: Module;
  readonly inception5: Inception[];
  readonly aux1: InceptionAux | null;
  readonly aux2: InceptionAux | null;
  readonly avgpool: Module;
  readonly dropout: Module;
  readonly fc: Linear;
  readonly transformInput: boolean;
  /** The auxiliary heads' outputs of the last train-mode forward (null in eval mode or without heads). */
  auxOutputs: { aux1: Tensor; aux2: Tensor } | null = null;
  private pendingAux: GoogLeNetAuxGrads | null = null;

  constructor(opts: ModelOptions) {
    super();
    const auxLogits = booleanOption('auxLogits', opts.auxLogits, false);
    this.transformInput = booleanOption('transformInput', opts.transformInput, false);
    const p = probability('dropout', opts.dropout ?? 0.2);
    const pAux = probability('dropoutAux', opts.dropoutAux ?? 0.7);
    const numClasses = opts.numClasses ?? 1000;
    const m: LayerOptions = { dtype: opts.dtype, rng: opts.rng, init: false };
    const inception = (id: string): Inception => this.addModule(`inception${id}`, new Inception(m, INCEPTIONS[id]));
    this.conv1 = this.addModule('conv1', new BasicConv2d(m, 3, 64, 7, 2, 3));
    this.maxpool1 = this.addModule('maxpool1', maxPool(3, 2, 0, true));
    this.conv2 = this.addModule('conv2', new BasicConv2d(m, 64, 64, 1));
    this.conv3 = this.addModule('conv3', new BasicConv2d(m, 64, 192, 3, 1, 1));
    this.maxpool2 = this.addModule('maxpool2', maxPool(3, 2, 0, true));
    this.inception3 = ['3a', '3b'].map(inception);
    this.maxpool3 = this.addModule('maxpool3', maxPool(3, 2, 0, true));
    this.inception4 = ['4a', '4b', '4c', '4d', '4e'].map(inception);
    this.maxpool4 = this.addModule('maxpool4', maxPool(2, 2, 0, true));
    this.inception5 = ['5a', '5b'].map(inception);
    this.aux1 = auxLogits ? this.addModule('aux1', new InceptionAux(m, 512, numClasses, pAux, opts.rng)) : null;
    this.aux2 = auxLogits ? this.addModule('aux2', new InceptionAux(m, 528, numClasses, pAux, opts.rng)) : null;
    this.avgpool = this.addModule('avgpool', adaptiveAvgPool(1));
    this.dropout = this.addModule('dropout', dropout(p, opts.rng));
    this.fc = this.addModule('fc', new Linear(1024, numClasses, m));
    if (opts.init !== false) initModel(this, { conv: 'truncNormal', linear: 'truncNormal' }, opts.rng);
  }

  protected run(x: Tensor, t: Tape): Tensor {
    checkInput('googlenet', x, 3, { min: 15 });
    const withAux = this.training && this.aux1 !== null && this.aux2 !== null;
    this.auxOutputs = null;
    let h = this.transformInput ? imagenetToHalf(x, t) : x;
    h = t.seq(h, this.conv1, this.maxpool1, this.conv2, this.conv3, this.maxpool2, ...this.inception3, this.maxpool3);
    h = t.call(this.inception4[0], h);
    const aux: Partial<Record<'aux1' | 'aux2', Tensor>> = {};
    if (withAux) h = this.tapAux(t, h, this.aux1!, 'aux1', aux);
    h = t.seq(h, this.inception4[1], this.inception4[2], this.inception4[3]);
    if (withAux) h = this.tapAux(t, h, this.aux2!, 'aux2', aux);
    h = t.seq(h, this.inception4[4], this.maxpool4, ...this.inception5, this.avgpool);
    if (withAux) this.auxOutputs = { aux1: aux.aux1!, aux2: aux.aux2! };
    return t.seq(t.flatten(h), this.dropout, this.fc);
  }

  /**
   * Runs an auxiliary head on `h` and records a pass-through node whose backward adds the head's
   * input gradient (from the gradient given to {@link backward}) to the trunk's.
   */
  private tapAux(t: Tape, h: Tensor, head: InceptionAux, key: 'aux1' | 'aux2', out: Partial<Record<'aux1' | 'aux2', Tensor>>): Tensor {
    out[key] = head.forward(h);
    const through = ndarray(h.data, h.shape.slice(), h.stride.slice(), h.offset);
    return t.multi([h], [through], ([g]) => {
      const da = this.pendingAux?.[key];
      return [da ? add.forward([g, head.backward(da)], {}).out : g];
    })[0];
  }

  /** Gradient of the input from that of the main logits and, optionally, of the auxiliary outputs. */
  override backward(dout: Tensor, aux?: GoogLeNetAuxGrads): Tensor {
    this.pendingAux = aux ?? null;
    try {
      return super.backward(dout);
    } finally {
      this.pendingAux = null;
    }
  }
}

/**
 * torchvision's `transform_input`: re-normalises an ImageNet-normalised image to the (x − 0.5)/0.5
 * scaling the original Inception weights expect, per channel x·(σ/0.5) + (μ − 0.5)/0.5.
 */
function imagenetToHalf(x: Tensor, t: Tape): Tensor {
  const [N, C, H, W] = x.shape;
  const mean = [0.485, 0.456, 0.406];
  const std = [0.229, 0.224, 0.225];
  const dtype = dtypeOf(x);
  const scale = full([N, C, 1, 1], 0, dtype);
  const shift = full([N, C, H, W], 0, dtype);
  for (let n = 0; n < N; n++) {
    for (let c = 0; c < C; c++) {
      scale.data[n * C + c] = std[c] / 0.5;
      shift.data.fill((mean[c] - 0.5) / 0.5, (n * C + c) * H * W, (n * C + c + 1) * H * W);
    }
  }
  return t.add(t.op(channelScale, [x, scale], {}), shift);
}

function booleanOption(name: string, v: unknown, fallback: boolean): boolean {
  if (v === undefined) return fallback;
  if (typeof v !== 'boolean') throw new RangeError(`${name}: expected true or false, got ${JSON.stringify(v)}`);
  return v;
}

/** kuangliu's Inception block (`b1` … `b4`): biased convs + BN + ReLU, two 3×3 convs in `b3`. */
export class InceptionCifar extends FourBranches {
  readonly b1: Sequential;
  readonly b2: Sequential;
  readonly b3: Sequential;
  readonly b4: Sequential;

  constructor(m: LayerOptions, [cin, c1, c3r, c3, c5r, c5, pp]: InceptionCfg) {
    super();
    const cbr = (a: number, b: number, k: number): Module[] => [new Conv2d(a, b, k, { padding: (k - 1) >> 1, ...m }), new BatchNorm2d(b, { dtype: m.dtype }), reluLayer()];
    this.b1 = this.addModule('b1', new Sequential(...cbr(cin, c1, 1)));
    this.b2 = this.addModule('b2', new Sequential(...cbr(cin, c3r, 1), ...cbr(c3r, c3, 3)));
    this.b3 = this.addModule('b3', new Sequential(...cbr(cin, c5r, 1), ...cbr(c5r, c5, 3), ...cbr(c5, c5, 3)));
    this.b4 = this.addModule('b4', new Sequential(maxPool(3, 1, 1), ...cbr(cin, pp, 1)));
  }

  protected branches(): Module[] {
    return [this.b1, this.b2, this.b3, this.b4];
  }
}

/** kuangliu's CIFAR-10 GoogLeNet: 3×3 stem (192), 3a-3b, pool, 4a-4e, pool, 5a-5b, 8×8 average, `linear`. */
export class GoogLeNetCifar extends Block {
  readonly preLayers: Sequential;
  readonly stages: Record<string, InceptionCifar>;
  readonly maxpool: Module;
  readonly avgpool: Module;
  readonly linear: Linear;

  constructor(opts: ModelOptions) {
    super();
    const m: LayerOptions = { dtype: opts.dtype, rng: opts.rng, init: false };
    this.preLayers = this.addModule('pre_layers', new Sequential(new Conv2d(3, 192, 3, { padding: 1, ...m }), new BatchNorm2d(192, { dtype: m.dtype }), reluLayer()));
    this.stages = {};
    const add3 = (id: string): void => {
      this.stages[id] = this.addModule(id.slice(1) + id[0], new InceptionCifar(m, INCEPTIONS[id]));
    };
    ['3a', '3b'].forEach(add3);
    this.maxpool = this.addModule('maxpool', maxPool(3, 2, 1));
    ['4a', '4b', '4c', '4d', '4e', '5a', '5b'].forEach(add3);
    this.avgpool = this.addModule('avgpool', avgPool(8, 1));
    this.linear = this.addModule('linear', new Linear(1024, opts.numClasses ?? 10, m));
    if (opts.init !== false) initModel(this, { conv: 'default', linear: 'default' }, opts.rng);
  }

  protected run(x: Tensor, t: Tape): Tensor {
    // Two stride-2 pools then an 8×8 average: 32×32 in, 1×1 before `linear`.
    checkInput('googlenet_cifar', x, 3, { exact: 32 });
    const s = this.stages;
    let h = t.seq(x, this.preLayers, s['3a'], s['3b'], this.maxpool);
    h = t.seq(h, s['4a'], s['4b'], s['4c'], s['4d'], s['4e'], this.maxpool);
    h = t.seq(h, s['5a'], s['5b'], this.avgpool);
    return t.call(this.linear, t.flatten(h));
  }
}

registerModel({
  // torchvision's bare GoogLeNet class defaults to aux_logits=True, but the model it loads ImageNet
  // weights into (and reference §B.0's 6,624,904 parameters) has none; default false here so
  // those weights load strictly, `auxLogits: true` for training with the heads.
  name: 'googlenet', description: 'GoogLeNet / Inception v1 (Szegedy et al. 2014), torchvision', options: ['auxLogits', 'transformInput', 'dropout', 'dropoutAux'],
  numClasses: 1000, input: [3, 224, 224], build: (o) => new GoogLeNet(o),
});
registerModel({
  name: 'googlenet_cifar', description: 'GoogLeNet for CIFAR-10 (3×3 stem, no early pools), kuangliu/pytorch-cifar', options: [],
  numClasses: 10, input: [3, 32, 32], build: (o) => new GoogLeNetCifar(o),
});
