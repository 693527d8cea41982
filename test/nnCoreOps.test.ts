import fc from 'fast-check';
import ndarray from 'ndarray';
import { RandomState } from '../src/core/random';
import { astype, copy, type Tensor } from '../src/core/tensor';
import { batchNorm, type BatchNormAttrs } from '../src/ops/batchNorm';
import { conv2d, convProblem, type Conv2dAttrs } from '../src/ops/conv2d';
import { kernelsOf, withKernel } from '../src/ops/kernelRegistry';
import { linear } from '../src/ops/linear';
import { BatchNorm1d, BatchNorm2d, Conv2d, Linear } from '../src/nn';
import { checkModule, checkOpFixture, closeness, fromJson, loadFixtures, type OpFixture } from './opHarness';

type BnFixture = OpFixture & { runningMean: { shape: number[]; data: number[] }; runningVar: { shape: number[]; data: number[] }; runningMeanAfter: { shape: number[]; data: number[] }; runningVarAfter: { shape: number[]; data: number[] } };

describe('conv2d op', () => {
  const cases = loadFixtures('conv2d.json');
  it.each(cases.map((c) => [c.name, c] as const))('%s: gradient check and PyTorch (float64 1e-10, float32 1e-4)', (_n, fx) => {
    checkOpFixture<Conv2dAttrs, unknown>(conv2d, fx);
  });

  it('every registered kernel equals the direct reference on random problems (float64)', () => {
    const names = kernelsOf('conv2d').map((k) => k.name);
    expect(names).toEqual(expect.arrayContaining(['direct', 'gemm-fused', 'depthwise-direct', 'winograd']));
    fc.assert(
      fc.property(
        fc.record({
          N: fc.integer({ min: 1, max: 2 }), Cg: fc.integer({ min: 1, max: 3 }), groups: fc.integer({ min: 1, max: 3 }),
          mult: fc.integer({ min: 1, max: 2 }), H: fc.integer({ min: 3, max: 9 }), W: fc.integer({ min: 3, max: 9 }),
          k: fc.constantFrom(1, 3, 5), stride: fc.integer({ min: 1, max: 3 }), pad: fc.integer({ min: 0, max: 2 }),
          depthwise: fc.boolean(), bias: fc.boolean(), seed: fc.nat(),
        }),
        (s) => {
          const C = s.depthwise ? s.Cg * s.groups : s.Cg * s.groups;
          const groups = s.depthwise ? C : s.groups;
          const F = s.depthwise ? C : s.groups * s.mult;
          if (s.H + 2 * s.pad < s.k || s.W + 2 * s.pad < s.k) return;
          const rng = new RandomState(s.seed);
          const x = rng.randn(s.N, C, s.H, s.W);
          const w = rng.randn(F, C / groups, s.k, s.k);
          const inputs: Tensor[] = s.bias ? [x, w, rng.randn(F)] : [x, w];
          const attrs = { stride: s.stride, padding: s.pad, groups };
          const ref = withKernel('conv2d', 'direct', () => conv2d.forward(inputs, attrs));
          const dout = rng.randn(...ref.out.shape);
          const refG = withKernel('conv2d', 'direct', () => conv2d.backward(dout, ref.cache));
          const problem = convProblem(x, w, inputs[2], attrs);
          for (const k of kernelsOf('conv2d')) {
            if (!k.supports(problem)) continue;
            const r = withKernel('conv2d', k.name, () => conv2d.forward(inputs, attrs));
            expect(closeness(r.out, ref.out)).toBeLessThan(1e-12);
            const g = withKernel('conv2d', k.name, () => conv2d.backward(dout, r.cache));
            g.forEach((t, i) => expect(closeness(t!, refG[i]!)).toBeLessThan(1e-12));
          }
        },
      ),
      { numRuns: 60 },
    );
  });

  // Float64 sums in the reference's order; float32 in float32 lanes (test/depthwisePlanes.test.ts), so within its rounding.
  it.each(['float64', 'float32'] as const)('depthwise forward equals the direct reference (%s: float64 bit for bit, float32 to its rounding)', (dtype) => {
    const rng = new RandomState(3);
    for (const [k, stride, pad, dilation] of [[3, 1, 1, 1], [3, 2, 1, 1], [5, 2, 2, 1], [3, 1, 2, 2], [5, 1, 0, 1]]) {
      const x = astype(rng.randn(2, 6, 9, 7), dtype);
      const w = astype(rng.randn(6, 1, k, k), dtype);
      const b = astype(rng.randn(6), dtype);
      const attrs = { stride, padding: pad, dilation, groups: 6 };
      const a = withKernel('conv2d', 'depthwise-direct', () => conv2d.forward([x, w, b], attrs)).out;
      const r = withKernel('conv2d', 'direct', () => conv2d.forward([x, w, b], attrs)).out;
      if (dtype === 'float64') expect(Array.from(a.data)).toEqual(Array.from(r.data));
      else expect(closeness(a, r)).toBeLessThan(2e-6);
    }
  });

  it('rejects bad shapes and attributes with errors naming them', () => {
    const x = ndarray(new Float64Array(2 * 4 * 5 * 5), [2, 4, 5, 5]);
    const w = ndarray(new Float64Array(6 * 2 * 3 * 3), [6, 2, 3, 3]);
    expect(() => conv2d.forward([x, w], { groups: 3 })).toThrow(/groups: 3 must divide/);
    expect(() => conv2d.forward([x, w], {})).toThrow(/weight: expected 4 input channels per group/);
    expect(() => conv2d.forward([x, w], { groups: 2, stride: 0 })).toThrow(/stride: expected a positive integer/);
    expect(() => conv2d.forward([x, ndarray(new Float64Array(6 * 2 * 7 * 7), [6, 2, 7, 7])], { groups: 2 })).toThrow(/x: input 5×5 is too small/);
    expect(() => conv2d.forward([x, w, ndarray(new Float64Array(5), [5])], { groups: 2 })).toThrow(/bias: expected shape \(6,\)/);
  });
});

describe('batch_norm op', () => {
  const cases = loadFixtures<BnFixture>('batch_norm.json');
  it.each(cases.map((c) => [c.name, c] as const))('%s: gradient check, PyTorch, running statistics', (_n, fx) => {
    const attrs = (): BatchNormAttrs => ({
      training: fx.attrs.training as boolean, momentum: 0.1, eps: 1e-5,
      state: { runningMean: Float64Array.from(fx.runningMean.data), runningVar: Float64Array.from(fx.runningVar.data), numBatchesTracked: 0 },
    });
    checkOpFixture(batchNorm, fx, attrs);
    const a = attrs();
    batchNorm.forward(fx.inputs.map((j) => fromJson(j)), a);
    expect(closeness(ndarray(a.state!.runningMean, [a.state!.runningMean.length]), fromJson(fx.runningMeanAfter))).toBeLessThan(1e-12);
    expect(closeness(ndarray(a.state!.runningVar, [a.state!.runningVar.length]), fromJson(fx.runningVarAfter))).toBeLessThan(1e-12);
    expect(a.state!.numBatchesTracked).toBe(fx.attrs.training ? 1 : 0);
  });

  it('refuses to train on one value per channel, as PyTorch', () => {
    const x = ndarray(new Float64Array(3), [1, 3]);
    expect(() => batchNorm.forward([x], { training: true })).toThrow(/more than 1 value per channel/);
  });

  it('momentum null is the cumulative average of the batch statistics', () => {
    const rng = new RandomState(5);
    const state = { runningMean: new Float64Array(2), runningVar: new Float64Array([1, 1]), numBatchesTracked: 0 };
    const means: number[] = [];
    for (let i = 0; i < 3; i++) {
      const x = rng.randn(4, 2);
      means.push((x.get(0, 0) + x.get(1, 0) + x.get(2, 0) + x.get(3, 0)) / 4);
      batchNorm.forward([x], { training: true, momentum: null, state });
    }
    expect(state.runningMean[0]).toBeCloseTo((means[0] + means[1] + means[2]) / 3, 12);
    expect(state.numBatchesTracked).toBe(3);
  });
});

describe('linear op', () => {
  it.each(loadFixtures('linear.json').map((c) => [c.name, c] as const))('%s: gradient check and PyTorch', (_n, fx) => {
    checkOpFixture(linear, fx);
  });
});

describe('Conv2d / BatchNorm / Linear modules', () => {
  it('Conv2d gradient-checks input, weight and bias (stride 2, groups, padding, odd sizes)', () => {
    checkModule(new Conv2d(4, 6, 3, { stride: 2, padding: 1, groups: 2, dtype: 'float64', rng: new RandomState(1) }), [2, 4, 7, 5]);
    checkModule(new Conv2d(5, 5, 3, { padding: 1, groups: 5, bias: false, dtype: 'float64', rng: new RandomState(2) }), [2, 5, 6, 7]);
  });

  it('BatchNorm2d (train and eval) and BatchNorm1d gradient-check', () => {
    const bn = new BatchNorm2d(3, { dtype: 'float64' });
    checkModule(bn, [4, 3, 3, 2]);
    bn.eval();
    checkModule(bn, [2, 3, 2, 2]);
    checkModule(new BatchNorm1d(5, { dtype: 'float64' }), [6, 5]);
  });

  it('Linear gradient-checks', () => {
    checkModule(new Linear(7, 3, { dtype: 'float64', rng: new RandomState(4) }), [5, 7]);
  });

  it('have PyTorch state-dict names and default initialisation bounds', () => {
    const c = new Conv2d(3, 8, 3, { rng: new RandomState(0) });
    expect(Object.keys(c.stateDict())).toEqual(['weight', 'bias']);
    const bound = 1 / Math.sqrt(3 * 9);
    expect(Math.max(...Array.from(c.weight.data.data).map(Math.abs))).toBeLessThanOrEqual(bound);
    expect(Math.max(...Array.from(c.weight.data.data).map(Math.abs))).toBeGreaterThan(bound * 0.8);
    const bn = new BatchNorm2d(4);
    expect(Object.keys(bn.stateDict())).toEqual(['weight', 'bias', 'running_mean', 'running_var', 'num_batches_tracked']);
    expect(bn.stateDict().num_batches_tracked.shape).toEqual([]);
    expect(Object.keys(new Linear(2, 3, { bias: false }).stateDict())).toEqual(['weight']);
  });

  it('BatchNorm2d counts batches and updates running statistics only in training', () => {
    const bn = new BatchNorm2d(2, { dtype: 'float64' });
    const x = new RandomState(0).randn(3, 2, 2, 2);
    bn.forward(x);
    expect(bn.getBuffer('num_batches_tracked')!.data[0]).toBe(1);
    const rm = copy(bn.getBuffer('running_mean') as Tensor);
    bn.eval();
    bn.forward(x);
    expect(bn.getBuffer('num_batches_tracked')!.data[0]).toBe(1);
    expect(Array.from((bn.getBuffer('running_mean') as Tensor).data)).toEqual(Array.from(rm.data));
  });

  it('reject impossible options naming them', () => {
    expect(() => new Conv2d(6, 4, 3, { groups: 4 })).toThrow(/groups: 4 must divide inChannels 6/);
    expect(() => new Conv2d(0, 4, 3)).toThrow(/inChannels: expected a positive integer/);
    expect(() => new BatchNorm2d(3).forward(ndarray(new Float32Array(8), [2, 4]))).toThrow(/expects 4-D input/);
  });
});
