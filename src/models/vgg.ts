import type { Tensor } from '../core/tensor';
import { BatchNorm2d } from '../nn/batchNorm';
import { Conv2d } from '../nn/conv2d';
import { Linear } from '../nn/linear';
import type { Module } from '../nn/module';
import { Sequential } from '../nn/sequential';
import { Block, type Tape } from '../nn/tape';
import { initModel, type LayerOptions } from './init';
import { checkInput } from './inputCheck';
import { adaptiveAvgPool, avgPool, dropout, maxPool, reluLayer } from './layers';
import { positiveInt, probability, registerModel, type ModelOptions } from './registry';

/*
 * VGG (Simonyan & Zisserman 2014) as torchvision builds it — `features` (3×3 convs, optional BN,
 * ReLU, 2×2 max pools), a 7×7 adaptive average, a three-layer `classifier` with dropout — and
 * kuangliu's CIFAR-10 VGG: conv+BN+ReLU features ending in a parameter-free AvgPool2d(1, 1),
 * then one `Linear(512, 10)`.
 */

/** Channels of each 3×3 conv, 'M' for a 2×2/2 max pool (the paper's configurations A, B, D, E). */
export type VGGCfg = ReadonlyArray<number | 'M'>;
/** The four configurations by builder name (`vgg11` = A, `vgg13` = B, `vgg16` = D, `vgg19` = E). */
export const VGG_CONFIGS: Readonly<Record<string, VGGCfg>> = {
  vgg11: [64, 'M', 128, 'M', 256, 256, 'M', 512, 512, 'M', 512, 512, 'M'],
  vgg13: [64, 64, 'M', 128, 128, 'M', 256, 256, 'M', 512, 512, 'M', 512, 512, 'M'],
  vgg16: [64, 64, 'M', 128, 128, 'M', 256, 256, 256, 'M', 512, 512, 512, 'M', 512, 512, 512, 'M'],
  vgg19: [64, 64, 'M', 128, 128, 'M', 256, 256, 256, 256, 'M', 512, 512, 512, 512, 'M', 512, 512, 512, 512, 'M'],
};

/** The flat `features` Sequential of a configuration (conv, [BN], ReLU per entry; pools). */
function makeFeatures(m: LayerOptions, cfg: VGGCfg, batchNorm: boolean): { features: Module[]; out: number } {
  const layers: Module[] = [];
  let c = 3;
  for (const v of cfg) {
    if (v === 'M') {
      layers.push(maxPool(2, 2));
      continue;
    }
    layers.push(new Conv2d(c, v, 3, { padding: 1, ...m }));
    if (batchNorm) layers.push(new BatchNorm2d(v, { dtype: m.dtype }));
    layers.push(reluLayer());
    c = v;
  }
  return { features: layers, out: c };
}

/** Options of {@link VGG} besides the common model options. */
export interface VGGConfig {
  /** Builder name (`vgg16_bn`), for error messages. */
  name: string;
  cfg: VGGCfg;
  batchNorm: boolean;
  /**
   * Width of the two hidden classifier layers (torchvision: 4096). Only a test changes it:
   * at 4096 the first layer alone has 102M weights, too many for a Float64 check, so the
   * logits are compared at a narrower head with the same structure and names.
   */
  classifierWidth?: number;
}

/** torchvision's VGG: features → AdaptiveAvgPool(7, 7) → flatten → 25088-4096-4096-classes MLP. */
export class VGG extends Block {
  readonly features: Sequential;
  readonly avgpool: Module;
  readonly classifier: Sequential;

  constructor(private readonly cfg: VGGConfig, opts: ModelOptions) {
    super();
    const p = probability('dropout', opts.dropout ?? 0.5);
    const hidden = positiveInt('classifierWidth', cfg.classifierWidth ?? 4096);
    const m: LayerOptions = { dtype: opts.dtype, rng: opts.rng, init: false };
    const { features, out } = makeFeatures(m, cfg.cfg, cfg.batchNorm);
    this.features = this.addModule('features', new Sequential(...features));
    this.avgpool = this.addModule('avgpool', adaptiveAvgPool(7));
    this.classifier = this.addModule('classifier', new Sequential(
      new Linear(out * 7 * 7, hidden, m), reluLayer(), dropout(p, opts.rng),
      new Linear(hidden, hidden, m), reluLayer(), dropout(p, opts.rng),
      new Linear(hidden, opts.numClasses ?? 1000, m),
    ));
    if (opts.init !== false) initModel(this, { conv: 'kaimingFanOut', linear: 'normal0.01' }, opts.rng);
  }

  protected run(x: Tensor, t: Tape): Tensor {
    checkInput(this.cfg.name, x, 3, { min: 32 });
    const h = t.seq(x, this.features, this.avgpool);
    return t.call(this.classifier, t.flatten(h));
  }
}

/** kuangliu's CIFAR-10 VGG: conv(+bias)-BN-ReLU features, AvgPool2d(1, 1), `classifier` = Linear(512, classes). */
export class VGGCifar extends Block {
  readonly features: Sequential;
  readonly classifier: Linear;

  constructor(private readonly name: string, cfg: VGGCfg, opts: ModelOptions) {
    super();
    const m: LayerOptions = { dtype: opts.dtype, rng: opts.rng, init: false };
    const { features, out } = makeFeatures(m, cfg, true);
    // The trailing 1×1 average pool does nothing, but it is kuangliu's last `features` entry.
    this.features = this.addModule('features', new Sequential(...features, avgPool(1, 1)));
    this.classifier = this.addModule('classifier', new Linear(out, opts.numClasses ?? 10, m));
    if (opts.init !== false) initModel(this, { conv: 'default', linear: 'default' }, opts.rng);
  }

  protected run(x: Tensor, t: Tape): Tensor {
    // Five 2×2 pools must leave 1×1 for Linear(512, …).
    checkInput(this.name, x, 3, { exact: 32 });
    return t.call(this.classifier, t.flatten(t.call(this.features, x)));
  }
}

for (const depth of [11, 13, 16, 19]) {
  const cfg = VGG_CONFIGS[`vgg${depth}`];
  for (const bn of [false, true]) {
    const name = `vgg${depth}${bn ? '_bn' : ''}`;
    registerModel({
      name, description: `VGG-${depth}${bn ? ' with batch norm' : ''} (Simonyan & Zisserman 2014), torchvision`, options: ['dropout'],
      numClasses: 1000, input: [3, 224, 224], build: (o) => new VGG({ name, cfg, batchNorm: bn }, o),
    });
  }
}
for (const depth of [11, 13, 16, 19]) {
  const name = `vgg${depth}_cifar`;
  registerModel({
    name, description: `VGG-${depth} for CIFAR-10 (conv-BN-ReLU, one Linear(512, 10)), kuangliu/pytorch-cifar`, options: [],
    numClasses: 10, input: [3, 32, 32], build: (o) => new VGGCifar(name, VGG_CONFIGS[`vgg${depth}`], o),
  });
}
