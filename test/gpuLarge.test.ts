/*
 * A realistic tiled case at gpu.js's real limit: X of 6000 rows × 3073 features (cs231n's
 * feature count with the bias column) holds 18.4M elements, more than the 2^24 elements one
 * gpu.js argument may index, so the default limits split it into row chunks. The full
 * 49000-row case is run and checked by bench/gpu.ts (too slow for the test budget on webasm).
 */
import { createBackend } from '../src/gpu';
import { fromData, intArray } from '../src/core/tensor';
import { labels, refLoss, relError, rng, scaledMaxError, TOL, uniform } from './gpuReference';

test('SVM and softmax at N = 6000, D = 3073, C = 10: past 2^24 elements, tiled by default (webasm)', () => {
  const [N, D, C] = [6000, 3073, 10];
  const x = new Float32Array(N * D);
  expect(x.length).toBeGreaterThan(2 ** 24);
  const r = rng(42);
  for (let i = 0; i < x.length; i++) x[i] = r() * 2 - 1;
  const w = uniform(43, D * C, -0.001, 0.001);
  const y = labels(44, N, C);
  const b = createBackend({ mode: 'webasm' });
  for (const kind of ['svm', 'softmax'] as const) {
    const W = fromData(w, [D, C]);
    const X = fromData(x, [N, D]);
    const got = kind === 'svm' ? b.svmLoss(W, X, intArray(y), 0.1) : b.softmaxLoss(W, X, intArray(y), 0.1);
    const ref = refLoss(kind, w, x, y, 0.1, N, D, C);
    expect(relError(got.loss, ref.loss)).toBeLessThan(TOL.loss);
    expect(scaledMaxError(got.dW.data, ref.dW)).toBeLessThan(TOL.grad);
  }
  b.dispose();
});
