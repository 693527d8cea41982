/*
 * Hostile input that used to give silent wrong answers (issue 14, item 6): non-finite kNN
 * queries and training rows, Solver data that is non-finite or out of range, checkpoints whose
 * checksum matches but whose content is wrong, and the weak spots in error messages and
 * argument checks (NaN shown as null, negative reg and learning rates, an all-zero MT key, a
 * huge allocation, a plain array where an ndarray belongs).
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { FullyConnectedNet, KNearestNeighbor, LinearSVM, svmLossVectorized } from '../src/classifiers';
import { RandomState } from '../src/core/random';
import { array, copy, intArray, zeros, type IntTensor } from '../src/core/tensor';
import { createBackend } from '../src/gpu';
import { reluForward } from '../src/layers';
import { sgd } from '../src/optim';
import { decodeArrayFile, encodeArrayFile, Solver, TrainingDivergedError, type SolverData } from '../src/solver';

const quiet = { verbose: false, progress: false };

describe('kNN with non-finite values', () => {
  const knn = new KNearestNeighbor();
  knn.train(array([[0, 0], [10, 10], [20, 20]]), intArray([0, 1, 2]));

  test.each([0, 1, 2])('a NaN or infinite query row is an error naming the row (numLoops %i)', (numLoops) => {
    expect(() => knn.predict(array([[1, 1], [Number.NaN, 9]]), { numLoops })).toThrow(/X: expected finite values, got NaN in row 1 \(X\[1, 0\]\)/);
    expect(() => knn.predict(array([[Infinity, 1]]), { numLoops })).toThrow(/X: expected finite values, got Infinity in row 0/);
  });

  test('the backend path rejects them too (KNearestNeighbor with a backend, and the backend itself)', () => {
    const backend = createBackend({ mode: 'ts' });
    expect(() => knn.computeDistancesNoLoops(array([[0, -Infinity]]), { backend })).toThrow(/X: expected finite values, got -Infinity in row 0/);
    expect(() => backend.distances(array([[0, 0]]), array([[1, 1], [2, Number.NaN]]))).toThrow(/train: expected finite values, got NaN in row 1/);
    expect(() => backend.distances(array([[Number.NaN, 0]]), array([[1, 1]]))).toThrow(/test: expected finite values, got NaN in row 0/);
  });

  test('non-finite training rows are rejected by train', () => {
    const k = new KNearestNeighbor();
    expect(() => k.train(array([[0, 0], [1, Number.NaN]]), intArray([0, 1]))).toThrow(/X: expected finite values, got NaN in row 1 \(X\[1, 1\]\)/);
  });
});

/** 3-class toy data and a small net for it. */
function toy(): { data: SolverData; model: FullyConnectedNet } {
  const rng = new RandomState(0);
  const data = { XTrain: rng.randn(12, 4), yTrain: rng.randint(3, null, 12) as IntTensor, XVal: rng.randn(6, 4), yVal: rng.randint(3, null, 6) as IntTensor };
  const model = new FullyConnectedNet({ hiddenDims: [5], inputDim: 4, numClasses: 3, dtype: 'float64', rng: new RandomState(1) });
  return { data, model };
}

describe('Solver data validation at construction', () => {
  test('an all-NaN XVal is an error, not a validation accuracy', () => {
    const { data, model } = toy();
    const XVal = zeros([6, 4]);
    XVal.data.fill(Number.NaN);
    expect(() => new Solver(model, { ...data, XVal }, quiet)).toThrow(/data\.XVal: expected finite values, got NaN in row 0/);
  });

  test('labels outside the model\'s classes are errors naming the array and entry', () => {
    const { data, model } = toy();
    expect(() => new Solver(model, { ...data, yVal: intArray([0, 1, 5, 0, 1, 2]) }, quiet)).toThrow(/data\.yVal\[2\]: expected an integer in \[0, 3\), got 5/);
    expect(() => new Solver(model, { ...data, yVal: intArray([0, -1, 0, 0, 1, 2]) }, quiet)).toThrow(/data\.yVal\[1\]: expected an integer in \[0, 3\), got -1/);
    expect(() => new Solver(model, { ...data, yTrain: intArray([...new Array(11).fill(0), 3]) }, quiet)).toThrow(/data\.yTrain\[11\]: expected an integer in \[0, 3\), got 3/);
  });

  test('examples the model cannot take, and validation rows shaped unlike training rows', () => {
    const { data, model } = toy();
    const rng = new RandomState(2);
    expect(() => new Solver(model, { ...data, XVal: rng.randn(6, 5) }, quiet)).toThrow(/data\.XVal: expected examples of shape \(4,\) like data\.XTrain, got \(5,\)/);
    expect(() => new Solver(model, { ...data, XTrain: rng.randn(12, 5), XVal: rng.randn(6, 5) }, quiet)).toThrow(/data\.XTrain: the model cannot score examples of shape \(5,\)/);
  });

  test('a divergence caused by data changed after construction blames the data, not the learning rate', () => {
    const { data, model } = toy();
    const XTrain = copy(data.XTrain);
    const s = new Solver(model, { ...data, XTrain }, { ...quiet, batchSize: 12, numEpochs: 1, seed: 0 });
    XTrain.data.fill(Number.NaN);
    let err: Error | undefined;
    try {
      s.train();
    } catch (e) {
      err = e as Error;
    }
    expect(err).toBeInstanceOf(TrainingDivergedError);
    expect(err?.message).toMatch(/The data is not finite: data\.XTrain row \d+ holds a NaN or infinite value/);
    expect(err?.message).not.toMatch(/learning rate/);
  });
});

describe('checkpoints whose checksum matches but whose content is wrong', () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'nonfinite-ckpt-'));
  afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

  /** A valid checkpoint after one epoch, rewritten (with a fresh, matching checksum) by `edit`. */
  function tampered(name: string, edit: (meta: Record<string, unknown>, arrays: Record<string, any>) => void): string {
    const { data, model } = toy();
    const s = new Solver(model, data, { ...quiet, batchSize: 6, numEpochs: 1, seed: 0, checkpointName: path.join(dir, name) });
    s.train();
    const file = s.checkpointFile(1);
    const { meta, arrays } = decodeArrayFile(fs.readFileSync(file), file);
    edit(meta as Record<string, unknown>, arrays);
    fs.writeFileSync(file, encodeArrayFile(meta, arrays));
    return file;
  }

  /** Restoring `file` throws `pattern` and leaves a fresh solver's model and counters untouched. */
  function expectRejected(file: string, pattern: RegExp): void {
    const { data, model } = toy();
    const s = new Solver(model, data, { ...quiet, seed: 0 });
    const before = Object.fromEntries(Object.entries(model.params).map(([k, v]) => [k, Array.from(v.data)]));
    expect(() => s.restore(file)).toThrow(pattern);
    expect(s.epoch).toBe(0);
    expect(s.iteration).toBe(0);
    for (const [k, v] of Object.entries(model.params)) expect(Array.from(v.data)).toEqual(before[k]);
  }

  test('a non-numeric epoch and a negative iteration', () => {
    expectRejected(tampered('epoch', (m) => (m.epoch = 'abc')), /meta\.epoch: expected an integer >= 0, got "abc"/);
    expectRejected(tampered('iter', (m) => (m.iteration = -7)), /meta\.iteration: expected an integer >= 0, got -7/);
    expectRejected(tampered('acc', (m) => (m.bestValAcc = 7)), /meta\.bestValAcc: expected an accuracy in \[0, 1\], got 7/);
  });

  test('best parameters or optimizer state of the wrong shape', () => {
    expectRejected(tampered('best', (_m, a) => (a['best/0'] = zeros([2, 2]))), /checkpoint best parameter W1 has shape \(2, 2\), the model's has \(4, 5\)/);
    expectRejected(tampered('nanparam', (_m, a) => (a['params/1'].data[0] = Number.NaN)), /checkpoint parameter b1: expected finite values, got NaN/);
  });
});

describe('weak spots in argument checks', () => {
  test('NaN and Infinity options are shown as themselves, not as null', () => {
    const { data, model } = toy();
    expect(() => new Solver(model, data, { ...quiet, lrDecay: Number.NaN })).toThrow(/lrDecay: expected a positive finite number, got NaN/);
    expect(() => new Solver(model, data, { ...quiet, batchSize: Infinity })).toThrow(/batchSize: expected a positive integer, got Infinity/);
    const w = array([[1, 2]]);
    expect(() => sgd(w, w, { learningRate: Number.NaN })).toThrow(/config\.learningRate: expected a finite number, got NaN/);
    expect(() => new LinearSVM().train(array([[1, 2]]), intArray([0]), { reg: Infinity })).toThrow(/reg: expected a finite number >= 0, got Infinity/);
  });

  test('negative reg and negative learning rates are rejected', () => {
    const W = array([[0.1, 0.2], [0.3, 0.4]]);
    const X = array([[1, 2]]);
    expect(() => svmLossVectorized(W, X, intArray([1]), -1)).toThrow(/reg: expected a finite number >= 0, got -1/);
    expect(() => svmLossVectorized(W, X, intArray([1]), -1, { backend: createBackend({ mode: 'ts' }) })).toThrow(/reg: expected a finite number >= 0, got -1/);
    expect(() => new LinearSVM().train(X, intArray([1]), { learningRate: -1e-3 })).toThrow(/learningRate: expected a finite number >= 0, got -0\.001/);
    expect(() => sgd(W, W, { learningRate: -1 })).toThrow(/config\.learningRate: expected a finite number >= 0, got -1/);
    const { data, model } = toy();
    expect(() => new Solver(model, data, { ...quiet, optimConfig: { learningRate: -1e-2 } })).toThrow(/optimConfig\.learningRate: expected a finite number >= 0, got -0\.01/);
  });

  test('an all-zero Mersenne Twister key is rejected by setState', () => {
    const rng = new RandomState(0);
    const state = rng.getState();
    expect(() => rng.setState({ ...state, key: new Uint32Array(624) })).toThrow(/state\.key: expected a valid MT19937 state, got one whose words are all zero/);
    // The generator is unchanged and still numpy's.
    expect(rng.randint(1000)).toBe(new RandomState(0).randint(1000));
  });

  test('a huge allocation names the shape and the bytes', () => {
    expect(() => zeros([1e6, 1e6])).toThrow(/shape: cannot allocate \(1000000, 1000000\) float64 \(1000000000000 elements, 7\.28 TiB\)/);
  });

  test('a plain JS array passed as an ndarray is described, not "undefined"', () => {
    expect(() => reluForward([[1, -1]] as never)).toThrow(/x: expected .*got a plain Array of length 1/);
  });
});
