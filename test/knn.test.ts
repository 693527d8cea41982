import fc from 'fast-check';
import ndarray from 'ndarray';
import { KNearestNeighbor, kFoldSplit, crossValidateK } from '../src/classifiers';
import { ShapeError } from '../src/core/check';
import { array, fromData, intArray, type Tensor } from '../src/core/tensor';

/** Fixed-size float matrix of values in [-10, 10]. */
const matrix = (rows: number, cols: number) =>
  fc.array(fc.double({ min: -10, max: 10, noNaN: true }), { minLength: rows * cols, maxLength: rows * cols })
    .map((v) => fromData(Float64Array.from(v), [rows, cols]) as Tensor);

const problem = fc
  .record({ ntr: fc.integer({ min: 1, max: 12 }), nte: fc.integer({ min: 1, max: 8 }), d: fc.integer({ min: 1, max: 9 }) })
  .chain(({ ntr, nte, d }) =>
    fc.record({
      Xtr: matrix(ntr, d),
      Xte: matrix(nte, d),
      y: fc.array(fc.integer({ min: 0, max: 4 }), { minLength: ntr, maxLength: ntr }).map((l) => intArray(l)),
    }),
  );

function direct(Xte: Tensor, Xtr: Tensor): Float64Array {
  const [nte, D] = Xte.shape;
  const ntr = Xtr.shape[0];
  const out = new Float64Array(nte * ntr);
  for (let i = 0; i < nte; i++) {
    for (let j = 0; j < ntr; j++) {
      let s = 0;
      for (let d = 0; d < D; d++) s += (Xte.get(i, d) - Xtr.get(j, d)) ** 2;
      out[i * ntr + j] = Math.sqrt(s);
    }
  }
  return out;
}

const fro = (a: ArrayLike<number>): number => Math.sqrt(Array.from(a).reduce((s, v) => s + v * v, 0));
const froDiff = (a: ArrayLike<number>, b: ArrayLike<number>): number => fro(Array.from(a, (v, i) => v - b[i]));
const maxRowNorm = (X: Tensor): number => {
  let m = 0;
  for (let i = 0; i < X.shape[0]; i++) {
    let s = 0;
    for (let d = 0; d < X.shape[1]; d++) s += X.get(i, d) ** 2;
    m = Math.max(m, Math.sqrt(s));
  }
  return m;
};

describe('KNearestNeighbor distances', () => {
  test('two-loop, one-loop and no-loop distances agree with a direct per-pair computation', () => {
    fc.assert(
      fc.property(problem, ({ Xtr, Xte, y }) => {
        const knn = new KNearestNeighbor();
        knn.train(Xtr, y);
        const ref = direct(Xte, Xtr);
        // The no-loop formula leaves a residue ~sqrt(eps)·‖x‖ for (near-)identical points, so the
        // relative scale is the larger of the matrix norm and the points' own norms.
        const scale = Math.max(fro(ref), maxRowNorm(Xte), maxRowNorm(Xtr), 1e-300);
        for (const dists of [knn.computeDistancesTwoLoops(Xte), knn.computeDistancesOneLoop(Xte), knn.computeDistancesNoLoops(Xte)]) {
          expect(dists.shape).toEqual([Xte.shape[0], Xtr.shape[0]]);
          expect(dists.data).toBeInstanceOf(Float64Array);
          expect(froDiff(dists.data, ref) / scale).toBeLessThan(1e-6);
        }
        // The two exact-difference routines agree to round-off.
        const two = knn.computeDistancesTwoLoops(Xte).data;
        const one = knn.computeDistancesOneLoop(Xte).data;
        expect(froDiff(two, one)).toBeLessThanOrEqual(1e-12 * Math.max(fro(ref), 1));
      }),
      { numRuns: 150 },
    );
  });

  test('distances of a point to itself are exactly 0 in the loop versions and >= 0 everywhere', () => {
    const X = array([[1, 2, 3], [1, 2, 3], [4, 5, 6.5]]);
    const knn = new KNearestNeighbor();
    knn.train(X, intArray([0, 1, 2]));
    expect(Array.from(knn.computeDistancesTwoLoops(X).data.subarray(0, 3))).toEqual([0, 0, Math.sqrt(9 + 9 + 12.25)]);
    const nl = knn.computeDistancesNoLoops(X).data;
    for (const v of nl) expect(v).toBeGreaterThanOrEqual(0);
    expect(nl[0]).toBeLessThan(1e-6);
  });

  test('a larger problem (many training rows, remainder of the 4-row kernel) agrees', () => {
    const ntr = 203;
    const D = 31;
    const Xtr = fromData(Float64Array.from({ length: ntr * D }, (_, t) => Math.sin(t * 0.37) * 100), [ntr, D]);
    const Xte = fromData(Float64Array.from({ length: 9 * D }, (_, t) => Math.cos(t * 1.1) * 100), [9, D]);
    const knn = new KNearestNeighbor();
    knn.train(Xtr, intArray(Array.from({ length: ntr }, (_, i) => i % 10)));
    const ref = direct(Xte, Xtr);
    for (const dists of [knn.computeDistancesTwoLoops(Xte), knn.computeDistancesOneLoop(Xte), knn.computeDistancesNoLoops(Xte)]) {
      expect(froDiff(dists.data, ref) / fro(ref)).toBeLessThan(1e-6);
    }
  });

  test('Float32 inputs give Float32 distances close to the Float64 ones; uint8 images are accepted', () => {
    const ntr = 40;
    const D = 12;
    const pix = Uint8Array.from({ length: ntr * D }, (_, t) => (t * 97 + 13) % 256);
    const test = Uint8Array.from({ length: 5 * D }, (_, t) => (t * 31 + 7) % 256);
    const y = intArray(Array.from({ length: ntr }, (_, i) => i % 3));
    const k64 = new KNearestNeighbor();
    k64.train(fromData(Float64Array.from(pix), [ntr, D]), y);
    const ref = k64.computeDistancesTwoLoops(fromData(Float64Array.from(test), [5, D]));
    const k32 = new KNearestNeighbor();
    k32.train(fromData(Float32Array.from(pix), [ntr, D]), y);
    const kU8 = new KNearestNeighbor();
    kU8.train(fromData(pix, [ntr, D]), y);
    for (const d of [k32.computeDistancesNoLoops(fromData(Float32Array.from(test), [5, D])), k32.computeDistancesOneLoop(fromData(Float32Array.from(test), [5, D]))]) {
      expect(d.data).toBeInstanceOf(Float32Array);
      expect(froDiff(d.data, ref.data) / fro(ref.data)).toBeLessThan(1e-5);
    }
    const du8 = kU8.computeDistancesNoLoops(fromData(test, [5, D]));
    expect(du8.data).toBeInstanceOf(Float64Array);
    expect(froDiff(du8.data, ref.data) / fro(ref.data)).toBeLessThan(1e-12);
    // Mixed dtypes promote to Float64, as numpy does.
    expect(k32.computeDistancesNoLoops(fromData(Float64Array.from(test), [5, D])).data).toBeInstanceOf(Float64Array);
  });

  test('the out option of the no-loop version is filled and returned', () => {
    const knn = new KNearestNeighbor();
    knn.train(array([[0, 0], [3, 4]]), intArray([0, 1]));
    const out = fromData(new Float64Array(2), [1, 2]);
    const r = knn.computeDistancesNoLoops(array([[0, 0]]), { out });
    expect(r.data).toBe(out.data);
    expect(Array.from(out.data)).toEqual([0, 5]);
    expect(() => knn.computeDistancesNoLoops(array([[0, 0]]), { out: fromData(new Float64Array(3), [1, 3]) })).toThrow(/out: expected a dense array of shape \(1, 2\)/);
  });
});

/** Reference vote: sort by (distance, index), k nearest vote, ties to the smaller label. */
function refPredict(dists: number[][], labels: number[], k: number): number[] {
  return dists.map((row) => {
    const order = row.map((d, j) => [d, j]).sort((a, b) => a[0] - b[0] || a[1] - b[1]).slice(0, k);
    const counts = new Map<number, number>();
    for (const [, j] of order) counts.set(labels[j], (counts.get(labels[j]) ?? 0) + 1);
    let best = -1;
    let bestCount = -1;
    for (const [label, c] of counts) if (c > bestCount || (c === bestCount && label < best)) [best, bestCount] = [label, c];
    return best;
  });
}

describe('KNearestNeighbor.predictLabels', () => {
  const trained = (labels: number[]): KNearestNeighbor => {
    const knn = new KNearestNeighbor();
    knn.train(fromData(new Float64Array(labels.length), [labels.length, 1]), intArray(labels));
    return knn;
  };

  test('equal distances are taken in training-index order (stable) before voting', () => {
    const knn = trained([3, 3, 1, 0, 0]);
    // Distances 1 at indices 1..4: k = 2 must take indices 1 and 2 (labels 3, 1), a 1–1 tie -> 1.
    // An unstable order could pick indices 3 and 4 and answer 0.
    expect(Array.from(knn.predictLabels(array([[2, 1, 1, 1, 1]]), 2).data)).toEqual([1]);
    // k = 1 on a tie takes the lowest training index, whatever its label.
    expect(Array.from(knn.predictLabels(array([[5, 1, 1, 1, 1]]), 1).data)).toEqual([3]);
  });

  test('vote ties go to the smaller label', () => {
    const knn = trained([2, 0, 2, 0, 1, 1]);
    const dists = array([
      [1, 2, 3, 4, 9, 9],
      [9, 9, 9, 9, 1, 2],
      [1, 9, 9, 2, 3, 9],
    ]);
    const pred = Array.from(knn.predictLabels(dists, 4).data);
    expect(pred).toEqual(refPredict([[1, 2, 3, 4, 9, 9], [9, 9, 9, 9, 1, 2], [1, 9, 9, 2, 3, 9]], [2, 0, 2, 0, 1, 1], 4));
    // Row 0: labels 2, 0, 2, 0 -> a 2–2 tie between 0 and 2 -> 0.
    expect(pred[0]).toBe(0);
    // Row 1: labels 1,1 then the first two 9s (indices 0, 1: labels 2, 0) -> 1 wins 2–1–1.
    expect(pred[1]).toBe(1);
    // Row 2: indices 0 (2), 3 (0), 4 (1), then index 1 (0) -> 0 wins 2 votes.
    expect(pred[2]).toBe(0);
    // Three-way 1–1–1 tie -> smallest label.
    const knn3 = trained([5, 2, 7]);
    expect(Array.from(knn3.predictLabels(array([[0.5, 0.5, 0.5]]), 3).data)).toEqual([2]);
  });

  test('matches a reference sort-and-vote on random tie-heavy distances, for every k', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 1, max: 40 }).chain((ntr) =>
          fc.record({
            labels: fc.array(fc.integer({ min: 0, max: 3 }), { minLength: ntr, maxLength: ntr }),
            rows: fc.array(fc.array(fc.integer({ min: 0, max: 3 }), { minLength: ntr, maxLength: ntr }), { minLength: 1, maxLength: 4 }),
            k: fc.integer({ min: 1, max: ntr }),
          }),
        ),
        ({ labels, rows, k }) => {
          const knn = trained(labels);
          const pred = knn.predictLabels(array(rows), k);
          expect(pred.data).toBeInstanceOf(Int32Array);
          expect(Array.from(pred.data)).toEqual(refPredict(rows, labels, k));
        },
      ),
      { numRuns: 300 },
    );
  });

  test('predict gives the same labels with 0, 1 and 2 loops and classifies separated clusters', () => {
    const centers = [[0, 0], [10, 0], [0, 10]];
    const pts: number[][] = [];
    const labels: number[] = [];
    for (let c = 0; c < 3; c++) for (let t = 0; t < 7; t++) {
      pts.push([centers[c][0] + Math.sin(t * 3 + c), centers[c][1] + Math.cos(t * 5 + c)]);
      labels.push(c);
    }
    const knn = new KNearestNeighbor();
    knn.train(array(pts), intArray(labels));
    const test = array([[0.5, 0.2], [9.1, -0.3], [0.2, 11], [9, 1]]);
    for (const numLoops of [0, 1, 2]) {
      for (const k of [1, 3, 5]) expect(Array.from(knn.predict(test, { k, numLoops }).data)).toEqual([0, 1, 2, 1]);
    }
    expect(Array.from(knn.predict(test).data)).toEqual([0, 1, 2, 1]);
  });
});

describe('KNearestNeighbor bad input', () => {
  const knn = new KNearestNeighbor();
  knn.train(array([[0, 0, 0], [1, 1, 1], [2, 2, 2]]), intArray([0, 1, 1]));
  const X = array([[0, 0, 1]]);

  test('predict rejects numLoops other than 0, 1, 2', () => {
    expect(() => knn.predict(X, { numLoops: 3 })).toThrow(/numLoops: expected 0, 1 or 2, got 3/);
    expect(() => knn.predict(X, { numLoops: -1 })).toThrow(RangeError);
  });

  test('k < 1, k > number of training points and non-integer k are errors', () => {
    expect(() => knn.predict(X, { k: 0 })).toThrow(/k: expected an integer in \[1, 3\], got 0/);
    expect(() => knn.predict(X, { k: 4 })).toThrow(/k: expected an integer in \[1, 3\], got 4/);
    expect(() => knn.predictLabels(array([[1, 2, 3]]), 1.5)).toThrow(/k: expected/);
  });

  test('X with the wrong feature count, empty X, wrong dists width', () => {
    expect(() => knn.computeDistancesNoLoops(array([[0, 0]]))).toThrow(ShapeError);
    expect(() => knn.computeDistancesTwoLoops(array([[0, 0]]))).toThrow(/X: expected shape \(N=1, 3\), got \(1, 2\)/);
    expect(() => knn.computeDistancesOneLoop(fromData(new Float64Array(0), [0, 3]))).toThrow(/X: expected at least one test example/);
    expect(() => knn.predictLabels(array([[1, 2]]))).toThrow(/dists: expected shape \(N=1, 3\), got \(1, 2\)/);
    expect(() => knn.computeDistancesNoLoops(fromData(new Float64Array(3), [3]))).toThrow(/X: expected a 2-d array/);
  });

  test('bad training data: empty X, labels out of range, length mismatch, not an ndarray', () => {
    const k = new KNearestNeighbor();
    expect(() => k.train(fromData(new Float64Array(0), [0, 2]), intArray([]))).toThrow(/X: expected at least one training example/);
    expect(() => k.train(array([[0], [1]]), intArray([0, -1]))).toThrow(/y\[1\]: expected a non-negative integer, got -1/);
    expect(() => k.train(array([[0], [1]]), ndarray(Float64Array.from([0, 1.5]), [2]))).toThrow(/y\[1\]/);
    expect(() => k.train(array([[0], [1]]), intArray([0, 1, 1]))).toThrow(/y: expected shape \(N=2,\), got \(3,\)/);
    expect(() => k.train([[0], [1]] as never, intArray([0, 1]))).toThrow(/X: expected a 2-d ndarray, got a plain Array/);
  });

  test('using the classifier before train is a clear error', () => {
    const k = new KNearestNeighbor();
    expect(() => k.predict(X)).toThrow(/call train\(X, y\) before/);
    expect(() => k.predictLabels(array([[1]]))).toThrow(/call train\(X, y\) before/);
  });

  test('NaN distances are rejected', () => {
    expect(() => knn.predictLabels(array([[1, NaN, 2]]), 1)).toThrow(/dists\[0, 1\]: expected a distance, got NaN/);
  });
});

describe('kFoldSplit', () => {
  test('fold sizes match numpy array_split', () => {
    // Sizes printed by np.array_split(np.arange(n), k).
    const cases: Array<[number, number, number[]]> = [
      [10, 3, [4, 3, 3]],
      [3, 5, [1, 1, 1, 0, 0]],
      [5000, 5, [1000, 1000, 1000, 1000, 1000]],
      [7, 7, [1, 1, 1, 1, 1, 1, 1]],
      [1, 1, [1]],
      [0, 3, [0, 0, 0]],
      [11, 4, [3, 3, 3, 2]],
    ];
    for (const [n, k, sizes] of cases) expect(kFoldSplit(n, k).map((f) => f.shape[0])).toEqual(sizes);
  });

  test('folds are consecutive, cover everything once, and the first n % k get one extra', () => {
    fc.assert(
      fc.property(fc.integer({ min: 0, max: 200 }), fc.integer({ min: 1, max: 20 }), (n, k) => {
        const folds = kFoldSplit(n, k);
        expect(folds).toHaveLength(k);
        folds.forEach((f, i) => expect(f.shape[0]).toBe(Math.floor(n / k) + (i < n % k ? 1 : 0)));
        expect(folds.flatMap((f) => Array.from(f.data))).toEqual(Array.from({ length: n }, (_, i) => i));
        const arr = Array.from({ length: n }, (_, i) => `x${i}`);
        expect(kFoldSplit(arr, k).flat()).toEqual(arr);
      }),
    );
  });

  test('splits an ndarray along its first axis into views', () => {
    const X = fromData(Float64Array.from({ length: 14 }, (_, i) => i), [7, 2]);
    const parts = kFoldSplit(X, 3);
    expect(parts.map((p) => p.shape)).toEqual([[3, 2], [2, 2], [2, 2]]);
    expect(parts[1].get(0, 1)).toBe(7);
    expect(parts[2].data).toBe(X.data);
    expect(() => kFoldSplit(5, 0)).toThrow(/numFolds: expected an integer >= 1, got 0/);
  });
});

describe('crossValidateK', () => {
  const N = 37;
  const D = 5;
  const X = fromData(Float64Array.from({ length: N * D }, (_, t) => Math.sin(t * 0.91) * 3 + (t % 7)), [N, D]);
  const y = intArray(Array.from({ length: N }, (_, i) => (i * 7) % 4));

  test('equals training a fresh classifier per fold and predicting, for every k', () => {
    const kChoices = [1, 3, 5, 8, 20];
    const progress: number[] = [];
    const acc = crossValidateK(X, y, { kChoices, numFolds: 5, onProgress: (done, total) => progress.push(done / total) });
    expect(progress).toEqual([0.2, 0.4, 0.6, 0.8, 1]);
    const xf = kFoldSplit(X, 5);
    const yf = kFoldSplit(Array.from(y.data), 5);
    for (const k of kChoices) {
      const expected = xf.map((_, f) => {
        const knn = new KNearestNeighbor();
        const trainRows = xf.filter((_, g) => g !== f).flatMap((p) => Array.from({ length: p.shape[0] }, (_, i) => Array.from({ length: D }, (_, d) => p.get(i, d))));
        knn.train(array(trainRows), intArray(yf.filter((_, g) => g !== f).flat()));
        const pred = knn.predict(xf[f], { k, numLoops: 2 });
        return Array.from(pred.data).filter((p, i) => p === yf[f][i]).length / yf[f].length;
      });
      expect(acc[k]).toEqual(expected);
    }
    expect(Object.keys(acc).map(Number)).toEqual(kChoices);
  });

  test('rejects k beyond the smallest fold training set, too few folds, bad kChoices', () => {
    // 37 rows in 5 folds: the largest fold has 8, so training sets have at least 29.
    expect(() => crossValidateK(X, y, { kChoices: [29] })).not.toThrow();
    expect(() => crossValidateK(X, y, { kChoices: [30] })).toThrow(/kChoices\[0\]: expected an integer in \[1, 29\], got 30/);
    expect(() => crossValidateK(X, y, { kChoices: [1], numFolds: 1 })).toThrow(/numFolds/);
    expect(() => crossValidateK(X, y, { kChoices: [] })).toThrow(/kChoices/);
  });
});
