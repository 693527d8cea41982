/*
 * Kernels split over threads outside the GEMM: depthwise convolution (ops/kernels/depthwise.ts:
 * planes copied into the shared arena, (sample, channel block) tasks) and batch norm
 * (ops/kernels/batchNormTasks.ts: channel blocks over tensors that live in shared memory).
 * On random problems large enough to be threaded, every thread count gives the one-thread bits.
 */
import fc from 'fast-check';
import ndarray from 'ndarray';
import { RandomState } from '../src/core/random';
import { astype, type Tensor } from '../src/core/tensor';
import { workerStats } from '../src/core/gemm/workers';
import { isShared } from '../src/core/bufferPool';
import { batchNorm } from '../src/ops/batchNorm';
import { conv2d } from '../src/ops/conv2d';
import { withKernel } from '../src/ops/kernelRegistry';
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
          if (s.N * s.C * s.H * s.H * 4 >= 1e6 && isShared(x.data) && isShared(dout.data)) big += 4;
        },
      ),
      { numRuns: 25 },
    );
    expect(big).toBeGreaterThan(0);
    expect(workerStats().threadedJobs - before).toBeGreaterThanOrEqual(big);
  }, 120_000);
});
