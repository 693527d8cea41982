/*
 * The float32 sigmoid family (ops/activations.ts, core/gemm/wasmActivations.ts): e^−|x| in
 * float32 steps within one ulp over every float32 x, sigmoid and SiLU (forward and backward)
 * within their documented bounds of the double formula, the wasm constants equal to the JS
 * ones, and the wasm loops equal to the JS loops bit for bit.
 */
import ndarray from 'ndarray';
import { RandomState } from '../src/core/random';
import { elementwiseMath } from '../src/ops/kernels/elementwise';
import { relu, sigmoid, silu } from '../src/ops/activations';
import type { Tensor } from '../src/core/tensor';
import { allocFloat } from '../src/core/dtype';
import { setGemmKernel } from '../src/core/gemm/gemm';
import { EXP32 } from '../src/core/gemm/wasmActivations';
import { bitDiffs, withThreads } from './threads';

/** Distance in float32 ulps between two float32 values (0 for equal NaNs and for ±0 pairs). */
function ulps(a: number, b: number): number {
  if (Number.isNaN(a) || Number.isNaN(b)) return Number.isNaN(a) && Number.isNaN(b) ? 0 : Infinity;
  if (a === b) return 0;
  const f = new Float32Array([a, b]);
  const i = new Int32Array(f.buffer);
  // Map the sign-magnitude bits onto a line that is monotonic across zero.
  const line = (v: number): number => (v < 0 ? -(v & 0x7fffffff) : v);
  return Math.abs(line(i[0]) - line(i[1]));
}

const U = 2 ** -24; // half a float32 ulp of 1: the unit roundoff
const TINY = 2 ** -149; // the smallest float32 subnormal

describe('elementwiseMath.expNegAbs32', () => {
  const { expNegAbs32 } = elementwiseMath();

  it('is within one ulp of e^−|x| for every 1009th float32 x ≥ 0, and symmetric in x', () => {
    const f = new Float32Array(1);
    const bits = new Uint32Array(f.buffer);
    let worst = 0;
    let asym = 0;
    for (let b = 0; b < 0x7f800000; b += 1009) {
      bits[0] = b;
      const x = f[0];
      worst = Math.max(worst, ulps(expNegAbs32(x), Math.fround(Math.exp(-x))));
      if (expNegAbs32(-x) !== expNegAbs32(x)) asym++;
    }
    expect(worst).toBe(1);
    expect(asym).toBe(0);
  });

  it('gives 1 at 0, 0 far out and at ±Inf, keeps NaN, and rounds subnormal results once', () => {
    expect(expNegAbs32(0)).toBe(1);
    expect(expNegAbs32(-0)).toBe(1);
    expect(expNegAbs32(104)).toBe(0);
    expect(expNegAbs32(1e30)).toBe(0);
    expect(expNegAbs32(Infinity)).toBe(0);
    expect(expNegAbs32(-Infinity)).toBe(0);
    expect(expNegAbs32(NaN)).toBeNaN();
    for (const x of [87, 88, 90, 95, 100, 103]) {
      const e = expNegAbs32(x);
      expect(e).toBeGreaterThan(0);
      expect(Math.abs(e - Math.exp(-x))).toBeLessThanOrEqual(TINY);
    }
  });

  it('uses the wasm lanes\' constants', () => {
    // The JS builds its constants itself (its source runs on the workers); they must be EXP32's.
    const src = elementwiseMath.toString();
    expect(EXP32.lo).toBe(-104);
    expect(src).toContain('t = a < -104 ? -104 : a');
    expect(EXP32.c1).toBe(0.693359375);
    expect(EXP32.c1 + EXP32.c2).toBeCloseTo(Math.LN2, 10);
    expect(EXP32.poly.map((c) => 1 / c).map(Math.round)).toEqual([5040, 720, 120, 24, 6, 2]);
  });
});

describe('float32 sigmoid and SiLU', () => {
  const sig = (v: number): number => 1 / (1 + Math.exp(-v));
  const rng = new RandomState(11);
  const values = [...rng.randn(200_000).data.map((v) => v * 8), ...rng.randn(50_000).data.map((v) => v * 40), 0, -0, 1e-40, -1e-40, 88, -88, 92, -92, 104, -104, 200, -200, 1e30, -1e30, 3.4e38, -3.4e38, Infinity, -Infinity, NaN];
  const x = ndarray(Float32Array.from(values), [values.length]);
  const dout = ndarray(Float32Array.from(values.map((_, i) => ((i * 7919) % 17) / 4 - 2)), [values.length]);

  // Bounds against the double formula: the forward within 4 ulps, plus an absolute floor where
  // e^−|x| is subnormal (|x|·2^−149 for SiLU); SiLU's backward within 12 units of roundoff of its
  // condition number |g|·σ·(1 + |x|·(1 − σ)), plus 2·(1 + |g|)·(1 + |x|)·2^−149 (g·σ rounds to a subnormal) — 1 + x·(1 − σ)
  // cancels near x ≈ −1.28, as it does in any float32 evaluation of the formula.
  it('sigmoid: forward within 4 ulps (+2^−149); backward within 1 ulp of g·y·(1 − y) on the stored y', () => {
    const r = sigmoid.forward([x], {});
    const [dx] = sigmoid.backward(dout, r.cache) as Tensor[];
    let worstY = 0;
    let worstDx = 0;
    for (let i = 0; i < values.length; i++) {
      const v = x.data[i];
      const y = r.out.data[i];
      if (Number.isNaN(v)) {
        expect(y).toBeNaN();
        continue;
      }
      const t = sig(v);
      worstY = Math.max(worstY, Math.abs(y - t) / (4 * 2 * U * t + TINY));
      worstDx = Math.max(worstDx, ulps(dx.data[i], Math.fround(dout.data[i] * y * (1 - y))));
    }
    expect(worstY).toBeLessThanOrEqual(1);
    expect(worstY).toBeGreaterThan(0.1);
    expect(worstDx).toBeLessThanOrEqual(1);
  });

  it('silu: forward within 4 ulps (+|x|·2^−149), backward within 12 roundoffs of its condition number', () => {
    const r = silu.forward([x], {});
    const [dx] = silu.backward(dout, r.cache) as Tensor[];
    let worstY = 0;
    let worstDx = 0;
    for (let i = 0; i < values.length; i++) {
      const v = x.data[i];
      const y = r.out.data[i];
      if (!Number.isFinite(v)) {
        expect(y).toBe(v === Infinity ? Infinity : NaN);
        continue;
      }
      const s = sig(v);
      const g = dout.data[i];
      if (y !== v * s) worstY = Math.max(worstY, Math.abs(y - v * s) / (4 * 2 * U * Math.abs(v * s) + Math.abs(v) * TINY));
      if (Math.abs(v) < 1e30) {
        const cond = Math.abs(g) * s * (1 + Math.abs(v) * (1 - s));
        const err = Math.abs(dx.data[i] - g * s * (1 + v * (1 - s)));
        if (err > 0) worstDx = Math.max(worstDx, err / (12 * U * cond + 2 * (1 + Math.abs(g)) * (1 + Math.abs(v)) * TINY));
      }
    }
    expect(worstY).toBeLessThanOrEqual(1);
    expect(worstY).toBeGreaterThan(0.1);
    expect(worstDx).toBeLessThanOrEqual(1);
  });

  // The float32 loops (and ReLU's) run in WebAssembly (core/gemm/wasmActivations.ts) on the wasm kernel: the JS
  // loops' bits, on one thread and two, specials included (x from allocFloat: shared, so the
  // two-thread run splits it; the JS kernel forced runs the JS loops).
  it.each([['sigmoid', sigmoid], ['silu', silu], ['relu', relu]] as const)('%s: the WebAssembly loops give the JS loops\' bits', (_, op) => {
    const xs = allocFloat('float32', values.length) as Float32Array;
    xs.set(x.data as Float32Array);
    const gs = allocFloat('float32', values.length) as Float32Array;
    gs.set(dout.data as Float32Array);
    // NaN's sign bit is not part of the result (WebAssembly leaves NaN payloads to the machine).
    const canon = (a: Float32Array): Float32Array => a.map((v) => (Number.isNaN(v) ? NaN : v));
    const run = (): Float32Array[] => {
      const r = op.forward([ndarray(xs, [values.length])], {});
      const [dx] = op.backward(ndarray(gs, [values.length]), r.cache) as Tensor[];
      return [canon(r.out.data as Float32Array), canon(dx.data as Float32Array)];
    };
    setGemmKernel('js');
    let js: Float32Array[];
    try {
      js = withThreads('1', run);
    } finally {
      setGemmKernel(null);
    }
    expect(bitDiffs(withThreads('1', run), js)).toBe(0);
    expect(bitDiffs(withThreads('2', run), js)).toBe(0);
  });
});
