import type { Tensor } from '../core/tensor';
import { BatchNorm2d } from '../nn/batchNorm';
import { ConvNormActivation } from '../nn/convNormActivation';
import { Linear } from '../nn/linear';
import type { Module } from '../nn/module';
import { Sequential } from '../nn/sequential';
import { SqueezeExcitation } from '../nn/squeezeExcitation';
import { Block, type Tape } from '../nn/tape';
import { initModel, type LayerOptions } from './init';
import { adaptiveAvgPool, dropout, hardsigmoidLayer, hardswishLayer, reluLayer } from './layers';
import { makeDivisible, probability, registerModel, type ModelOptions } from './registry';

/*
 * MobileNet V3 Large and Small (Howard et al. 2019) as torchvision builds them: MobileNet V2's
 * inverted residuals with per-block kernel size, optional squeeze-excitation (ReLU inside, a
 * hard-sigmoid gate) and ReLU or hard-swish, from the paper's Tables 1 and 2.
 */

type Make = LayerOptions;

/** Batch norm as torchvision's MobileNet V3 sets it (TensorFlow's eps and momentum). */
const bn = (m: Make) => (c: number): Module => new BatchNorm2d(c, { dtype: m.dtype, eps: 0.001, momentum: 0.01 });

const cna = (m: Make, cin: number, cout: number, k: number, stride: number, groups: number, act: (() => Module) | null): ConvNormActivation =>
  new ConvNormActivation(cin, cout, k, { stride, groups, norm: bn(m), activation: act, ...m });

/** A table row: in, kernel, expanded, out, squeeze-excitation, hard-swish (else ReLU), stride. */
type Row = readonly [number, number, number, number, boolean, boolean, number];

const LARGE: readonly Row[] = [
  [16, 3, 16, 16, false, false, 1],
  [16, 3, 64, 24, false, false, 2],
  [24, 3, 72, 24, false, false, 1],
  [24, 5, 72, 40, true, false, 2],
  [40, 5, 120, 40, true, false, 1],
  [40, 5, 120, 40, true, false, 1],
  [40, 3, 240, 80, false, true, 2],
  [80, 3, 200, 80, false, true, 1],
  [80, 3, 184, 80, false, true, 1],
  [80, 3, 184, 80, false, true, 1],
  [80, 3, 480, 112, true, true, 1],
  [112, 3, 672, 112, true, true, 1],
  [112, 5, 672, 160, true, true, 2],
  [160, 5, 960, 160, true, true, 1],
  [160, 5, 960, 160, true, true, 1],
];

const SMALL: readonly Row[] = [
  [16, 3, 16, 16, true, false, 2],
  [16, 3, 72, 24, false, false, 2],
  [24, 3, 88, 24, false, false, 1],
  [24, 5, 96, 40, true, true, 2],
  [40, 5, 240, 40, true, true, 1],
  [40, 5, 240, 40, true, true, 1],
  [40, 5, 120, 48, true, true, 1],
  [48, 5, 144, 48, true, true, 1],
  [48, 5, 288, 96, true, true, 2],
  [96, 5, 576, 96, true, true, 1],
  [96, 5, 576, 96, true, true, 1],
];

/**
 * torchvision's MobileNet V3 `InvertedResidual`: `block` = [1×1 expand-BN-act (when expanded ≠
 * in)] → depthwise k×k-BN-act (the stride) → [SE, squeeze = make_divisible(expanded // 4, 8)] →
 * 1×1 project-BN (linear); the input added back iff stride 1 and in = out.
 */
export class MobileNetV3Block extends Block {
  readonly block: Sequential;
  readonly useResConnect: boolean;

  constructor(m: Make, [inp, kernel, expanded, oup, useSe, hardswish, stride]: Row) {
    super();
    this.useResConnect = stride === 1 && inp === oup;
    const act = hardswish ? hardswishLayer : reluLayer;
    const layers: Module[] = [];
    if (expanded !== inp) layers.push(cna(m, inp, expanded, 1, 1, 1, act));
    layers.push(cna(m, expanded, expanded, kernel, stride, expanded, act));
    if (useSe) {
      const squeeze = makeDivisible(Math.floor(expanded / 4), 8);
      layers.push(new SqueezeExcitation(expanded, squeeze, { pool: () => adaptiveAvgPool(1), activation: reluLayer, scaleActivation: hardsigmoidLayer, ...m }));
    }
    layers.push(cna(m, expanded, oup, 1, 1, 1, null));
    this.block = this.addModule('block', new Sequential(...layers));
  }

  protected run(x: Tensor, t: Tape): Tensor {
    const y = t.call(this.block, x);
    return this.useResConnect ? t.add(y, x) : y;
  }
}

/**
 * torchvision's MobileNetV3: `features` = [stem 3×3/2 to 16, BN, hard-swish; the blocks; 1×1 to
 * 6× the last width, BN, hard-swish], `avgpool`, `classifier` = [Linear, hard-swish, Dropout, Linear].
 */
export class MobileNetV3 extends Block {
  readonly features: Sequential;
  readonly avgpool: Module;
  readonly classifier: Sequential;

  constructor(rows: readonly Row[], lastChannel: number, opts: ModelOptions) {
    super();
    const p = probability('dropout', opts.dropout ?? 0.2);
    const m: Make = { dtype: opts.dtype, rng: opts.rng, init: false };
    const layers: Module[] = [cna(m, 3, rows[0][0], 3, 2, 1, hardswishLayer)];
    for (const r of rows) layers.push(new MobileNetV3Block(m, r));
    const lastIn = rows[rows.length - 1][3];
    layers.push(cna(m, lastIn, 6 * lastIn, 1, 1, 1, hardswishLayer));
    this.features = this.addModule('features', new Sequential(...layers));
    this.avgpool = this.addModule('avgpool', adaptiveAvgPool(1));
    this.classifier = this.addModule(
      'classifier',
      new Sequential(new Linear(6 * lastIn, lastChannel, m), hardswishLayer(), dropout(p), new Linear(lastChannel, opts.numClasses ?? 1000, m)),
    );
    if (opts.init !== false) initModel(this, { conv: 'kaimingFanOut', linear: 'normal0.01' }, opts.rng);
  }

  protected run(x: Tensor, t: Tape): Tensor {
    return t.call(this.classifier, t.flatten(t.seq(x, this.features, this.avgpool)));
  }
}

const V3 = { options: ['dropout'], numClasses: 1000, input: [3, 224, 224] as [number, number, number] };
registerModel({ ...V3, name: 'mobilenet_v3_large', description: 'MobileNet V3 Large (Howard et al. 2019), torchvision', build: (o) => new MobileNetV3(LARGE, 1280, o) });
registerModel({ ...V3, name: 'mobilenet_v3_small', description: 'MobileNet V3 Small (Howard et al. 2019), torchvision', build: (o) => new MobileNetV3(SMALL, 1024, o) });
