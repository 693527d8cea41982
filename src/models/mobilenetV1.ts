import type { Tensor } from '../core/tensor';
import { BatchNorm2d } from '../nn/batchNorm';
import { Conv2d } from '../nn/conv2d';
import { invertedResidualEval } from '../nn/invertedResidualEval';
import { Linear } from '../nn/linear';
import type { Module } from '../nn/module';
import { Sequential } from '../nn/sequential';
import { Block, type Tape } from '../nn/tape';
import { initModel, type LayerOptions } from './init';
import { checkInput } from './inputCheck';
import { adaptiveAvgPool, avgPool, reluLayer } from './layers';
import { positiveNumber, registerModel, type ModelOptions } from './registry';

/*
 * MobileNet V1 (Howard et al. 2017, Table 1): a strided 3×3 stem, then 13 depthwise-separable
 * blocks (depthwise 3×3 + BN + ReLU, pointwise 1×1 + BN + ReLU), global average, FC.
 * torchvision has no MobileNet V1, so both builders use the module names of kuangliu's CIFAR
 * version (`conv1`, `bn1`, `layers.i.conv1/bn1/conv2/bn2`, `linear`): the ImageNet model is
 * that same body with a stride-2 stem, which is why its 10-class count equals kuangliu's.
 */

/** (output channels, stride) of the 13 blocks, from the paper's Table 1. */
const BLOCKS: ReadonlyArray<readonly [number, number]> = [
  [64, 1], [128, 2], [128, 1], [256, 2], [256, 1], [512, 2],
  [512, 1], [512, 1], [512, 1], [512, 1], [512, 1], [1024, 2], [1024, 1],
];
const STEM = 32;

/** Depthwise 3×3 (with the stride) + BN + ReLU, then pointwise 1×1 + BN + ReLU; convs without bias. */
export class DepthwiseSeparable extends Block {
  readonly conv1: Conv2d;
  readonly bn1: BatchNorm2d;
  readonly conv2: Conv2d;
  readonly bn2: BatchNorm2d;
  private readonly relu: Module = reluLayer();

  constructor(m: LayerOptions, cin: number, cout: number, stride: number) {
    super();
    this.conv1 = this.addModule('conv1', new Conv2d(cin, cin, 3, { stride, padding: 1, groups: cin, bias: false, ...m }));
    this.bn1 = this.addModule('bn1', new BatchNorm2d(cin, { dtype: m.dtype }));
    this.conv2 = this.addModule('conv2', new Conv2d(cin, cout, 1, { bias: false, ...m }));
    this.bn2 = this.addModule('bn2', new BatchNorm2d(cout, { dtype: m.dtype }));
  }

  protected run(x: Tensor, t: Tape): Tensor {
    // Under noGrad in eval mode: both convs as one kernel, the same bits (nn/invertedResidualEval.ts).
    const fused = invertedResidualEval(x, { expand: null, depthwise: [this.conv1, this.bn1, this.relu], project: [this.conv2, this.bn2, this.relu], shortcut: null });
    return fused ?? t.seq(x, this.conv1, this.bn1, this.relu, this.conv2, this.bn2, this.relu);
  }
}

/** Options of {@link MobileNetV1} besides the common model options. */
export interface MobileNetV1Config {
  /** Builder name, for error messages. */
  name: string;
  /** 2 for ImageNet (224 → 7), 1 for kuangliu's CIFAR stem (32 → 2). */
  stemStride: number;
  /** 'global': adaptive average to 1×1 (any resolution); 'avg2': kuangliu's `avg_pool2d(2)`. */
  head: 'global' | 'avg2';
}

/**
 * MobileNet V1 with width multiplier α (`widthMult`): every layer has `int(c·α)` channels, the
 * rule that reproduces the paper's 325M / 149M / 41M Mult-Adds at α = 0.75 / 0.5 / 0.25. The
 * resolution multiplier is simply the input size.
 */
export class MobileNetV1 extends Block {
  readonly conv1: Conv2d;
  readonly bn1: BatchNorm2d;
  readonly layers: Sequential;
  readonly linear: Linear;
  private readonly relu: Module = reluLayer();
  private readonly pool: Module;

  constructor(private readonly cfg: MobileNetV1Config, opts: ModelOptions) {
    super();
    const alpha = positiveNumber('widthMult', opts.widthMult ?? 1);
    const width = (c: number): number => {
      const w = Math.floor(c * alpha);
      if (w < 1) throw new RangeError(`widthMult: ${alpha} leaves int(${c}·${alpha}) = 0 channels; expected widthMult ≥ ${1 / STEM}`);
      return w;
    };
    const m: LayerOptions = { dtype: opts.dtype, rng: opts.rng, init: false };
    let c = width(STEM);
    this.conv1 = this.addModule('conv1', new Conv2d(3, c, 3, { stride: cfg.stemStride, padding: 1, bias: false, ...m }));
    this.bn1 = this.addModule('bn1', new BatchNorm2d(c, { dtype: m.dtype }));
    const blocks = BLOCKS.map(([cout, stride]) => {
      const b = new DepthwiseSeparable(m, c, width(cout), stride);
      c = width(cout);
      return b;
    });
    this.layers = this.addModule('layers', new Sequential(...blocks));
    this.pool = cfg.head === 'global' ? adaptiveAvgPool(1) : avgPool(2);
    this.linear = this.addModule('linear', new Linear(c, opts.numClasses ?? 1000, m));
    if (opts.init !== false) {
      initModel(this, cfg.head === 'global' ? { conv: 'kaimingFanOut', linear: 'normal0.01' } : { conv: 'default', linear: 'default' }, opts.rng);
    }
  }

  protected run(x: Tensor, t: Tape): Tensor {
    // kuangliu's avg_pool2d(2) after a /16 body wants 32×32 (2×2 before the pool, 1×1 after).
    checkInput(this.cfg.name, x, 3, this.cfg.head === 'avg2' ? { exact: 32 } : { min: 1 });
    const h = t.seq(x, this.conv1, this.bn1, this.relu, this.layers, this.pool);
    return t.call(this.linear, t.flatten(h));
  }
}

registerModel({
  name: 'mobilenet_v1', description: 'MobileNet V1 (Howard et al. 2017), paper Table 1, width multiplier widthMult', options: ['widthMult'],
  numClasses: 1000, input: [3, 224, 224], build: (o) => new MobileNetV1({ name: 'mobilenet_v1', stemStride: 2, head: 'global' }, o),
});
registerModel({
  name: 'mobilenet_v1_cifar', description: 'MobileNet V1 for CIFAR-10 (stride-1 stem, 2×2 average pool), kuangliu/pytorch-cifar', options: ['widthMult'],
  numClasses: 10, input: [3, 32, 32], build: (o) => new MobileNetV1({ name: 'mobilenet_v1_cifar', stemStride: 1, head: 'avg2' }, o),
});
