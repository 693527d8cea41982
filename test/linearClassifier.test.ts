import type { NdArray } from 'ndarray';
import { LinearClassifier, LinearSVM, Softmax, svmLossVectorized, type LossResult } from '../src/classifiers';
import { ShapeError } from '../src/core/check';
import { RandomState, random } from '../src/core/random';
import { copy, fromData, intArray, type IntTensor, type NumStore, type Tensor } from '../src/core/tensor';

/** Three well-separated Gaussian-ish clusters in 4-d plus a bias column of ones. */
function blobs(n: number, seed: number): { X: Tensor; y: IntTensor } {
  const rng = new RandomState(seed);
  const centers = [[4, 0, 0, 0], [0, 4, 0, 0], [0, 0, 4, 4]];
  const labels = rng.randint(0, 3, n);
  const noise = rng.randn(n, 4);
  const X = new Float64Array(n * 5);
  for (let i = 0; i < n; i++) {
    for (let d = 0; d < 4; d++) X[i * 5 + d] = centers[labels.get(i)][d] + 0.7 * noise.get(i, d);
    X[i * 5 + 4] = 1;
  }
  return { X: fromData(X, [n, 5]), y: labels };
}

const accuracy = (pred: IntTensor, y: IntTensor): number => Array.from(pred.data).filter((p, i) => p === y.get(i)).length / y.shape[0];
const mean = (v: number[]): number => v.reduce((s, x) => s + x, 0) / v.length;

describe.each([
  { name: 'LinearSVM', make: () => new LinearSVM() as LinearClassifier },
  { name: 'Softmax', make: () => new Softmax() as LinearClassifier },
])('$name', ({ make }) => {
  const train = blobs(600, 1);
  const heldOut = blobs(300, 2);

  test('SGD on a separable problem: the loss falls and accuracy is high on train and held-out data', () => {
    const clf = make();
    const history = clf.train(train.X, train.y, { learningRate: 0.05, reg: 1e-4, numIters: 300, batchSize: 50, rng: new RandomState(0) });
    expect(history).toHaveLength(300);
    expect(mean(history.slice(-20))).toBeLessThan(0.5 * mean(history.slice(0, 5)));
    expect(accuracy(clf.predict(train.X), train.y)).toBeGreaterThan(0.95);
    const pred = clf.predict(heldOut.X);
    expect(pred.data).toBeInstanceOf(Int32Array);
    expect(accuracy(pred, heldOut.y)).toBeGreaterThan(0.95);
  });

  test('the same seed gives an identical loss history; another seed does not', () => {
    const opts = { learningRate: 0.01, numIters: 40, batchSize: 20 };
    const h1 = make().train(train.X, train.y, { ...opts, rng: new RandomState(7) });
    const h2 = make().train(train.X, train.y, { ...opts, rng: new RandomState(7) });
    const h3 = make().train(train.X, train.y, { ...opts, rng: new RandomState(8) });
    expect(h2).toEqual(h1);
    expect(h3).not.toEqual(h1);
  });

  test('Float32 data trains a Float32 W that behaves like the Float64 run', () => {
    const opts = { learningRate: 0.05, reg: 1e-4, numIters: 100, batchSize: 50 };
    const c64 = make();
    const h64 = c64.train(train.X, train.y, { ...opts, rng: new RandomState(3) });
    const c32 = make();
    const h32 = c32.train(copy(train.X, 'float32'), train.y, { ...opts, rng: new RandomState(3) });
    expect(c32.W?.data).toBeInstanceOf(Float32Array);
    h32.forEach((l, i) => expect(Math.abs(l - h64[i])).toBeLessThan(1e-4 * Math.max(1, h64[i])));
    expect(accuracy(c32.predict(copy(heldOut.X, 'float32')), heldOut.y)).toBeGreaterThan(0.95);
  });

  test('bad input: wrong feature count, predict before train, bad options, bad labels', () => {
    const clf = make();
    expect(() => clf.predict(train.X)).toThrow(/call train\(X, y\) first/);
    expect(() => clf.train(train.X, intArray([0, 1]))).toThrow(/y: expected shape \(N=600,\), got \(2,\)/);
    expect(() => clf.train(train.X, intArray(Array.from({ length: 600 }, (_, i) => (i === 5 ? -2 : 0))))).toThrow(/y\[5\]: expected a non-negative integer, got -2/);
    expect(() => clf.train(train.X, train.y, { batchSize: 0 })).toThrow(/batchSize: expected an integer >= 1, got 0/);
    expect(() => clf.train(train.X, train.y, { numIters: -1 })).toThrow(/numIters/);
    expect(() => clf.train(train.X, train.y, { learningRate: NaN })).toThrow(/learningRate: expected a finite number/);
    expect(() => clf.train(fromData(new Float64Array(0), [0, 5]), intArray([]))).toThrow(/X: expected at least one training example/);
    clf.train(train.X, train.y, { numIters: 1, rng: new RandomState(0) });
    expect(() => clf.predict(fromData(new Float64Array(8), [2, 4]))).toThrow(ShapeError);
    expect(() => clf.predict(fromData(new Float64Array(8), [2, 4]))).toThrow(/X: expected shape \(N=2, 5\), got \(2, 4\)/);
    expect(() => clf.train(fromData(new Float64Array(8), [2, 4]), intArray([0, 1]))).toThrow(/X: expected shape \(any, 5\), got \(2, 4\)/);
    // A label beyond the classes W was created with is caught by the loss.
    expect(() => clf.train(train.X.hi(2), intArray([0, 3]), { batchSize: 2, rng: new RandomState(0) })).toThrow(/y\[\d\]: expected an integer in \[0, 3\), got 3/);
  });
});

/** Records what train() hands to the loss, to check the numpy call sequence. */
class Recorder extends LinearClassifier {
  batches: number[][] = [];
  override loss(XBatch: Tensor, yBatch: NdArray<NumStore>, reg: number): LossResult {
    this.batches.push(Array.from({ length: XBatch.shape[0] }, (_, i) => XBatch.get(i, 0)));
    return svmLossVectorized(this.weights(), XBatch, yBatch, reg);
  }
}

describe('LinearClassifier follows numpy', () => {
  test('W = 0.001·randn(D, C) with C = max(y)+1, then one choice(N, batchSize) per iteration', () => {
    const N = 13;
    const X = fromData(Float64Array.from({ length: N * 2 }, (_, t) => (t % 2 === 0 ? t / 2 : 0)), [N, 2]); // column 0 = row index
    const y = intArray(Array.from({ length: N }, (_, i) => i % 4));
    const clf = new Recorder();
    clf.train(X, y, { numIters: 3, batchSize: 5, rng: new RandomState(42), learningRate: 0 });
    const ref = new RandomState(42);
    const W0 = ref.randn(2, 4);
    expect(clf.W?.shape).toEqual([2, 4]);
    expect(Array.from(clf.W!.data)).toEqual(Array.from(W0.data, (v) => 0.001 * v));
    for (let it = 0; it < 3; it++) expect(clf.batches[it]).toEqual(Array.from(ref.choice(N, 5).data));
  });

  // Reference produced by a throwaway numpy script (own implementation of the same algorithm):
  // X[i, d] = sin(0.7 i + 1.3 d) (30 × 4), y = i % 3, np.random.seed(s),
  // W = 0.001 * randn(4, 3); 8 × { idx = choice(30, 7); loss, dW = f(W, X[idx], y[idx], 0.1); W -= 0.5 dW }.
  const numpyRuns = [
    {
      name: 'LinearSVM',
      make: (): LinearClassifier => new LinearSVM(),
      seed: 231,
      history: [2.001712495261382, 2.0119537835999783, 2.409937756077388, 2.3496128820474285, 2.317518467097202, 1.9764715838475806, 2.231035619417002, 1.9111707960056188],
      W: [-0.07058528585016557, 0.3547202809945308, -0.2841224515963554, 0.04816011261297008, -0.0907613642819736, 0.04193033846752279, 0.09662950340169521, -0.40185736993446597, 0.30535115312585975, 0.0031038073123428357, -0.12483964654932121, 0.12155343975376794],
    },
    {
      name: 'Softmax',
      make: (): LinearClassifier => new Softmax(),
      seed: 0,
      history: [1.0987195253280955, 1.1508933755683106, 1.099716805357715, 1.0755099229194893, 1.1305229517113242, 1.0522511310799374, 1.2403307031225717, 1.052270957496368],
      W: [-0.15084907907958633, 0.17690503472271651, -0.024703019785081257, -0.0005315728517788984, 0.10105017308139175, -0.0991707327910567, 0.1512169621029237, -0.12316642525976035, -0.027751141579138036, 0.08235486918421626, -0.1660431361294148, 0.0845530392300734],
    },
  ];

  test.each(numpyRuns)('$name with the same seed reproduces the numpy run', ({ make, seed, history, W }) => {
    const X = fromData(Float64Array.from({ length: 30 * 4 }, (_, t) => Math.sin(0.7 * Math.floor(t / 4) + 1.3 * (t % 4))), [30, 4]);
    const y = intArray(Array.from({ length: 30 }, (_, i) => i % 3));
    const clf = make();
    const h = clf.train(X, y, { learningRate: 0.5, reg: 0.1, numIters: 8, batchSize: 7, rng: new RandomState(seed) });
    h.forEach((l, i) => expect(Math.abs(l - history[i])).toBeLessThan(1e-12));
    Array.from(clf.W!.data).forEach((w, i) => expect(Math.abs(w - W[i])).toBeLessThan(1e-12));
  });

  test('verbose prints "iteration i / n: loss x" every 100 iterations', () => {
    const { X, y } = blobs(50, 4);
    const lines: string[] = [];
    const spy = jest.spyOn(console, 'log').mockImplementation((msg?: unknown) => void lines.push(String(msg)));
    try {
      new Softmax().train(X, y, { numIters: 250, batchSize: 10, verbose: true, rng: new RandomState(1) });
    } finally {
      spy.mockRestore();
    }
    expect(lines).toHaveLength(3);
    expect(lines[0]).toMatch(/^iteration 0 \/ 250: loss \d+\.\d{6}$/);
    expect(lines[1]).toMatch(/^iteration 100 \/ 250: loss /);
    expect(lines[2]).toMatch(/^iteration 200 \/ 250: loss /);
  });

  test('the default generator is the global one (random.seed reproduces a run)', () => {
    const { X, y } = blobs(40, 5);
    random.seed(11);
    const h1 = new LinearSVM().train(X, y, { numIters: 5, batchSize: 8 });
    random.seed(11);
    const h2 = new LinearSVM().train(X, y, { numIters: 5, batchSize: 8 });
    const h3 = new LinearSVM().train(X, y, { numIters: 5, batchSize: 8, rng: new RandomState(11) });
    expect(h2).toEqual(h1);
    expect(h3).toEqual(h1);
  });
});
