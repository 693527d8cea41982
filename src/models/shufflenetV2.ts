import ndarray from 'ndarray';
import { recycleFloat } from '../core/bufferPool';
import { allocFloatUninit } from '../core/dtype';
import { dtypeOf, type Tensor } from '../core/tensor';
import { BatchNorm2d } from '../nn/batchNorm';
import { Conv2d } from '../nn/conv2d';
import { isGradEnabled } from '../nn/gradMode';
import { invertedResidualEval, type InvertedResidualLayers } from '../nn/invertedResidualEval';
import { Linear } from '../nn/linear';
import { forwardHooksActive, type Module } from '../nn/module';
import { Sequential } from '../nn/sequential';
import { Block, type Tape } from '../nn/tape';
import { catShuffle, shuffleSplit, shuffleSplitBackward } from '../ops/channels';
import { initModel, type LayerOptions } from './init';
import { adaptiveAvgPool, maxPool, reluLayer } from './layers';
import { registerModel, type ModelOptions } from './registry';

/*
 * ShuffleNet V2 (Ma et al. 2018) as torchvision builds it: units that split the channels in
 * two, transform one half (1×1 → depthwise 3×3 → 1×1), concatenate and shuffle with g = 2;
 * downsampling units transform both halves. Plus the CIFAR-10 version: the same network with
 * a stride-1 stem and no max pool (state-dict compatible with torchvision's).
 */

type Make = LayerOptions;

const conv = (m: Make, cin: number, cout: number, k: number, stride = 1, groups = 1): Conv2d =>
  new Conv2d(cin, cout, k, { stride, padding: (k - 1) >> 1, groups, bias: false, ...m });
const bn = (m: Make, c: number): BatchNorm2d => new BatchNorm2d(c, { dtype: m.dtype });

/**
 * torchvision's `InvertedResidual` of ShuffleNet V2. Stride 1: the first half of the channels
 * passes through, `branch2` transforms the second. Stride 2: `branch1` (depthwise 3×3/2-BN,
 * 1×1-BN-ReLU) and `branch2` both see the whole input, doubling the width. Then concat and
 * shuffle (g = 2) so the next unit's split mixes both halves.
 */
export class ShuffleV2Unit extends Block {
  readonly branch1: Sequential | null;
  readonly branch2: Sequential;

  constructor(m: Make, inp: number, oup: number, readonly stride: number) {
    super();
    if (oup % 2 !== 0) throw new RangeError(`oup: a ShuffleNet V2 unit needs an even width, got ${oup}`);
    const half = oup / 2;
    if (stride === 1 && inp !== oup) throw new RangeError(`inp: a stride-1 ShuffleNet V2 unit keeps its width, got ${inp} → ${oup}`);
    // torchvision registers an empty Sequential as branch1 of stride-1 units: no state, so left out.
    this.branch1 = stride > 1 ? this.addModule('branch1', new Sequential(conv(m, inp, inp, 3, stride, inp), bn(m, inp), conv(m, inp, half, 1), bn(m, half), reluLayer())) : null;
    const cin2 = stride > 1 ? inp : half;
    this.branch2 = this.addModule(
      'branch2',
      new Sequential(conv(m, cin2, half, 1), bn(m, half), reluLayer(), conv(m, half, half, 3, stride, half), bn(m, half), conv(m, half, half, 1), bn(m, half), reluLayer()),
    );
  }

  protected run(x: Tensor, t: Tape): Tensor {
    const fused = this.fusedEval(x);
    if (fused !== null) return fused;
    let parts: Tensor[];
    if (this.branch1) parts = [t.call(this.branch1, x), t.call(this.branch2, x)];
    else {
      const c = x.shape[1] / 2;
      const [x1, x2] = t.split(x, [c, c]);
      parts = [x1, t.call(this.branch2, x2)];
    }
    // torch.cat then channel_shuffle(·, 2), as one pass.
    return t.op(catShuffle, parts, { groups: 2 });
  }

  /**
   * Under noGrad in eval mode: each branch's convs as one kernel that reads its half of x and
   * writes its channels straight to their shuffled places (branch 1 / the passed-through half
   * to the even channels, branch 2 to the odd ones), with no split, concatenation or shuffle
   * pass — the same bits (nn/invertedResidualEval.ts). Null when the kernel does not apply.
   */
  private fusedEval(x: Tensor): Tensor | null {
    // The kernel checks these too, but only after the output below is allocated.
    if (isGradEnabled() || x.shape.length !== 4 || dtypeOf(x) !== 'float32') return null;
    const [N, C, H, W] = x.shape;
    const layers = (b: Sequential): InvertedResidualLayers | null => {
      if (b.length !== 8 && b.length !== 5) return null;
      const m = (i: number): Module => b.at(i);
      const k = b.length === 8 ? 3 : 0;
      return {
        expand: k > 0 ? [m(0) as Conv2d, m(1) as BatchNorm2d, m(2)] : null,
        depthwise: [m(k) as Conv2d, m(k + 1) as BatchNorm2d, null],
        project: [m(k + 2) as Conv2d, m(k + 3) as BatchNorm2d, m(k + 4)],
        shortcut: null,
      };
    };
    const l2 = layers(this.branch2);
    const l1 = this.branch1 ? layers(this.branch1) : null;
    if (l2 === null || (this.branch1 && l1 === null)) return null;
    const half = (l2.project[0] as Conv2d).outChannels;
    const oh = Math.floor((H - 1) / this.stride) + 1;
    const ow = Math.floor((W - 1) / this.stride) + 1;
    const out = ndarray(allocFloatUninit('float32', N * 2 * half * oh * ow), [N, 2 * half, oh, ow]);
    const ran = l1 !== null
      ? invertedResidualEval(x, l1, { out, inC0: 0, outC0: 0, outStep: 2 }) !== null && invertedResidualEval(x, l2, { out, inC0: 0, outC0: 1, outStep: 2 }) !== null
      : C === 2 * half && invertedResidualEval(x, l2, { out, inC0: half, outC0: 1, outStep: 2, pass: half, passC0: 0 }) !== null;
    if (ran) return out;
    recycleFloat(out.data);
    return null;
  }
}

/** torchvision's `stages_out_channels` per width (stem, stage 2, 3, 4, conv5). */
const WIDTHS: Record<string, readonly number[]> = {
  '0.5': [24, 48, 96, 192, 1024],
  '1': [24, 116, 232, 464, 1024],
  '1.5': [24, 176, 352, 704, 1024],
  '2': [24, 244, 488, 976, 2048],
};
const REPEATS = [4, 8, 4];

/**
 * ShuffleNet V2: `conv1` (3×3 to 24, BN, ReLU; stride 2, or 1 for CIFAR), `maxpool` (not in the
 * CIFAR version), `stage2`–`stage4` of 4/8/4 units, `conv5` (1×1, BN, ReLU), global mean, `fc`.
 */
export class ShuffleNetV2 extends Block {
  readonly conv1: Sequential;
  readonly maxpool: Module | null;
  readonly stages: Sequential[];
  readonly conv5: Sequential;
  readonly pool: Module = adaptiveAvgPool(1);
  readonly fc: Linear;

  constructor(widths: readonly number[], opts: ModelOptions, cifar = false) {
    super();
    const m: Make = { dtype: opts.dtype, rng: opts.rng, init: false };
    this.conv1 = this.addModule('conv1', new Sequential(conv(m, 3, widths[0], 3, cifar ? 1 : 2), bn(m, widths[0]), reluLayer()));
    this.maxpool = cifar ? null : this.addModule('maxpool', maxPool(3, 2, 1));
    let cin = widths[0];
    this.stages = REPEATS.map((n, i) => {
      const cout = widths[i + 1];
      const units: Module[] = [];
      for (let j = 0; j < n; j++) units.push(new ShuffleV2Unit(m, j === 0 ? cin : cout, cout, j === 0 ? 2 : 1));
      cin = cout;
      return this.addModule(`stage${i + 2}`, new Sequential(...units));
    });
    const last = widths[4];
    this.conv5 = this.addModule('conv5', new Sequential(conv(m, cin, last, 1), bn(m, last), reluLayer()));
    this.fc = this.addModule('fc', new Linear(last, opts.numClasses ?? 1000, m));
    // torchvision leaves PyTorch's default initialisation in place.
    if (opts.init !== false) initModel(this, { conv: 'default', linear: 'default' }, opts.rng);
  }

  protected run(x: Tensor, t: Tape): Tensor {
    let h = t.call(this.conv1, x);
    if (this.maxpool) h = t.call(this.maxpool, h);
    const joined = stageFusion && isGradEnabled() && !forwardHooksActive();
    for (const stage of this.stages) h = joined ? runStageJoined(stage, h, t) : t.call(stage, h);
    // torchvision's x.mean([2, 3]): the same average as a 1×1 adaptive pool.
    h = t.seq(h, this.conv5, this.pool);
    return t.call(this.fc, t.flatten(h));
  }
}

let stageFusion = true;

/**
 * Turns off (false) or on (true, the default) running ShuffleNet V2's stages with each unit's
 * join fused into the next unit's split while training (for comparisons: the same bits either
 * way). Returns the previous setting.
 */
export function setShuffleStageFusion(on: boolean): boolean {
  const prev = stageFusion;
  stageFusion = on;
  return prev;
}

/**
 * A stage's units with autograd on, on the model's tape: a unit's join (concatenate, shuffle)
 * and the next unit's split run as one pass (ops/channels.ts `shuffleSplit`), so between units
 * of a stage the activation stays as its two halves and is never written whole; only the
 * stage's last unit joins. The same values, and the same bits, as the units one by one.
 * WHY: the split (two copies) and its backward (a concatenation) were ~3% of a ShuffleNet V2
 * (CIFAR) training step, a pass over each activation each way that PyTorch's views avoid.
 * Not under noGrad (the units' fused inference kernel writes the shuffled join directly) nor
 * while forward hooks are registered (a hook on a unit must see its output).
 */
function runStageJoined(stage: Sequential, x: Tensor, t: Tape): Tensor {
  const units: ShuffleV2Unit[] = [];
  for (let i = 0; i < stage.length; i++) {
    const u = stage.at(i);
    if (!(u instanceof ShuffleV2Unit)) return t.call(stage, x);
    units.push(u);
  }
  let full: Tensor = x;
  let halves: Tensor[] | null = null;
  units.forEach((u, i) => {
    let parts: Tensor[];
    if (u.branch1) {
      // A downsampling unit reads the whole activation (torchvision's come first in a stage).
      if (halves !== null) full = t.concat(halves);
      halves = null;
      parts = [t.call(u.branch1, full), t.call(u.branch2, full)];
    } else {
      const c = full.shape[1] / 2;
      const [x1, x2] = halves ?? t.split(full, [c, c]);
      parts = [x1, t.call(u.branch2, x2)];
    }
    if (i === units.length - 1) {
      full = t.op(catShuffle, parts, { groups: 2 });
      return;
    }
    halves = t.multi(parts, shuffleSplit(parts[0], parts[1]), ([dp, dq]) => shuffleSplitBackward(dp, dq));
  });
  return full;
}

const SHUFFLE = { options: [] as string[], numClasses: 1000, input: [3, 224, 224] as [number, number, number] };
for (const [suffix, w] of [['x0_5', '0.5'], ['x1_0', '1'], ['x1_5', '1.5'], ['x2_0', '2']] as const) {
  registerModel({
    ...SHUFFLE, name: `shufflenet_v2_${suffix}`, description: `ShuffleNet V2 ${w}× (Ma et al. 2018), torchvision`,
    build: (o) => new ShuffleNetV2(WIDTHS[w], o),
  });
}
registerModel({
  name: 'shufflenet_v2_cifar', description: 'ShuffleNet V2 for CIFAR-10 (torchvision\'s, stride-1 stem, no max pool; widthMult 0.5/1/1.5/2)', options: ['widthMult'],
  numClasses: 10, input: [3, 32, 32],
  build: (o) => {
    const w = o.widthMult ?? 1;
    const widths = WIDTHS[String(w)];
    if (!widths) throw new RangeError(`widthMult: shufflenet_v2_cifar has the widths 0.5, 1, 1.5, 2 of torchvision's builders, got ${JSON.stringify(w)}`);
    return new ShuffleNetV2(widths, o, true);
  },
});
