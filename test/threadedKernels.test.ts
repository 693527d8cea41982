/*
 * Kernels split over threads outside the GEMM: depthwise convolution (ops/kernels/depthwise.ts:
 * planes copied into the shared arena, (sample, channel block) tasks) and batch norm
 * (ops/kernels/batchNormTasks.ts: channel blocks over tensors that live in shared memory) and
 * the elementwise activations (ops/kernels/elementwise.ts: index ranges, loops shipped as source).
 * On random problems large enough to be threaded, every thread count gives the one-thread bits.
 */
import fc from 'fast-check';
import ndarray from 'ndarray';
import { RandomState } from '../src/core/random';
import { astype, type Tensor } from '../src/core/tensor';
import { workerStats } from '../src/core/gemm/workers';
import { isShared } from '../src/core/bufferPool';
import { hardsigmoid, hardswish, relu, relu6, sigmoid, silu, tanh } from '../src/ops/activations';
import { batchNorm } from '../src/ops/batchNorm';
import { conv2d } from '../src/ops/conv2d';
import { withKernel } from '../src/ops/kernelRegistry';
import type { Op } from '../src/ops/op';
import type { UnaryCache } from '../src/ops/unary';
import { closeness } from './opHarness';
import { withThreads } from './threads';

/** Forward output and the three gradients, as copies. */
function pass(kernel: string, inputs: Tensor[], dout: Tensor, attrs: object): Array<Float64Array | Float32Array> {
  return withKernel('conv2d', kernel, () => {
    const r = conv2d.forward(inputs, attrs);
    const g = conv2d.backward(dout, r.cache);
    return [r.out, ...g].filter((t): t is Tensor => t !== null).map((t) => t.data.slice() as Float64Array | Float32Array);
  });
}

function sameBits(a: Array<Float64Array | Float32Array>, b: Array<Float64Array | Float32Array>): boolean {
  return a.length === b.length && a.every((t, i) => t.length === b[i].length && t.every((v, j) => Object.is(v, b[i][j])));
}

describe('depthwise kernel on several threads', () => {
  it('gives the one-thread bits on 2 and 3 threads and equals the direct reference (random problems, float64 and float32)', () => {
    const before = workerStats().threadedJobs;
    let big = 0;
    fc.assert(
      fc.property(
        fc.record({
          N: fc.integer({ min: 4, max: 12 }), C: fc.integer({ min: 17, max: 48 }), H: fc.integer({ min: 16, max: 32 }), W: fc.integer({ min: 16, max: 32 }),
          k: fc.constantFrom(3, 5), stride: fc.constantFrom(1, 2), pad: fc.integer({ min: 0, max: 2 }), dilation: fc.constantFrom(1, 1, 2),
          bias: fc.boolean(), f32: fc.boolean(), seed: fc.nat(),
        }),
        (s) => {
          const rng = new RandomState(s.seed);
          const dtype = s.f32 ? 'float32' : 'float64';
          const x = astype(rng.randn(s.N, s.C, s.H, s.W), dtype);
          const w = astype(rng.randn(s.C, 1, s.k, s.k), dtype);
          const inputs = s.bias ? [x, w, astype(rng.randn(s.C), dtype)] : [x, w];
          const attrs = { stride: s.stride, padding: s.pad, dilation: s.dilation, groups: s.C };
          const outH = Math.floor((s.H + 2 * s.pad - s.dilation * (s.k - 1) - 1) / s.stride) + 1;
          const outW = Math.floor((s.W + 2 * s.pad - s.dilation * (s.k - 1) - 1) / s.stride) + 1;
          const dout = astype(rng.randn(s.N, s.C, outH, outW), dtype);
          // Problems of ≥ 1e6 multiply-adds (THREAD_MIN_WORK) are split: forward and backward, on 2 and on 3 threads.
          if (s.N * s.C * outH * outW * s.k * s.k >= 1e6) big += 4;
          const one = withThreads('1', () => pass('depthwise-direct', inputs, dout, attrs));
          expect(one.every((t) => t.every(Number.isFinite))).toBe(true);
          for (const t of ['2', '3']) expect(sameBits(withThreads(t, () => pass('depthwise-direct', inputs, dout, attrs)), one)).toBe(true);
          if (!s.f32) {
            const ref = pass('direct', inputs, dout, attrs);
            one.forEach((t, i) => expect(closeness(ndarray(t), ndarray(ref[i]))).toBeLessThan(1e-12));
          }
        },
      ),
      { numRuns: 12 },
    );
    expect(big).toBeGreaterThan(0);
    expect(workerStats().threadedJobs - before).toBeGreaterThanOrEqual(big);
  }, 120_000);
});

describe('batch norm on several threads', () => {
  it('gives the one-thread bits on 2 and 3 threads (random shapes, both dtypes, train and eval, with and without the fused ReLU)', () => {
    const before = workerStats().threadedJobs;
    let big = 0;
    fc.assert(
      fc.property(
        fc.record({
          N: fc.integer({ min: 2, max: 16 }), C: fc.integer({ min: 2, max: 70 }), H: fc.integer({ min: 1, max: 40 }),
          f32: fc.boolean(), training: fc.boolean(), relu: fc.boolean(), affine: fc.boolean(), seed: fc.nat(),
        }),
        (s) => {
          const rng = new RandomState(s.seed);
          const dtype = s.f32 ? 'float32' : 'float64';
          const x = astype(rng.randn(s.N, s.C, s.H, s.H), dtype);
          // Large inputs come from allocFloat in shared memory, as activations do.
          const inputs = s.affine ? [x, astype(rng.randn(s.C), dtype), astype(rng.randn(s.C), dtype)] : [x];
          const dout = astype(rng.randn(s.N, s.C, s.H, s.H), dtype);
          const run = (): Array<Float64Array | Float32Array> => {
            const state = { runningMean: new Float64Array(s.C).fill(0.25), runningVar: new Float64Array(s.C).fill(2), numBatchesTracked: 0 };
            const f = batchNorm.forward(inputs, { training: s.training, relu: s.relu, state });
            const g = batchNorm.backward(dout, f.cache);
            return [f.out, ...g].filter((t): t is Tensor => t !== null).map((t) => t.data.slice() as Float64Array | Float32Array).concat([state.runningMean, state.runningVar]);
          };
          const one = withThreads('1', run);
          expect(one.every((t) => t.every(Number.isFinite))).toBe(true);
          for (const t of ['2', '3']) expect(sameBits(withThreads(t, run), one)).toBe(true);
          if (s.N * s.C * s.H * s.H * 16 >= 1e6 && isShared(x.data) && isShared(dout.data)) big += 4;
        },
      ),
      { numRuns: 25 },
    );
    expect(big).toBeGreaterThan(0);
    expect(workerStats().threadedJobs - before).toBeGreaterThanOrEqual(big);
  }, 120_000);
});

describe('elementwise activations on several threads', () => {
  // Each op beside its scalar reference: the textbook formula, branches and all.
  const sig = (v: number): number => 1 / (1 + Math.exp(-v));
  const cases: Array<{ op: Op<Record<string, never>, UnaryCache>; f: (v: number) => number; df: (g: number, v: number) => number }> = [
    { op: relu, f: (v) => (v > 0 ? v : Number.isNaN(v) ? v : 0), df: (g, v) => (v > 0 ? g : 0) },
    { op: relu6, f: (v) => (Number.isNaN(v) ? v : Math.min(Math.max(v, 0), 6)), df: (g, v) => (v > 0 && v < 6 ? g : 0) },
    { op: hardswish, f: (v) => (v <= -3 ? 0 : v >= 3 ? v : (v * (v + 3)) / 6), df: (g, v) => (v < -3 ? 0 : v <= 3 ? g * (v / 3 + 0.5) : g) },
    { op: hardsigmoid, f: (v) => (v <= -3 ? 0 : v >= 3 ? 1 : v / 6 + 0.5), df: (g, v) => (v > -3 && v < 3 ? g / 6 : 0) },
    { op: sigmoid, f: sig, df: (g, v) => g * sig(v) * (1 - sig(v)) },
    { op: tanh, f: Math.tanh, df: (g, v) => g * (1 - Math.tanh(v) ** 2) },
    { op: silu, f: (v) => v * sig(v), df: (g, v) => g * sig(v) * (1 + v * (1 - sig(v))) },
  ];

  it('take empty tensors (a summary() runs a batch of 0)', () => {
    for (const { op } of cases) {
      for (const dtype of ['float32', 'float64'] as const) {
        const x = astype(ndarray(new Float64Array(0), [0, 3]), dtype);
        const r = op.forward([x], {});
        expect(r.out.shape).toEqual([0, 3]);
        expect((op.backward(x, r.cache)[0] as Tensor).shape).toEqual([0, 3]);
      }
    }
  });

  it('give the one-thread bits on 2 and 3 threads, equal their scalar formulas, and run on the workers (special values included)', () => {
    const before = workerStats();
    const specials = [0, -0, 3, -3, 6, -6, NaN, Infinity, -Infinity, 1e308, -1e308];
    fc.assert(
      fc.property(fc.integer({ min: 0, max: cases.length - 1 }), fc.boolean(), fc.integer({ min: 70_000, max: 600_000 }), fc.nat(), (which, f32, n, seed) => {
        const { op, f, df } = cases[which];
        const rng = new RandomState(seed);
        const dtype = f32 ? 'float32' : 'float64';
        const xs = rng.randn(n);
        for (let k = 0; k < 50; k++) xs.data[rng.randint(0, n)] = specials[k % specials.length];
        const x = astype(ndarray(xs.data.map((v) => v * 4), [n]), dtype);
        const dout = astype(rng.randn(n), dtype);
        const run = (): Array<Float64Array | Float32Array> => {
          const r = op.forward([x], {});
          const [dx] = op.backward(dout, r.cache);
          return [r.out.data.slice(), (dx as Tensor).data.slice()] as Array<Float64Array | Float32Array>;
        };
        const one = withThreads('1', run);
        for (const t of ['2', '3']) expect(sameBits(withThreads(t, run), one)).toBe(true);
        const round = f32 ? Math.fround : (v: number) => v;
        const [y, dx] = one;
        for (let i = 0; i < n; i++) {
          const v = x.data[i];
          // Only sigmoid-type formulas may differ from the reference, by rounding (a few ulp).
          const near = (a: number, b: number): boolean => Object.is(a, b) || (Number.isNaN(a) && Number.isNaN(b)) || Math.abs(a - b) <= 1e-6 * Math.max(1, Math.abs(b));
          if (!near(y[i], round(f(v)))) throw new Error(`${op.name}(${v}) = ${y[i]}, expected ${round(f(v))}`);
          if (Number.isFinite(v) && Number.isFinite(f(v)) && Math.abs(v) < 1e300 && !near(dx[i], round(df(dout.data[i], v)))) throw new Error(`${op.name}' at ${v} = ${dx[i]}, expected ${round(df(dout.data[i], v))}`);
        }
      }),
      { numRuns: 14 },
    );
    const after = workerStats();
    expect(after.threadedJobs).toBeGreaterThan(before.threadedJobs);
    // Workers computed tasks and the pool is still whole: every loop ran as shipped source.
    expect(after.workerTasks).toBeGreaterThan(before.workerTasks);
    expect(after.usable).toBe(true);
  }, 120_000);
});
