import type { Tensor } from '../core/tensor';
import { BatchNorm2d } from '../nn/batchNorm';
import { Conv2d } from '../nn/conv2d';
import { Linear } from '../nn/linear';
import type { Module } from '../nn/module';
import { Sequential } from '../nn/sequential';
import { Block, type Tape } from '../nn/tape';
import { initModel, type LayerOptions } from './init';
import { adaptiveAvgPool, avgPool, maxPool, reluLayer } from './layers';
import { registerModel, type ModelOptions } from './registry';

/*
 * ResNet as torchvision builds it (resnet18/34/50: BasicBlock or Bottleneck stages, 7×7 stem,
 * stride on the 3×3 conv of a Bottleneck), and kuangliu's CIFAR-10 ResNet-18 (3×3 stride-1
 * stem, no max pool, `shortcut`/`linear` names, 4×4 average pool).
 */

type Make = LayerOptions;

const conv = (m: Make, cin: number, cout: number, k: number, stride = 1): Conv2d =>
  new Conv2d(cin, cout, k, { stride, padding: (k - 1) >> 1, bias: false, ...m });
const bn = (m: Make, c: number): BatchNorm2d => new BatchNorm2d(c, { dtype: m.dtype });

/** conv3×3-BN-ReLU-conv3×3-BN, plus the identity (or a 1×1 projection), then ReLU. */
export class BasicBlock extends Block {
  static readonly expansion = 1;
  readonly conv1: Conv2d;
  readonly bn1: BatchNorm2d;
  readonly relu: Module;
  readonly conv2: Conv2d;
  readonly bn2: BatchNorm2d;
  readonly downsample: Module | null;

  /** `shortcutName`: torchvision calls the projection `downsample`, kuangliu `shortcut`. */
  constructor(m: Make, inplanes: number, planes: number, stride: number, downsample: Module | null, shortcutName = 'downsample') {
    super();
    this.conv1 = this.addModule('conv1', conv(m, inplanes, planes, 3, stride));
    this.bn1 = this.addModule('bn1', bn(m, planes));
    this.relu = reluLayer();
    if (shortcutName === 'downsample') this.addModule('relu', this.relu);
    this.conv2 = this.addModule('conv2', conv(m, planes, planes, 3));
    this.bn2 = this.addModule('bn2', bn(m, planes));
    this.downsample = downsample ? this.addModule(shortcutName, downsample) : null;
  }

  protected run(x: Tensor, t: Tape): Tensor {
    const out = t.seq(x, this.conv1, this.bn1, this.relu, this.conv2, this.bn2);
    const identity = this.downsample ? t.call(this.downsample, x) : x;
    return t.add(out, identity, this.relu);
  }
}

/** 1×1 reduce, 3×3 (with the stride), 1×1 expand ×4, each with BN; identity or projection; ReLU. */
export class Bottleneck extends Block {
  static readonly expansion = 4;
  readonly conv1: Conv2d;
  readonly bn1: BatchNorm2d;
  readonly conv2: Conv2d;
  readonly bn2: BatchNorm2d;
  readonly conv3: Conv2d;
  readonly bn3: BatchNorm2d;
  readonly relu: Module;
  readonly downsample: Module | null;

  constructor(m: Make, inplanes: number, planes: number, stride: number, downsample: Module | null) {
    super();
    this.conv1 = this.addModule('conv1', conv(m, inplanes, planes, 1));
    this.bn1 = this.addModule('bn1', bn(m, planes));
    this.conv2 = this.addModule('conv2', conv(m, planes, planes, 3, stride));
    this.bn2 = this.addModule('bn2', bn(m, planes));
    this.conv3 = this.addModule('conv3', conv(m, planes, planes * 4, 1));
    this.bn3 = this.addModule('bn3', bn(m, planes * 4));
    this.relu = this.addModule('relu', reluLayer());
    this.downsample = downsample ? this.addModule('downsample', downsample) : null;
  }

  protected run(x: Tensor, t: Tape): Tensor {
    const out = t.seq(x, this.conv1, this.bn1, this.relu, this.conv2, this.bn2, this.relu, this.conv3, this.bn3);
    const identity = this.downsample ? t.call(this.downsample, x) : x;
    return t.add(out, identity, this.relu);
  }
}

type BlockKind = 'basic' | 'bottleneck';

/** A stage of `blocks` blocks; the first has the stride and, when the shape changes, a projection. */
function stage(m: Make, kind: BlockKind, inplanes: number, planes: number, blocks: number, stride: number, shortcutName: string): { layer: Sequential; out: number } {
  const expansion = kind === 'basic' ? 1 : 4;
  const list: Module[] = [];
  let cin = inplanes;
  for (let i = 0; i < blocks; i++) {
    const s = i === 0 ? stride : 1;
    const proj = s !== 1 || cin !== planes * expansion ? new Sequential(conv(m, cin, planes * expansion, 1, s), bn(m, planes * expansion)) : null;
    list.push(kind === 'basic' ? new BasicBlock(m, cin, planes, s, proj, shortcutName) : new Bottleneck(m, cin, planes, s, proj));
    cin = planes * expansion;
  }
  return { layer: new Sequential(...list), out: cin };
}

/** torchvision's ResNet: 7×7/2 stem, max pool, four stages, global average, fc. */
export class ResNet extends Block {
  readonly conv1: Conv2d;
  readonly bn1: BatchNorm2d;
  readonly relu: Module;
  readonly maxpool: Module;
  readonly layers: Sequential[];
  readonly avgpool: Module;
  readonly fc: Linear;

  constructor(kind: BlockKind, depths: number[], opts: ModelOptions) {
    super();
    const m: Make = { dtype: opts.dtype, rng: opts.rng, init: false };
    this.conv1 = this.addModule('conv1', new Conv2d(3, 64, 7, { stride: 2, padding: 3, bias: false, ...m }));
    this.bn1 = this.addModule('bn1', bn(m, 64));
    this.relu = this.addModule('relu', reluLayer());
    this.maxpool = this.addModule('maxpool', maxPool(3, 2, 1));
    let c = 64;
    this.layers = [64, 128, 256, 512].map((planes, i) => {
      const s = stage(m, kind, c, planes, depths[i], i === 0 ? 1 : 2, 'downsample');
      c = s.out;
      return this.addModule(`layer${i + 1}`, s.layer);
    });
    this.avgpool = this.addModule('avgpool', adaptiveAvgPool(1));
    this.fc = this.addModule('fc', new Linear(c, opts.numClasses ?? 1000, m));
    if (opts.init !== false) initModel(this, { conv: 'kaimingFanOut', linear: 'default' }, opts.rng);
  }

  protected run(x: Tensor, t: Tape): Tensor {
    const h = t.seq(x, this.conv1, this.bn1, this.relu, this.maxpool, ...this.layers, this.avgpool);
    return t.call(this.fc, t.flatten(h));
  }
}

/** kuangliu's CIFAR-10 ResNet-18: 3×3 stride-1 stem, no max pool, `avg_pool2d(4)`, `linear`. */
export class ResNetCifar extends Block {
  readonly conv1: Conv2d;
  readonly bn1: BatchNorm2d;
  readonly relu: Module;
  readonly layers: Sequential[];
  readonly pool: Module;
  readonly linear: Linear;

  constructor(depths: number[], opts: ModelOptions) {
    super();
    const m: Make = { dtype: opts.dtype, rng: opts.rng, init: false };
    this.conv1 = this.addModule('conv1', conv(m, 3, 64, 3));
    this.bn1 = this.addModule('bn1', bn(m, 64));
    this.relu = reluLayer();
    let c = 64;
    this.layers = [64, 128, 256, 512].map((planes, i) => {
      const s = stage(m, 'basic', c, planes, depths[i], i === 0 ? 1 : 2, 'shortcut');
      c = s.out;
      return this.addModule(`layer${i + 1}`, s.layer);
    });
    this.pool = avgPool(4);
    this.linear = this.addModule('linear', new Linear(c, opts.numClasses ?? 10, m));
    if (opts.init !== false) initModel(this, { conv: 'default', linear: 'default' }, opts.rng);
  }

  protected run(x: Tensor, t: Tape): Tensor {
    const h = t.seq(x, this.conv1, this.bn1, this.relu, ...this.layers, this.pool);
    return t.call(this.linear, t.flatten(h));
  }
}

const RESNET = { options: [] as string[], numClasses: 1000, input: [3, 224, 224] as [number, number, number] };
registerModel({ ...RESNET, name: 'resnet18', description: 'ResNet-18 (He et al. 2015), torchvision', build: (o) => new ResNet('basic', [2, 2, 2, 2], o) });
registerModel({ ...RESNET, name: 'resnet34', description: 'ResNet-34, torchvision', build: (o) => new ResNet('basic', [3, 4, 6, 3], o) });
registerModel({ ...RESNET, name: 'resnet50', description: 'ResNet-50 (bottleneck blocks), torchvision', build: (o) => new ResNet('bottleneck', [3, 4, 6, 3], o) });
registerModel({
  name: 'resnet18_cifar', description: 'ResNet-18 for CIFAR-10 (3×3 stem, no max pool), kuangliu/pytorch-cifar', options: [],
  numClasses: 10, input: [3, 32, 32], build: (o) => new ResNetCifar([2, 2, 2, 2], o),
});
