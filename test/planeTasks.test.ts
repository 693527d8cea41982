/*
 * Squeeze-and-excitation's loops as threaded tasks of planes (ops/kernels/planeTasks.ts), through
 * the ops that use them (the global adaptive average pool, channel_scale): each against a plain
 * reference written here, on odd plane sizes and random shapes (fast-check), and with the same
 * bits on 1, 2 and 4 threads for tensors large enough to thread (shared stores).
 */
import fc from 'fast-check';
import ndarray from 'ndarray';
import { allocFloat } from '../src/core/dtype';
import { RandomState } from '../src/core/random';
import type { Tensor } from '../src/core/tensor';
import { adaptiveAvgPool2d } from '../src/ops/adaptiveAvgPool2d';
import { avgPool2d } from '../src/ops/avgPool2d';
import { channelScale } from '../src/ops/channelScale';
import { planeCalls } from '../src/ops/kernels/planeTasks';
import { bitDiffs, withThreads } from './threads';

type Dt = 'float32' | 'float64';

function filled(dtype: Dt, n: number, seed: number, big: boolean): Float32Array | Float64Array {
  const a = big ? allocFloat(dtype, n) : dtype === 'float32' ? new Float32Array(n) : new Float64Array(n);
  a.set(new RandomState(seed).randn(n).data);
  return a;
}

/** Global mean, scale and their backwards, all four results of one shape. */
function runAll(dtype: Dt, N: number, C: number, H: number, W: number, big: boolean): (Float32Array | Float64Array)[] {
  const n = N * C * H * W;
  const x = ndarray(filled(dtype, n, 1, big), [N, C, H, W]);
  const g = ndarray(filled(dtype, n, 2, big), [N, C, H, W]);
  const s = ndarray(filled(dtype, N * C, 3, false), [N, C, 1, 1]);
  const m = adaptiveAvgPool2d.forward([x], { outputSize: 1 });
  const [dxm] = adaptiveAvgPool2d.backward(ndarray(filled(dtype, N * C, 4, false), [N, C, 1, 1]), m.cache) as Tensor[];
  const y = channelScale.forward([x, s], {});
  const [dx, ds] = channelScale.backward(g, y.cache) as Tensor[];
  return [m.out.data, dxm.data, y.out.data, dx.data, ds.data].map((a) => (a as Float32Array | Float64Array).slice());
}

/** The same four written plainly (sums in index order; the mean's as the tasks group them). */
function reference(dtype: Dt, N: number, C: number, H: number, W: number): Float64Array[] {
  const n = N * C * H * W;
  const T = H * W;
  const r = (a: Float32Array | Float64Array): Float64Array => Float64Array.from(a);
  const x = r(filled(dtype, n, 1, false));
  const g = r(filled(dtype, n, 2, false));
  const s = r(filled(dtype, N * C, 3, false));
  const dm = r(filled(dtype, N * C, 4, false));
  const mean = new Float64Array(N * C);
  const dxm = new Float64Array(n);
  const y = new Float64Array(n);
  const dx = new Float64Array(n);
  const ds = new Float64Array(N * C);
  for (let p = 0; p < N * C; p++) {
    let sum = 0;
    let acc = 0;
    for (let i = p * T; i < (p + 1) * T; i++) {
      sum += x[i];
      dxm[i] = dm[p] / T;
      y[i] = x[i] * s[p];
      dx[i] = g[i] * s[p];
      acc += g[i] * x[i];
    }
    mean[p] = sum / T;
    ds[p] = acc;
  }
  return [mean, dxm, y, dx, ds];
}

describe('plane tasks (global average pool, channel_scale)', () => {
  it('equal the plain loops on random shapes, float64 to 1e-12 and float32 to its rounding', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 1, max: 3 }), fc.integer({ min: 1, max: 5 }), fc.integer({ min: 1, max: 9 }), fc.integer({ min: 1, max: 9 }), fc.constantFrom<Dt>('float64', 'float32'),
        (N, C, H, W, dtype) => {
          const got = runAll(dtype, N, C, H, W, false);
          const want = reference(dtype, N, C, H, W);
          const tol = dtype === 'float64' ? 1e-12 : 1e-6;
          got.forEach((a, k) => a.forEach((v, i) => expect(Math.abs(v - want[k][i])).toBeLessThanOrEqual(tol * (1 + Math.abs(want[k][i])))));
        },
      ),
      { numRuns: 60, seed: 7 },
    );
  });

  it('serve avg_pool2d with a window of the whole plane: its mean and spread equal the plain loops', () => {
    for (const [N, C, H, W] of [[2, 3, 4, 4], [64, 40, 7, 5]]) {
      const x = ndarray(filled('float64', N * C * H * W, 1, true), [N, C, H, W]);
      const r = avgPool2d.forward([x], { kernelSize: [H, W] });
      const [dx] = avgPool2d.backward(ndarray(filled('float64', N * C, 4, false), [N, C, 1, 1]), r.cache) as Tensor[];
      const [mean, dxm] = reference('float64', N, C, H, W);
      expect(r.out.shape).toEqual([N, C, 1, 1]);
      r.out.data.forEach((v, i) => expect(v).toBeCloseTo(mean[i], 12));
      dx.data.forEach((v, i) => expect(v).toBeCloseTo(dxm[i], 12));
    }
  });

  it('handle a batch of zero (no planes) and planes of one element', () => {
    for (const [N, H] of [[0, 4], [3, 1]]) {
      const got = runAll('float64', N, 2, H, H, false);
      const want = reference('float64', N, 2, H, H);
      expect(got.map((a) => a.length)).toEqual(want.map((a) => a.length));
      got.forEach((a, k) => a.forEach((v, i) => expect(v).toBeCloseTo(want[k][i], 12)));
    }
  });

  it.each(['float32', 'float64'] as const)('%s: the same bits on 1, 2 and 4 threads (64×40×15×15, shared stores)', (dtype) => {
    const shape = [64, 40, 15, 15] as const;
    const asF32 = (list: (Float32Array | Float64Array)[]): Float32Array[] => list.map((a) => new Float32Array(a.buffer.slice(a.byteOffset, a.byteOffset + a.byteLength)));
    const one = asF32(withThreads('1', () => runAll(dtype, ...shape, true)));
    const before = planeCalls().threaded;
    expect(bitDiffs(asF32(withThreads('2', () => runAll(dtype, ...shape, true))), one)).toBe(0);
    expect(planeCalls().threaded - before).toBe(4); // all four passes over the planes
    expect(bitDiffs(asF32(withThreads('4', () => runAll(dtype, ...shape, true))), one)).toBe(0);
    // And equal to the plain loops.
    const want = reference(dtype, ...shape);
    const tol = dtype === 'float64' ? 1e-12 : 1e-6;
    let worst = 0;
    withThreads('2', () => runAll(dtype, ...shape, true)).forEach((a, k) => a.forEach((v, i) => (worst = Math.max(worst, Math.abs(v - want[k][i]) / (1 + Math.abs(want[k][i]))))));
    expect(worst).toBeLessThanOrEqual(tol);
  });
});
