import type { Tensor } from '../core/tensor';
import { BatchNorm2d } from '../nn/batchNorm';
import { Conv2d } from '../nn/conv2d';
import { ConvNormActivation } from '../nn/convNormActivation';
import { convNormActLayers, invertedResidualEval } from '../nn/invertedResidualEval';
import { Linear } from '../nn/linear';
import type { Module } from '../nn/module';
import { Sequential } from '../nn/sequential';
import { Block, type Tape } from '../nn/tape';
import { initModel, type LayerOptions } from './init';
import { adaptiveAvgPool, avgPool, dropout, relu6Layer, reluLayer } from './layers';
import { requireFinalMap } from './finalMap';
import { makeDivisible, positiveNumber, probability, registerModel, type ModelOptions } from './registry';

/*
 * MobileNet V2 (Sandler et al. 2018) as torchvision builds it — inverted residuals whose
 * shortcut joins the thin bottlenecks, with a linear (activation-free) projection — and
 * kuangliu's CIFAR-10 version, which keeps the table but changes strides and adds a projection
 * shortcut wherever a stride-1 block changes width.
 */

type Make = LayerOptions;

/** Conv → BN → ReLU6 (torchvision's `Conv2dNormActivation` with ReLU6). */
const cbr6 = (m: Make, cin: number, cout: number, k: number, stride = 1, groups = 1): ConvNormActivation =>
  new ConvNormActivation(cin, cout, k, { stride, groups, norm: (c) => new BatchNorm2d(c, { dtype: m.dtype }), activation: relu6Layer, ...m });

/** (t expansion, c output channels, n blocks, s stride of the first block): the paper's Table 2. */
const SETTING: ReadonlyArray<readonly [number, number, number, number]> = [
  [1, 16, 1, 1],
  [6, 24, 2, 2],
  [6, 32, 3, 2],
  [6, 64, 4, 2],
  [6, 96, 3, 1],
  [6, 160, 3, 2],
  [6, 320, 1, 1],
];

/**
 * torchvision's inverted residual: `conv` = [1×1 expand-BN-ReLU6 (when t ≠ 1)] → depthwise
 * 3×3-BN-ReLU6 (the stride) → 1×1 project → BN, with no activation after the projection;
 * the input is added back iff the stride is 1 and the width is unchanged.
 */
export class InvertedResidual extends Block {
  readonly conv: Sequential;
  readonly useResConnect: boolean;

  constructor(m: Make, inp: number, oup: number, stride: number, expandRatio: number) {
    super();
    // Python's round() on x.5 goes to even; inp·t is an integer for every table row, so Math.round agrees.
    const hidden = Math.round(inp * expandRatio);
    this.useResConnect = stride === 1 && inp === oup;
    const layers: Module[] = [];
    if (expandRatio !== 1) layers.push(cbr6(m, inp, hidden, 1));
    layers.push(cbr6(m, hidden, hidden, 3, stride, hidden));
    layers.push(new Conv2d(hidden, oup, 1, { bias: false, ...m }), new BatchNorm2d(oup, { dtype: m.dtype }));
    this.conv = this.addModule('conv', new Sequential(...layers));
  }

  protected run(x: Tensor, t: Tape): Tensor {
    // Under noGrad in eval mode: the whole block as one kernel, the same bits (nn/invertedResidualEval.ts).
    const c = this.conv;
    const expand = c.length === 4 ? convNormActLayers(c.at(0)) : null;
    const depthwise = c.length === 4 ? convNormActLayers(c.at(1)) : null;
    if (expand !== null && depthwise !== null) {
      const fused = invertedResidualEval(x, {
        expand, depthwise, project: [c.at(2) as Conv2d, c.at(3) as BatchNorm2d, null], shortcut: this.useResConnect ? 'identity' : null,
      });
      if (fused !== null) return fused;
    }
    const y = t.call(c, x);
    return this.useResConnect ? t.add(y, x) : y;
  }
}

/** torchvision's MobileNetV2: `features` (stem, 17 inverted residuals, 1×1 to 1280), global average, `classifier` = [Dropout, Linear]. */
export class MobileNetV2 extends Block {
  readonly features: Sequential;
  readonly pool: Module;
  readonly classifier: Sequential;
  readonly lastChannel: number;

  constructor(opts: ModelOptions) {
    super();
    const widthMult = positiveNumber('widthMult', opts.widthMult ?? 1);
    const p = probability('dropout', opts.dropout ?? 0.2);
    const m: Make = { dtype: opts.dtype, rng: opts.rng, init: false };
    let cin = makeDivisible(32 * widthMult, 8);
    this.lastChannel = makeDivisible(1280 * Math.max(1, widthMult), 8);
    const layers: Module[] = [cbr6(m, 3, cin, 3, 2)];
    for (const [t, c, n, s] of SETTING) {
      const cout = makeDivisible(c * widthMult, 8);
      for (let i = 0; i < n; i++) {
        layers.push(new InvertedResidual(m, cin, cout, i === 0 ? s : 1, t));
        cin = cout;
      }
    }
    layers.push(cbr6(m, cin, this.lastChannel, 1));
    this.features = this.addModule('features', new Sequential(...layers));
    // torchvision pools with F.adaptive_avg_pool2d in forward, so the pool is not a child (no state-dict entry).
    this.pool = adaptiveAvgPool(1);
    this.classifier = this.addModule('classifier', new Sequential(dropout(p), new Linear(this.lastChannel, opts.numClasses ?? 1000, m)));
    if (opts.init !== false) initModel(this, { conv: 'kaimingFanOut', linear: 'normal0.01' }, opts.rng);
  }

  protected run(x: Tensor, t: Tape): Tensor {
    return t.call(this.classifier, t.flatten(t.seq(x, this.features, this.pool)));
  }
}

/**
 * kuangliu's CIFAR block: 1×1 expand-BN-ReLU (always, even for t = 1) → depthwise 3×3-BN-ReLU →
 * 1×1 project-BN; at stride 1 the input is added, through a 1×1 conv + BN `shortcut` when the
 * width changes (torchvision has no shortcut there). Plain ReLU, as kuangliu writes it.
 */
export class CifarInvertedResidual extends Block {
  readonly conv1: Conv2d;
  readonly bn1: BatchNorm2d;
  readonly conv2: Conv2d;
  readonly bn2: BatchNorm2d;
  readonly conv3: Conv2d;
  readonly bn3: BatchNorm2d;
  readonly shortcut: Sequential | null;
  readonly relu: Module = reluLayer();

  constructor(m: Make, inPlanes: number, outPlanes: number, expansion: number, readonly stride: number) {
    super();
    const planes = expansion * inPlanes;
    this.conv1 = this.addModule('conv1', new Conv2d(inPlanes, planes, 1, { bias: false, ...m }));
    this.bn1 = this.addModule('bn1', new BatchNorm2d(planes, { dtype: m.dtype }));
    this.conv2 = this.addModule('conv2', new Conv2d(planes, planes, 3, { stride, padding: 1, groups: planes, bias: false, ...m }));
    this.bn2 = this.addModule('bn2', new BatchNorm2d(planes, { dtype: m.dtype }));
    this.conv3 = this.addModule('conv3', new Conv2d(planes, outPlanes, 1, { bias: false, ...m }));
    this.bn3 = this.addModule('bn3', new BatchNorm2d(outPlanes, { dtype: m.dtype }));
    // kuangliu registers an empty Sequential when no projection is needed: it has no state, so it is left out.
    this.shortcut =
      stride === 1 && inPlanes !== outPlanes
        ? this.addModule('shortcut', new Sequential(new Conv2d(inPlanes, outPlanes, 1, { bias: false, ...m }), new BatchNorm2d(outPlanes, { dtype: m.dtype })))
        : null;
  }

  protected run(x: Tensor, t: Tape): Tensor {
    // Under noGrad in eval mode: the whole block as one kernel, the same bits (nn/invertedResidualEval.ts).
    const fused = invertedResidualEval(x, {
      expand: [this.conv1, this.bn1, this.relu], depthwise: [this.conv2, this.bn2, this.relu], project: [this.conv3, this.bn3, null],
      shortcut: this.stride !== 1 ? null : this.shortcut ? [this.shortcut.at(0) as Conv2d, this.shortcut.at(1) as BatchNorm2d] : 'identity',
    });
    if (fused !== null) return fused;
    const out = t.seq(x, this.conv1, this.bn1, this.relu, this.conv2, this.bn2, this.relu, this.conv3, this.bn3);
    if (this.stride !== 1) return out;
    return t.add(out, this.shortcut ? t.call(this.shortcut, x) : x);
  }
}

/** The CIFAR table: stage 2's stride 2 → 1 (32×32 inputs cannot afford the ImageNet downsampling). */
const CIFAR_SETTING: ReadonlyArray<readonly [number, number, number, number]> = SETTING.map(([t, c, n, s], i) => [t, c, n, i === 1 ? 1 : s] as const);

/** kuangliu's MobileNetV2 for CIFAR-10: 3×3 stride-1 stem, the blocks, 1×1 → 1280, `avg_pool2d(4)`, `linear`. */
export class MobileNetV2Cifar extends Block {
  readonly conv1: Conv2d;
  readonly bn1: BatchNorm2d;
  readonly layers: Sequential;
  readonly conv2: Conv2d;
  readonly bn2: BatchNorm2d;
  readonly linear: Linear;
  readonly relu: Module = reluLayer();
  readonly pool: Module = avgPool(4);

  constructor(opts: ModelOptions) {
    super();
    const m: Make = { dtype: opts.dtype, rng: opts.rng, init: false };
    this.conv1 = this.addModule('conv1', new Conv2d(3, 32, 3, { padding: 1, bias: false, ...m }));
    this.bn1 = this.addModule('bn1', new BatchNorm2d(32, { dtype: m.dtype }));
    const blocks: Module[] = [];
    let cin = 32;
    for (const [t, c, n, s] of CIFAR_SETTING) {
      for (let i = 0; i < n; i++) {
        blocks.push(new CifarInvertedResidual(m, cin, c, t, i === 0 ? s : 1));
        cin = c;
      }
    }
    this.layers = this.addModule('layers', new Sequential(...blocks));
    this.conv2 = this.addModule('conv2', new Conv2d(cin, 1280, 1, { bias: false, ...m }));
    this.bn2 = this.addModule('bn2', new BatchNorm2d(1280, { dtype: m.dtype }));
    this.linear = this.addModule('linear', new Linear(1280, opts.numClasses ?? 10, m));
    if (opts.init !== false) initModel(this, { conv: 'default', linear: 'default' }, opts.rng);
  }

  protected run(x: Tensor, t: Tape): Tensor {
    const h = t.seq(x, this.conv1, this.bn1, this.relu, this.layers, this.conv2, this.bn2, this.relu);
    return t.call(this.linear, t.flatten(t.call(this.pool, requireFinalMap('mobilenet_v2_cifar', x, h, 4))));
  }
}

registerModel({
  name: 'mobilenet_v2', description: 'MobileNet V2 (Sandler et al. 2018), torchvision', options: ['widthMult', 'dropout'],
  numClasses: 1000, input: [3, 224, 224], build: (o) => new MobileNetV2(o),
});
registerModel({
  name: 'mobilenet_v2_cifar', description: 'MobileNet V2 for CIFAR-10 (stride-1 stem and stage 2, projection shortcuts), kuangliu/pytorch-cifar', options: [],
  numClasses: 10, input: [3, 32, 32], build: (o) => new MobileNetV2Cifar(o),
});
