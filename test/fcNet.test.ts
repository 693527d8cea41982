/*
 * ModularTwoLayerNet and FullyConnectedNet: the FullyConnectedNets / BatchNormalization /
 * Dropout notebook checks (seed 231 through the module default RandomState, as the notebooks
 * draw from np.random), gradient checks in Float64 with the notebooks' tolerances, fast-check
 * gradient checks on random architectures, modes, dtypes, buffers and bad options.
 */
import fc from 'fast-check';
import { random, RandomState } from '../src/core/random';
import { copy, intArray, transpose, type Tensor } from '../src/core/tensor';
import { evalNumericalGradient, relError } from '../src/gradientCheck';
import { FullyConnectedNet, ModularTwoLayerNet } from '../src/classifiers';
import type { Labels } from '../src/layers';
import type { LossAndGrads } from '../src/solver';
import { linspaceShaped, t64 } from './layerTestUtils';

type Net = { params: Record<string, Tensor>; loss(X: Tensor, y?: Labels | null): Tensor | LossAndGrads };

/** Relative error of the analytic gradient of every parameter against the centred difference. */
function gradErrors(model: Net, X: Tensor, y: Labels, h = 1e-5): Record<string, number> {
  const { grads } = model.loss(X, y) as LossAndGrads;
  const out: Record<string, number> = {};
  for (const k of Object.keys(grads).sort()) {
    const num = evalNumericalGradient(() => (model.loss(X, y) as LossAndGrads).loss, model.params[k], { h });
    out[k] = relError(num, grads[k]);
  }
  return out;
}

/** The notebooks' small problem: seed 231, X randn(2, 15), y randint(10, size=2), from the global stream. */
function smallProblem(): { X: Tensor; y: Tensor } {
  random.seed(231);
  const X = random.randn(2, 15);
  const y = random.randint(10, null, 2) as unknown as Tensor;
  return { X, y };
}

const fcOpts = { hiddenDims: [20, 30], inputDim: 15, numClasses: 10, weightScale: 5e-2, dtype: 'float64' as const };

describe('ModularTwoLayerNet (FullyConnectedNets notebook)', () => {
  const [N, D, H, C] = [3, 5, 50, 7];
  const std = 1e-3;

  function notebookModel(): { model: ModularTwoLayerNet; X: Tensor } {
    random.seed(231);
    random.randn(N, D);
    random.randint(C, null, N);
    const model = new ModularTwoLayerNet({ inputDim: D, hiddenDim: H, numClasses: C, weightScale: std });
    return { model, X: copy(transpose(linspaceShaped(-5.5, 4.5, [D, N]))) };
  }

  function setLinspace(model: ModularTwoLayerNet): void {
    model.params.W1 = linspaceShaped(-0.7, 0.3, [D, H]);
    model.params.b1 = linspaceShaped(-0.1, 0.9, [H]);
    model.params.W2 = linspaceShaped(-0.3, 0.4, [H, C]);
    model.params.b2 = linspaceShaped(-0.9, 0.1, [C]);
  }

  test('initialisation: weight std within std/10 of weightScale, zero biases', () => {
    const { model } = notebookModel();
    const sd = (t: Tensor) => {
      const d = Array.from(t.data);
      const m = d.reduce((a, b) => a + b, 0) / d.length;
      return Math.sqrt(d.reduce((a, b) => a + (b - m) ** 2, 0) / d.length);
    };
    expect(Math.abs(sd(model.params.W1) - std)).toBeLessThan(std / 10);
    expect(Math.abs(sd(model.params.W2) - std)).toBeLessThan(std / 10);
    expect(Array.from(model.params.b1.data).every((v) => v === 0)).toBe(true);
    expect(Array.from(model.params.b2.data).every((v) => v === 0)).toBe(true);
    expect(model.params.W1.shape).toEqual([D, H]);
    expect(model.params.W2.shape).toEqual([H, C]);
  });

  test('test-time scores on linspace weights: Σ|diff| < 1e-6', () => {
    const { model, X } = notebookModel();
    setLinspace(model);
    const scores = model.loss(X);
    const correct = [
      11.53165108, 12.2917344, 13.05181771, 13.81190102, 14.57198434, 15.33206765, 16.09215096,
      12.05769098, 12.74614105, 13.43459113, 14.1230412, 14.81149128, 15.49994135, 16.18839143,
      12.58373087, 13.20054771, 13.81736455, 14.43418138, 15.05099822, 15.66781506, 16.2846319,
    ];
    expect(scores.shape).toEqual([N, C]);
    const diff = Array.from(scores.data).reduce((s, v, i) => s + Math.abs(v - correct[i]), 0);
    expect(diff).toBeLessThan(1e-6);
  });

  test('training loss 3.4702243556 (reg 0) and 26.5948426952 (reg 1.0), |diff| < 1e-10', () => {
    const { model, X } = notebookModel();
    setLinspace(model);
    const y = intArray([0, 5, 1]);
    expect(Math.abs(model.loss(X, y).loss - 3.4702243556)).toBeLessThan(1e-10);
    model.reg = 1.0;
    expect(Math.abs(model.loss(X, y).loss - 26.5948426952)).toBeLessThan(1e-10);
  });

  test('gradients (reg 0 and 0.7): relative errors ~1e-7 or less', () => {
    const { model, X } = notebookModel();
    setLinspace(model);
    const y = intArray([0, 5, 1]);
    for (const reg of [0, 0.7]) {
      model.reg = reg;
      const errs = gradErrors(model, X, y);
      expect(Object.keys(errs)).toEqual(['W1', 'W2', 'b1', 'b2']);
      for (const [k, e] of Object.entries(errs)) expect([k, e < 1e-6]).toEqual([k, true]);
    }
  });

  test('rejects unknown options and bad sizes', () => {
    expect(() => new ModularTwoLayerNet({ hidden_dim: 3 } as never)).toThrow(/unrecognized option "hidden_dim".*known options: inputDim/);
    expect(() => new ModularTwoLayerNet({ hiddenDim: 0 })).toThrow(/hiddenDim: expected a positive integer, got 0/);
    expect(() => new ModularTwoLayerNet({ dtype: 'int32' as never })).toThrow(/dtype/);
  });
});

describe('FullyConnectedNet (notebook checks)', () => {
  test('initial loss 2.300479089768492 (reg 0) / 7.052114776533016 (reg 3.14); gradients ~1e-7 (W2 up to 1e-5 at reg 0)', () => {
    const { X, y } = smallProblem();
    const expected = [2.300479089768492, 7.052114776533016];
    [0, 3.14].forEach((reg, i) => {
      const model = new FullyConnectedNet({ ...fcOpts, reg });
      expect(Math.abs((model.loss(X, y) as LossAndGrads).loss - expected[i])).toBeLessThan(1e-12);
      const errs = gradErrors(model, X, y);
      expect(Object.keys(errs)).toEqual(['W1', 'W2', 'W3', 'b1', 'b2', 'b3']);
      for (const [k, e] of Object.entries(errs)) expect([k, e < (reg === 0 && k === 'W2' ? 1e-4 : 1e-6)]).toEqual([k, true]);
    });
  });

  test('with batchnorm: initial loss 2.2611955101340957 / 6.996533220108303; W 1e-4~, b, gamma, beta 1e-8~', () => {
    const { X, y } = smallProblem();
    const expected = [2.2611955101340957, 6.996533220108303];
    [0, 3.14].forEach((reg, i) => {
      const model = new FullyConnectedNet({ ...fcOpts, reg, normalization: 'batchnorm' });
      expect(Math.abs((model.loss(X, y) as LossAndGrads).loss - expected[i])).toBeLessThan(1e-12);
      const { grads } = model.loss(X, y) as LossAndGrads;
      const errs = gradErrors(model, X, y);
      expect(Object.keys(errs)).toEqual(['W1', 'W2', 'W3', 'b1', 'b2', 'b3', 'beta1', 'beta2', 'gamma1', 'gamma2']);
      for (const [k, e] of Object.entries(errs)) {
        // N = 2 makes BN nearly singular: the notebook accepts 1e-4 for W. The biases before a
        // BN have a true gradient of exactly zero (the mean is subtracted), so they are held to
        // an absolute bound instead of a relative one.
        if (/^b[12]$/.test(k)) expect(Math.max(...Array.from(grads[k].data, Math.abs))).toBeLessThan(1e-12);
        else expect([k, e < (k.startsWith('W') ? 2e-4 : 1e-7)]).toEqual([k, true]);
      }
    });
  });

  test('with dropout (keep 1, 0.75, 0.5; seed 123): initial losses 2.300479089768492 / 2.302371489704412 / 2.30427592207859, errors ~1e-6', () => {
    const { X, y } = smallProblem();
    const expected: Array<[number, number]> = [[1, 2.300479089768492], [0.75, 2.302371489704412], [0.5, 2.30427592207859]];
    for (const [keep, loss0] of expected) {
      // cs231n's dropout_forward calls np.random.seed(seed) on the global stream, so after the
      // keep-0.75 model's last forward pass np.random stands at seed(123) + rand(2, 30); the
      // keep-0.5 model's weights come from there. Our dropout draws from its own RandomState(seed)
      // and leaves the global stream alone, so the notebook's state is set up explicitly.
      if (keep === 0.5) {
        random.seed(123);
        random.rand(2, 30);
      }
      const model = new FullyConnectedNet({ ...fcOpts, dropoutKeepRatio: keep, seed: 123 });
      expect(model.useDropout).toBe(keep !== 1);
      expect(Math.abs((model.loss(X, y) as LossAndGrads).loss - loss0)).toBeLessThan(1e-12);
      const errs = gradErrors(model, X, y);
      for (const [k, e] of Object.entries(errs)) expect([k, e < (keep === 1 && k === 'W2' ? 1e-4 : 5e-6)]).toEqual([k, true]);
    }
  });

  test('with layernorm: gradients agree (W ~1e-5, others ~1e-7)', () => {
    const rng = new RandomState(231);
    const X = rng.randn(4, 15);
    const y = rng.randint(10, null, 4) as unknown as Tensor;
    const model = new FullyConnectedNet({ ...fcOpts, normalization: 'layernorm', reg: 0.5, rng });
    const errs = gradErrors(model, X, y);
    expect(Object.keys(errs)).toContain('gamma2');
    for (const [k, e] of Object.entries(errs)) expect([k, e < (k.startsWith('W') ? 1e-4 : 1e-6)]).toEqual([k, true]);
  });
});

describe('FullyConnectedNet behaviour', () => {
  test('parameters: names, shapes, dtype float32 by default, gamma ones / beta zeros', () => {
    const model = new FullyConnectedNet({ hiddenDims: [4, 3], inputDim: 6, numClasses: 2, normalization: 'batchnorm', rng: new RandomState(0) });
    expect(Object.keys(model.params)).toEqual(['W1', 'b1', 'gamma1', 'beta1', 'W2', 'b2', 'gamma2', 'beta2', 'W3', 'b3']);
    expect(model.params.W1.shape).toEqual([6, 4]);
    expect(model.params.W3.shape).toEqual([3, 2]);
    for (const v of Object.values(model.params)) expect(v.data).toBeInstanceOf(Float32Array);
    expect(Array.from(model.params.gamma1.data)).toEqual([1, 1, 1, 1]);
    expect(Array.from(model.params.beta2.data)).toEqual([0, 0, 0]);
  });

  test('weights are drawn W1, W2, … from the given generator, scaled by weightScale', () => {
    const model = new FullyConnectedNet({ hiddenDims: [3], inputDim: 2, numClasses: 2, weightScale: 0.5, dtype: 'float64', rng: new RandomState(5) });
    const ref = new RandomState(5);
    const w1 = Array.from(ref.randn(2, 3).data, (v) => v * 0.5);
    const w2 = Array.from(ref.randn(3, 2).data, (v) => v * 0.5);
    expect(Array.from(model.params.W1.data)).toEqual(w1);
    expect(Array.from(model.params.W2.data)).toEqual(w2);
  });

  test('loss(X) runs in test mode: dropout off, batchnorm with running statistics; loss(X, y) switches back', () => {
    const rng = new RandomState(1);
    const model = new FullyConnectedNet({ hiddenDims: [8], inputDim: 5, numClasses: 3, normalization: 'batchnorm', dropoutKeepRatio: 0.5, dtype: 'float64', rng });
    const X = rng.randn(6, 5);
    const y = rng.randint(3, null, 6) as unknown as Tensor;
    model.loss(X, y);
    expect(model.dropoutParam.mode).toBe('train');
    expect(model.bnParams[0]).toHaveProperty('runningMean');
    const a = model.loss(X) as Tensor;
    expect(model.dropoutParam.mode).toBe('test');
    expect((model.bnParams[0] as { mode: string }).mode).toBe('test');
    const b = model.loss(X) as Tensor;
    // Deterministic in test mode (no dropout mask, fixed statistics).
    expect(Array.from(b.data)).toEqual(Array.from(a.data));
    model.loss(X, y);
    expect(model.dropoutParam.mode).toBe('train');
  });

  test('float32 loss agrees with float64 to float32 precision', () => {
    const rng = new RandomState(3);
    const X = rng.randn(7, 12);
    const y = rng.randint(4, null, 7) as unknown as Tensor;
    const m64 = new FullyConnectedNet({ hiddenDims: [9, 6], inputDim: 12, numClasses: 4, weightScale: 0.3, dtype: 'float64', rng: new RandomState(8), reg: 0.1 });
    const m32 = new FullyConnectedNet({ hiddenDims: [9, 6], inputDim: 12, numClasses: 4, weightScale: 0.3, rng: new RandomState(8), reg: 0.1 });
    const l64 = m64.loss(X, y) as LossAndGrads;
    const l32 = m32.loss(X, y) as LossAndGrads;
    expect(Math.abs(l64.loss - l32.loss)).toBeLessThan(1e-5);
    expect(l32.grads.W1.data).toBeInstanceOf(Float32Array);
    expect(relError(copy(l32.grads.W1, 'float64'), l64.grads.W1)).toBeLessThan(1e-3);
  });

  test('buffers: batch-norm running statistics round-trip through getBuffers/setBuffers', () => {
    const rng = new RandomState(2);
    const a = new FullyConnectedNet({ hiddenDims: [4], inputDim: 3, numClasses: 2, normalization: 'batchnorm', dtype: 'float64', rng });
    const X = rng.randn(5, 3);
    a.loss(X, rng.randint(2, null, 5) as unknown as Tensor);
    const buf = a.getBuffers();
    expect(Object.keys(buf)).toEqual(['bn1.runningMean', 'bn1.runningVar']);
    const b = new FullyConnectedNet({ hiddenDims: [4], inputDim: 3, numClasses: 2, normalization: 'batchnorm', dtype: 'float64', rng: new RandomState(9) });
    b.params = a.params;
    b.setBuffers(buf);
    expect(Array.from((b.loss(X) as Tensor).data)).toEqual(Array.from((a.loss(X) as Tensor).data));
    expect(() => b.setBuffers({ 'bn7.runningMean': buf['bn1.runningMean'] })).toThrow(/buffers\.bn7\.runningMean/);
    expect(new FullyConnectedNet({ hiddenDims: [2], inputDim: 3, rng }).getBuffers()).toEqual({});
  });

  test('bad options: keep ratio outside (0, 1], unknown normalization, unknown option, bad hiddenDims', () => {
    for (const k of [0, -0.5, 1.5, Number.NaN]) {
      expect(() => new FullyConnectedNet({ hiddenDims: [3], dropoutKeepRatio: k })).toThrow(/dropoutKeepRatio: expected a keep probability in \(0, 1\]/);
    }
    expect(() => new FullyConnectedNet({ hiddenDims: [3], normalization: 'groupnorm' as never })).toThrow(/normalization: expected null, 'batchnorm' or 'layernorm', got "groupnorm"/);
    expect(() => new FullyConnectedNet({ hiddenDims: [3], dropout: 0.5 } as never)).toThrow(/unrecognized option "dropout".*dropoutKeepRatio/);
    expect(() => new FullyConnectedNet({ hiddenDims: [3, 0] })).toThrow(/hiddenDims\[1\]: expected a positive integer/);
    expect(() => new FullyConnectedNet({} as never)).toThrow(/hiddenDims/);
    const net = new FullyConnectedNet({ hiddenDims: [3], inputDim: 4, rng: new RandomState(0) });
    expect(() => net.loss(t64([1, 2, 3], [1, 3]))).toThrow(/w: expected shape \(3, M\)/);
  });

  test('fast-check: gradients of random architectures (depth, normalisation, dropout, reg) match the centred difference', () => {
    fc.assert(
      fc.property(
        fc.record({
          hidden: fc.array(fc.integer({ min: 2, max: 6 }), { minLength: 0, maxLength: 3 }),
          D: fc.integer({ min: 2, max: 6 }),
          C: fc.integer({ min: 2, max: 5 }),
          N: fc.integer({ min: 3, max: 6 }),
          norm: fc.constantFrom(null, 'batchnorm', 'layernorm'),
          keep: fc.constantFrom(1, 0.8, 0.5),
          reg: fc.constantFrom(0, 0.3),
          seed: fc.nat({ max: 1e6 }),
        }),
        ({ hidden, D, C, N, norm, keep, reg, seed }) => {
          const rng = new RandomState(seed);
          const X = rng.randn(N, D);
          const y = rng.randint(C, null, N) as unknown as Tensor;
          const model = new FullyConnectedNet({
            hiddenDims: hidden, inputDim: D, numClasses: C, normalization: norm as 'batchnorm' | 'layernorm' | null,
            dropoutKeepRatio: keep, seed: 42, reg, weightScale: 0.5, dtype: 'float64', rng,
          });
          // Non-zero biases: with zero biases a sample whose previous layer is all dead ReLUs sits
          // exactly on the next ReLU's kink, where the centred difference is meaningless.
          for (const [k, v] of Object.entries(model.params)) if (/^b\d/.test(k)) v.data.set(rng.randn(v.shape[0]).data);
          const { grads } = model.loss(X, y) as LossAndGrads;
          for (const k of Object.keys(model.params)) {
            const num = evalNumericalGradient(() => (model.loss(X, y) as LossAndGrads).loss, model.params[k]);
            // Scale-aware error (max |diff| against the largest gradient entry, plus an absolute
            // 1e-8 for the centred difference's round-off): entries whose true value is ~0
            // (biases before a norm layer, dead ReLUs) must not dominate a relative error.
            let diff = 0;
            let scale = 0;
            for (let i = 0; i < num.data.length; i++) {
              diff = Math.max(diff, Math.abs(num.data[i] - grads[k].data[i]));
              scale = Math.max(scale, Math.abs(num.data[i]), Math.abs(grads[k].data[i]));
            }
            if (!(diff <= 1e-5 * scale + 1e-8)) throw new Error(`${k}: max |diff| ${diff} for gradients up to ${scale}`);
          }
        },
      ),
      { numRuns: 25 },
    );
  });
});
