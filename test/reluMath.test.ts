import fc from 'fast-check';
import ndarray from 'ndarray';
import { relu, relu6 } from '../src/ops/activations';
import { bitDiffs, withJsKernel, withThreads } from './threads';
import { reluGrad, reluGradRow, reluRow, reluValue } from '../src/ops/reluMath';
import { batchNorm } from '../src/ops/batchNorm';

// The branch-free ReLU formulas must give the branchy ones' exact bits (sign of zero included).
const branchyValue = (v: number) => (v <= 0 ? 0 : v);
const branchyGrad = (g: number, x: number) => (x > 0 ? g : 0);
const specials = [0, -0, 1, -1, NaN, Infinity, -Infinity, Number.MAX_VALUE, -Number.MAX_VALUE, Number.MIN_VALUE, -Number.MIN_VALUE, 3.4028234663852886e38, 1e308];

describe('reluMath', () => {
  test('reluValue equals max(0, v) bit for bit, NaN passing through', () => {
    for (const v of specials) expect(Object.is(reluValue(v), branchyValue(v))).toBe(true);
    fc.assert(fc.property(fc.double(), (v) => Object.is(reluValue(v), branchyValue(v))));
    fc.assert(fc.property(fc.float(), (v) => Object.is(Math.fround(reluValue(v)), Math.fround(branchyValue(v)))));
  });

  test('reluGrad equals dout·[x > 0] with 0 (never NaN) where x ≤ 0 or x is NaN', () => {
    for (const g of specials) for (const x of specials) {
      const want = branchyGrad(g, x);
      const got = reluGrad(g, x);
      // A zero gradient is +0 (PyTorch's where(x <= 0, 0, g)); a passed one is g, NaN included.
      if (Number.isNaN(want)) expect(got).toBeNaN();
      else expect(got === want && (want !== 0 || Object.is(got, 0))).toBe(true);
    }
    fc.assert(fc.property(fc.double(), fc.double(), (g, x) => {
      const want = branchyGrad(g, x);
      const got = reluGrad(g, x);
      return Number.isNaN(want) ? Number.isNaN(got) : got === want;
    }));
  });
});

describe('relu6 op (branch-free sign test)', () => {
  test('forward and backward equal the branchy formulas on specials and random values, both dtypes', () => {
    const vals = [...specials, 6, 5.999999, 6.000001, -6, 3, Infinity, -Infinity];
    for (let i = 0; i < 200; i++) vals.push((i * 7919) % 97 / 6 - 8);
    for (const C of [Float64Array, Float32Array]) {
      const x = ndarray(C.from(vals), [vals.length]);
      const g = ndarray(C.from(vals.map((_, i) => (i % 5 === 0 ? NaN : i % 7 === 0 ? -Infinity : i - 50))), [vals.length]);
      const { out, cache } = relu6.forward([x], {});
      const [dx] = relu6.backward(g, cache);
      for (let i = 0; i < vals.length; i++) {
        const v = x.data[i];
        const want = v <= 0 ? 0 : v >= 6 ? 6 : v;
        expect(Object.is(out.data[i], want) || (Number.isNaN(want) && Number.isNaN(out.data[i]))).toBe(true);
        const gw = v > 0 && v < 6 ? g.data[i] : 0;
        expect(Object.is(dx!.data[i], gw) || (Number.isNaN(gw) && Number.isNaN(dx!.data[i])) || (gw === 0 && dx!.data[i] === 0)).toBe(true);
      }
    }
  });
});

describe('relu and relu6 in WebAssembly lanes', () => {
  // Float32 stores go through the wasm exports on the wasm kernel (ops/kernels/elementwise.ts).
  test('give the JS rows\' bits on float32 (specials, both kinks, 1 and 2 threads)', () => {
    const vals: number[] = [...specials, 6, 5.999999, 6.000001, -6, 3];
    for (let i = 0; i < 5000; i++) vals.push(((i * 7919) % 1013) / 60 - 8);
    const x = ndarray(Float32Array.from(vals), [vals.length]);
    const g = ndarray(Float32Array.from(vals.map((_, i) => (i % 11 === 0 ? NaN : i % 13 === 0 ? -0 : i % 17 === 0 ? -Infinity : i / 7 - 300))), [vals.length]);
    for (const op of [relu, relu6]) {
      const run = (): Float32Array[] => {
        const { out, cache } = op.forward([x], {});
        const [dx] = op.backward(g, cache);
        return [out.data as Float32Array, dx!.data as Float32Array];
      };
      const js = withJsKernel(run);
      expect(bitDiffs(run(), js)).toBe(0);
      expect(bitDiffs(withThreads('2', run), js)).toBe(0);
    }
  });
});

describe('row functions and the fused BN+ReLU (finiteness flag, redo with the branchy formula)', () => {
  const mixed = (withSpecials: boolean) => {
    const v: number[] = [];
    for (let i = 0; i < 64; i++) v.push(((i * 37) % 23) / 7 - 1.6);
    if (withSpecials) v.splice(5, 0, -Infinity, NaN, Infinity, 1e308, -0);
    return v;
  };
  test.each([false, true])('reluRow / reluGradRow equal the branchy formulas (specials in the row: %s)', (sp) => {
    for (const C of [Float64Array, Float32Array]) {
      const x = C.from(mixed(sp));
      const g = C.from(mixed(sp).map((v, i) => (sp && i % 9 === 0 ? -Infinity : v * 3)));
      const o = new C(x.length);
      const dx = new C(x.length);
      reluRow(x, o, 0, x.length);
      reluGradRow(g, x, dx, 0, x.length);
      for (let i = 0; i < x.length; i++) {
        const want = x[i] <= 0 ? 0 : x[i];
        expect(Object.is(o[i], want) || (Number.isNaN(want) && Number.isNaN(o[i]))).toBe(true);
        const gw = x[i] > 0 ? g[i] : 0;
        expect(Object.is(dx[i], gw) || (Number.isNaN(gw) && Number.isNaN(dx[i])) || (gw === 0 && dx[i] === 0)).toBe(true);
      }
    }
  });

  test('fused batch_norm + ReLU equals batch_norm, then the branchy ReLU, with an infinite upstream gradient where the ReLU blocks', () => {
    const N = 2, C = 3, T = 10;
    const vals = Array.from({ length: N * C * T }, (_, i) => Math.sin(i * 1.7) * 2);
    const x = ndarray(Float64Array.from(vals), [N, C, T]);
    const gamma = ndarray(Float64Array.from([1, -0.5, 2]), [C]);
    const beta = ndarray(Float64Array.from([0.1, 0, -0.2]), [C]);
    const fused = batchNorm.forward([x, gamma, beta], { training: true, relu: true });
    const plain = batchNorm.forward([x, gamma, beta], { training: true });
    const y = plain.out.data;
    for (let i = 0; i < y.length; i++) expect(Object.is(fused.out.data[i], y[i] <= 0 ? 0 : y[i])).toBe(true);
    // Infinite gradients only where the ReLU output is 0: they must not reach dx.
    const g = Float64Array.from(y, (v, i) => (v <= 0 ? (i % 2 ? Infinity : NaN) : Math.cos(i)));
    const masked = Float64Array.from(g, (v, i) => (y[i] > 0 ? v : 0));
    const [dxF, dgF, dbF] = batchNorm.backward(ndarray(g, [N, C, T]), fused.cache);
    const [dxP, dgP, dbP] = batchNorm.backward(ndarray(masked, [N, C, T]), plain.cache);
    expect(Array.from(dxF!.data)).toEqual(Array.from(dxP!.data));
    expect(Array.from(dgF!.data)).toEqual(Array.from(dgP!.data));
    expect(Array.from(dbF!.data)).toEqual(Array.from(dbP!.data));
    expect(Array.from(dxF!.data).every(Number.isFinite)).toBe(true);
  });
});
