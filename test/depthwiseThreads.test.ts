/*
 * The depthwise kernel split over threads (ops/kernels/depthwise.ts): planes copied into the
 * shared arena, (sample, channel block) tasks taken from a counter, chunks of samples when
 * the arena budget is reached. On random problems large enough to be threaded, every thread
 * count gives the one-thread bits, and the result equals the direct reference kernel.
 */
import fc from 'fast-check';
import ndarray from 'ndarray';
import { RandomState } from '../src/core/random';
import { astype, type Tensor } from '../src/core/tensor';
import { workerStats } from '../src/core/gemm/workers';
import { conv2d } from '../src/ops/conv2d';
import { withKernel } from '../src/ops/kernelRegistry';
import { closeness } from './opHarness';

function withThreads<T>(threads: string, f: () => T): T {
  const saved = process.env.CS231N_THREADS;
  process.env.CS231N_THREADS = threads;
  try {
    return f();
  } finally {
    if (saved === undefined) delete process.env.CS231N_THREADS;
    else process.env.CS231N_THREADS = saved;
  }
}

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
