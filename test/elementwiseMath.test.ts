/*
 * The fast e^x of the float32 sigmoid family (ops/kernels/elementwise.ts): its relative error
 * over the whole range, and sigmoid / SiLU in float32 within one ulp of the correctly rounded
 * double formula, special values behaving as Math.exp's formula does.
 */
import ndarray from 'ndarray';
import { RandomState } from '../src/core/random';
import { elementwiseMath } from '../src/ops/kernels/elementwise';
import { relu, sigmoid, silu } from '../src/ops/activations';
import type { Tensor } from '../src/core/tensor';
import { allocFloat } from '../src/core/dtype';
import { setGemmKernel } from '../src/core/gemm/gemm';
import { bitDiffs, withThreads } from './threads';

/** Distance in float32 ulps between two float32 values (0 for equal NaNs and for ±0 pairs). */
function ulps(a: number, b: number): number {
  if (Number.isNaN(a) || Number.isNaN(b)) return Number.isNaN(a) && Number.isNaN(b) ? 0 : Infinity;
  if (a === b) return Object.is(a, b) || a !== 0 ? 0 : 1;
  const f = new Float32Array([a, b]);
  const i = new Int32Array(f.buffer);
  // Map the sign-magnitude bits onto a line that is monotonic across zero.
  const line = (v: number): number => (v < 0 ? -(v & 0x7fffffff) : v);
  return Math.abs(line(i[0]) - line(i[1]));
}

describe('elementwiseMath.expf', () => {
  const { expf } = elementwiseMath();

  it('is within 3e-10 relative error of Math.exp on [-708, 708] (sweep and random points)', () => {
    const rng = new RandomState(5);
    let worst = 0;
    const check = (t: number): void => {
      const e = Math.exp(t);
      worst = Math.max(worst, Math.abs(expf(t) - e) / e);
    };
    for (let t = -708; t <= 708; t += 0.0137) check(t);
    for (const t of rng.uniform(-30, 30, [100_000]).data) check(t);
    for (const t of [0, -0, 1e-300, -1e-300, 0.5 * Math.LN2, -0.5 * Math.LN2, 708, -708]) check(t);
    expect(worst).toBeLessThan(3e-10);
    expect(worst).toBeGreaterThan(0);
  });

  it('saturates beyond ±708 and passes NaN', () => {
    expect(expf(709.78)).toBe(Infinity);
    expect(Math.abs(expf(709) / Math.exp(709) - 1)).toBeLessThan(3e-10);
    expect(expf(Infinity)).toBe(Infinity);
    expect(expf(-746)).toBe(0);
    expect(expf(-Infinity)).toBe(0);
    expect(expf(NaN)).toBeNaN();
  });
});

describe('float32 sigmoid and SiLU with the fast exp', () => {
  const sig = (v: number): number => 1 / (1 + Math.exp(-v));
  const rng = new RandomState(11);
  const values = [...rng.randn(200_000).data.map((v) => v * 8), 0, -0, 1e-40, -1e-40, 88, -88, 104, -104, 200, -200, 1e30, -1e30, 3.4e38, -3.4e38, Infinity, -Infinity, NaN];
  const x = ndarray(Float32Array.from(values), [values.length]);
  const dout = ndarray(Float32Array.from(values.map((_, i) => ((i * 7919) % 17) / 4 - 2)), [values.length]);

  it.each([
    ['sigmoid', sigmoid, (v: number) => sig(v), (g: number, _v: number, y: number) => g * y * (1 - y)],
    ['silu', silu, (v: number) => v * sig(v), (g: number, v: number, _y: number) => g * sig(v) * (1 + v * (1 - sig(v)))],
  ] as const)('%s: forward and backward within one ulp of the double formula, rounded', (_, op, f, df) => {
    const r = op.forward([x], {});
    const [dx] = op.backward(dout, r.cache) as Tensor[];
    let worstY = 0;
    let worstDx = 0;
    for (let i = 0; i < values.length; i++) {
      const v = x.data[i];
      worstY = Math.max(worstY, ulps(r.out.data[i], Math.fround(f(v))));
      // Sigmoid's backward reads its saved (rounded) y, as PyTorch's does: the reference takes the same y.
      if (Number.isFinite(v) && Math.abs(v) < 1e30) worstDx = Math.max(worstDx, ulps(dx.data[i], Math.fround(df(dout.data[i], v, r.out.data[i]))));
    }
    expect(worstY).toBeLessThanOrEqual(1);
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
