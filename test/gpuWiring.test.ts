import fc from 'fast-check';
import { createBackend, type Backend } from '../src/gpu';
import { KNearestNeighbor } from '../src/classifiers/kNearestNeighbor';
import { svmLossVectorized } from '../src/classifiers/linearSvm';
import { softmaxLossVectorized } from '../src/classifiers/softmax';
import { LinearSVM, Softmax } from '../src/classifiers/linearClassifier';
import { RandomState } from '../src/core/random';
import type { Tensor } from '../src/core/tensor';

/*
 * The public functions take `{ backend }` and then run on it; without one they run the
 * pure-TS path. These tests prove the option reaches the backend (gpu.js webasm here, float32)
 * and that the answers agree with the Float64 TS path within float32 tolerance.
 */

function maxScaled(a: Tensor, b: Tensor): number {
  let m = 0;
  let s = 0;
  for (let i = 0; i < b.data.length; i++) {
    m = Math.max(m, Math.abs(a.data[i] - b.data[i]));
    s = Math.max(s, Math.abs(b.data[i]));
  }
  return m / Math.max(s, 1e-30);
}

describe('classifier functions with { backend }', () => {
  let backend: Backend;
  beforeAll(() => {
    backend = createBackend({ mode: 'webasm' });
  });
  afterAll(() => backend.dispose());

  test('the backend really runs: its mode is reported and its kernels get compiled', () => {
    expect(backend.mode).toBe('webasm');
    expect(backend.onDevice).toBe(false);
  });

  test('svm/softmax vectorized losses agree with the TS path (random shapes)', () => {
    fc.assert(
      fc.property(fc.integer({ min: 1, max: 40 }), fc.integer({ min: 1, max: 30 }), fc.integer({ min: 2, max: 7 }), fc.nat(1000), (N, D, C, seed) => {
        const rng = new RandomState(seed);
        const W = rng.randn(D, C);
        const X = rng.randn(N, D);
        const y = rng.randint(0, C, N);
        for (const f of [svmLossVectorized, softmaxLossVectorized]) {
          const ts = f(W, X, y, 0.1);
          const gpu = f(W, X, y, 0.1, { backend });
          expect(Math.abs(gpu.loss - ts.loss) / Math.max(1e-12, Math.abs(ts.loss))).toBeLessThan(1e-4);
          expect(maxScaled(gpu.dW, ts.dW)).toBeLessThan(1e-3);
        }
      }),
      { numRuns: 8 },
    );
  });

  test('kNN no-loop distances agree with the TS path', () => {
    const rng = new RandomState(3);
    const Xtr = rng.randn(60, 17);
    const Xte = rng.randn(9, 17);
    const knn = new KNearestNeighbor();
    knn.train(Xtr, rng.randint(0, 3, 60));
    const ts = knn.computeDistancesNoLoops(Xte);
    const gpu = knn.computeDistancesNoLoops(Xte, { backend });
    expect(gpu.shape).toEqual([9, 60]);
    expect(maxScaled(gpu, ts)).toBeLessThan(1e-3);
  });

  test('LinearSVM/Softmax.train with a backend follow the TS run', () => {
    for (const Cls of [LinearSVM, Softmax]) {
      const rng = new RandomState(5);
      const X = rng.randn(80, 12);
      const y = rng.randint(0, 4, 80);
      const a = new Cls();
      const b = new Cls();
      const ha = a.train(X, y, { learningRate: 1e-2, reg: 1e-3, numIters: 20, batchSize: 16, rng: new RandomState(1) });
      const hb = b.train(X, y, { learningRate: 1e-2, reg: 1e-3, numIters: 20, batchSize: 16, rng: new RandomState(1), backend });
      ha.forEach((l, i) => expect(Math.abs(hb[i] - l) / l).toBeLessThan(1e-3));
    }
  });
});
