/*
 * Every gpu.js kernel on the CPU-side gpu.js modes (webasm, cpu) agrees with an independent
 * Float64 computation within float32 tolerance, on random shapes that cross the 1000-iteration
 * loop boundary and, with forced small tile limits, the tiling boundaries.
 */
import fc from 'fast-check';
import { createBackend, type Backend } from '../src/gpu';
import { fromData, intArray, transpose, type Tensor } from '../src/core/tensor';
import { labels, refDistances, refLoss, refMatmul, refTranspose, refVote, relError, scaledMaxError, TOL, uniform } from './gpuReference';

const MODES = ['webasm', 'cpu'] as const;
const backends = new Map<string, Backend>();
/** One backend per (mode, limits), reused across runs so compiled kernels are reused too. */
function backend(mode: string, maxElements?: number, maxOutputDim?: number): Backend {
  const key = `${mode}|${maxElements}|${maxOutputDim}`;
  let b = backends.get(key);
  if (!b) {
    const limits = { ...(maxElements ? { maxElements } : {}), ...(maxOutputDim ? { maxOutputDim } : {}) };
    b = createBackend({ mode: mode as 'webasm' | 'cpu', limits });
    backends.set(key, b);
  }
  return b;
}
afterAll(() => {
  for (const b of backends.values()) b.dispose();
});

function tensor(data: Float64Array, shape: number[], dtype: 'float64' | 'float32'): Tensor {
  return fromData(dtype === 'float64' ? data : Float32Array.from(data), shape);
}

/** Default limits, or small ones that force splits of rows, columns and the reduction. */
const limitsArb = fc.oneof(
  fc.constant<[number | undefined, number | undefined]>([undefined, undefined]),
  fc.tuple(fc.integer({ min: 16, max: 3000 }), fc.integer({ min: 1, max: 5 })),
);
/** Reduction lengths around and past gpu.js's 1000-iteration default loop cap. */
const longDim = fc.oneof(fc.integer({ min: 1, max: 40 }), fc.integer({ min: 995, max: 1100 }), fc.constant(3073));

describe.each(MODES)('gpu.js mode %s agrees with Float64', (mode) => {
  test('matmul, with transposes and tiling', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 1, max: 7 }),
        longDim,
        fc.integer({ min: 1, max: 7 }),
        fc.boolean(),
        fc.boolean(),
        fc.constantFrom('float64' as const, 'float32' as const),
        limitsArb,
        fc.integer(),
        (m, k, n, transA, transB, dtype, [maxEl, maxDim], seed) => {
          const a = uniform(seed, m * k);
          const b = uniform(seed + 1, k * n);
          // Stored transposed when asked, so op(A) is the same logical matrix.
          const A = transA ? transpose(tensor(refTranspose(a, m, k), [k, m], dtype)) : tensor(a, [m, k], dtype);
          const B = transB ? tensor(refTranspose(b, k, n), [n, k], dtype) : tensor(b, [k, n], dtype);
          const got = backend(mode, maxEl, maxDim).matmul(transA ? transpose(A) : A, B, { transA, transB });
          expect(got.shape).toEqual([m, n]);
          expect(got.data instanceof (dtype === 'float64' ? Float64Array : Float32Array)).toBe(true);
          expect(scaledMaxError(got.data, refMatmul(a, b, m, k, n))).toBeLessThan(TOL.grad);
        },
      ),
      { numRuns: 12 },
    );
  });

  test('kNN distances (Euclidean and squared), with tiling', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 1, max: 6 }),
        fc.integer({ min: 1, max: 9 }),
        longDim,
        fc.boolean(),
        limitsArb,
        fc.integer(),
        (M, N, D, squared, [maxEl, maxDim], seed) => {
          const x = uniform(seed, M * D, 0, 255);
          const t = uniform(seed + 7, N * D, 0, 255);
          const got = backend(mode, maxEl, maxDim).distances(fromData(x, [M, D]), fromData(t, [N, D]), { squared });
          expect(got.shape).toEqual([M, N]);
          expect(scaledMaxError(got.data, refDistances(x, t, M, N, D, squared))).toBeLessThan(TOL.grad);
        },
      ),
      { numRuns: 10 },
    );
  });

  test.each(['svm', 'softmax'] as const)('%s loss and gradient, with tiling', (kind) => {
    fc.assert(
      fc.property(
        fc.integer({ min: 1, max: 12 }),
        longDim,
        fc.integer({ min: 1, max: 11 }),
        fc.double({ min: 0, max: 10, noNaN: true }),
        fc.constantFrom('float64' as const, 'float32' as const),
        limitsArb,
        fc.integer(),
        (N, D, C, reg, dtype, [maxEl, maxDim], seed) => {
          const w = uniform(seed, D * C, -0.01, 0.01);
          const x = uniform(seed + 3, N * D, -1, 1);
          const y = labels(seed + 5, N, C);
          // One coefficient launch holds whole rows of C classes: the output side must fit C.
          const b = backend(mode, maxEl, maxDim === undefined ? undefined : Math.max(maxDim, C));
          const W = tensor(w, [D, C], dtype);
          const r = kind === 'svm' ? b.svmLoss(W, tensor(x, [N, D], 'float32'), intArray(y), reg) : b.softmaxLoss(W, tensor(x, [N, D], 'float32'), intArray(y), reg);
          // The reference sees exactly the values the backend saw (float32 X, W in its dtype).
          const ref = refLoss(kind, W.data, Float32Array.from(x), y, reg, N, D, C);
          expect(r.dW.shape).toEqual([D, C]);
          expect(r.dW.data instanceof (dtype === 'float64' ? Float64Array : Float32Array)).toBe(true);
          expect(relError(r.loss, ref.loss)).toBeLessThan(TOL.loss);
          expect(scaledMaxError(r.dW.data, ref.dW)).toBeLessThan(TOL.grad);
        },
      ),
      { numRuns: 12 },
    );
  });

  test('kNN vote, with ties and tiling', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 1, max: 6 }),
        fc.oneof(fc.integer({ min: 1, max: 30 }), fc.integer({ min: 1001, max: 1300 })),
        fc.integer({ min: 1, max: 10 }),
        fc.integer({ min: 1, max: 12 }),
        fc.integer({ min: 1, max: 6 }),
        limitsArb,
        fc.integer(),
        (M, N, classes, kWant, spread, [maxEl, maxDim], seed) => {
          const k = Math.min(kWant, N);
          // Small integer distances: many exact ties, exactly representable in float32.
          const d = uniform(seed, M * N, 0, spread).map(Math.floor);
          const y = labels(seed + 1, N, classes);
          const el = maxEl === undefined ? undefined : Math.max(maxEl, N);
          const got = backend(mode, el, maxDim).knnVote(fromData(d, [M, N]), intArray(y), k, classes);
          expect(Array.from(got.data)).toEqual(Array.from(refVote(d, M, N, y, k, classes)));
        },
      ),
      { numRuns: 12 },
    );
  });
});

describe('the pure-TS mode agrees with Float64 too', () => {
  const ts = createBackend({ mode: 'ts' });
  test('all five ops', () => {
    const [M, N, D, C] = [4, 6, 1200, 5];
    const x = uniform(1, M * D);
    const t = uniform(2, N * D);
    expect(scaledMaxError(ts.matmul(fromData(x, [M, D]), fromData(t, [N, D]), { transB: true }).data, refMatmul(x, refTranspose(t, N, D), M, D, N))).toBeLessThan(1e-12);
    expect(scaledMaxError(ts.distances(fromData(x, [M, D]), fromData(t, [N, D])).data, refDistances(x, t, M, N, D))).toBeLessThan(1e-12);
    const w = uniform(3, D * C, -0.01, 0.01);
    const y = labels(4, N, C);
    for (const kind of ['svm', 'softmax'] as const) {
      const r = kind === 'svm' ? ts.svmLoss(fromData(w, [D, C]), fromData(t, [N, D]), intArray(y), 0.5) : ts.softmaxLoss(fromData(w, [D, C]), fromData(t, [N, D]), intArray(y), 0.5);
      const ref = refLoss(kind, w, t, y, 0.5, N, D, C);
      expect(relError(r.loss, ref.loss)).toBeLessThan(1e-12);
      expect(scaledMaxError(r.dW.data, ref.dW)).toBeLessThan(1e-12);
    }
    const d = uniform(5, M * 40, 0, 3).map(Math.floor);
    const yl = labels(6, 40, 3);
    for (const k of [1, 5, 17, 40]) expect(Array.from(ts.knnVote(fromData(d, [M, 40]), intArray(yl), k).data)).toEqual(Array.from(refVote(d, M, 40, yl, k, 3)));
  });
});
