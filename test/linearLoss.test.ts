import fc from 'fast-check';
import ndarray from 'ndarray';
import { svmLossNaive, svmLossVectorized, softmaxLossNaive, softmaxLossVectorized, type LossResult } from '../src/classifiers';
import { ShapeError } from '../src/core/check';
import { evalNumericalGradient, relError } from '../src/gradientCheck';
import { array, copy, fromData, intArray, transpose, zeros, type IntTensor, type Tensor } from '../src/core/tensor';

type LossFn = (W: Tensor, X: Tensor, y: IntTensor, reg: number) => LossResult;
const losses: Array<{ name: string; naive: LossFn; vectorized: LossFn; svm: boolean }> = [
  { name: 'svm', naive: svmLossNaive, vectorized: svmLossVectorized, svm: true },
  { name: 'softmax', naive: softmaxLossNaive, vectorized: softmaxLossVectorized, svm: false },
];

/** Values in [-scale, scale], or, with `away`, only those at least 0.01 from zero. */
const entries = (n: number, scale: number, away: boolean) =>
  fc
    .array(away ? fc.double({ min: -scale, max: scale, noNaN: true }).filter((v) => Math.abs(v) >= 0.01) : fc.double({ min: -scale, max: scale, noNaN: true }), { minLength: n, maxLength: n })
    .map((v) => Float64Array.from(v));

/** Random (W, X, y, reg) with N, D, C small enough for numerical gradients. */
const makeCase = (away: boolean) =>
  fc
    .record({ N: fc.integer({ min: 1, max: 7 }), D: fc.integer({ min: 1, max: 6 }), C: fc.integer({ min: 2, max: 5 }) })
    .chain(({ N, D, C }) =>
      fc.record({
        W: entries(D * C, 1, away).map((v) => fromData(v, [D, C]) as Tensor),
        X: entries(N * D, 2, away).map((v) => fromData(v, [N, D]) as Tensor),
        y: fc.array(fc.integer({ min: 0, max: C - 1 }), { minLength: N, maxLength: N }).map((l) => intArray(l)),
        reg: fc.oneof(fc.constant(0), fc.double({ min: away ? 0.01 : 0, max: 3, noNaN: true })),
      }),
    );
/** Any values, including fast-check's edge cases (zeros, subnormals, ±max). */
const lossCase = makeCase(false);
/** Entries away from 0, for gradient checks (tiny entries make tiny gradient components). */
const wellScaledCase = makeCase(true);

const maxAbs = (a: ArrayLike<number>): number => Array.from(a).reduce((m, v) => Math.max(m, Math.abs(v)), 0);
const maxAbsDiff = (a: ArrayLike<number>, b: ArrayLike<number>): number => Array.from(a).reduce((m, v, i) => Math.max(m, Math.abs(v - b[i])), 0);

/** SVM margins s_j − s_y + 1 (j ≠ y), to keep gradient checks away from hinge kinks. */
function minAbsMargin(W: Tensor, X: Tensor, y: IntTensor): number {
  const [N, D] = X.shape;
  const C = W.shape[1];
  let m = Infinity;
  for (let i = 0; i < N; i++) {
    const s = Array.from({ length: C }, (_, j) => {
      let t = 0;
      for (let d = 0; d < D; d++) t += X.get(i, d) * W.get(d, j);
      return t;
    });
    for (let j = 0; j < C; j++) if (j !== y.get(i)) m = Math.min(m, Math.abs(s[j] - s[y.get(i)] + 1));
  }
  return m;
}

describe.each(losses)('$name loss', ({ naive, vectorized, svm }) => {
  test('naive and vectorized losses and gradients agree to 1e-10 in Float64', () => {
    fc.assert(
      fc.property(lossCase, ({ W, X, y, reg }) => {
        const a = naive(W, X, y, reg);
        const b = vectorized(W, X, y, reg);
        expect(Math.abs(a.loss - b.loss)).toBeLessThanOrEqual(1e-10 * Math.max(1, Math.abs(a.loss)));
        expect(a.dW.shape).toEqual(W.shape);
        expect(b.dW.shape).toEqual(W.shape);
        expect(maxAbsDiff(a.dW.data, b.dW.data)).toBeLessThanOrEqual(1e-10 * Math.max(1, maxAbs(a.dW.data)));
      }),
      { numRuns: 300 },
    );
  });

  test('both analytic gradients match evalNumericalGradient (relative error < 1e-7)', () => {
    // Well-conditioned cases only (the relative error of a near-zero quantity means nothing):
    // - SVM margins at least 1e-3 from 0: the loss is piecewise linear, and a kink within the
    //   step h (1e-5 · |x|) would make the centred difference average two slopes;
    // - every gradient entry either larger than 1e-2 in magnitude, or exactly 0 in both the
    //   analytic and the numerical gradient. The difference quotient carries ~1e-11 of
    //   round-off, so an entry of 1e-4 could not reach 1e-7, and an entry that is 0 only by
    //   exact cancellation (edge values like ±1) gets 1e-11 / 1e-8 = 1e-3 from relError's floor.
    // Measured over 20,000 cases each: worst relative error 1.7e-8 (SVM), 3.1e-8 (softmax).
    fc.assert(
      fc.property(wellScaledCase, ({ W, X, y, reg }) => {
        fc.pre(!svm || minAbsMargin(W, X, y) > 1e-3);
        const a = naive(W, X, y, reg);
        const b = vectorized(W, X, y, reg);
        const num = evalNumericalGradient((w) => naive(w, X, y, reg).loss, W);
        fc.pre(Array.from(a.dW.data).every((g, i) => Math.abs(g) > 1e-2 || (g === 0 && num.data[i] === 0)));
        expect(relError(num, a.dW)).toBeLessThan(1e-7);
        expect(relError(num, b.dW)).toBeLessThan(1e-7);
      }),
      { numRuns: 120 },
    );
  });

  test('Float32 inputs give a Float32 gradient close to the Float64 one', () => {
    fc.assert(
      fc.property(lossCase, ({ W, X, y, reg }) => {
        fc.pre(!svm || minAbsMargin(W, X, y) > 1e-3);
        const W32 = copy(W, 'float32');
        const X32 = copy(X, 'float32');
        // Reference in Float64 on the Float32-rounded values, so only the arithmetic differs.
        const ref = naive(copy(W32, 'float64'), copy(X32, 'float64'), y, reg);
        for (const f of [naive, vectorized]) {
          const r = f(W32, X32, y, reg);
          expect(r.dW.data).toBeInstanceOf(Float32Array);
          expect(Math.abs(r.loss - ref.loss)).toBeLessThanOrEqual(1e-5 * Math.max(1, Math.abs(ref.loss)));
          expect(maxAbsDiff(r.dW.data, ref.dW.data)).toBeLessThanOrEqual(1e-5 * Math.max(1, maxAbs(ref.dW.data)));
        }
        // Float32 X with Float64 W computes in W's dtype.
        expect(vectorized(copy(W32, 'float64'), X32, y, reg).dW.data).toBeInstanceOf(Float64Array);
      }),
      { numRuns: 100 },
    );
  });

  test('strided views (a transposed X) are accepted', () => {
    const Xt = fromData(Float64Array.from({ length: 12 }, (_, t) => Math.sin(t)), [3, 4]);
    const X = transpose(Xt); // (4, 3) view
    const W = fromData(Float64Array.from({ length: 6 }, (_, t) => Math.cos(t)), [3, 2]);
    const y = intArray([0, 1, 1, 0]);
    const dense = copy(X);
    for (const f of [naive, vectorized]) {
      const a = f(W, X, y, 0.3);
      const b = f(W, dense, y, 0.3);
      expect(a.loss).toBeCloseTo(b.loss, 14);
      expect(maxAbsDiff(a.dW.data, b.dW.data)).toBeLessThan(1e-14);
    }
  });

  test('bad input names the argument, the expected and the actual shape or value', () => {
    const W = zeros([3, 4]);
    const X = zeros([5, 3]);
    const y = intArray([0, 1, 2, 3, 0]);
    for (const f of [naive, vectorized]) {
      expect(() => f(W, zeros([5, 2]), y, 0)).toThrow(ShapeError);
      expect(() => f(W, zeros([5, 2]), y, 0)).toThrow(/X: expected shape \(N=5, D=3\), got \(5, 2\)/);
      expect(() => f(W, X, intArray([0, 1, 2]), 0)).toThrow(/y: expected shape \(N=5,\), got \(3,\)/);
      expect(() => f(W, X, intArray([0, 1, 2, 4, 0]), 0)).toThrow(/y\[3\]: expected an integer in \[0, 4\), got 4/);
      expect(() => f(W, X, intArray([0, -1, 2, 3, 0]), 0)).toThrow(/y\[1\]: expected an integer in \[0, 4\), got -1/);
      expect(() => f(W, ndarray(new Int32Array(15), [5, 3]) as never, y, 0)).toThrow(/X: expected dtype float64 or float32, got int32/);
      expect(() => f(ndarray(new Uint8Array(12), [3, 4]) as never, X, y, 0)).toThrow(/W: expected dtype float64 or float32, got uint8/);
      expect(() => f(zeros([3]), X, y, 0)).toThrow(/W: expected shape \(D, C\), got \(3,\)/);
      expect(() => f(W, zeros([0, 3]), intArray([]), 0)).toThrow(/X: expected at least one example/);
      expect(() => f(W, X, y, NaN)).toThrow(/reg: expected a finite number/);
    }
  });
});

describe('loss values', () => {
  test('W = 0: SVM loss is C − 1 (every margin is 1), softmax loss is log C; the gradient of reg·ΣW² is 2·reg·W', () => {
    const C = 10;
    const X = fromData(Float64Array.from({ length: 8 * 3 }, (_, t) => Math.sin(t)), [8, 3]);
    const y = intArray([0, 1, 2, 3, 4, 5, 6, 7]);
    for (const f of [svmLossNaive, svmLossVectorized]) expect(f(zeros([3, C]), X, y, 5).loss).toBeCloseTo(C - 1, 12);
    for (const f of [softmaxLossNaive, softmaxLossVectorized]) expect(f(zeros([3, C]), X, y, 5).loss).toBeCloseTo(Math.log(C), 12);
    // With X = 0 the data loss is constant and its gradient 0: only the regulariser remains.
    const W = array([[1, -2], [0.5, 3]]);
    const y2 = intArray([1, 0, 1]);
    for (const f of [svmLossNaive, svmLossVectorized]) {
      const r = f(W, zeros([3, 2]), y2, 0.25);
      expect(r.loss).toBeCloseTo(1 + 0.25 * (1 + 4 + 0.25 + 9), 12);
      expect(Array.from(r.dW.data)).toEqual([0.5, -1, 0.25, 1.5]);
    }
    for (const f of [softmaxLossNaive, softmaxLossVectorized]) {
      const r = f(W, zeros([3, 2]), y2, 0.25);
      expect(r.loss).toBeCloseTo(Math.log(2) + 0.25 * 14.25, 12);
      expect(Array.from(r.dW.data)).toEqual([0.5, -1, 0.25, 1.5]);
    }
  });

  test('a hand-computed SVM example', () => {
    // x = [1, 2], W columns give scores [1, 3, 0]; y = 0: margins 3 − 1 + 1 = 3, 0 − 1 + 1 = 0 (inactive).
    const W = array([[1, 1, 0], [0, 1, 0]]);
    const X = array([[1, 2]]);
    for (const f of [svmLossNaive, svmLossVectorized]) {
      const r = f(W, X, intArray([0]), 0);
      expect(r.loss).toBe(3);
      expect(Array.from(r.dW.data)).toEqual([-1, 1, 0, -2, 2, 0]);
    }
  });

  test('softmax is numerically stable for huge scores', () => {
    const W = array([[1000, -1000, 0]]);
    const X = array([[5], [-5]]);
    const y = intArray([1, 1]);
    for (const f of [softmaxLossNaive, softmaxLossVectorized]) {
      const r = f(W, X, y, 0);
      // Example 0: scores [5000, −5000, 0], correct −5000: −log p = 10000. Example 1: correct is max.
      expect(r.loss).toBeCloseTo((10000 + Math.log1p(Math.exp(-5000) + Math.exp(-5000))) / 2, 8);
      expect(Array.from(r.dW.data).every(Number.isFinite)).toBe(true);
    }
  });
});
