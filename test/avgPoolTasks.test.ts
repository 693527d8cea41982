/*
 * avg_pool2d's plane tasks (ops/kernels/avgPoolTasks.ts): the forward and backward of a
 * straightforward per-window reference, bit for bit in float32, on random geometries, and the
 * same bits on 1, 2 and 4 threads at a size that runs on the worker pool.
 */
import fc from 'fast-check';
import ndarray from 'ndarray';
import { allocFloatUninit } from '../src/core/dtype';
import { RandomState } from '../src/core/random';
import { astype, type Tensor } from '../src/core/tensor';
import { avgPoolCalls } from '../src/ops/kernels/avgPoolTasks';
import { avgPool2d } from '../src/ops/avgPool2d';
import { bitDiffs, withThreads } from './threads';

interface Geo { N: number; C: number; H: number; W: number; kh: number; kw: number; sh: number; sw: number; ph: number; pw: number; ceilMode: boolean; cip: boolean }

/** Output size as PyTorch computes it (ceil mode: a last window must start inside the input or its left padding). */
function outSize(n: number, k: number, s: number, p: number, ceil: boolean): number {
  let o = Math.floor((n + 2 * p - k + (ceil ? s - 1 : 0)) / s) + 1;
  if (ceil && (o - 1) * s >= n + p) o--;
  return o;
}

/** The pool written out window by window, in float32 steps as the op stores them. */
function reference(x: Float32Array, dout: Float32Array, g: Geo): [Float32Array, Float32Array] {
  const oh = outSize(g.H, g.kh, g.sh, g.ph, g.ceilMode);
  const ow = outSize(g.W, g.kw, g.sw, g.pw, g.ceilMode);
  const out = new Float32Array(g.N * g.C * oh * ow);
  const dx = new Float32Array(x.length);
  for (let p = 0, q = 0; p < g.N * g.C; p++) {
    for (let a = 0; a < oh; a++) {
      for (let b = 0; b < ow; b++, q++) {
        const hs = a * g.sh - g.ph, ws = b * g.sw - g.pw;
        const he = Math.min(hs + g.kh, g.H + g.ph), we = Math.min(ws + g.kw, g.W + g.pw);
        const h0 = Math.max(hs, 0), h1 = Math.min(he, g.H), w0 = Math.max(ws, 0), w1 = Math.min(we, g.W);
        const div = g.cip ? (he - hs) * (we - ws) : (h1 - h0) * (w1 - w0);
        let s = 0;
        for (let i = h0; i < h1; i++) for (let j = w0; j < w1; j++) s += x[(p * g.H + i) * g.W + j];
        out[q] = s / div;
        const v = dout[q] / div;
        for (let i = h0; i < h1; i++) for (let j = w0; j < w1; j++) dx[(p * g.H + i) * g.W + j] += v;
      }
    }
  }
  return [out, dx];
}

/** The same values in a pool store (shared memory at these sizes), as the ops' own outputs are. */
function shared(t: Tensor): Tensor {
  const a = allocFloatUninit('float32', t.size);
  a.set(t.data as Float32Array);
  return ndarray(a, t.shape.slice());
}

function run(x: Tensor, g: Geo, seed: number): Float32Array[] {
  const attrs = { kernelSize: [g.kh, g.kw] as [number, number], stride: [g.sh, g.sw] as [number, number], padding: [g.ph, g.pw] as [number, number], ceilMode: g.ceilMode, countIncludePad: g.cip };
  const { out, cache } = avgPool2d.forward([x], attrs);
  const dout = shared(astype(new RandomState(seed).randn(...out.shape), 'float32'));
  const [dx] = avgPool2d.backward(dout, cache);
  return [Float32Array.from(out.data), Float32Array.from(dx!.data), Float32Array.from(dout.data)];
}

describe('avg_pool2d plane tasks', () => {
  it('equal a window-by-window reference bit for bit (float32, random geometries, both divisor rules)', () => {
    const geo = fc
      .record({
        N: fc.integer({ min: 1, max: 2 }), C: fc.integer({ min: 1, max: 3 }), H: fc.integer({ min: 1, max: 9 }), W: fc.integer({ min: 1, max: 9 }),
        kh: fc.integer({ min: 1, max: 3 }), kw: fc.integer({ min: 1, max: 3 }), sh: fc.integer({ min: 1, max: 3 }), sw: fc.integer({ min: 1, max: 3 }),
        ph: fc.nat(1), pw: fc.nat(1), ceilMode: fc.boolean(), cip: fc.boolean(),
      })
      .map((c) => ({ ...c, ph: Math.min(c.ph, c.kh >> 1), pw: Math.min(c.pw, c.kw >> 1) }))
      .filter((c) => c.H + 2 * c.ph >= c.kh && c.W + 2 * c.pw >= c.kw);
    fc.assert(fc.property(geo, fc.integer({ min: 0, max: 1e6 }), (g, seed) => {
      const x = astype(new RandomState(seed).randn(g.N, g.C, g.H, g.W), 'float32');
      const [out, dx, dout] = run(x, g, seed + 1);
      const [ro, rdx] = reference(x.data as Float32Array, dout, g);
      expect(bitDiffs([out, dx], [ro, rdx])).toBe(0);
    }), { numRuns: 60 });
  });

  it('takes a batch of zero (nn.summary\'s shape-only pass)', () => {
    const { out, cache } = avgPool2d.forward([ndarray(new Float32Array(0), [0, 3, 8, 8])], { kernelSize: 3, stride: 2, padding: 1 });
    expect(out.shape).toEqual([0, 3, 4, 4]);
    expect(avgPool2d.backward(ndarray(new Float32Array(0), [0, 3, 4, 4]), cache)[0]!.shape).toEqual([0, 3, 8, 8]);
  });

  it('gives the same bits on 1, 2 and 4 threads (ShuffleNet V1\'s 3×3 stride-2 pool at batch 64 size)', () => {
    const g: Geo = { N: 32, C: 60, H: 16, W: 16, kh: 3, kw: 3, sh: 2, sw: 2, ph: 1, pw: 1, ceilMode: false, cip: true };
    const x = shared(astype(new RandomState(5).randn(g.N, g.C, g.H, g.W), 'float32'));
    const before = avgPoolCalls().threaded;
    const one = withThreads('1', () => run(x, g, 6));
    const [ro, rdx] = reference(x.data as Float32Array, one[2], g);
    expect(bitDiffs(one.slice(0, 2), [ro, rdx])).toBe(0);
    for (const t of ['2', '4']) expect(bitDiffs(one, withThreads(t, () => run(x, g, 6)))).toBe(0);
    expect(avgPoolCalls().threaded).toBeGreaterThan(before);
  });
});
