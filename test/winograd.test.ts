import fc from 'fast-check';
import ndarray from 'ndarray';
import { setGemmKernel } from '../src/core/gemm/gemm';
import { workerStats } from '../src/core/gemm/workers';
import { RandomState } from '../src/core/random';
import { astype, type Tensor } from '../src/core/tensor';
import { conv2d, convProblem } from '../src/ops/conv2d';
import { selectKernel, withKernel } from '../src/ops/kernelRegistry';
import { setWinogradBudget, WINOGRAD_TRANSFORM_ERROR, winogradPrefers, winogradStats } from '../src/ops/kernels/winograd';
import { copyCalls } from '../src/ops/kernels/copyTasks';
import { bitDiffs, withThreads } from './threads';

/*
 * The Winograd F(4×4, 3×3) kernel of conv2d against the direct reference: float64 to 1e-10
 * (the reference is gradient-checked in nnCoreOps), float32 — wasm transforms and the JS ones —
 * within the bound documented in src/ops/kernels/winograd.ts, elementwise; bit for bit across
 * thread counts; and chosen by default only where it was measured faster.
 */

const u = 2 ** -24;
const abs = (t: Tensor): Tensor => ndarray(Float64Array.from(t.data as ArrayLike<number>, Math.abs), t.shape);

interface Problem { N: number; C: number; F: number; H: number; W: number; pad: number; bias: boolean; seed: number }

/** Reference results in float64, the sums of absolute products S, and the sum lengths k. */
function reference(s: Problem) {
  const rng = new RandomState(s.seed);
  const x = rng.randn(s.N, s.C, s.H, s.W);
  const w = rng.randn(s.F, s.C, 3, 3);
  const b = s.bias ? rng.randn(s.F) : undefined;
  const inputs = b ? [x, w, b] : [x, w];
  const attrs = { padding: s.pad };
  const ref = withKernel('conv2d', 'direct', () => conv2d.forward(inputs, attrs));
  const dout = rng.randn(...ref.out.shape);
  const grads = withKernel('conv2d', 'direct', () => conv2d.backward(dout, ref.cache));
  const absRef = withKernel('conv2d', 'direct', () => conv2d.forward(inputs.map(abs), attrs));
  const absGrads = withKernel('conv2d', 'direct', () => conv2d.backward(abs(dout), absRef.cache));
  const [, , outH, outW] = ref.out.shape;
  const k = [9 * s.C, 9 * s.C, 9 * s.F, s.N * outH * outW, s.N * outH * outW];
  return { inputs, attrs, dout, results: [ref.out, ...grads] as Tensor[], sums: [absRef.out, ...absGrads] as Tensor[], k };
}

/** Largest |result − reference| / ((k + 2 + T)·u·S) over all elements: ≤ 1 holds the bound. */
function boundRatio(got: Tensor, ref: Tensor, S: Tensor, k: number): number {
  let worst = 0;
  for (let i = 0; i < ref.data.length; i++) {
    const err = Math.abs((got.data[i] as number) - (ref.data[i] as number));
    worst = Math.max(worst, err / ((k + 2 + WINOGRAD_TRANSFORM_ERROR) * u * (S.data[i] as number) + 1e-300));
  }
  return worst;
}

function runWinograd(inputs: Tensor[], attrs: { padding: number }, dout: Tensor): Tensor[] {
  return withKernel('conv2d', 'winograd', () => {
    const r = conv2d.forward(inputs, attrs);
    return [r.out, ...conv2d.backward(dout, r.cache)] as Tensor[];
  });
}

const problems = fc.record({
  N: fc.integer({ min: 1, max: 3 }), C: fc.integer({ min: 1, max: 9 }), F: fc.integer({ min: 1, max: 9 }),
  H: fc.integer({ min: 1, max: 13 }), W: fc.integer({ min: 1, max: 13 }), pad: fc.integer({ min: 0, max: 2 }),
  bias: fc.boolean(), seed: fc.nat(),
});
const valid = (s: Problem): boolean => s.H + 2 * s.pad >= 3 && s.W + 2 * s.pad >= 3;

describe('Winograd F(4×4, 3×3) conv2d kernel', () => {
  it('float64: output, dx, dw and db equal the direct reference to 1e-10 (random shapes, partial tiles, padding 0–2)', () => {
    fc.assert(
      fc.property(problems, (s) => {
        if (!valid(s)) return;
        const ref = reference(s);
        const got = runWinograd(ref.inputs, ref.attrs, ref.dout);
        got.forEach((t, i) => {
          let m = 0;
          let scale = 0;
          for (let j = 0; j < t.data.length; j++) {
            m = Math.max(m, Math.abs((t.data[j] as number) - (ref.results[i].data[j] as number)));
            scale = Math.max(scale, ref.sums[i].data[j] as number);
          }
          expect(m).toBeLessThanOrEqual(1e-10 * scale);
        });
      }),
      { numRuns: 60 },
    );
  });

  it.each([['wasm', null], ['js', 'js']] as const)('float32 (%s transforms): every element within the documented bound', (_name, kernel) => {
    if (kernel) setGemmKernel(kernel);
    try {
      fc.assert(
        fc.property(problems, (s) => {
          if (!valid(s)) return;
          const ref = reference(s);
          const got = runWinograd(ref.inputs.map((t) => astype(t, 'float32')), ref.attrs, astype(ref.dout, 'float32'));
          got.forEach((t, i) => {
            expect(t.data).toBeInstanceOf(Float32Array);
            expect(boundRatio(t, ref.results[i], ref.sums[i], ref.k[i])).toBeLessThanOrEqual(1);
          });
        }),
        { numRuns: 40 },
      );
    } finally {
      setGemmKernel(null);
    }
  });

  it('float32 at network sizes, in several arena chunks, stays within the bound', () => {
    const prev = setWinogradBudget(null);
    try {
      for (const [s, budget] of [
        [{ N: 12, C: 64, F: 48, H: 16, W: 16, pad: 1, bias: true, seed: 1 }, 2 << 20],
        [{ N: 24, C: 256, F: 160, H: 4, W: 4, pad: 1, bias: false, seed: 2 }, 7 << 20],
      ] as const) {
        const ref = reference(s);
        setWinogradBudget(budget);
        const before = winogradStats();
        const got = runWinograd(ref.inputs.map((t) => astype(t, 'float32')), ref.attrs, astype(ref.dout, 'float32'));
        const after = winogradStats();
        // Three passes (forward, dx, dw), none declined, in more chunks than passes.
        expect(after.passes - before.passes).toBe(3);
        expect(after.declined).toBe(before.declined);
        expect(after.chunks - before.chunks).toBeGreaterThan(3);
        got.forEach((t, i) => expect(boundRatio(t, ref.results[i], ref.sums[i], ref.k[i])).toBeLessThanOrEqual(1));
      }
    } finally {
      setWinogradBudget(prev);
    }
  });

  it('hands a problem it cannot fit to the GEMM kernel, with the same results (float64)', () => {
    const prev = setWinogradBudget(4096);
    try {
      const ref = reference({ N: 2, C: 6, F: 5, H: 9, W: 7, pad: 1, bias: true, seed: 3 });
      const before = winogradStats();
      const got = runWinograd(ref.inputs, ref.attrs, ref.dout);
      expect(winogradStats().declined - before.declined).toBeGreaterThanOrEqual(2);
      got.forEach((t, i) => {
        for (let j = 0; j < t.data.length; j++) expect(Math.abs((t.data[j] as number) - (ref.results[i].data[j] as number))).toBeLessThanOrEqual(1e-10 * (ref.sums[i].data[j] as number));
      });
    } finally {
      setWinogradBudget(prev);
    }
  });

  it('gives the same bits on 1, 2 and 4 threads (float32), and the workers take part', () => {
    const rng = new RandomState(5);
    const x = astype(rng.randn(40, 32, 16, 16), 'float32');
    const w = astype(rng.randn(40, 32, 3, 3), 'float32');
    const b = astype(rng.randn(40), 'float32');
    const dout = astype(rng.randn(40, 40, 16, 16), 'float32');
    const run = (threads: string): Float32Array[] =>
      withThreads(threads, () => runWinograd([x, w, b], { padding: 1 }, dout).map((t) => t.data as Float32Array));
    const before = workerStats().workerTasks;
    const one = run('1');
    const copies = copyCalls().threaded;
    const two = run('2');
    expect(workerStats().workerTasks).toBeGreaterThan(before);
    // The outputs leave the arena on every thread too.
    expect(copyCalls().threaded).toBeGreaterThan(copies);
    expect(bitDiffs(one, two)).toBe(0);
    expect(bitDiffs(one, run('4'))).toBe(0);
    // In chunks of samples (dw summed chunk after chunk): the same bits again.
    const prev = setWinogradBudget(4 << 20);
    try {
      const before = winogradStats();
      const chunked = run('2');
      expect(winogradStats().chunks - before.chunks).toBeGreaterThan(3);
      expect(winogradStats().declined).toBe(before.declined);
      expect(bitDiffs(chunked.slice(0, 2), one.slice(0, 2))).toBe(0);
      expect(bitDiffs(run('1'), chunked)).toBe(0);
    } finally {
      setWinogradBudget(prev);
    }
  });

  it('computes dw\'s last transform on the workers for a large bank, with the bits of one thread', () => {
    const rng = new RandomState(6);
    const x = astype(rng.randn(2, 96, 8, 8), 'float32');
    const w = astype(rng.randn(96, 96, 3, 3), 'float32');
    const dout = astype(rng.randn(2, 96, 8, 8), 'float32');
    const run = (threads: string): Float32Array[] =>
      withThreads(threads, () => runWinograd([x, w], { padding: 1 }, dout).map((t) => Float32Array.from(t.data)));
    const one = run('1');
    const before = winogradStats().dwThreaded;
    expect(bitDiffs(one, run('2'))).toBe(0);
    expect(winogradStats().dwThreaded).toBeGreaterThan(before);
    expect(bitDiffs(one, run('4'))).toBe(0);
  });

  it('is conv2d\'s default only where measured faster: ≥ 16 channels, outputs ≥ 4×4, 3×3 stride 1', () => {
    const pick = (C: number, F: number, H: number, attrs: { stride?: number; padding?: number; dilation?: number; groups?: number } = { padding: 1 }): string => {
      const x = ndarray(new Float32Array(2 * C * H * H), [2, C, H, H]);
      const w = ndarray(new Float32Array(F * (C / (attrs.groups ?? 1)) * 9), [F, C / (attrs.groups ?? 1), 3, 3]);
      return selectKernel('conv2d', convProblem(x, w, undefined, attrs)).name;
    };
    expect(pick(64, 64, 32)).toBe('winograd');
    expect(pick(512, 512, 4)).toBe('winograd');
    expect(pick(3, 64, 32)).toBe('gemm-fused');
    expect(pick(512, 512, 2)).toBe('gemm-fused');
    expect(pick(64, 64, 32, { stride: 2, padding: 1 })).toBe('gemm-fused');
    expect(pick(64, 64, 32, { padding: 2, dilation: 2 })).toBe('direct');
    expect(pick(64, 64, 32, { padding: 1, groups: 2 })).toBe('gemm-fused');
    const p = convProblem(ndarray(new Float32Array(2 * 16 * 8 * 8), [2, 16, 8, 8]), ndarray(new Float32Array(16 * 16 * 9), [16, 16, 3, 3]), undefined, { padding: 0 });
    expect(winogradPrefers(p)).toBe(true);
  });

  it('refuses problems it cannot compute when forced', () => {
    const x = ndarray(new Float64Array(2 * 4 * 8 * 8), [2, 4, 8, 8]);
    const w5 = ndarray(new Float64Array(4 * 4 * 25), [4, 4, 5, 5]);
    const w3 = ndarray(new Float64Array(4 * 4 * 9), [4, 4, 3, 3]);
    expect(() => withKernel('conv2d', 'winograd', () => conv2d.forward([x, w5], { padding: 2 }))).toThrow(/does not support/);
    expect(() => withKernel('conv2d', 'winograd', () => conv2d.forward([x, w3], { padding: 1, stride: 2 }))).toThrow(/does not support/);
    expect(() => withKernel('conv2d', 'winograd', () => conv2d.forward([x, w3], { padding: 3 }))).toThrow(/does not support/);
  });
});
