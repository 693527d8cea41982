/*
 * ThreeLayerConvNet: the ConvolutionalNetworks notebook checks (initial loss ≈ log 10, the
 * 2×3×16×16 gradient check at h = 1e-6 with errors up to ~1e-2), precise fast-check gradient
 * checks on random shapes, input shapes other than CIFAR's (MNIST 1×28×28, odd sizes), dtypes
 * and bad input.
 */
import fc from 'fast-check';
import { random, RandomState } from '../src/core/random';
import { copy, type Tensor } from '../src/core/tensor';
import { evalNumericalGradient, relError } from '../src/gradientCheck';
import { ThreeLayerConvNet } from '../src/classifiers';
import type { LossAndGrads } from '../src/solver';

const sumSq = (t: Tensor): number => Array.from(t.data).reduce((s, v) => s + v * v, 0);

describe('ThreeLayerConvNet (notebook checks)', () => {
  test('initial loss ≈ log(10) with default dims (N = 50); reg 0.5 adds ½·reg·ΣW²', () => {
    const rng = new RandomState(0);
    const model = new ThreeLayerConvNet({ rng });
    const X = rng.randn(50, 3, 32, 32);
    const y = rng.randint(10, null, 50) as unknown as Tensor;
    const loss0 = (model.loss(X, y) as LossAndGrads).loss;
    expect(Math.abs(loss0 - Math.log(10))).toBeLessThan(1e-3);
    model.reg = 0.5;
    const loss1 = (model.loss(X, y) as LossAndGrads).loss;
    const penalty = 0.25 * (sumSq(model.params.W1) + sumSq(model.params.W2) + sumSq(model.params.W3));
    expect(loss1).toBeGreaterThan(loss0);
    expect(Math.abs(loss1 - loss0 - penalty)).toBeLessThan(1e-5);
    // The notebook's printed value with reg 0.5 is ~2.508 (2.5086 / 2.5075).
    expect(loss1).toBeGreaterThan(2.45);
    expect(loss1).toBeLessThan(2.56);
  });

  test('gradient check (2×3×16×16, 3 filters 3×3, hidden 7, float64, h = 1e-6): errors up to the order of 1e-2', () => {
    random.seed(231);
    const X = random.randn(2, 3, 16, 16);
    const y = random.randint(10, null, 2) as unknown as Tensor;
    const model = new ThreeLayerConvNet({ numFilters: 3, filterSize: 3, inputDim: [3, 16, 16], hiddenDim: 7, dtype: 'float64' });
    const { grads } = model.loss(X, y) as LossAndGrads;
    const errs: Record<string, number> = {};
    for (const k of Object.keys(model.params).sort()) {
      const num = evalNumericalGradient(() => (model.loss(X, y) as LossAndGrads).loss, model.params[k], { h: 1e-6 });
      errs[k] = relError(num, grads[k]);
    }
    expect(Object.keys(errs)).toEqual(['W1', 'W2', 'W3', 'b1', 'b2', 'b3']);
    // cs231n solutions print W2 1.8e-2 here; weights of 1e-3 leave the centred difference
    // with few significant digits, so the notebook allows "up to the order of e-2".
    for (const [k, e] of Object.entries(errs)) expect([k, e < 5e-2]).toEqual([k, true]);
    expect(errs.b3).toBeLessThan(1e-7);
  });
});

describe('ThreeLayerConvNet shapes and gradients', () => {
  test('fast-check: with O(1) weights the gradients match the centred difference to ~1e-6 on random shapes', () => {
    fc.assert(
      fc.property(
        fc.record({
          C: fc.integer({ min: 1, max: 3 }),
          H: fc.integer({ min: 4, max: 8 }),
          W: fc.integer({ min: 4, max: 8 }),
          F: fc.integer({ min: 1, max: 3 }),
          fs: fc.constantFrom(1, 2, 3, 5),
          hidden: fc.integer({ min: 2, max: 5 }),
          classes: fc.integer({ min: 2, max: 4 }),
          reg: fc.constantFrom(0, 0.1),
          seed: fc.nat({ max: 1e6 }),
        }).filter(({ H, W, fs }) => {
          const pad = Math.floor((fs - 1) / 2);
          const [hc, wc] = [H + 2 * pad - fs + 1, W + 2 * pad - fs + 1];
          return hc >= 2 && wc >= 2 && hc % 2 === 0 && wc % 2 === 0;
        }),
        ({ C, H, W, F, fs, hidden, classes, reg, seed }) => {
          const rng = new RandomState(seed);
          const model = new ThreeLayerConvNet({ inputDim: [C, H, W], numFilters: F, filterSize: fs, hiddenDim: hidden, numClasses: classes, weightScale: 0.5, reg, dtype: 'float64', rng });
          // Non-zero biases keep the ReLUs away from their kink at 0.
          for (const [k, v] of Object.entries(model.params)) if (k.startsWith('b')) v.data.set(rng.randn(v.shape[0]).data);
          const X = rng.randn(2, C, H, W);
          const y = rng.randint(classes, null, 2) as unknown as Tensor;
          const { grads } = model.loss(X, y) as LossAndGrads;
          for (const k of Object.keys(model.params)) {
            const num = evalNumericalGradient(() => (model.loss(X, y) as LossAndGrads).loss, model.params[k]);
            let diff = 0;
            let scale = 0;
            for (let i = 0; i < num.data.length; i++) {
              diff = Math.max(diff, Math.abs(num.data[i] - grads[k].data[i]));
              scale = Math.max(scale, Math.abs(num.data[i]));
            }
            if (!(diff <= 1e-6 * scale + 1e-8)) throw new Error(`${k}: max |diff| ${diff} for gradients up to ${scale}`);
          }
        },
      ),
      { numRuns: 20 },
    );
  });

  test('MNIST-shaped input (1×28×28) sizes W2 from the real pooled output; even filter sizes too', () => {
    const mnist = new ThreeLayerConvNet({ inputDim: [1, 28, 28], numFilters: 4, hiddenDim: 5, rng: new RandomState(0) });
    expect(mnist.params.W1.shape).toEqual([4, 1, 7, 7]);
    expect(mnist.params.W2.shape).toEqual([4 * 14 * 14, 5]);
    const rng = new RandomState(1);
    const scores = mnist.loss(rng.randn(3, 1, 28, 28)) as Tensor;
    expect(scores.shape).toEqual([3, 10]);
    const { loss } = mnist.loss(rng.randn(2, 1, 28, 28), rng.randint(10, null, 2) as unknown as Tensor) as LossAndGrads;
    expect(Number.isFinite(loss)).toBe(true);
    const even = new ThreeLayerConvNet({ inputDim: [1, 9, 9], filterSize: 4, numFilters: 2, hiddenDim: 3, rng });
    // pad 1 with a 4×4 filter: conv output 8×8, pooled 4×4.
    expect(even.params.W2.shape).toEqual([2 * 4 * 4, 3]);
    expect((even.loss(rng.randn(2, 1, 9, 9)) as Tensor).shape).toEqual([2, 10]);
  });

  test('float32 by default: params, scores and gradients in Float32, close to the float64 result', () => {
    const m32 = new ThreeLayerConvNet({ inputDim: [2, 8, 8], numFilters: 3, filterSize: 3, hiddenDim: 6, weightScale: 0.1, rng: new RandomState(4) });
    const m64 = new ThreeLayerConvNet({ inputDim: [2, 8, 8], numFilters: 3, filterSize: 3, hiddenDim: 6, weightScale: 0.1, dtype: 'float64', rng: new RandomState(4) });
    for (const v of Object.values(m32.params)) expect(v.data).toBeInstanceOf(Float32Array);
    const rng = new RandomState(5);
    const X = rng.randn(4, 2, 8, 8);
    const y = rng.randint(10, null, 4) as unknown as Tensor;
    const a = m32.loss(X, y) as LossAndGrads;
    const b = m64.loss(X, y) as LossAndGrads;
    expect(a.grads.W1.data).toBeInstanceOf(Float32Array);
    expect(Math.abs(a.loss - b.loss)).toBeLessThan(1e-5);
    expect(relError(copy(a.grads.W1, 'float64'), b.grads.W1)).toBeLessThan(1e-3);
  });

  test('bad input: wrong image shape, unknown option, bad sizes', () => {
    const model = new ThreeLayerConvNet({ inputDim: [3, 8, 8], numFilters: 2, filterSize: 3, hiddenDim: 3, rng: new RandomState(0) });
    expect(() => model.loss(new RandomState(0).randn(2, 1, 8, 8))).toThrow(/X: expected shape \(N, 3, 8, 8\) to match inputDim, got \(2, 1, 8, 8\)/);
    expect(() => model.loss(new RandomState(0).randn(2, 192))).toThrow(/X: expected shape \(N, 3, 8, 8\)/);
    expect(() => new ThreeLayerConvNet({ num_filters: 3 } as never)).toThrow(/unrecognized option "num_filters".*numFilters/);
    expect(() => new ThreeLayerConvNet({ inputDim: [3, 32] as never })).toThrow(/inputDim: expected \[C, H, W\]/);
    expect(() => new ThreeLayerConvNet({ inputDim: [1, 4, 4], filterSize: 8 })).toThrow(/filterSize: 8 \(pad 3\) gives a 3×3 conv output/);
    // An odd conv output (31×31) cannot be tiled by the fast 2×2 pool: said at construction.
    expect(() => new ThreeLayerConvNet({ inputDim: [3, 31, 31] })).toThrow(/31×31 conv output for 31×31 inputs.*even sizes/);
    expect(() => new ThreeLayerConvNet({ weightScale: -1 })).toThrow(/weightScale/);
  });
});
