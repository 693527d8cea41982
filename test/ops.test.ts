/*
 * Every op through the one harness (test/opHarness.ts): Float64 gradient checks on random shapes
 * drawn by fast-check, and forward/backward against PyTorch 1.13 fixtures (1e-10 in Float64,
 * 1e-4 in Float32), including the kinks and edge cases PyTorch defines.
 */
import fc from 'fast-check';
import { RandomState } from '../src/core/random';
import {
  adaptiveAvgPool2d, add, avgPool2d, catChannels, catShuffle, channelShuffle, crossEntropy, dropout, flatten, hardsigmoid, hardswish,
  localResponseNorm, maxPool2d, narrowChannels, poolOutputSize, relu, relu6, sigmoid, silu, stochasticDepth, tanh,
} from '../src/ops';
import { fromData } from '../src/core/tensor';
import type { Op } from '../src/ops/op';
import type { UnaryCache } from '../src/ops/unary';
import { dropoutForward, maxPoolBackwardFast, maxPoolForwardFast, maxPoolForwardNaive, reluBackward, reluForward, softmaxLoss } from '../src/layers';
import { t64 } from './layerTestUtils';
import { checkOp, checkOpFixture, fixtureCase, loadFixtures } from './opHarness';

const seed = fc.integer({ min: 0, max: 2 ** 31 - 1 });
const dim = (max: number, min = 1) => fc.integer({ min, max });
const RUNS = { numRuns: 12 };

describe('activations', () => {
  const acts: Array<[string, Op<Record<string, never>, unknown>]> = [
    ['relu', relu], ['relu6', relu6], ['hardswish', hardswish], ['hardsigmoid', hardsigmoid],
    ['silu', silu], ['sigmoid', sigmoid], ['tanh', tanh],
  ];
  const fixtures = loadFixtures('activations.json');

  test.each(acts)('%s: gradient check on random shapes', (_, op) => {
    fc.assert(fc.property(fc.array(dim(4), { minLength: 1, maxLength: 4 }), seed, (shape, s) => {
      const rng = new RandomState(s);
      // Scale 4 covers every piece of ReLU6 / hard-swish; a kink hit exactly has probability 0.
      const x = rng.randn(...shape);
      for (let i = 0; i < x.data.length; i++) x.data[i] *= 4;
      checkOp(op, { inputs: [x], attrs: {}, seed: s });
    }), RUNS);
  });

  // PyTorch's hardsigmoid backward multiplies by the float32 constant 1/6 even in Float64
  // (a relative error of 3e-8); ours divides by 6. The test below pins that difference exactly.
  const gradTol64 = (name: string) => (name === 'hardsigmoid' ? 1e-7 : 1e-10);

  test.each(acts)('%s: equals PyTorch (random inputs)', (name, op) => {
    checkOpFixture(op, fixtureCase(fixtures, name), undefined, { gradTol64: gradTol64(name) });
  });

  test.each(acts)('%s: equals PyTorch at the kinks', (name, op) => {
    checkOpFixture(op, fixtureCase(fixtures, `${name} kinks`), undefined, { gradCheck: false, gradTol64: gradTol64(name) });
  });

  test("hardsigmoid: PyTorch's Float64 gradient is ours times 6·fround(1/6)", () => {
    const fx = fixtureCase(fixtures, 'hardsigmoid');
    const { grads } = checkOpFixture(hardsigmoid, fx, undefined, { gradTol64: 1e-7 });
    const ratio = 6 * Math.fround(1 / 6);
    fx.grads[0]!.data.forEach((t, i) => expect(Math.abs((t as number) - grads[0]!.data[i] * ratio)).toBeLessThan(1e-16));
  });

  test('kink gradients are the documented ones', () => {
    const at = (op: Op<Record<string, never>, unknown>, v: number) => {
      const { grads } = checkOp(op, { inputs: [t64([v], [1])], attrs: {}, dout: t64([1], [1]), gradCheck: false });
      return grads[0]!.data[0];
    };
    expect([at(relu, 0), at(relu6, 0), at(relu6, 6)]).toEqual([0, 0, 0]);
    expect([at(hardswish, -3), at(hardswish, 3)]).toEqual([-0.5, 1.5]);
    expect([at(hardsigmoid, -3), at(hardsigmoid, 3)]).toEqual([0, 0]);
  });
});

describe('pooling', () => {
  const fixtures = loadFixtures('pool.json');
  /** A window geometry that PyTorch accepts: padding ≤ half the kernel, the window fits the padded input. */
  const geometry = fc
    .record({
      N: dim(2), C: dim(2), H: dim(7), W: dim(7), kh: dim(3), kw: dim(3), sh: dim(3), sw: dim(2),
      ph: fc.nat(1), pw: fc.nat(1), ceilMode: fc.boolean(), s: seed,
    })
    .map((c) => ({ ...c, ph: Math.min(c.ph, c.kh >> 1), pw: Math.min(c.pw, c.kw >> 1) }))
    .filter((c) => c.H + 2 * c.ph >= c.kh && c.W + 2 * c.pw >= c.kw);
  const attrsOf = (c: { kh: number; kw: number; sh: number; sw: number; ph: number; pw: number; ceilMode: boolean }) =>
    ({ kernelSize: [c.kh, c.kw] as [number, number], stride: [c.sh, c.sw] as [number, number], padding: [c.ph, c.pw] as [number, number], ceilMode: c.ceilMode });

  test('max_pool2d: gradient check on random geometries (stride, padding, ceil mode, odd sizes)', () => {
    fc.assert(fc.property(geometry, (c) => {
      checkOp(maxPool2d, { inputs: [new RandomState(c.s).randn(c.N, c.C, c.H, c.W)], attrs: attrsOf(c), seed: c.s });
    }), { numRuns: 40 });
  });

  test('avg_pool2d: gradient check on random geometries, both divisor rules', () => {
    fc.assert(fc.property(geometry, fc.boolean(), (c, countIncludePad) => {
      checkOp(avgPool2d, { inputs: [new RandomState(c.s).randn(c.N, c.C, c.H, c.W)], attrs: { ...attrsOf(c), countIncludePad }, seed: c.s });
    }), { numRuns: 40 });
  });

  test('adaptive_avg_pool2d: gradient check on random sizes, incl. non-divisible and upsampling', () => {
    fc.assert(fc.property(dim(2), dim(2), dim(8), dim(8), dim(9), dim(9), seed, (N, C, H, W, oh, ow, s) => {
      checkOp(adaptiveAvgPool2d, { inputs: [new RandomState(s).randn(N, C, H, W)], attrs: { outputSize: [oh, ow] }, seed: s });
    }), { numRuns: 30 });
  });

  const names = fixtures.map((f) => f.name);
  test.each(names)('%s: equals PyTorch', (name) => {
    const fx = fixtureCase(fixtures, name);
    const op = name.startsWith('max') ? maxPool2d : name.startsWith('avg') ? avgPool2d : adaptiveAvgPool2d;
    // Ties, NaN and exact ones sit on kinks of max: compared with PyTorch, not differentiated numerically.
    const onKink = / ties| NaN/.test(name);
    checkOpFixture(op as Op<any, any>, fx, undefined, { gradCheck: !onKink });
  });

  test('NaN propagates through max pooling, its gradient goes to the last NaN of the window', () => {
    const x = t64([1, NaN, 5, NaN, 2, 3, 4, 0, 9], [1, 1, 3, 3]);
    const { out, cache } = maxPool2d.forward([x], { kernelSize: 2, stride: 1 });
    expect(Array.from(out.data)).toEqual([NaN, NaN, NaN, 9]);
    expect(Array.from(cache.argmax)).toEqual([3, 1, 3, 8]);
    const dx = maxPool2d.backward(t64([1, 10, 100, 1000], [1, 1, 2, 2]), cache)[0]!;
    expect(Array.from(dx.data)).toEqual([0, 10, 0, 101, 0, 0, 0, 0, 1000]);
  });

  test('the unrolled 2×2 stride-2 windows equal the general loop (ties, NaN, ±Inf, odd sizes)', () => {
    fc.assert(
      fc.property(fc.integer({ min: 1, max: 3 }), fc.integer({ min: 1, max: 3 }), fc.integer({ min: 2, max: 9 }), fc.integer({ min: 2, max: 9 }), fc.nat(), (N, C, H, W, seed) => {
        const rng = new RandomState(seed);
        const pick = [NaN, Infinity, -Infinity, 0, -0, 1, 1, 2];
        const x = t64(Array.from({ length: N * C * H * W }, () => (rng.rand() < 0.5 ? pick[rng.randint(0, pick.length)] : Math.round(rng.randn() as number))), [N, C, H, W]);
        const fast = maxPool2d.forward([x], { kernelSize: 2, stride: 2 });
        // The windows written out here, with the general loop's rules: the first maximum in
        // row-major order, a NaN wins over every number and a later NaN over an earlier one.
        const oh = Math.floor(H / 2);
        const ow = Math.floor(W / 2);
        const want: number[] = [];
        const at: number[] = [];
        for (let p = 0; p < N * C; p++) {
          for (let i = 0; i < oh; i++) {
            for (let j = 0; j < ow; j++) {
              let best = -Infinity;
              let idx = (p * H + 2 * i) * W + 2 * j;
              for (const [di, dj] of [[0, 0], [0, 1], [1, 0], [1, 1]]) {
                const k = (p * H + 2 * i + di) * W + 2 * j + dj;
                const v = x.data[k] as number;
                if (v > best || Number.isNaN(v)) {
                  best = v;
                  idx = k;
                }
              }
              want.push(best);
              at.push(idx);
            }
          }
        }
        expect(Array.from(fast.out.data)).toEqual(want);
        expect(Array.from(fast.cache.argmax)).toEqual(at);
      }),
      { numRuns: 60 },
    );
  });

  test('ceil mode: the last window must start inside the input or its left padding', () => {
    // 5 + 2 − 2 = 5: floor 3, ceil 4, but window 3 would start at 3·2 − 1 = 5, in the right padding: dropped.
    expect([poolOutputSize('h', 5, 2, 2, 1, false), poolOutputSize('h', 5, 2, 2, 1, true)]).toEqual([3, 3]);
    // Without padding the extra window starts at 4 < 5, inside the input: kept.
    expect([poolOutputSize('h', 5, 2, 2, 0, false), poolOutputSize('h', 5, 2, 2, 0, true)]).toEqual([2, 3]);
    expect([poolOutputSize('h', 6, 3, 2, 1, false), poolOutputSize('h', 6, 3, 2, 1, true)]).toEqual([3, 4]);
  });

  test('bad arguments name the attribute', () => {
    const x = new RandomState(0).randn(1, 1, 4, 4);
    expect(() => maxPool2d.forward([x], { kernelSize: 2, padding: 2 })).toThrow(/^padding: expected at most half the kernel size/);
    expect(() => maxPool2d.forward([x], { kernelSize: 0 })).toThrow(/^kernelSize: expected an integer ≥ 1/);
    expect(() => avgPool2d.forward([x], { kernelSize: 5 })).toThrow(/x height: a window of 5 does not fit in 4/);
    expect(() => avgPool2d.forward([x], { kernelSize: 2, stride: [1, 0] })).toThrow(/^stride:/);
    expect(() => adaptiveAvgPool2d.forward([x], { outputSize: 0 })).toThrow(/^outputSize:/);
    expect(() => maxPool2d.forward([new RandomState(0).randn(4, 4)], { kernelSize: 2 })).toThrow(/^x: expected a 4-d array/);
  });
});

describe('channel ops, residual add, flatten', () => {
  const fixtures = loadFixtures('shape.json');
  const ops: Record<string, Op<any, any>> = { shuffle: channelShuffle, cat: catChannels, cat_shuffle: catShuffle, narrow: narrowChannels, add, flatten };
  test.each(fixtures.map((f) => f.name))('%s: equals PyTorch (and gradient check)', (name) => {
    checkOpFixture(ops[name.split(' ')[0]], fixtureCase(fixtures, name));
  });

  test('random shapes: shuffle, cat, cat_shuffle, narrow, add, flatten', () => {
    fc.assert(fc.property(dim(2), dim(3), dim(3), dim(3), dim(3), seed, (N, g, n, H, W, s) => {
      const rng = new RandomState(s);
      const C = g * n;
      const x = rng.randn(N, C, H, W);
      checkOp(channelShuffle, { inputs: [x], attrs: { groups: g }, seed: s });
      checkOp(catChannels, { inputs: [x, rng.randn(N, n, H, W)], attrs: {}, seed: s });
      // One pass (g inputs of n channels) and the two-op path (x and n more channels, g + 1 groups).
      checkOp(catShuffle, { inputs: Array.from({ length: g }, () => rng.randn(N, n, H, W)), attrs: { groups: g }, seed: s });
      checkOp(catShuffle, { inputs: [x, rng.randn(N, n, H, W)], attrs: { groups: g + 1 }, seed: s });
      checkOp(narrowChannels, { inputs: [x], attrs: { start: n - 1, length: C - n + 1 }, seed: s });
      checkOp(add, { inputs: [x, rng.randn(N, C, H, W), rng.randn(N, C, H, W)], attrs: {}, seed: s });
      checkOp(flatten, { inputs: [x], attrs: {}, seed: s });
    }), RUNS);
  });

  test('shuffle moves channel i·n + j to j·g + i, and shuffling by n undoes shuffling by g', () => {
    const x = fromData(Float64Array.from({ length: 6 }, (_, i) => i), [1, 6, 1, 1]);
    const y = channelShuffle.forward([x], { groups: 2 }).out;
    expect(Array.from(y.data)).toEqual([0, 3, 1, 4, 2, 5]);
    expect(Array.from(channelShuffle.forward([y], { groups: 3 }).out.data)).toEqual([0, 1, 2, 3, 4, 5]);
  });

  test('bad arguments name the attribute', () => {
    const x = new RandomState(0).randn(1, 6, 2, 2);
    expect(() => channelShuffle.forward([x], { groups: 4 })).toThrow(/^groups: expected a positive integer dividing the 6 channels, got 4/);
    expect(() => catChannels.forward([x, new RandomState(0).randn(1, 2, 3, 2)], {})).toThrow(/^inputs\[1\]: expected shape \(1, C, 2, 2\)/);
    expect(() => catShuffle.forward([x, x], { groups: 5 })).toThrow(/^groups: expected a positive integer dividing the 12 channels, got 5/);
    expect(() => narrowChannels.forward([x], { start: 4, length: 3 })).toThrow(/^length: expected an integer in \[1, 2\]/);
    expect(() => add.forward([x, new RandomState(0).randn(1, 6, 2, 1)], {})).toThrow(/inputs\[1\]: expected the shape of inputs\[0\]/);
    expect(() => flatten.forward([x], { startDim: 4 })).toThrow(/^startDim: expected an axis in \[-4, 4\)/);
  });
});

describe('local response norm', () => {
  const fixtures = loadFixtures('lrn.json');
  test.each(fixtures.map((f) => f.name))('%s: equals PyTorch (and gradient check)', (name) => {
    checkOpFixture(localResponseNorm, fixtureCase(fixtures, name));
  });
  test('gradient check on random shapes and window sizes (odd and even)', () => {
    fc.assert(fc.property(dim(2), dim(7), dim(3), dim(6), fc.double({ min: 0.1, max: 2, noNaN: true }), fc.double({ min: 0.3, max: 1.2, noNaN: true }), seed, (N, C, H, size, alpha, beta, s) => {
      checkOp(localResponseNorm, { inputs: [new RandomState(s).randn(N, C, H, 2)], attrs: { size, alpha, beta, k: 1.5 }, seed: s });
    }), RUNS);
  });
});

describe('cross-entropy with label smoothing', () => {
  const fixtures = loadFixtures('crossEntropy.json');
  const attrs = (j: Record<string, unknown>) => ({ labels: fromData(Int32Array.from(j.labels as number[]), [(j.labels as number[]).length]), labelSmoothing: j.labelSmoothing as number });
  test.each(fixtures.map((f) => f.name))('%s: equals PyTorch (and gradient check)', (name) => {
    checkOpFixture(crossEntropy, fixtureCase(fixtures, name), attrs, { h: 1e-4 });
  });
  test('gradient check on random sizes and ε', () => {
    fc.assert(fc.property(dim(6), dim(7, 2), fc.double({ min: 0, max: 1, noNaN: true }), seed, (N, C, eps, s) => {
      const rng = new RandomState(s);
      const labels = rng.randint(0, C, N);
      checkOp(crossEntropy, { inputs: [rng.randn(N, C)], attrs: { labels, labelSmoothing: eps }, h: 1e-4 });
    }), RUNS);
  });
  test('ε = 0 is cs231n\'s softmax loss; a bad ε is named', () => {
    const rng = new RandomState(3);
    const z = rng.randn(4, 5);
    const labels = rng.randint(0, 5, 4);
    expect(crossEntropy.forward([z], { labels }).out.data[0]).toBe(softmaxLoss(z, labels).loss);
    expect(() => crossEntropy.forward([z], { labels, labelSmoothing: 1.5 })).toThrow(/^labelSmoothing: expected a number in \[0, 1\]/);
    expect(() => crossEntropy.forward([z], { labels: fromData(Int32Array.of(0, 1, 2, 9), [4]) })).toThrow(/y\[3\]: expected an integer in \[0, 5\)/);
  });
});

describe('dropout and stochastic depth', () => {
  test('dropout: gradient check with a re-seeded mask; inverted scaling; eval and p = 0 are the identity', () => {
    fc.assert(fc.property(fc.array(dim(4), { minLength: 1, maxLength: 4 }), fc.double({ min: 0, max: 0.9, noNaN: true }), seed, (shape, p, s) => {
      const x = new RandomState(s).randn(...shape);
      const attrs = () => ({ p, training: true, rng: new RandomState(s + 1) });
      const { out } = checkOp(dropout, { inputs: [x], attrs, seed: s });
      const u = new RandomState(s + 1).rand(x.size).data;
      out.data.forEach((v, i) => expect(v).toBe(u[i] < 1 - p ? x.data[i] * (1 / (1 - p)) : 0));
      for (const a of [{ p, training: false, rng: new RandomState(0) }, { p: 0, training: true, rng: new RandomState(0) }]) {
        expect(Array.from(dropout.forward([x], a).out.data)).toEqual(Array.from(x.data));
      }
    }), RUNS);
  });

  test('dropout p = 1 gives zeros (as PyTorch), and keeps about 1 − p of the units', () => {
    const x = new RandomState(0).randn(100, 100);
    expect(dropout.forward([x], { p: 1, training: true, rng: new RandomState(1) }).out.data.every((v) => v === 0)).toBe(true);
    const kept = dropout.forward([x], { p: 0.3, training: true, rng: new RandomState(1) }).out.data.filter((v) => v !== 0).length;
    expect(Math.abs(kept / 1e4 - 0.7)).toBeLessThan(0.02);
  });

  test("stochastic depth 'row': one draw per sample, scaled by 1/(1 − p); 'batch': one draw", () => {
    fc.assert(fc.property(dim(6), dim(3), dim(3), fc.double({ min: 0.05, max: 0.9, noNaN: true }), fc.constantFrom<'row' | 'batch'>('row', 'batch'), seed, (N, C, H, p, mode, s) => {
      const x = new RandomState(s).randn(N, C, H, H);
      const attrs = () => ({ p, mode, training: true, rng: new RandomState(s + 1) });
      const { out } = checkOp(stochasticDepth, { inputs: [x], attrs, seed: s });
      const u = new RandomState(s + 1).rand(mode === 'row' ? N : 1).data;
      const per = x.size / N;
      out.data.forEach((v, i) => {
        const draw = mode === 'row' ? Math.floor(i / per) : 0;
        expect(v).toBe(u[draw] < 1 - p ? x.data[i] * (1 / (1 - p)) : 0);
      });
      expect(Array.from(stochasticDepth.forward([x], { ...attrs(), training: false }).out.data)).toEqual(Array.from(x.data));
    }), RUNS);
  });

  test('bad arguments are named', () => {
    const x = new RandomState(0).randn(2, 3);
    expect(() => dropout.forward([x], { p: 1.5, training: true, rng: new RandomState(0) })).toThrow(/^p: expected a drop probability in \[0, 1\]/);
    expect(() => dropout.forward([x], { p: 0.5, training: true, rng: {} as RandomState })).toThrow(/^rng: expected a RandomState/);
    expect(() => stochasticDepth.forward([x], { p: 0.5, training: true, rng: new RandomState(0), mode: 'col' as 'row' })).toThrow(/^mode: expected 'row' or 'batch'/);
  });
});

describe('cs231n faces share the ops', () => {
  test('max pooling propagates NaN (naive, fast reshape and fast im2col paths), as numpy and PyTorch', () => {
    const x = new RandomState(5).randn(1, 2, 4, 4);
    x.data[5] = NaN; // channel 0, row 1, column 1: in window (0, 0) of a 2×2/2 pool
    for (const [pp, method] of [[{ poolHeight: 2, poolWidth: 2, stride: 2 }, 'reshape'], [{ poolHeight: 2, poolWidth: 2, stride: 1 }, 'im2col']] as const) {
      const ref = maxPool2d.forward([x], { kernelSize: pp.poolHeight, stride: pp.stride }).out;
      const naive = maxPoolForwardNaive(x, pp).out;
      const fast = maxPoolForwardFast(x, pp);
      expect(fast.cache.method).toBe(method);
      expect(Number.isNaN(naive.data[0])).toBe(true);
      expect(Array.from(naive.data)).toEqual(Array.from(ref.data));
      expect(Array.from(fast.out.data)).toEqual(Array.from(ref.data));
    }
  });

  test('reluForward / reluBackward are the relu op', () => {
    const x = new RandomState(6).randn(3, 5);
    const dout = new RandomState(7).randn(3, 5);
    const a = reluForward(x);
    const b = relu.forward([x], {});
    expect(Array.from(a.out.data)).toEqual(Array.from(b.out.data));
    expect(Array.from(reluBackward(dout, a.cache).dx.data)).toEqual(Array.from(relu.backward(dout, b.cache)[0]!.data));
  });

  test('the fast max pool is the max_pool2d op (same maxima, same argmax scatter)', () => {
    fc.assert(fc.property(dim(2), dim(3), dim(9, 2), dim(9, 2), dim(3), seed, (N, C, H, W, k, s) => {
      fc.pre(H >= k && W >= k && (H - k) % 2 === 0 && (W - k) % 2 === 0);
      const x = new RandomState(s).randint(0, 4, [N, C, H, W], 'float64');
      const pp = { poolHeight: k, poolWidth: k, stride: 2 };
      const fast = maxPoolForwardFast(x, pp);
      const op = maxPool2d.forward([x], { kernelSize: k, stride: 2 });
      expect(Array.from(fast.out.data)).toEqual(Array.from(op.out.data));
      if (fast.cache.method === 'im2col') {
        const dout = new RandomState(s + 1).randn(...op.out.shape);
        expect(Array.from(maxPoolBackwardFast(dout, fast.cache).dx.data)).toEqual(Array.from(maxPool2d.backward(dout, op.cache)[0]!.data));
      }
    }), { numRuns: 30 });
  });
});

describe('the harness itself', () => {
  const x = () => new RandomState(1).randn(2, 3);
  test('a wrong backward fails the gradient check', () => {
    const wrong: Op<Record<string, never>, unknown> = { ...tanh, name: 'wrongTanh', backward: (d, c) => tanh.backward(d, c as UnaryCache).map((g) => (g ? (g.data[0] *= 1.001, g) : g)) };
    expect(() => checkOp(wrong, { inputs: [x()], attrs: {} })).toThrow(/wrongTanh d\(input 0\): gradient check rel\. error/);
  });
  test('a forward that differs from the fixture fails', () => {
    const fx = fixtureCase(loadFixtures('activations.json'), 'silu');
    expect(() => checkOpFixture(sigmoid, fx)).toThrow(/sigmoid forward \(float64\): differs from PyTorch/);
  });
  test('an op that writes into its input fails', () => {
    const inPlace: Op<Record<string, never>, unknown> = { ...relu, name: 'inPlace', forward: (inp) => { const r = relu.forward(inp, {}); inp[0].data[0] = 7; return r; } };
    expect(() => checkOp(inPlace, { inputs: [x()], attrs: {}, gradCheck: false })).toThrow(/inPlace: forward or backward modified input 0/);
  });
});

describe("cs231n's dropoutForward shares the dropout op's mask", () => {
  test('keep probability q in cs231n = drop probability 1 − q in the op: same mask, same values', () => {
    fc.assert(fc.property(fc.array(dim(5), { minLength: 1, maxLength: 3 }), fc.constantFrom(0.25, 0.5, 0.75, 1), seed, (shape, q, s) => {
      const x = new RandomState(s).randn(...shape);
      const a = dropoutForward(x, { p: q, mode: 'train', seed: s }).out;
      const b = dropout.forward([x], { p: 1 - q, training: true, rng: new RandomState(s) }).out;
      expect(Array.from(a.data)).toEqual(Array.from(b.data));
    }), RUNS);
  });
});
