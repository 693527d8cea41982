/*
 * Update rules: the FullyConnectedNets notebook checks (linspace inputs, expected arrays from the
 * notebook, full arrays from test/fixtures/layersReference.py), defaults, state handling and
 * getUpdateRule.
 */
import fc from 'fast-check';
import { RandomState } from '../src/core/random';
import { astype, copy, type Tensor } from '../src/core/tensor';
import { relError } from '../src/gradientCheck';
import { adagrad, adam, getUpdateRule, nesterov, rmsprop, sgd, sgdMomentum, updateRules, type OptimConfig } from '../src/optim';
import reference from './fixtures/layersReference.json';
import { flatten, linspaceShaped, t64 } from './layerTestUtils';

const N = 4;
const D = 5;
const lin = (a: number, b: number): Tensor => linspaceShaped(a, b, [N, D]);
const ref = (nested: unknown): Tensor => t64(flatten(nested), [N, D]);

describe('notebook checks (FullyConnectedNets), linspace inputs', () => {
  test('sgd_momentum: next_w and velocity, error < 1e-8', () => {
    const w = lin(-0.4, 0.6);
    const dw = lin(-0.6, 0.4);
    const v = lin(0.6, 0.9);
    const { nextW, config } = sgdMomentum(w, dw, { learningRate: 1e-3, velocity: v });
    const expectedNextW = t64([
      0.1406, 0.20738947, 0.27417895, 0.34096842, 0.40775789,
      0.47454737, 0.54133684, 0.60812632, 0.67491579, 0.74170526,
      0.80849474, 0.87528421, 0.94207368, 1.00886316, 1.07565263,
      1.14244211, 1.20923158, 1.27602105, 1.34281053, 1.4096,
    ], [N, D]);
    const expectedVelocity = t64([
      0.5406, 0.55475789, 0.56891579, 0.58307368, 0.59723158,
      0.61138947, 0.62554737, 0.63970526, 0.65386316, 0.66802105,
      0.68217895, 0.69633684, 0.71049474, 0.72465263, 0.73881053,
      0.75296842, 0.76712632, 0.78128421, 0.79544211, 0.8096,
    ], [N, D]);
    expect(relError(nextW, expectedNextW)).toBeLessThan(1e-8);
    expect(relError(config.velocity!, expectedVelocity)).toBeLessThan(1e-8);
    expect(relError(nextW, ref(reference.sgdMomentum.nextW))).toBeLessThan(1e-14);
    expect(relError(config.velocity!, ref(reference.sgdMomentum.velocity))).toBeLessThan(1e-14);
  });

  test('rmsprop: next_w and cache, error ~1e-7', () => {
    const w = lin(-0.4, 0.6);
    const dw = lin(-0.6, 0.4);
    const cache = lin(0.6, 0.9);
    const { nextW, config } = rmsprop(w, dw, { learningRate: 1e-2, cache });
    const expectedNextW = t64([
      -0.39223849, -0.34037513, -0.28849239, -0.23659121, -0.18467247,
      -0.132737, -0.08078555, -0.02881884, 0.02316247, 0.07515774,
      0.12716641, 0.17918792, 0.23122175, 0.28326742, 0.33532447,
      0.38739248, 0.43947102, 0.49155973, 0.54365823, 0.59576619,
    ], [N, D]);
    const expectedCache = t64([
      0.5976, 0.6126277, 0.6277108, 0.64284931, 0.65804321,
      0.67329252, 0.68859723, 0.70395734, 0.71937285, 0.73484377,
      0.75037008, 0.7659518, 0.78158892, 0.79728144, 0.81302936,
      0.82883269, 0.84469141, 0.86060554, 0.87657507, 0.8926,
    ], [N, D]);
    expect(relError(nextW, expectedNextW)).toBeLessThan(1e-7);
    expect(relError(config.cache!, expectedCache)).toBeLessThan(1e-7);
    expect(relError(nextW, ref(reference.rmsprop.nextW))).toBeLessThan(1e-14);
    expect(relError(config.cache!, ref(reference.rmsprop.cache))).toBeLessThan(1e-14);
  });

  test('adam (t = 5 going in, incremented first): next_w, v, m, error ~1e-7', () => {
    const w = lin(-0.4, 0.6);
    const dw = lin(-0.6, 0.4);
    const m = lin(0.6, 0.9);
    const v = lin(0.7, 0.5);
    const { nextW, config } = adam(w, dw, { learningRate: 1e-2, m, v, t: 5 });
    const expectedNextW = t64([
      -0.40094747, -0.34836187, -0.29577703, -0.24319299, -0.19060977,
      -0.1380274, -0.08544591, -0.03286534, 0.01971428, 0.0722929,
      0.1248705, 0.17744702, 0.23002243, 0.28259667, 0.33516969,
      0.38774145, 0.44031188, 0.49288093, 0.54544852, 0.59801459,
    ], [N, D]);
    const expectedV = t64([
      0.69966, 0.68908382, 0.67851319, 0.66794809, 0.65738853,
      0.64683452, 0.63628604, 0.6257431, 0.61520571, 0.60467385,
      0.59414753, 0.58362676, 0.57311152, 0.56260183, 0.55209767,
      0.54159906, 0.53110598, 0.52061845, 0.51013645, 0.49966,
    ], [N, D]);
    const expectedM = t64([
      0.48, 0.49947368, 0.51894737, 0.53842105, 0.55789474,
      0.57736842, 0.59684211, 0.61631579, 0.63578947, 0.65526316,
      0.67473684, 0.69421053, 0.71368421, 0.73315789, 0.75263158,
      0.77210526, 0.79157895, 0.81105263, 0.83052632, 0.85,
    ], [N, D]);
    expect(config.t).toBe(6);
    expect(relError(nextW, expectedNextW)).toBeLessThan(2e-7);
    expect(relError(config.v!, expectedV)).toBeLessThan(1e-7);
    expect(relError(config.m!, expectedM)).toBeLessThan(1e-7);
    expect(relError(nextW, ref(reference.adam.nextW))).toBeLessThan(1e-14);
    expect(relError(config.m!, ref(reference.adam.m))).toBeLessThan(1e-14);
    expect(relError(config.v!, ref(reference.adam.v))).toBeLessThan(1e-14);
  });
});

describe('defaults, formulas and state', () => {
  const rng = new RandomState(7);
  const w = rng.randn(3, 4);
  const dw = rng.randn(3, 4);

  test('defaults are filled into config as cs231n does', () => {
    expect(sgd(w, dw).config).toEqual({ learningRate: 1e-2 });
    const m = sgdMomentum(w, dw).config;
    expect([m.learningRate, m.momentum]).toEqual([1e-2, 0.9]);
    const r = rmsprop(w, dw).config;
    expect([r.learningRate, r.decayRate, r.epsilon]).toEqual([1e-2, 0.99, 1e-8]);
    const a = adam(w, dw).config;
    expect([a.learningRate, a.beta1, a.beta2, a.epsilon, a.t]).toEqual([1e-3, 0.9, 0.999, 1e-8, 1]);
    const g = adagrad(w, dw).config;
    expect([g.learningRate, g.epsilon]).toEqual([1e-2, 1e-8]);
    const n = nesterov(w, dw).config;
    expect([n.learningRate, n.momentum]).toEqual([1e-2, 0.9]);
  });

  test('sgd, adagrad, nesterov follow their formulas; first adam step moves each weight by ≈ lr', () => {
    const ws = copy(w).data;
    const g = copy(dw).data;
    const s = sgd(w, dw, { learningRate: 0.1 }).nextW.data;
    const a = adagrad(w, dw, { learningRate: 0.1 }).nextW.data;
    const n = nesterov(w, dw, { learningRate: 0.1, momentum: 0.5 }).nextW.data;
    const ad = adam(w, dw, { learningRate: 0.01 }).nextW.data;
    for (let i = 0; i < ws.length; i++) {
      expect(s[i]).toBeCloseTo(ws[i] - 0.1 * g[i], 14);
      expect(a[i]).toBeCloseTo(ws[i] - (0.1 * g[i]) / (Math.abs(g[i]) + 1e-8), 14);
      // v = −lr·dw from zero velocity; nextW = w − μ·0 + (1 + μ)·v
      expect(n[i]).toBeCloseTo(ws[i] - 1.5 * 0.1 * g[i], 14);
      expect(Math.abs(ad[i] - ws[i])).toBeCloseTo(0.01, 6);
    }
  });

  test('w and dw are never modified; state arrays are updated in place and persist across calls', () => {
    const w0 = Array.from(w.data);
    const dw0 = Array.from(dw.data);
    for (const name of Object.keys(updateRules)) {
      const rule = getUpdateRule(name);
      const config: OptimConfig = {};
      const first = rule(w, dw, config).nextW;
      expect(first).not.toBe(w);
      const stateKeys = (['velocity', 'cache', 'm', 'v'] as const).filter((k) => config[k] !== undefined);
      const before = stateKeys.map((k) => config[k]);
      rule(first, dw, config);
      stateKeys.forEach((k, i) => expect(config[k]).toBe(before[i]));
    }
    expect(Array.from(w.data)).toEqual(w0);
    expect(Array.from(dw.data)).toEqual(dw0);
  });

  test('adam run by hand over 3 steps equals 3 calls with one config (t = 1, 2, 3)', () => {
    const config: OptimConfig = { learningRate: 0.05 };
    let cur: Tensor = w;
    for (let k = 0; k < 3; k++) cur = adam(cur, dw, config).nextW;
    expect(config.t).toBe(3);
    const ws = copy(w).data;
    const g = copy(dw).data;
    for (let i = 0; i < ws.length; i++) {
      let m = 0;
      let v = 0;
      let x = ws[i];
      for (let t = 1; t <= 3; t++) {
        m = 0.9 * m + 0.1 * g[i];
        v = 0.999 * v + 0.001 * g[i] * g[i];
        x -= (0.05 * (m / (1 - 0.9 ** t))) / (Math.sqrt(v / (1 - 0.999 ** t)) + 1e-8);
      }
      expect(cur.data[i]).toBeCloseTo(x, 12);
    }
  });

  test('float32 weights give float32 results and state', () => {
    const w32 = astype(w, 'float32');
    for (const name of Object.keys(updateRules)) {
      const config: OptimConfig = {};
      const { nextW } = getUpdateRule(name)(w32, dw, config);
      expect([name, nextW.data instanceof Float32Array]).toEqual([name, true]);
      for (const k of ['velocity', 'cache', 'm', 'v'] as const) {
        if (config[k]) expect([name, k, config[k]!.data instanceof Float32Array]).toEqual([name, k, true]);
      }
    }
  });

  test('every rule decreases a convex quadratic from any start (fast-check)', () => {
    fc.assert(fc.property(fc.array(fc.double({ min: -5, max: 5, noNaN: true }), { minLength: 1, maxLength: 6 }), (start) => {
      for (const name of Object.keys(updateRules)) {
        let x = t64(start, [start.length]);
        const config: OptimConfig = { learningRate: 1e-2 };
        const f = (t: Tensor) => Array.from(t.data).reduce((s, v) => s + v * v, 0);
        const f0 = f(x);
        for (let k = 0; k < 200; k++) x = getUpdateRule(name)(x, t64(Array.from(x.data, (v) => 2 * v), [start.length]), config).nextW;
        if (f0 > 1e-6) expect([name, f(x) < f0]).toEqual([name, true]);
      }
    }), { numRuns: 20 });
  });
});

describe('bad input', () => {
  const w = t64([1, 2, 3], [3]);

  test('unknown update rule names the known ones', () => {
    expect(() => getUpdateRule('adamw')).toThrow(/^updateRule: unknown update rule "adamw"; known rules: sgd, sgdMomentum, rmsprop, adam, adagrad, nesterov$/);
    expect(getUpdateRule('sgd_momentum')).toBe(sgdMomentum);
    expect(getUpdateRule('adam')).toBe(adam);
    expect(() => getUpdateRule('toString')).toThrow(/unknown update rule/);
  });

  test('shape mismatches and bad hyperparameters', () => {
    expect(() => sgd(w, t64([1, 2], [2]))).toThrow(/^dw: expected the shape of w \(3,\), got \(2,\)/);
    expect(() => sgdMomentum(w, w, { velocity: t64([0, 0], [2]) })).toThrow(/^config\.velocity: expected shape \(3,\) to match w, got \(2,\)/);
    expect(() => adam(w, w, { t: -1 })).toThrow(/^config\.t/);
    expect(() => rmsprop(w, w, { learningRate: Number.NaN })).toThrow(/^config\.learningRate: expected a finite number/);
  });
});
