import type { Tensor } from '../core/tensor';
import { BatchNorm2d } from '../nn/batchNorm';
import { ConvNormActivation } from '../nn/convNormActivation';
import { convNormActLayers, invertedResidualEval } from '../nn/invertedResidualEval';
import { Linear } from '../nn/linear';
import type { Module } from '../nn/module';
import { Sequential } from '../nn/sequential';
import { SqueezeExcitation } from '../nn/squeezeExcitation';
import { Block, type Tape } from '../nn/tape';
import { initModel, type LayerOptions } from './init';
import { adaptiveAvgPool, dropout, sigmoidLayer, siluLayer, stochasticDepth } from './layers';
import { makeDivisible, probability, registerModel, type ModelOptions } from './registry';

/*
 * EfficientNet B0–B7 (Tan & Le 2019) as torchvision builds them: one B0 table of MBConv
 * stages, scaled by a width multiplier (channels, rounded to multiples of 8) and a depth
 * multiplier (repeats, rounded up); and the CIFAR-10 B0 with a stride-1 stem.
 */

interface Make extends LayerOptions {
  /** The variant's batch norm (B5–B7 use eps 1e-3, momentum 0.01: their weights were ported from TensorFlow). */
  norm: (c: number) => Module;
}

/** Conv → BN → optional SiLU (`Conv2dNormActivation`). */
const cna = (m: Make, cin: number, cout: number, k: number, stride: number, groups: number, act: boolean): ConvNormActivation =>
  new ConvNormActivation(cin, cout, k, { stride, groups, norm: m.norm, activation: act ? siluLayer : null, dtype: m.dtype, rng: m.rng, init: false });

/** B0's MBConv stages: (expand ratio, kernel, stride, in, out, repeats). */
const B0: ReadonlyArray<readonly [number, number, number, number, number, number]> = [
  [1, 3, 1, 32, 16, 1],
  [6, 3, 2, 16, 24, 2],
  [6, 5, 2, 24, 40, 2],
  [6, 3, 2, 40, 80, 3],
  [6, 5, 1, 80, 112, 3],
  [6, 5, 2, 112, 192, 4],
  [6, 3, 1, 192, 320, 1],
];

/**
 * torchvision's MBConv: `block` = [1×1 expand-BN-SiLU (when the ratio ≠ 1)] → depthwise k×k-BN-SiLU
 * (the stride) → squeeze-excitation (squeeze = max(1, input channels // 4), SiLU, Sigmoid) →
 * 1×1 project-BN; with stride 1 and unchanged width, `stochastic_depth` ("row") on the branch
 * and the input added back.
 */
export class MBConv extends Block {
  readonly block: Sequential;
  readonly stochasticDepth: Module;
  readonly useResConnect: boolean;

  constructor(m: Make, expandRatio: number, kernel: number, stride: number, inp: number, oup: number, sdProb: number) {
    super();
    this.useResConnect = stride === 1 && inp === oup;
    const expanded = makeDivisible(inp * expandRatio, 8);
    const layers: Module[] = [];
    if (expanded !== inp) layers.push(cna(m, inp, expanded, 1, 1, 1, true));
    layers.push(cna(m, expanded, expanded, kernel, stride, expanded, true));
    layers.push(new SqueezeExcitation(expanded, Math.max(1, Math.floor(inp / 4)), { pool: () => adaptiveAvgPool(1), activation: siluLayer, scaleActivation: sigmoidLayer, dtype: m.dtype, rng: m.rng, init: false }));
    layers.push(cna(m, expanded, oup, 1, 1, 1, false));
    this.block = this.addModule('block', new Sequential(...layers));
    this.stochasticDepth = this.addModule('stochastic_depth', stochasticDepth(sdProb));
  }

  protected run(x: Tensor, t: Tape): Tensor {
    const fused = this.stochasticDepth.training ? null : this.fusedEval(x);
    if (fused !== null) return fused;
    const y = t.call(this.block, x);
    return this.useResConnect ? t.add(t.call(this.stochasticDepth, y), x) : y;
  }

  /**
   * Under noGrad in eval mode: the whole block as one kernel, squeeze-and-excitation included,
   * the same bits (nn/invertedResidualEval.ts); null when it does not apply.
   */
  private fusedEval(x: Tensor): Tensor | null {
    const b = this.block;
    const e = b.length === 4 ? 1 : 0;
    if (b.length !== 3 + e) return null;
    const expand = e ? convNormActLayers(b.at(0)) : null;
    const depthwise = convNormActLayers(b.at(e));
    const se = b.at(e + 1);
    const project = convNormActLayers(b.at(e + 2));
    if ((e && expand === null) || depthwise === null || project === null || !(se instanceof SqueezeExcitation)) return null;
    return invertedResidualEval(x, { expand, depthwise, se, project, shortcut: this.useResConnect ? 'identity' : null });
  }
}

/** One EfficientNet variant: torchvision's width/depth multipliers, default dropout and batch norm. */
export interface EfficientNetVariant {
  widthMult: number;
  depthMult: number;
  dropout: number;
  bnEps: number;
  bnMomentum: number;
}

/**
 * torchvision's EfficientNet: `features` = [stem 3×3-BN-SiLU (stride 2, or 1 for CIFAR), the
 * seven MBConv stages, 1×1 to 4× the last width], global average, `classifier` = [Dropout, Linear].
 * Stochastic-depth probability grows linearly with the block index: p·i/total.
 */
export class EfficientNet extends Block {
  readonly features: Sequential;
  readonly avgpool: Module;
  readonly classifier: Sequential;

  constructor(v: EfficientNetVariant, opts: ModelOptions, stemStride = 2) {
    super();
    const p = probability('dropout', opts.dropout ?? v.dropout);
    const sdProb = probability('stochasticDepthProb', opts.stochasticDepthProb ?? 0.2);
    const m: Make = { dtype: opts.dtype, rng: opts.rng, init: false, norm: (c) => new BatchNorm2d(c, { dtype: opts.dtype, eps: v.bnEps, momentum: v.bnMomentum }) };
    const ch = (c: number): number => makeDivisible(c * v.widthMult, 8);
    const stages = B0.map(([e, k, s, i, o, n]) => ({ e, k, s, cin: ch(i), cout: ch(o), n: Math.ceil(n * v.depthMult) }));
    const total = stages.reduce((a, st) => a + st.n, 0);
    const layers: Module[] = [cna(m, 3, stages[0].cin, 3, stemStride, 1, true)];
    let id = 0;
    for (const st of stages) {
      const blocks: Module[] = [];
      for (let j = 0; j < st.n; j++) {
        blocks.push(new MBConv(m, st.e, st.k, j === 0 ? st.s : 1, j === 0 ? st.cin : st.cout, st.cout, (sdProb * id) / total));
        id++;
      }
      layers.push(new Sequential(...blocks));
    }
    const last = stages[stages.length - 1].cout;
    layers.push(cna(m, last, 4 * last, 1, 1, 1, true));
    this.features = this.addModule('features', new Sequential(...layers));
    this.avgpool = this.addModule('avgpool', adaptiveAvgPool(1));
    this.classifier = this.addModule('classifier', new Sequential(dropout(p), new Linear(4 * last, opts.numClasses ?? 1000, m)));
    if (opts.init !== false) initModel(this, { conv: 'kaimingFanOut', linear: 'uniformOut' }, opts.rng);
  }

  protected run(x: Tensor, t: Tape): Tensor {
    return t.call(this.classifier, t.flatten(t.seq(x, this.features, this.avgpool)));
  }
}

/** torchvision's B0–B7: (width, depth, dropout); B5–B7 with TensorFlow's batch-norm eps/momentum. */
const VARIANTS: ReadonlyArray<readonly [number, number, number, number]> = [
  [1.0, 1.0, 0.2, 224],
  [1.0, 1.1, 0.2, 240],
  [1.1, 1.2, 0.3, 288],
  [1.2, 1.4, 0.3, 300],
  [1.4, 1.8, 0.4, 380],
  [1.6, 2.2, 0.4, 456],
  [1.8, 2.6, 0.5, 528],
  [2.0, 3.1, 0.5, 600],
];

export const EFFICIENTNET_VARIANTS: readonly EfficientNetVariant[] = VARIANTS.map(([widthMult, depthMult, dropout], i) =>
  i >= 5 ? { widthMult, depthMult, dropout, bnEps: 1e-3, bnMomentum: 0.01 } : { widthMult, depthMult, dropout, bnEps: 1e-5, bnMomentum: 0.1 },
);

const OPTIONS = ['dropout', 'stochasticDepthProb'];
VARIANTS.forEach(([w, d, , crop], i) => {
  registerModel({
    name: `efficientnet_b${i}`, description: `EfficientNet-B${i} (Tan & Le 2019; width ${w}, depth ${d}), torchvision`, options: OPTIONS,
    numClasses: 1000, input: [3, crop, crop], build: (o) => new EfficientNet(EFFICIENTNET_VARIANTS[i], o),
  });
});
registerModel({
  name: 'efficientnet_b0_cifar', description: 'EfficientNet-B0 for CIFAR-10 (torchvision\'s with a stride-1 stem)', options: OPTIONS,
  numClasses: 10, input: [3, 32, 32], build: (o) => new EfficientNet(EFFICIENTNET_VARIANTS[0], o, 1),
});
