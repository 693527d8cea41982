import type { Tensor } from '../core/tensor';
import { BatchNorm2d } from '../nn/batchNorm';
import { Conv2d } from '../nn/conv2d';
import { Linear } from '../nn/linear';
import type { Module } from '../nn/module';
import { Sequential } from '../nn/sequential';
import { Block, type Tape } from '../nn/tape';
import { requireFinalMap } from './finalMap';
import { initModel, type LayerOptions } from './init';
import { adaptiveAvgPool, avgPool, channelShuffle, maxPool, reluLayer } from './layers';
import { positiveNumber, registerModel, type ModelOptions } from './registry';

/*
 * ShuffleNet V1 (Zhang et al. 2017), which torchvision lacks: our build from the paper's
 * Table 1 with the official (megvii) code's module names, and kuangliu's CIFAR-10 G2/G3.
 * Its units are ResNet bottlenecks whose 1×1 convolutions are grouped; a channel shuffle
 * after the first lets the groups of the second see each other's channels.
 */

type Make = LayerOptions;

const conv = (m: Make, cin: number, cout: number, k: number, stride = 1, groups = 1): Conv2d =>
  new Conv2d(cin, cout, k, { stride, padding: (k - 1) >> 1, groups, bias: false, ...m });
const bn = (m: Make, c: number): BatchNorm2d => new BatchNorm2d(c, { dtype: m.dtype });

/**
 * A ShuffleNet unit (megvii's `ShuffleV1Block`): `branch_main_1` = 1×1 group conv to `mid`-BN-ReLU
 * and depthwise 3×3-BN, a channel shuffle between them, `branch_main_2` = 1×1 group conv-BN.
 * Stride 1: ReLU(x + main). Stride 2: the main branch makes out − in channels and is
 * concatenated after the 3×3/2 average of the input (`branch_proj`), then ReLU.
 */
export class ShuffleV1Unit extends Block {
  readonly branchMain1: Sequential;
  readonly branchMain2: Sequential;
  readonly branchProj: Module | null;
  readonly shuffle: Module | null;
  readonly relu: Module = reluLayer();

  /** `firstGroups`: groups of the first 1×1 (1 for the very first unit, whose 24 input channels are not grouped). */
  constructor(m: Make, inp: number, oup: number, mid: number, groups: number, firstGroups: number, readonly stride: number) {
    super();
    const outputs = stride === 2 ? oup - inp : oup;
    this.branchMain1 = this.addModule('branch_main_1', new Sequential(conv(m, inp, mid, 1, 1, firstGroups), bn(m, mid), reluLayer(), conv(m, mid, mid, 3, stride, mid), bn(m, mid)));
    this.branchMain2 = this.addModule('branch_main_2', new Sequential(conv(m, mid, outputs, 1, 1, groups), bn(m, outputs)));
    // The official code shuffles whenever g > 1, also after the ungrouped first 1×1.
    this.shuffle = groups > 1 ? channelShuffle(groups) : null;
    this.branchProj = stride === 2 ? this.addModule('branch_proj', avgPool(3, 2, 1)) : null;
  }

  protected run(x: Tensor, t: Tape): Tensor {
    let h = t.call(this.branchMain1, x);
    if (this.shuffle) h = t.call(this.shuffle, h);
    h = t.call(this.branchMain2, h);
    if (!this.branchProj) return t.add(h, x, this.relu);
    // ReLU on the joined tensor equals the official ReLU on the main branch alone: the average of a ReLU output is ≥ 0.
    return t.call(this.relu, t.concat([t.call(this.branchProj, x), h]));
  }
}

/** The paper's Table 1 stage widths at 1× for each group count. */
const STAGE_WIDTHS: Record<number, readonly number[]> = {
  1: [144, 288, 576],
  2: [200, 400, 800],
  3: [240, 480, 960],
  4: [272, 544, 1088],
  8: [384, 768, 1536],
};
const REPEATS = [4, 8, 4];
const STEM = 24;

/** Throws unless `groups` divides `n` (the channels of a grouped conv at this width). */
function divisible(groups: number, n: number, what: string, widthMult: number): void {
  if (n <= 0 || n % groups !== 0) {
    throw new RangeError(`groups: ${groups} must divide the ${n} ${what} channels of shufflenet_v1 at widthMult ${widthMult} (choose another widthMult or groups)`);
  }
}

/**
 * ShuffleNet V1 (`groups` 1, 2, 3, 4, 8; `widthMult` scales the stage widths, the stem stays
 * 24): `first_conv` 3×3/2-BN-ReLU, `maxpool` 3×3/2, `features` (stages of 4/8/4 units, each
 * starting with stride 2, mid = out // 4 rounded down to a multiple of g), `globalpool`, `classifier` = [Linear].
 */
export class ShuffleNetV1 extends Block {
  readonly firstConv: Sequential;
  readonly maxpool: Module;
  readonly features: Sequential;
  readonly globalpool: Module;
  readonly classifier: Sequential;

  constructor(opts: ModelOptions) {
    super();
    const groups = opts.groups ?? 3;
    const base = STAGE_WIDTHS[groups as number];
    if (typeof groups !== 'number' || !base) throw new RangeError(`groups: shufflenet_v1 has the group counts 1, 2, 3, 4, 8 of the paper, got ${JSON.stringify(groups)}`);
    const widthMult = positiveNumber('widthMult', opts.widthMult ?? 1);
    const widths = base.map((c) => Math.floor(c * widthMult));
    const m: Make = { dtype: opts.dtype, rng: opts.rng, init: false };
    this.firstConv = this.addModule('first_conv', new Sequential(conv(m, 3, STEM, 3, 2), bn(m, STEM), reluLayer()));
    this.maxpool = this.addModule('maxpool', maxPool(3, 2, 1));
    const units: Module[] = [];
    let cin = STEM;
    widths.forEach((cout, s) => {
      // out/4, down to a multiple of g: the paper's 0.5× g=2 (100 → 25) or 1.5× g=4 (408 → 102)
      // could not be grouped otherwise; every 1× row is already a multiple.
      const mid = Math.floor(cout / 4 / groups) * groups;
      divisible(groups, mid, `bottleneck (stage ${s + 2})`, widthMult);
      for (let i = 0; i < REPEATS[s]; i++) {
        const first = s === 0 && i === 0;
        divisible(groups, i === 0 ? cout - cin : cout, `output (stage ${s + 2})`, widthMult);
        units.push(new ShuffleV1Unit(m, cin, cout, mid, groups, first ? 1 : groups, i === 0 ? 2 : 1));
        cin = cout;
      }
    });
    this.features = this.addModule('features', new Sequential(...units));
    this.globalpool = this.addModule('globalpool', adaptiveAvgPool(1));
    this.classifier = this.addModule('classifier', new Sequential(new Linear(cin, opts.numClasses ?? 1000, m)));
    if (opts.init !== false) initModel(this, { conv: 'default', linear: 'default' }, opts.rng);
  }

  protected run(x: Tensor, t: Tape): Tensor {
    return t.call(this.classifier, t.flatten(t.seq(x, this.firstConv, this.maxpool, this.features, this.globalpool)));
  }
}

/**
 * kuangliu's CIFAR bottleneck (`mid_planes = out_planes // 4`, its Python-2 `/` fixed): 1×1
 * conv (grouped unless the input is the 24-channel stem) -BN-ReLU, shuffle, depthwise 3×3
 * -BN-ReLU (kuangliu keeps this ReLU), 1×1 group conv-BN; stride 1: ReLU(out + x); stride 2:
 * ReLU(concat(out, avgpool(x))) with `out_planes` already reduced by the caller.
 */
export class CifarShuffleV1Unit extends Block {
  readonly conv1: Conv2d;
  readonly bn1: BatchNorm2d;
  readonly shuffle1: Module | null;
  readonly conv2: Conv2d;
  readonly bn2: BatchNorm2d;
  readonly conv3: Conv2d;
  readonly bn3: BatchNorm2d;
  readonly shortcut: Sequential | null;
  readonly relu: Module = reluLayer();

  constructor(m: Make, inPlanes: number, outPlanes: number, readonly stride: number, groups: number) {
    super();
    const mid = Math.floor(outPlanes / 4);
    const g = inPlanes === STEM ? 1 : groups;
    this.conv1 = this.addModule('conv1', conv(m, inPlanes, mid, 1, 1, g));
    this.bn1 = this.addModule('bn1', bn(m, mid));
    this.shuffle1 = g > 1 ? channelShuffle(g) : null;
    this.conv2 = this.addModule('conv2', conv(m, mid, mid, 3, stride, mid));
    this.bn2 = this.addModule('bn2', bn(m, mid));
    this.conv3 = this.addModule('conv3', conv(m, mid, outPlanes, 1, 1, groups));
    this.bn3 = this.addModule('bn3', bn(m, outPlanes));
    this.shortcut = stride === 2 ? this.addModule('shortcut', new Sequential(avgPool(3, 2, 1))) : null;
  }

  protected run(x: Tensor, t: Tape): Tensor {
    let h = t.seq(x, this.conv1, this.bn1, this.relu);
    if (this.shuffle1) h = t.call(this.shuffle1, h);
    h = t.seq(h, this.conv2, this.bn2, this.relu, this.conv3, this.bn3);
    if (!this.shortcut) return t.add(h, x, this.relu);
    return t.call(this.relu, t.concat([h, t.call(this.shortcut, x)]));
  }
}

/** kuangliu's ShuffleNet for CIFAR-10: 1×1 stem to 24, three stages (each opening with stride 2), `avg_pool2d(4)`, `linear`. */
export class ShuffleNetV1Cifar extends Block {
  readonly conv1: Conv2d;
  readonly bn1: BatchNorm2d;
  readonly layers: Sequential[];
  readonly linear: Linear;
  readonly relu: Module = reluLayer();
  readonly pool: Module = avgPool(4);

  constructor(private readonly label: string, widths: readonly number[], groups: number, opts: ModelOptions) {
    super();
    const m: Make = { dtype: opts.dtype, rng: opts.rng, init: false };
    this.conv1 = this.addModule('conv1', conv(m, 3, STEM, 1));
    this.bn1 = this.addModule('bn1', bn(m, STEM));
    let cin = STEM;
    this.layers = widths.map((cout, s) => {
      const units: Module[] = [];
      for (let i = 0; i < REPEATS[s]; i++) {
        // The first unit's main branch makes only the channels the concatenated shortcut does not bring.
        units.push(new CifarShuffleV1Unit(m, cin, i === 0 ? cout - cin : cout, i === 0 ? 2 : 1, groups));
        cin = cout;
      }
      return this.addModule(`layer${s + 1}`, new Sequential(...units));
    });
    this.linear = this.addModule('linear', new Linear(cin, opts.numClasses ?? 10, m));
    if (opts.init !== false) initModel(this, { conv: 'default', linear: 'default' }, opts.rng);
  }

  protected run(x: Tensor, t: Tape): Tensor {
    const h = t.seq(x, this.conv1, this.bn1, this.relu, ...this.layers);
    return t.call(this.linear, t.flatten(t.call(this.pool, requireFinalMap(this.label, x, h, 4))));
  }
}

registerModel({
  name: 'shufflenet_v1', description: 'ShuffleNet V1 (Zhang et al. 2017), own build from the paper (groups 1/2/3/4/8, widthMult)', options: ['groups', 'widthMult'],
  numClasses: 1000, input: [3, 224, 224], build: (o) => new ShuffleNetV1(o),
});
for (const g of [2, 3]) {
  const name = `shufflenet_v1_g${g}_cifar`;
  registerModel({
    name, description: `ShuffleNet V1 g=${g} for CIFAR-10 (1×1 stem, no max pool), kuangliu/pytorch-cifar with integer mid channels`, options: [],
    numClasses: 10, input: [3, 32, 32], build: (o) => new ShuffleNetV1Cifar(name, STAGE_WIDTHS[g], g, o),
  });
}
