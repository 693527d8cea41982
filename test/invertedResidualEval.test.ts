/*
 * The inverted residual block's fused eval kernel (ops/kernels/invertedResidual.ts, through
 * nn/invertedResidualEval.ts): the bits of the block's folded layers run one by one — kuangliu's
 * CIFAR blocks (ReLU; identity, 1×1 projection or no shortcut) and torchvision's (ReLU6) — on
 * random shapes, batch sizes that put one or several samples in a task, special values, 1, 2
 * and 4 threads; a whole MobileNet V2 eval forward; and the cases where it must not run.
 */
import fc from 'fast-check';
import { RandomState } from '../src/core/random';
import { astype, zeros, type Tensor } from '../src/core/tensor';
import { createModel } from '../src/models';
import { MBConv } from '../src/models/efficientnet';
import { DepthwiseSeparable } from '../src/models/mobilenetV1';
import { CifarInvertedResidual, InvertedResidual } from '../src/models/mobilenetV2';
import { ShuffleV2Unit } from '../src/models/shufflenetV2';
import { noGrad, summary } from '../src/nn';
import { BatchNorm2d } from '../src/nn/batchNorm';
import type { Conv2d } from '../src/nn/conv2d';
import { invertedResidualCalls, invertedResidualEval, setInvertedResidualFusion, type InvertedResidualLayers } from '../src/nn/invertedResidualEval';
import type { Module } from '../src/nn/module';
import { workerStats } from '../src/core/gemm/workers';
import { bitDiffs, withThreads } from './threads';
import { loadZooFixture, zooModel } from './zooHarness';
import { zooInput } from './zooWeights';

/** Random weights and running statistics (so the folds are not the identity), eval mode. */
function randomize(m: Module, rng: RandomState): void {
  for (const [name, p] of m.namedParameters()) {
    const d = p.data.data;
    const scale = name.endsWith('weight') && p.data.shape.length === 1 ? 1 : 0.4;
    for (let i = 0; i < d.length; i++) d[i] = Math.fround(rng.randn(1).data[0] * scale + (scale === 1 ? 1 : 0));
  }
  for (const [name, b] of m.namedBuffers()) {
    if (!b) continue;
    const d = b.data;
    if (name.endsWith('running_mean')) for (let i = 0; i < d.length; i++) d[i] = Math.fround(rng.randn(1).data[0] * 0.2);
    if (name.endsWith('running_var')) for (let i = 0; i < d.length; i++) d[i] = Math.fround(0.3 + rng.rand(1).data[0]);
  }
  m.eval();
}

/** Fused and unfused eval outputs of `m` on `x`, and how many blocks the fused kernel ran. */
function both(m: Module, x: Tensor): { fused: Float32Array; plain: Float32Array; ran: number; pooled: number } {
  const c0 = invertedResidualCalls().fused;
  const j0 = workerStats().threadedJobs;
  const fused = (noGrad(() => m.forward(x)).data as Float32Array).slice();
  const ran = invertedResidualCalls().fused - c0;
  const pooled = workerStats().threadedJobs - j0;
  const prev = setInvertedResidualFusion(false);
  try {
    const plain = (noGrad(() => m.forward(x)).data as Float32Array).slice();
    return { fused, plain, ran, pooled };
  } finally {
    setInvertedResidualFusion(prev);
  }
}

function input(rng: RandomState, shape: number[], specials: boolean): Tensor {
  const x = astype(rng.randn(...shape), 'float32');
  if (specials) {
    const sp = [NaN, Infinity, -Infinity, -0, 1e30];
    for (let i = 0; i < 3; i++) x.data[rng.randint(0, x.data.length)] = sp[rng.randint(0, sp.length)];
  }
  return x;
}

describe('fused inverted residual (eval)', () => {
  it('gives the bits of the folded layers: kuangliu blocks on random shapes, special values, 1, 2 and 4 threads', () => {
    fc.assert(
      fc.property(
        fc.record({
          cin: fc.constantFrom(4, 8, 12), t: fc.constantFrom(1, 2, 6), cout: fc.constantFrom(4, 8, 16), stride: fc.constantFrom(1, 2),
          H: fc.constantFrom(2, 4, 5, 8, 11), N: fc.constantFrom(1, 2, 5, 9), specials: fc.boolean(), seed: fc.nat(),
        }),
        (s) => {
          const rng = new RandomState(s.seed);
          const blk = new CifarInvertedResidual({ dtype: 'float32', rng, init: false }, s.cin, s.cout, s.t, s.stride);
          randomize(blk, rng);
          const x = input(rng, [s.N, s.cin, s.H, s.H], s.specials);
          const runs = ['1', '2', '4'].map((th) => withThreads(th, () => both(blk, x)));
          // Small tensors are not shared: they go through the arena, and the block still runs on the pool.
          expect(runs.map((r) => r.pooled)).toEqual(s.N >= 2 ? [0, 1, 1] : [0, 0, 0]);
          for (const r of runs) {
            expect(r.ran).toBe(1);
            expect(bitDiffs([r.fused], [r.plain])).toBe(0);
          }
          expect(bitDiffs([runs[0].fused], [runs[1].fused])).toBe(0);
          expect(bitDiffs([runs[0].fused], [runs[2].fused])).toBe(0);
        },
      ),
      { numRuns: 30 },
    );
  });

  it('runs on the worker pool with the same bits on 1, 2 and 4 threads (shared tensors)', () => {
    const rng = new RandomState(3);
    // (cin, cout, t, stride, H, N): identity, projection and no shortcut; x and out ≥ 2¹⁶ elements (shared stores).
    for (const [cin, cout, t, stride, H, N] of [[16, 16, 6, 1, 16, 16], [16, 32, 6, 1, 16, 16], [16, 32, 6, 2, 16, 32], [32, 32, 6, 1, 4, 128]]) {
      const blk = new CifarInvertedResidual({ dtype: 'float32', rng, init: false }, cin, cout, t, stride);
      randomize(blk, rng);
      const x = astype(rng.randn(N, cin, H, H), 'float32');
      const runs = ['1', '2', '4'].map((th) => withThreads(th, () => both(blk, x)));
      // The fused forward is one job: on this thread alone with one thread, on the pool otherwise.
      expect(runs.map((r) => r.pooled)).toEqual([0, 1, 1]);
      for (const r of runs) {
        expect(r.ran).toBe(1);
        expect(bitDiffs([r.fused], [r.plain])).toBe(0);
        expect(bitDiffs([r.fused], [runs[0].fused])).toBe(0);
      }
    }
  });

  it("gives the bits of torchvision's blocks (ReLU6, with and without the residual)", () => {
    const rng = new RandomState(5);
    for (const [inp, oup, stride, H] of [[16, 16, 1, 8], [16, 24, 2, 9], [24, 24, 1, 4]]) {
      const blk = new InvertedResidual({ dtype: 'float32', rng, init: false }, inp, oup, stride, 6);
      randomize(blk, rng);
      // Wide outputs, so ReLU6's top clamps some of them.
      const x = astype(rng.randn(3, inp, H, H), 'float32');
      for (let i = 0; i < x.data.length; i++) x.data[i] *= 8;
      const r = both(blk, x);
      expect(r.ran).toBe(1);
      expect(bitDiffs([r.fused], [r.plain])).toBe(0);
      expect(r.fused.some((v) => v !== 0)).toBe(true);
    }
  });

  it('runs every block of a MobileNet V2 (CIFAR) eval forward with the same logits; summary still sees each layer', () => {
    const rng = new RandomState(7);
    const model = createModel('mobilenet_v2_cifar', { dtype: 'float32', rng });
    randomize(model, rng);
    const x = astype(rng.randn(2, 3, 32, 32), 'float32');
    const r = both(model, x);
    expect(r.ran).toBe(17);
    expect(bitDiffs([r.fused], [r.plain])).toBe(0);
    // Forward hooks turn the fusion off: the summary lists the block's inner layers.
    const c0 = invertedResidualCalls().fused;
    const sum = summary(model, [3, 32, 32]);
    expect(invertedResidualCalls().fused).toBe(c0);
    // Stem conv, 17 blocks × 3 convs, 4 projection shortcuts, the last conv: 57 convolutions.
    expect(sum.toString().match(/Conv2d/g)?.length).toBe(57);
  });

  it("gives the bits of MobileNet V1's depthwise-separable blocks and ShuffleNet V2's branches (no expansion; no activation after the depthwise; ReLU after the projection)", () => {
    const rng = new RandomState(11);
    for (const [cin, cout, stride, H, N] of [[8, 16, 1, 8, 3], [16, 16, 2, 9, 2], [32, 64, 2, 4, 16]]) {
      const blk = new DepthwiseSeparable({ dtype: 'float32', rng, init: false }, cin, cout, stride);
      randomize(blk, rng);
      const r = both(blk, astype(rng.randn(N, cin, H, H), 'float32'));
      expect(r.ran).toBe(1);
      expect(bitDiffs([r.fused], [r.plain])).toBe(0);
    }
    for (const [inp, oup, stride, H] of [[16, 16, 1, 8], [16, 32, 2, 8], [24, 48, 2, 5]]) {
      const unit = new ShuffleV2Unit({ dtype: 'float32', rng, init: false }, inp, oup, stride);
      randomize(unit, rng);
      const r = both(unit, astype(rng.randn(4, inp, H, H), 'float32'));
      expect(r.ran).toBe(stride === 1 ? 1 : 2);
      expect(bitDiffs([r.fused], [r.plain])).toBe(0);
    }
  });

  it('writes ShuffleNet V2 units straight into their shuffled channels on the worker pool: the same bits on 1, 2 and 4 threads', () => {
    const rng = new RandomState(17);
    for (const [inp, oup, stride, H, N] of [[116, 116, 1, 8, 16], [58, 116, 2, 16, 16]]) {
      const unit = new ShuffleV2Unit({ dtype: 'float32', rng, init: false }, inp, oup, stride);
      randomize(unit, rng);
      const x = astype(rng.randn(N, inp, H, H), 'float32');
      const runs = ['1', '2', '4'].map((th) => withThreads(th, () => both(unit, x)));
      expect(runs.map((r) => r.pooled)).toEqual(stride === 1 ? [0, 1, 1] : [0, 2, 2]);
      for (const r of runs) {
        expect(bitDiffs([r.fused], [r.plain])).toBe(0);
        expect(bitDiffs([r.fused], [runs[0].fused])).toBe(0);
      }
    }
  });

  it('declines a placement that does not fit its output, writing nothing', () => {
    const rng = new RandomState(19);
    const unit = new ShuffleV2Unit({ dtype: 'float32', rng, init: false }, 16, 16, 1);
    randomize(unit, rng);
    const b = unit.branch2;
    const layers: InvertedResidualLayers = {
      expand: [b.at(0) as Conv2d, b.at(1) as BatchNorm2d, b.at(2)], depthwise: [b.at(3) as Conv2d, b.at(4) as BatchNorm2d, null],
      project: [b.at(5) as Conv2d, b.at(6) as BatchNorm2d, b.at(7)], shortcut: null,
    };
    const x = astype(rng.randn(2, 16, 4, 4), 'float32');
    for (const out of [zeros([2, 16, 4, 4], 'float32'), zeros([2, 8, 4, 4], 'float32'), zeros([2, 16, 2, 2], 'float32')]) {
      // Channel 1 + 7·2 = 15 fits 16 channels; 8 channels or a 2×2 map do not.
      const fits = out.shape[1] === 16 && out.shape[2] === 4;
      const r = noGrad(() => invertedResidualEval(x, layers, { out, inC0: 8, outC0: 1, outStep: 2, pass: 8, passC0: 0 }));
      expect(r !== null).toBe(fits);
      if (!fits) expect(out.data.every((v) => v === 0)).toBe(true);
    }
    // Reading past x's channels.
    expect(noGrad(() => invertedResidualEval(x, layers, { out: zeros([2, 16, 4, 4], 'float32'), inC0: 9, outC0: 1, outStep: 2 }))).toBeNull();
  });

  it('runs the blocks of MobileNet V1 and ShuffleNet V2 (CIFAR) eval forwards with the same logits', () => {
    for (const [name, blocks] of [['mobilenet_v1_cifar', 13], ['shufflenet_v2_cifar', 19]] as const) {
      const rng = new RandomState(13);
      const model = createModel(name, { dtype: 'float32', rng });
      randomize(model, rng);
      const r = both(model, astype(rng.randn(2, 3, 32, 32), 'float32'));
      expect(r.ran).toBe(blocks);
      expect(bitDiffs([r.fused], [r.plain])).toBe(0);
    }
  });

  it("gives the bits of EfficientNet's MBConv blocks (SiLU, 3×3 and 5×5 depthwise, squeeze-and-excitation), on the pool too", () => {
    const rng = new RandomState(23);
    const m = { dtype: 'float32' as const, rng, init: false as const, norm: (c: number) => new BatchNorm2d(c, { dtype: 'float32', eps: 1e-3 }) };
    // (expand ratio, kernel, stride, in, out, H, N): with and without the expansion and the residual; the last on the pool.
    for (const [t, k, stride, inp, oup, H, N] of [[1, 3, 1, 16, 16, 8, 3], [6, 3, 2, 16, 24, 9, 2], [6, 5, 1, 24, 24, 5, 4], [6, 5, 2, 24, 40, 8, 3], [6, 3, 1, 16, 16, 16, 16]]) {
      const blk = new MBConv(m, t, k, stride, inp, oup, 0.1);
      randomize(blk, rng);
      const x = input(rng, [N, inp, H, H], N === 3);
      const runs = ['1', '2', '4'].map((th) => withThreads(th, () => both(blk, x)));
      for (const r of runs) {
        expect(r.ran).toBe(1);
        expect(bitDiffs([r.fused], [r.plain])).toBe(0);
        expect(bitDiffs([r.fused], [runs[0].fused])).toBe(0);
      }
      if (N === 16) expect(runs.map((r) => r.pooled)).toEqual([0, 1, 1]);
    }
    // The whole EfficientNet-B0 (CIFAR): its 16 blocks fused, the same logits.
    const model = createModel('efficientnet_b0_cifar', { dtype: 'float32', rng });
    randomize(model, rng);
    const r = both(model, astype(rng.randn(2, 3, 32, 32), 'float32'));
    expect(r.ran).toBe(16);
    expect(bitDiffs([r.fused], [r.plain])).toBe(0);
  });

  it("agrees with PyTorch's eval logits (the zoo fixtures, float64 there) in float32 with every block fused", () => {
    // The fixtures' deterministic weights; our float32 eval under noGrad (folds and fused blocks) against PyTorch's.
    for (const [name, blocks] of [['mobilenet_v2_cifar', 17], ['mobilenet_v1_cifar', 13], ['shufflenet_v2_cifar', 19], ['efficientnet_b0_cifar', 16]] as const) {
      const fx = loadZooFixture(name);
      const model = zooModel(fx).to('float32');
      model.eval();
      const c0 = invertedResidualCalls().fused;
      const logits = noGrad(() => model.forward(astype(zooInput(fx.input), 'float32')));
      expect(invertedResidualCalls().fused - c0).toBe(blocks);
      const scale = Math.max(...fx.logits.map(Math.abs));
      const worst = Math.max(...Array.from(logits.data, (v, i) => Math.abs(v - fx.logits[i])));
      // Float32 rounding through ~20–60 layers: measured 4–9e-7 of the largest logit.
      expect(worst).toBeLessThan(1e-5 * scale);
    }
  });

  it('does not run in training mode, with autograd, in float64 or with unfoldable layers', () => {
    const rng = new RandomState(9);
    const blk = new CifarInvertedResidual({ dtype: 'float32', rng, init: false }, 8, 8, 6, 1);
    randomize(blk, rng);
    const x = astype(rng.randn(2, 8, 4, 4), 'float32');
    const c0 = invertedResidualCalls().fused;
    blk.forward(x); // autograd on (eval mode)
    blk.train();
    noGrad(() => blk.forward(x));
    blk.eval();
    (blk.bn2 as BatchNorm2d).train();
    noGrad(() => blk.forward(x));
    const b64 = new CifarInvertedResidual({ dtype: 'float64', rng, init: false }, 8, 8, 6, 1);
    b64.eval();
    noGrad(() => b64.forward(astype(x, 'float64')));
    expect(invertedResidualCalls().fused).toBe(c0);
  });
});
