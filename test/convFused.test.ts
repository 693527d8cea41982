/*
 * The fused convolution kernels (src/core/convFused.ts): equal to the naive layers, the same
 * bits on one thread or two, with the wasm or the JS tile, in one chunk or many; and the
 * unfused im2col paths they fall back to for images too large for their budget.
 */
import fc from 'fast-check';
import { convBackwardFused, convForwardFused } from '../src/core/convFused';
import { setGemmKernel } from '../src/core/gemm/gemm';
import { workerStats } from '../src/core/gemm/workers';
import { RandomState } from '../src/core/random';
import { astype, fromData, type Tensor } from '../src/core/tensor';
import { relError } from '../src/gradientCheck';
import { convBackwardNaive, convForwardNaive, windowGeometry } from '../src/layers';
import { conv2dBackward, conv2dForward, im2colBackward, im2colForward } from '../src/layers/convFast';

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

function withThreads<T>(value: string, f: () => T): T {
  const saved = process.env.CS231N_THREADS;
  process.env.CS231N_THREADS = value;
  try {
    return f();
  } finally {
    if (saved === undefined) delete process.env.CS231N_THREADS;
    else process.env.CS231N_THREADS = saved;
  }
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
