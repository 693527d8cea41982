/*
 * The fused convolution kernels (src/core/convFused.ts): equal to the naive layers, the same
 * bits on one thread or two, with the wasm or the JS tile, in one chunk or many; and the
 * unfused im2col paths they fall back to for images too large for their budget.
 */
import fc from 'fast-check';
import { convBackwardFused, convForwardFused, convFusedPlan, type ConvGeometry } from '../src/core/convFused';
import { accRowsJobs } from '../src/core/gemm/accRowsTasks';
import { setGemmFma, setGemmKernel } from '../src/core/gemm/gemm';
import { workerStats } from '../src/core/gemm/workers';
import { RandomState } from '../src/core/random';
import { astype, fromData, type Tensor } from '../src/core/tensor';
import { relError } from '../src/gradientCheck';
import { convBackwardNaive, convForwardNaive, windowGeometry } from '../src/layers';
import { conv2dBackward, conv2dForward, im2colBackward, im2colForward } from '../src/layers/convFast';
import { withThreads } from './threads';
import { conv2d } from '../src/ops/conv2d';
import { withKernel } from '../src/ops/kernelRegistry';

interface Grads { dx: Float64Array; dw: Float64Array; db: Float64Array }

/** Runs the fused kernel on raw arrays; null when it declined (budget too small). */
function fused(x: Tensor, w: Tensor, dout: Tensor, stride: number, pad: number, groups: number, budget?: number): Grads | null {
  const [N, C, H, W] = x.shape;
  const [F, , fh, fw] = w.shape;
  const geom = windowGeometry([N, C, H, W], fh, fw, stride, pad);
  const g: Grads = { dx: new Float64Array(N * C * H * W), dw: new Float64Array(w.data.length), db: new Float64Array(F) };
  const ok = convBackwardFused(x.data, w.data, dout.data, geom, F, groups, g.dx, g.dw, g.db, budget);
  return ok ? g : null;
}

/** Runs the fused forward on raw arrays; null when it declined. */
function fusedFwd(x: Tensor, w: Tensor, b: Tensor, stride: number, pad: number, groups: number, budget?: number): Float64Array | null {
  const [N, C, H, W] = x.shape;
  const [F, , fh, fw] = w.shape;
  const geom = windowGeometry([N, C, H, W], fh, fw, stride, pad);
  const out = new Float64Array(N * F * geom.outH * geom.outW);
  return convForwardFused(x.data, w.data, b.data, geom, F, groups, out, budget) ? out : null;
}

/** relError of a naive gradient against a raw array of the same size. */
const rel = (t: Tensor, a: Float64Array): number => relError(t, fromData(a, t.shape));

const sameBits = (a: Grads, b: Grads): void => {
  expect(Array.from(a.dx)).toEqual(Array.from(b.dx));
  expect(Array.from(a.dw)).toEqual(Array.from(b.dw));
  expect(Array.from(a.db)).toEqual(Array.from(b.db));
};

/** A case big enough for the worker pool (2·N·F·K·P ≥ 1e6). */
function bigCase(seed: number) {
  const rng = new RandomState(seed);
  const x = rng.randn(24, 4, 15, 13);
  const w = rng.randn(16, 4, 3, 3);
  const b = rng.randn(16);
  const cp = { stride: 2, pad: 1 };
  const { out, cache } = convForwardNaive(x, w, b, cp);
  const dout = rng.randn(...out.shape);
  return { x, w, b, cp, dout, out, naive: convBackwardNaive(dout, cache) };
}

describe('fused conv forward', () => {
  test('equals the naive forward and gives the same bits on 1 and 2 threads, in 1 chunk or many, with either tile', () => {
    const { x, w, b, cp, out } = bigCase(7);
    const before = workerStats().threadedJobs;
    const two = withThreads('2', () => fusedFwd(x, w, b, cp.stride, cp.pad, 1))!;
    expect(workerStats().threadedJobs).toBeGreaterThan(before);
    const one = withThreads('1', () => fusedFwd(x, w, b, cp.stride, cp.pad, 1))!;
    // Fixed part ~5k elements, ~1.4k per sample: chunks of 10, 10 and 4.
    const chunked = withThreads('2', () => fusedFwd(x, w, b, cp.stride, cp.pad, 1, 20_000))!;
    setGemmKernel('js');
    let js: Float64Array;
    try {
      js = fusedFwd(x, w, b, cp.stride, cp.pad, 1)!;
    } finally {
      setGemmKernel(null);
    }
    expect(rel(out, one)).toBeLessThan(1e-9);
    for (const other of [two, chunked, js]) expect(Array.from(other)).toEqual(Array.from(one));
    expect(fusedFwd(x, w, b, cp.stride, cp.pad, 1, 1000)).toBeNull();
  });

  test('small maps, several samples per block: equal the naive forward, the same bits on 1, 2 and 4 threads, chunked, with either tile', () => {
    // [C, F, k, pad, H, groups]: 1×1 maps, 2×2, a 3×3 kernel on 3×3 maps, grouped 1×1 on 4×4.
    const cases: Array<[number, number, number, number, number, number]> = [[48, 40, 1, 0, 1, 1], [32, 36, 1, 0, 2, 1], [12, 16, 3, 1, 3, 1], [16, 24, 1, 0, 4, 2]];
    for (const [C, F, k, pad, H, groups] of cases) {
      const rng = new RandomState(C + F);
      const x = rng.randn(24, C, H, H);
      const w = rng.randn(F, C / groups, k, k);
      const b = rng.randn(F);
      // The reference: the conv2d op's plain loops (they take groups).
      const out = withKernel('conv2d', 'direct', () => conv2d.forward([x, w, b], { padding: pad, groups }).out);
      const geom = windowGeometry(x.shape, k, k, 1, pad);
      const spb = (t: string): number => withThreads(t, () => convFusedPlan({ ...geom, N: 24 }, F, groups, 'float64', 'forward')!.samplesPerBlock);
      expect(spb('1')).toBeGreaterThan(1);
      expect(spb('4')).toBeLessThan(spb('1'));
      const one = withThreads('1', () => fusedFwd(x, w, b, 1, pad, groups))!;
      expect(rel(out, one)).toBeLessThan(1e-9);
      const others = [withThreads('2', () => fusedFwd(x, w, b, 1, pad, groups))!, withThreads('4', () => fusedFwd(x, w, b, 1, pad, groups))!];
      others.push(withThreads('2', () => fusedFwd(x, w, b, 1, pad, groups, 20_000))!);
      setGemmKernel('js');
      try {
        others.push(fusedFwd(x, w, b, 1, pad, groups)!);
      } finally {
        setGemmKernel(null);
      }
      for (const o of others) expect(Array.from(o)).toEqual(Array.from(one));
      // Float32 too: the wasm f32x4 tiles at any width give each output the same sum.
      const [x32, w32, b32] = [x, w, b].map((t) => astype(t, 'float32').data as Float32Array);
      const f32 = (t: string): Float32Array => withThreads(t, () => {
        const o = new Float32Array(out.data.length);
        expect(convForwardFused(x32, w32, b32, { ...geom, N: 24 }, F, groups, o)).toBe(true);
        return o;
      });
      const a = f32('1');
      for (const t of ['2', '4']) expect(Buffer.compare(Buffer.from(f32(t).buffer), Buffer.from(a.buffer))).toBe(0);
    }
  });

  test('the unfused fallback (im2colForward) equals the naive forward and returns the columns', () => {
    const { x, w, b, cp, out } = bigCase(8);
    const geom = windowGeometry(x.shape, 3, 3, cp.stride, cp.pad);
    const got = new Float64Array(out.data.length);
    const cols = im2colForward(x.data, w.data, b.data, geom, 16, 1, got);
    expect(rel(out, got)).toBeLessThan(1e-9);
    expect(cols.length).toBe(4 * 9 * 24 * geom.outH * geom.outW);
  });
});

describe('fused conv backward', () => {
  test('equals the naive backward and gives the same bits on 1 and 2 threads, in 1 chunk or many', () => {
    const { x, w, cp, dout, naive } = bigCase(3);
    const before = workerStats().threadedJobs;
    const two = withThreads('2', () => fused(x, w, dout, cp.stride, cp.pad, 1))!;
    expect(workerStats().threadedJobs).toBeGreaterThan(before);
    const one = withThreads('1', () => fused(x, w, dout, cp.stride, cp.pad, 1))!;
    // Room for the fixed part (~10k elements) and 9 samples (~3k each): chunks of 9, 9 and 6.
    const chunked = withThreads('2', () => fused(x, w, dout, cp.stride, cp.pad, 1, 40_000))!;
    expect(rel(naive.dx, one.dx)).toBeLessThan(1e-12);
    expect(rel(naive.dw, one.dw)).toBeLessThan(1e-12);
    expect(rel(naive.db, one.db)).toBeLessThan(1e-12);
    sameBits(one, two);
    sameBits(one, chunked);
  });

  test('the JS tile gives the same bits as the wasm tile', () => {
    const { x, w, cp, dout } = bigCase(4);
    const wasm = fused(x, w, dout, cp.stride, cp.pad, 1)!;
    setGemmKernel('js');
    try {
      sameBits(fused(x, w, dout, cp.stride, cp.pad, 1)!, wasm);
    } finally {
      setGemmKernel(null);
    }
  });

  test('declines when one sample does not fit the budget', () => {
    const { x, w, cp, dout } = bigCase(5);
    expect(fused(x, w, dout, cp.stride, cp.pad, 1, 1000)).toBeNull();
  });

  test('random shapes and groups: forward and backward equal the unfused paths (float32 too)', () => {
    const arb = fc
      .record({
        N: fc.integer({ min: 1, max: 3 }), groups: fc.integer({ min: 1, max: 3 }), Cg: fc.integer({ min: 1, max: 3 }), Fg: fc.integer({ min: 1, max: 6 }),
        H: fc.integer({ min: 1, max: 8 }), W: fc.integer({ min: 1, max: 8 }), HH: fc.integer({ min: 1, max: 4 }), WW: fc.integer({ min: 1, max: 4 }),
        stride: fc.integer({ min: 1, max: 3 }), pad: fc.integer({ min: 0, max: 2 }), seed: fc.nat(), f32: fc.boolean(),
      })
      .filter((c) => c.H + 2 * c.pad >= c.HH && c.W + 2 * c.pad >= c.WW);
    fc.assert(fc.property(arb, ({ N, groups, Cg, Fg, H, W, HH, WW, stride, pad, seed, f32 }) => {
      const rng = new RandomState(seed);
      const dtype = f32 ? 'float32' : 'float64';
      const x = astype(rng.randn(N, groups * Cg, H, W), dtype);
      const w = astype(rng.randn(groups * Fg, Cg, HH, WW), dtype);
      const b = astype(rng.randn(groups * Fg), dtype);
      const cp = { stride, pad, groups };
      const { out, cache } = conv2dForward(x, w, b, cp);
      const dout = astype(rng.randn(...out.shape), dtype);
      const got = conv2dBackward(dout, cache);
      expect(got.dx.data).toBeInstanceOf(f32 ? Float32Array : Float64Array);
      // Reference: the unfused path on the same inputs.
      const geom = windowGeometry(x.shape, HH, WW, stride, pad);
      const F = groups * Fg;
      const ref = { dx: new Float64Array(x.data.length), dw: new Float64Array(w.data.length), db: new Float64Array(F) };
      im2colBackward(astype(dout, 'float64').data, undefined, astype(x, 'float64').data, astype(w, 'float64').data, geom, F, groups, ref.dx, ref.dw, ref.db);
      const tol = f32 ? 1e-4 : 1e-10;
      const close = (a: ArrayLike<number>, e: Float64Array) => {
        for (let i = 0; i < e.length; i++) expect(Math.abs(a[i] - e[i])).toBeLessThanOrEqual(tol * (1 + Math.abs(e[i])));
      };
      const refOut = new Float64Array(out.data.length);
      im2colForward(astype(x, 'float64').data, astype(w, 'float64').data, astype(b, 'float64').data, geom, F, groups, refOut);
      expect(out.data).toBeInstanceOf(f32 ? Float32Array : Float64Array);
      close(out.data, refOut);
      close(got.dx.data, ref.dx);
      close(got.dw.data, ref.dw);
      close(got.db.data, ref.db);
    }), { numRuns: 60 });
  });

  test('the unfused fallback (im2colBackward) equals the naive backward, with and without cached columns', () => {
    const { x, w, b, cp, naive, dout } = bigCase(6);
    const geom = windowGeometry(x.shape, 3, 3, cp.stride, cp.pad);
    const { cache } = conv2dForward(x, w, b, cp);
    for (const cols of [cache.cols, undefined]) {
      const g = { dx: new Float64Array(x.data.length), dw: new Float64Array(w.data.length), db: new Float64Array(16) };
      im2colBackward(dout.data, cols, x.data, w.data, geom, 16, 1, g.dx, g.dw, g.db);
      expect(rel(naive.dx, g.dx)).toBeLessThan(1e-12);
      expect(rel(naive.dw, g.dw)).toBeLessThan(1e-12);
      expect(rel(naive.db, g.db)).toBeLessThan(1e-12);
    }
  });
});

/** The four results of a forward + backward, in the call's dtype. */
type Results = [out: Float32Array | Float64Array, dx: Float32Array | Float64Array, dw: Float32Array | Float64Array, db: Float32Array | Float64Array];

/** Deterministic values in [-1, 1) (an LCG: big layers need no fast-check shrinking). */
function lcg(n: number, seed: number): Float64Array {
  const d = new Float64Array(n);
  let s = seed >>> 0;
  for (let i = 0; i < n; i++) {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    d[i] = s / 2147483648 - 1;
  }
  return d;
}

/** A layer's data as float64 arrays whose values are all float32 (so both dtypes see the same numbers). */
interface Layer { g: ConvGeometry; F: number; groups: number; x: Float64Array; w: Float64Array; b: Float64Array; dout: Float64Array }

function layer(N: number, C: number, H: number, W: number, F: number, k: number, stride: number, pad: number, groups: number, seed: number): Layer {
  const g = windowGeometry([N, C, H, W], k, k, stride, pad);
  const r32 = (d: Float64Array) => Float64Array.from(Float32Array.from(d));
  return {
    g, F, groups,
    x: r32(lcg(N * C * H * W, seed)), w: r32(lcg(F * (C / groups) * k * k, seed + 1)), b: r32(lcg(F, seed + 2)),
    dout: r32(lcg(N * F * g.outH * g.outW, seed + 3)),
  };
}

/** Forward and backward of the fused kernels in `dtype` (they must not decline). */
function runFused(L: Layer, dtype: 'float32' | 'float64', map: (v: number) => number = (v) => v, budget?: number): Results {
  const C = dtype === 'float32' ? Float32Array : Float64Array;
  const cv = (d: Float64Array) => {
    const a = new C(d.length);
    for (let i = 0; i < d.length; i++) a[i] = map(d[i]);
    return a;
  };
  const { g, F, groups } = L;
  const out = new C(g.N * F * g.outH * g.outW);
  const dx = new C(L.x.length);
  const dw = new C(L.w.length);
  const db = new C(F);
  expect(convForwardFused(cv(L.x), cv(L.w), cv(L.b), g, F, groups, out, budget)).toBe(true);
  expect(convBackwardFused(cv(L.x), cv(L.w), cv(L.dout), g, F, groups, dx, dw, db, budget)).toBe(true);
  return [out, dx, dw, db];
}

const diffBits = (a: Results, b: Results): number[] => a.map((arr, t) => {
  let d = 0;
  for (let i = 0; i < arr.length; i++) if (!Object.is(arr[i], b[t][i])) d++;
  return d;
});

/**
 * Asserts the documented float32 bounds (convFused.ts) against float64 results on the same
 * inputs (`exact`) and on their absolute values (`mag`): out (K + 2)·u·Σ|w||x| (+|b|),
 * dx (Fg + fh·fw + 1)·u·Σ|w||dout|, dw and db (P + 2)·u·Σ|dout||x| (Σ|dout|).
 */
function expectWithinFloat32Bounds(got: Results, exact: Results, mag: Results, L: Layer): void {
  const { g, F, groups } = L;
  const u = 2 ** -24;
  // dW and db sum P positions per sample, or all N·P in float32 where the backward takes them batch-wide.
  const sums = (convFusedPlan(g, F, groups, 'float32', 'backward')!.batchDw ? g.N : 1) * g.outH * g.outW + 2;
  const factors = [(g.C / groups) * g.fh * g.fw + 2, F / groups + g.fh * g.fw + 1, sums, sums];
  got.forEach((arr, t) => {
    let worst = 0;
    for (let i = 0; i < arr.length; i++) worst = Math.max(worst, Math.abs(arr[i] - exact[t][i]) / (1.01 * factors[t] * u * mag[t][i] + 1e-300));
    expect({ result: ['out', 'dx', 'dw', 'db'][t], worst: worst <= 1 }).toEqual({ result: ['out', 'dx', 'dw', 'db'][t], worst: true });
  });
}

describe('fused conv in float32', () => {
  // The FMA tiles (where the runtime has relaxed SIMD) are checked in a child process by
  // matmul.test.ts; off here so the JS tile's bits can be compared.
  beforeAll(() => {
    expect(setGemmFma(false)).toBe(false);
  });
  afterAll(() => {
    setGemmFma(null);
  });

  test('random shapes and groups: float32 within the documented bounds of float64 on the same values; float64 equals the unfused path', () => {
    const arb = fc
      .record({
        N: fc.integer({ min: 1, max: 3 }), groups: fc.integer({ min: 1, max: 3 }), Cg: fc.integer({ min: 1, max: 5 }), Fg: fc.integer({ min: 1, max: 9 }),
        H: fc.integer({ min: 1, max: 12 }), W: fc.integer({ min: 1, max: 12 }), k: fc.integer({ min: 1, max: 5 }),
        stride: fc.integer({ min: 1, max: 3 }), pad: fc.integer({ min: 0, max: 2 }), seed: fc.nat(),
      })
      .filter((c) => c.H + 2 * c.pad >= c.k && c.W + 2 * c.pad >= c.k);
    fc.assert(fc.property(arb, (c) => {
      const L = layer(c.N, c.groups * c.Cg, c.H, c.W, c.groups * c.Fg, c.k, c.stride, c.pad, c.groups, c.seed);
      const got = runFused(L, 'float32');
      expect(got[0]).toBeInstanceOf(Float32Array);
      const exact = runFused(L, 'float64');
      expectWithinFloat32Bounds(got, exact, runFused(L, 'float64', Math.abs), L);
      // The float64 path against the unfused one, independent code.
      const unfused = new Float64Array(exact[0].length);
      im2colForward(L.x, L.w, L.b, L.g, L.F, L.groups, unfused);
      for (let i = 0; i < unfused.length; i++) expect(Math.abs(exact[0][i] - unfused[i])).toBeLessThanOrEqual(1e-12 * (1 + Math.abs(unfused[i])));
    }), { numRuns: 60 });
  });

  test('same bits on 1, 2 and 4 threads (both dtypes), and with the JS tile (float32 without FMA)', () => {
    const L = layer(12, 6, 17, 15, 20, 3, 1, 1, 2, 99);
    for (const dtype of ['float32', 'float64'] as const) {
      const before = workerStats().threadedJobs;
      const runs = ['1', '2', '4'].map((t) => withThreads(t, () => runFused(L, dtype)));
      expect(workerStats().threadedJobs).toBeGreaterThan(before);
      for (const r of runs.slice(1)) expect(diffBits(r, runs[0])).toEqual([0, 0, 0, 0]);
      setGemmKernel('js');
      try {
        expect(diffBits(withThreads('2', () => runFused(L, dtype)), runs[0])).toEqual([0, 0, 0, 0]);
        // In chunks of a few samples (a small arena budget): the dW / db sums carry across chunks.
        expect(diffBits(withThreads('2', () => runFused(L, dtype, undefined, 60_000)), runs[0])).toEqual([0, 0, 0, 0]);
      } finally {
        setGemmKernel(null);
      }
      expect(diffBits(withThreads('2', () => runFused(L, dtype, undefined, 60_000)), runs[0])).toEqual([0, 0, 0, 0]);
    }
  });

  test('per-sample dW parts summed on every thread (accRows jobs): the same bits on 1, 2 and 4 threads, chunked and with the JS loop', () => {
    // Pointwise at 8×8 keeps per-sample parts; 64 rows of 65 over 40 samples is a pool job.
    const L = layer(40, 64, 8, 8, 64, 1, 1, 0, 1, 7);
    expect(convFusedPlan(L.g, L.F, 1, 'float32', 'backward')!.batchDw).toBe(false);
    const one = withThreads('1', () => runFused(L, 'float32'));
    for (const t of ['2', '4']) {
      const before = accRowsJobs();
      expect(diffBits(withThreads(t, () => runFused(L, 'float32')), one)).toEqual([0, 0, 0, 0]);
      expect(accRowsJobs()).toBeGreaterThan(before);
    }
    expect(diffBits(withThreads('2', () => runFused(L, 'float32', undefined, 120_000)), one)).toEqual([0, 0, 0, 0]);
    setGemmKernel('js');
    try {
      expect(diffBits(withThreads('2', () => runFused(L, 'float32')), one)).toEqual([0, 0, 0, 0]);
    } finally {
      setGemmKernel(null);
    }
    const exact = runFused(L, 'float64');
    expectWithinFloat32Bounds(one, exact, runFused(L, 'float64', Math.abs), L);
  });

  test('small pointwise maps (dW as one product over the batch): unfused values, float32 bounds, the same bits on 1/2/4 threads, chunked and with the JS tile', () => {
    for (const [H, W, groups] of [[4, 4, 1], [3, 5, 2], [4, 3, 3]]) {
      const L = layer(24, 36, H, W, 48, 1, 1, 0, groups, 7 + H);
      const P = H * W;
      expect(convFusedPlan(L.g, L.F, groups, 'float32', 'backward')!.batchDw).toBe(true);
      // Float64 against the unfused path (independent code: im2col, two GEMMs, col2im).
      const exact = runFused(L, 'float64');
      const ref = { dx: new Float64Array(L.x.length), dw: new Float64Array(L.w.length), db: new Float64Array(L.F) };
      im2colBackward(L.dout, undefined, L.x, L.w, L.g, L.F, groups, ref.dx, ref.dw, ref.db);
      [ref.dx, ref.dw, ref.db].forEach((e, t) => {
        for (let i = 0; i < e.length; i++) expect(Math.abs(exact[t + 1][i] - e[i])).toBeLessThanOrEqual(1e-12 * (1 + Math.abs(e[i])));
      });
      for (const dtype of ['float32', 'float64'] as const) {
        const before = workerStats().threadedJobs;
        const runs = ['1', '2', '4'].map((t) => withThreads(t, () => runFused(L, dtype)));
        if (2 * 24 * 48 * (36 / groups) * P >= 1e6) expect(workerStats().threadedJobs).toBeGreaterThan(before);
        for (const r of runs.slice(1)) expect(diffBits(r, runs[0])).toEqual([0, 0, 0, 0]);
        // Chunks of a few samples: each chunk's product adds onto the last one's dW.
        const whole = convFusedPlan(L.g, L.F, groups, dtype, 'backward')!.elements;
        const budget = Math.ceil(0.8 * whole);
        const small = convFusedPlan(L.g, L.F, groups, dtype, 'backward', budget)!;
        expect(small.batchDw && small.chunk < 24).toBe(true);
        expect(diffBits(withThreads('2', () => runFused(L, dtype, undefined, budget)), runs[0])).toEqual([0, 0, 0, 0]);
        setGemmKernel('js');
        try {
          expect(diffBits(withThreads('2', () => runFused(L, dtype)), runs[0])).toEqual([0, 0, 0, 0]);
        } finally {
          setGemmKernel(null);
        }
        if (dtype === 'float32') expectWithinFloat32Bounds(runs[0], exact, runFused(L, 'float64', Math.abs), L);
      }
    }
    // Larger and smaller maps keep the per-sample parts.
    for (const s of [8, 2]) expect(convFusedPlan(windowGeometry([24, 36, s, s], 1, 1, 1, 0), 48, 1, 'float32', 'backward')!.batchDw).toBe(false);
  });

  test('a 64-channel 56×56 layer fits the budget at 1, 2, 4 and 64 threads (blocks of output rows)', () => {
    const L = layer(2, 64, 56, 56, 64, 3, 1, 1, 1, 5);
    for (const dtype of ['float32', 'float64'] as const) {
      for (const pass of ['forward', 'backward'] as const) {
        for (const t of [1, 2, 4, 64]) {
          const plan = withThreads(String(t), () => convFusedPlan(L.g, L.F, 1, dtype, pass));
          expect(plan).not.toBeNull();
          expect(plan!.elements).toBeLessThanOrEqual(plan!.budget);
          // All threads up to 4; 64 threads' scratch does not all fit next to a sample, most of it does.
          if (t <= 4) expect(plan!.threads).toBe(t);
          else expect(plan!.threads).toBeGreaterThanOrEqual(16);
          // A sample's whole unfolding (580 × 3136 entries) is cut into blocks of rows.
          expect(plan!.rowsPerBlock).toBeLessThan(56);
        }
      }
    }
  });

  test.each([
    ['64 channels 56×56, 3×3 pad 1', [2, 64, 56, 56, 64, 3, 1, 1, 1]],
    ['48 channels 45×45, 5×5 stride 2 pad 2, 2 groups', [2, 48, 45, 45, 32, 5, 2, 2, 2]],
  ] as const)('in blocks of output rows (%s): same bits on 1, 2 and 4 threads, float64 = the unfused path, float32 within its bounds', (_what, dims) => {
    const [N, C, H, W, F, k, stride, pad, groups] = dims;
    const L = layer(N, C, H, W, F, k, stride, pad, groups, 5);
    expect(convFusedPlan(L.g, F, groups, 'float32', 'backward')!.rowsPerBlock).toBeLessThan(L.g.outH);
    expect(convFusedPlan(L.g, F, groups, 'float64', 'forward')!.rowsPerBlock).toBeLessThan(L.g.outH);
    const res: Record<string, Results> = {};
    for (const dtype of ['float32', 'float64'] as const) {
      const runs = ['1', '2', '4'].map((t) => withThreads(t, () => runFused(L, dtype)));
      for (const r of runs.slice(1)) expect(diffBits(r, runs[0])).toEqual([0, 0, 0, 0]);
      res[dtype] = runs[0];
    }
    // float64 against the unfused full-batch path (independent code).
    const out = new Float64Array(res.float64[0].length);
    const cols = im2colForward(L.x, L.w, L.b, L.g, F, groups, out);
    const g = { dx: new Float64Array(L.x.length), dw: new Float64Array(L.w.length), db: new Float64Array(F) };
    im2colBackward(L.dout, cols, L.x, L.w, L.g, F, groups, g.dx, g.dw, g.db);
    [out, g.dx, g.dw, g.db].forEach((e, t) => {
      let worst = 0;
      for (let i = 0; i < e.length; i++) worst = Math.max(worst, Math.abs(res.float64[t][i] - e[i]) / (1 + Math.abs(e[i])));
      expect(worst).toBeLessThan(1e-10);
    });
    expectWithinFloat32Bounds(res.float32, res.float64, withThreads('2', () => runFused(L, 'float64', Math.abs)), L);
  });
});

describe('weight-gradient-only backward (dx null, as the Winograd kernel asks)', () => {
  test('fused and unfused give the same dw and db bits as a full backward, and touch no dx', () => {
    const { x, w, cp, dout } = bigCase(11);
    const [N, C, H, W] = x.shape;
    const [F, , fh, fw] = w.shape;
    const geom = windowGeometry([N, C, H, W], fh, fw, cp.stride, cp.pad);
    for (const budget of [undefined, 40_000]) {
      const full = fused(x, w, dout, cp.stride, cp.pad, 1, budget) as Grads;
      const dw = new Float64Array(w.data.length);
      const db = new Float64Array(F);
      expect(convBackwardFused(x.data, w.data, dout.data, geom, F, 1, null, dw, db, budget)).toBe(true);
      expect(Array.from(dw)).toEqual(Array.from(full.dw));
      expect(Array.from(db)).toEqual(Array.from(full.db));
    }
    const dx = new Float64Array(N * C * H * W);
    const dwFull = new Float64Array(w.data.length);
    const dbFull = new Float64Array(F);
    im2colBackward(dout.data, undefined, x.data, w.data, geom, F, 1, dx, dwFull, dbFull);
    const dw = new Float64Array(w.data.length);
    const db = new Float64Array(F);
    im2colBackward(dout.data, undefined, x.data, w.data, geom, F, 1, null, dw, db);
    expect(Array.from(dw)).toEqual(Array.from(dwFull));
    expect(Array.from(db)).toEqual(Array.from(dbFull));
  });
});
