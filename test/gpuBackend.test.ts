/*
 * The backend's contract beyond agreement: explicit modes and clear errors, no silent
 * truncation of long loops, tile plans within gpu.js's limits, the compile cache, dispose,
 * the fallback guard and the async interface.
 */
import fc from 'fast-check';
import { BackendUnavailableError, createBackend, createBackendAsync } from '../src/gpu';
import { KernelRunner } from '../src/gpu/runner';
import { gemmTiles, checkLimits, INDEX_LIMIT, defaultLimits } from '../src/gpu/tiling';
import { mat, type KernelCall } from '../src/gpu/kernelCall';
import type { GpuJsModule, GpuJsInstance } from '../src/gpu/gpujsTypes';
import { fromData, intArray, zeros } from '../src/core/tensor';
import { labels, refLoss, relError, scaledMaxError, TOL, uniform } from './gpuReference';

describe('modes', () => {
  test('headlessgl without the gl package is a clear error, not a fallback', () => {
    expect(() => createBackend({ mode: 'headlessgl' })).toThrow(BackendUnavailableError);
    expect(() => createBackend({ mode: 'headlessgl' })).toThrow(/'headlessgl' is not available: .*'gl'/);
  });

  test('webgpu is a clear error, sync and async', async () => {
    expect(() => createBackend({ mode: 'webgpu' })).toThrow(/'webgpu' is not available: /);
    await expect(createBackendAsync({ mode: 'webgpu' })).rejects.toThrow(/'webgpu' is not available: .*(webgpu|navigator\.gpu|adapter)/);
  });

  test('webgl2 and webgl in Node say they need a browser', () => {
    expect(() => createBackend({ mode: 'webgl2' })).toThrow(/'webgl2' is not available: .*browser/);
    expect(() => createBackend({ mode: 'webgl' })).toThrow(/'webgl' is not available: .*browser/);
  });

  test('an unknown mode names the valid ones', () => {
    expect(() => createBackend({ mode: 'gpu' as never })).toThrow(/mode: expected one of 'auto', .*got "gpu"/);
  });

  test('explicit CPU-side modes run as asked and say so', () => {
    for (const mode of ['webasm', 'cpu', 'ts'] as const) {
      const b = createBackend({ mode });
      expect(b.mode).toBe(mode);
      expect(b.onDevice).toBe(false);
      b.dispose();
    }
  });

  test('auto never picks gpu.js on the CPU, and says what it picked once when verbose', () => {
    const lines: string[] = [];
    const spy = jest.spyOn(process.stderr, 'write').mockImplementation((s: string | Uint8Array) => {
      lines.push(String(s));
      return true;
    });
    let mode: string;
    try {
      const b = createBackend({ mode: 'auto', verbose: true });
      mode = b.mode;
      b.dispose();
    } finally {
      spy.mockRestore();
    }
    expect(['ts', 'headlessgl', 'webgl2', 'webgl']).toContain(mode);
    expect(lines).toHaveLength(1);
    expect(lines[0]).toContain(`backend auto -> ${mode}`);
    if (mode === 'ts') expect(lines[0]).toMatch(/headlessgl: /);
    const quiet = jest.spyOn(process.stderr, 'write').mockImplementation(() => true);
    try {
      createBackend({ mode: 'auto' }).dispose();
      expect(quiet).not.toHaveBeenCalled();
    } finally {
      quiet.mockRestore();
    }
  });
});

describe.each(['webasm', 'cpu'] as const)('no silent truncation past 1000 iterations (%s)', (mode) => {
  const b = createBackend({ mode });
  afterAll(() => b.dispose());

  test('matmul: the only nonzero term sits at index 1700 of 2500', () => {
    const [m, k, n] = [3, 2500, 4];
    const A = zeros([m, k]);
    const B = zeros([k, n]);
    for (let i = 0; i < m; i++) A.set(i, 1700, i + 1);
    for (let j = 0; j < n; j++) B.set(1700, j, 10 * (j + 1));
    const C = b.matmul(A, B);
    for (let i = 0; i < m; i++) for (let j = 0; j < n; j++) expect(C.get(i, j)).toBeCloseTo(10 * (i + 1) * (j + 1), 3);
  });

  test('distances: two points differ only in feature 3000 of 3073', () => {
    const D = 3073;
    const X = fromData(new Float64Array(D).fill(1), [1, D]);
    const t = new Float64Array(2 * D).fill(1);
    t[D + 3000] = 4;
    const d = b.distances(X, fromData(t, [2, D]));
    expect(d.get(0, 0)).toBe(0);
    expect(d.get(0, 1)).toBeCloseTo(3, 4);
  });

  test('losses: every score comes from feature 2000 of 3073', () => {
    const [N, D, C] = [4, 3073, 3];
    const x = new Float64Array(N * D);
    for (let i = 0; i < N; i++) x[i * D + 2000] = i + 1;
    const w = new Float64Array(D * C);
    w.set([0.5, -0.25, 0.125], 2000 * C);
    const y = Int32Array.from([0, 1, 2, 0]);
    for (const kind of ['svm', 'softmax'] as const) {
      const W = fromData(w, [D, C]);
      const X = fromData(x, [N, D]);
      const r = kind === 'svm' ? b.svmLoss(W, X, intArray(y), 0) : b.softmaxLoss(W, X, intArray(y), 0);
      const ref = refLoss(kind, w, x, y, 0, N, D, C);
      // With the loop cut at 1000 every score would be 0: the loss would be C−1 (svm) or log C.
      expect(relError(r.loss, ref.loss)).toBeLessThan(TOL.loss);
      expect(scaledMaxError(r.dW.data, ref.dW)).toBeLessThan(TOL.grad);
      expect(r.dW.get(2000, 0)).not.toBe(0);
    }
  });

  test('vote: the nearest neighbours are training points 1200..1202 of 1500', () => {
    const N = 1500;
    const d = new Float64Array(N).fill(100);
    d[1200] = 1;
    d[1201] = 2;
    d[1202] = 3;
    const y = new Int32Array(N);
    y[1200] = 2;
    y[1201] = 2;
    y[1202] = 1;
    expect(b.knnVote(fromData(d, [1, N]), intArray(y), 3).get(0)).toBe(2);
  });
});

describe('tiling', () => {
  test('tile plans stay within the element and output-side limits', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 1, max: 100000 }),
        fc.integer({ min: 1, max: 100000 }),
        fc.integer({ min: 1, max: 100000 }),
        fc.integer({ min: 1, max: INDEX_LIMIT }),
        fc.integer({ min: 1, max: 8192 }),
        (m, n, k, maxElements, maxOutputDim) => {
          const { mt, nt, kt } = gemmTiles(m, n, k, { maxElements, maxOutputDim });
          expect(mt).toBeGreaterThanOrEqual(1);
          expect(mt <= m && nt <= n && kt <= k).toBe(true);
          expect(mt * kt).toBeLessThanOrEqual(maxElements);
          expect(kt * nt).toBeLessThanOrEqual(maxElements);
          expect(mt * nt).toBeLessThanOrEqual(maxElements);
          expect(Math.max(mt, nt)).toBeLessThanOrEqual(maxOutputDim);
        },
      ),
    );
  });

  test('the default limit is gpu.js index limit 2^24, and it cannot be raised', () => {
    expect(defaultLimits(false).maxElements).toBe(2 ** 24);
    expect(defaultLimits(true).maxOutputDim).toBeLessThanOrEqual(4096);
    expect(() => checkLimits({ maxElements: 2 ** 24 + 1, maxOutputDim: 10 })).toThrow(/maxElements: expected at most 2\^24/);
    expect(() => createBackend({ mode: 'cpu', limits: { maxElements: 0 } })).toThrow(/limits.maxElements/);
  });

  test('kNN distances at the issue size split into several launches and still agree (webasm)', () => {
    // 1200 training rows × 3073 features with a 2^20 element limit: 4 B-tiles of the train set.
    const [M, N, D] = [3, 1200, 3073];
    const x = uniform(11, M * D, 0, 255);
    const t = uniform(12, N * D, 0, 255);
    const b = createBackend({ mode: 'webasm', limits: { maxElements: 2 ** 20 } });
    const got = b.distances(fromData(x, [M, D]), fromData(t, [N, D]), { squared: true });
    b.dispose();
    let err = 0;
    let scale = 0;
    for (let i = 0; i < M; i++) {
      for (let j = 0; j < N; j++) {
        let s = 0;
        for (let p = 0; p < D; p++) s += (x[i * D + p] - t[j * D + p]) ** 2;
        err = Math.max(err, Math.abs(got.get(i, j) - s));
        scale = Math.max(scale, s);
      }
    }
    expect(err / scale).toBeLessThan(TOL.grad);
  });
});

describe('kernel cache and dispose', () => {
  test('a shape compiles once; dispose frees and forbids further use', () => {
    const b = createBackend({ mode: 'webasm' });
    const A = fromData(uniform(1, 12), [3, 4]);
    b.matmul(A, A, { transB: true });
    const cached = (b as unknown as { cachedKernels: number }).cachedKernels;
    expect(cached).toBe(1);
    b.matmul(A, A, { transB: true });
    expect((b as unknown as { cachedKernels: number }).cachedKernels).toBe(1);
    b.matmul(A, A, { transA: true });
    expect((b as unknown as { cachedKernels: number }).cachedKernels).toBe(2);
    b.dispose();
    expect((b as unknown as { cachedKernels: number }).cachedKernels).toBe(0);
    expect(() => b.matmul(A, A, { transB: true })).toThrow(/after dispose/);
  });

  test('the cache is bounded: the least recently used kernels are destroyed', () => {
    const destroyed: string[] = [];
    const fake = fakeGpu(destroyed, false);
    const r = new KernelRunner(fake.mod, fake.gpu, 'webasm', { cacheSize: 2 });
    for (const w of [1, 2, 3, 1]) r.runSync(oneCall(w));
    expect(r.cachedKernels).toBe(2);
    expect(destroyed).toEqual(['1', '2']);
  });

  test('a gpu.js fallback to another backend is an error, not a silent change of mode', () => {
    const fake = fakeGpu([], true);
    const r = new KernelRunner(fake.mod, fake.gpu, 'webasm');
    expect(() => r.runSync(oneCall(1))).toThrow(/ran kernel gemmNN on CPUKernel instead of the webasm backend: graphical mode/);
  });
});

describe('async interface', () => {
  test.each(['webasm', 'cpu', 'ts'] as const)('%s gives the same answers through promises', async (mode) => {
    const b = await createBackendAsync({ mode });
    expect(b.mode).toBe(mode);
    const [N, D, C] = [5, 1100, 4];
    const w = uniform(1, D * C, -0.01, 0.01);
    const x = uniform(2, N * D);
    const y = labels(3, N, C);
    const r = await b.softmaxLoss(fromData(w, [D, C]), fromData(x, [N, D]), intArray(y), 0.1);
    const ref = refLoss('softmax', w, x, y, 0.1, N, D, C);
    expect(relError(r.loss, ref.loss)).toBeLessThan(TOL.loss);
    expect(scaledMaxError(r.dW.data, ref.dW)).toBeLessThan(TOL.grad);
    b.dispose();
  });
});

describe('argument errors name the argument', () => {
  const b = createBackend({ mode: 'cpu' });
  afterAll(() => b.dispose());
  test('shapes, labels, k', () => {
    expect(() => b.matmul(zeros([2, 3]), zeros([4, 2]))).toThrow(/B: expected B to have 3 rows/);
    expect(() => b.svmLoss(zeros([3, 2]), zeros([4, 5]), intArray([0, 1, 0, 1]), 0)).toThrow(/X: expected shape \(N=4, D=3\), got \(4, 5\)/);
    expect(() => b.softmaxLoss(zeros([3, 2]), zeros([2, 3]), intArray([0, 2]), 0)).toThrow(/y\[1\]: expected an integer in \[0, 2\)/);
    expect(() => b.distances(zeros([2, 3]), zeros([2, 4]))).toThrow(/train: expected shape/);
    expect(() => b.knnVote(zeros([2, 3]), intArray([0, 1, 0]), 4)).toThrow(/k: expected an integer in \[1, 3\]/);
    const small = createBackend({ mode: 'cpu', limits: { maxOutputDim: 4 } });
    expect(() => small.svmLoss(zeros([3, 5]), zeros([2, 3]), intArray([0, 1]), 0)).toThrow(/W: 5 classes exceed the 4 one gpu.js launch can hold/);
    small.dispose();
    const bad = zeros([1, 3]);
    bad.set(0, 1, NaN);
    expect(() => b.knnVote(bad, intArray([0, 1, 0]), 1)).toThrow(/dists\[0, 1\]: expected a distance, got NaN/);
  });
});

function oneCall(w: number): Generator<KernelCall, Float32Array, Float32Array> {
  return (function* () {
    return yield { name: 'gemmNN', constants: { K: 1, alpha: 1 }, output: [w, 1], args: [mat(new Float32Array(1), 1, 1), mat(new Float32Array(w), w, 1)] } as KernelCall;
  })();
}

/** A stand-in gpu.js whose kernels return zeros; `fallback` makes them report a CPU kernel. */
function fakeGpu(destroyed: string[], fallback: boolean): { mod: GpuJsModule; gpu: GpuJsInstance } {
  class WebAssemblyKernel {}
  class CPUKernel {}
  const gpu = {
    Kernel: WebAssemblyKernel,
    createKernel(_fn: unknown, settings: { output: number[] }) {
      const [w, h] = settings.output;
      const k = Object.assign(() => Array.from({ length: h }, () => new Float32Array(w)), {
        kernel: fallback ? Object.assign(new CPUKernel(), { fallbackReason: 'graphical mode' }) : new WebAssemblyKernel(),
        destroy: () => destroyed.push(String(w)),
      });
      return k;
    },
    destroy() {},
  } as unknown as GpuJsInstance;
  const mod = { GPU: null, input: (v: Float32Array) => v } as unknown as GpuJsModule;
  return { mod, gpu };
}
