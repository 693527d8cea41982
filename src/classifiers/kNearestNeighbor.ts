import type { Backend } from '../gpu';
import ndarray, { type NdArray } from 'ndarray';
import { assertArg, assertFiniteRows, assertShape, floatDtype, ShapeError, shapeStr, showValue } from '../core/check';
import type { DType, FloatArray } from '../core/dtype';
import { matmul } from '../core/matmul';
import { ascontiguous, astype, concatRows, dtypeOf, isContiguous, zeros, type IntTensor, type NumStore, type Tensor } from '../core/tensor';
import { nearestNeighbors, voteLabels } from '../core/nearest';
import { assertInt, commonDtype, floatMatrix, labelArray, numClassesOf } from './inputs';

/*
 * k-nearest-neighbour classifier (cs231n assignment 1, knn.ipynb). Distances are Euclidean
 * (L2, with the square root, as cs231n's). Inputs may be Float64 or Float32 tensors, or any
 * integer ndarray such as flattened uint8 images, which is converted to Float64 first. When
 * training and test data differ in dtype the distances are computed in the wider one (numpy's
 * promotion); the returned distance matrix has that dtype.
 */

/** Options of {@link KNearestNeighbor.predict}. */
export interface KnnPredictOptions {
  /** Number of neighbours that vote. Default 1. */
  k?: number;
  /** Distance routine: 0 = no loops (matmul), 1 = one loop, 2 = two loops. Default 0. */
  numLoops?: number;
}

/** Options of {@link KNearestNeighbor.computeDistancesNoLoops}. */
export interface NoLoopsOptions {
  /** Dense (numTest, numTrain) destination in the distance dtype; allocated when absent. */
  out?: Tensor;
  /** Compute on this backend (see `createBackend`) instead of the pure-TS path; float32 there. */
  backend?: Backend;
}

/** A k-nearest-neighbour classifier with an L2 distance. */
export class KNearestNeighbor {
  private Xtrain: Tensor | null = null;
  private yTrain: Int32Array | null = null;
  private numClasses = 0;
  /** Row squared norms of the training data, per dtype, for the no-loop distances. */
  private trainNorms: Partial<Record<DType, Float64Array>> = {};
  /** Training data converted to the other dtype, when a query of that dtype needed it. */
  private trainAs: Partial<Record<DType, Tensor>> = {};

  /**
   * Memorises the training data (N, D) and labels (N,). Like cs231n it keeps a reference, not a
   * copy, when X is already a dense float array: do not modify it while the classifier is used.
   * A NaN or infinite value is an error naming its row.
   */
  train(X: NdArray<NumStore>, y: NdArray<NumStore>): void {
    const Xf = floatMatrix('X', X);
    const { N } = assertShape('X', Xf, ['N', 'D']);
    if (N === 0) throw new ShapeError(`X: expected at least one training example, got shape ${shapeStr(Xf.shape)}`);
    const labels = labelArray('y', y, N);
    assertFiniteRows('X', Xf);
    this.Xtrain = ascontiguous(Xf);
    this.yTrain = labels;
    this.numClasses = numClassesOf(labels);
    this.trainNorms = {};
    this.trainAs = {};
  }

  /** Number of memorised training examples (0 before {@link train}). */
  get numTrain(): number {
    return this.Xtrain ? this.Xtrain.shape[0] : 0;
  }

  /** The memorised training labels (a copy), for inspection. */
  get trainLabels(): IntTensor {
    return ndarray(Int32Array.from(this.trained().labels), [this.numTrain]);
  }

  /**
   * Predicts labels for test data X (N, D): distances with the routine `numLoops` picks, then
   * {@link predictLabels}. Any numLoops other than 0, 1, 2 is an error, as in cs231n.
   */
  predict(X: NdArray<NumStore>, opts: KnnPredictOptions = {}): IntTensor {
    const { k = 1, numLoops = 0 } = opts;
    let dists: Tensor;
    if (numLoops === 0) dists = this.computeDistancesNoLoops(X);
    else if (numLoops === 1) dists = this.computeDistancesOneLoop(X);
    else if (numLoops === 2) dists = this.computeDistancesTwoLoops(X);
    else throw new RangeError(`numLoops: expected 0, 1 or 2, got ${showValue(numLoops)}`);
    return this.predictLabels(dists, k);
  }

  /**
   * Distances (numTest, numTrain), looping over test and training points; each pair's squared
   * differences are summed over the features in one pass.
   */
  computeDistancesTwoLoops(X: NdArray<NumStore>): Tensor {
    const q = this.prepare(X);
    const { nte, ntr, D } = q;
    const a = q.test.data;
    const b = q.train.data;
    const out = zeros([nte, ntr], q.dtype);
    const o = out.data;
    for (let i = 0; i < nte; i++) {
      for (let j = 0; j < ntr; j++) {
        o[i * ntr + j] = Math.sqrt(pairSquaredDistance(a, i * D, b, j * D, D));
      }
    }
    return out;
  }

  /**
   * Distances (numTest, numTrain), looping over test points only: each row of the result is
   * produced by one sweep over the whole training matrix, which reuses the test point across
   * four training rows at a time.
   */
  computeDistancesOneLoop(X: NdArray<NumStore>): Tensor {
    const q = this.prepare(X);
    const { nte, ntr, D } = q;
    const out = zeros([nte, ntr], q.dtype);
    for (let i = 0; i < nte; i++) {
      squaredDistanceRow(q.test.data, i * D, q.train.data, ntr, D, out.data, i * ntr);
    }
    const o = out.data;
    for (let t = 0; t < o.length; t++) o[t] = Math.sqrt(o[t]);
    return out;
  }

  /**
   * Distances (numTest, numTrain) with no explicit loop over points:
   * ‖a‖² + ‖b‖² − 2·a·b, the cross term from the core matmul (X · Xtrainᵀ). Round-off can make
   * the squared distance of (near-)identical points slightly negative; it is clamped to 0 before
   * the square root. The formula loses accuracy when points lie far from the origin compared
   * with their spread (cancellation), exactly as the numpy version does.
   */
  computeDistancesNoLoops(X: NdArray<NumStore>, opts: NoLoopsOptions = {}): Tensor {
    const q = this.prepare(X);
    const { nte, ntr, D } = q;
    let out = opts.out;
    if (out !== undefined) {
      const okShape = out.shape.length === 2 && out.shape[0] === nte && out.shape[1] === ntr;
      if (!okShape || !isContiguous(out)) {
        throw new ShapeError(`out: expected a dense array of shape ${shapeStr([nte, ntr])}, got ${shapeStr(out.shape)}${isContiguous(out) ? '' : ' (strided view)'}`);
      }
      const od = floatDtype('out', out);
      if (od !== q.dtype) throw new TypeError(`out: expected dtype ${q.dtype}, got ${od}`);
    }
    if (opts.backend) {
      const d = opts.backend.distances(q.test, q.train);
      if (!out) return d;
      out.data.set(d.data);
      return out;
    }
    out = matmul(q.test, q.train, { transB: true, out });
    const testNorms = rowSquaredNorms(q.test.data, nte, D);
    const trainNorms = this.trainNormsFor(q.dtype, q.train);
    const o = out.data;
    for (let i = 0; i < nte; i++) {
      const ti = testNorms[i];
      const base = i * ntr;
      for (let j = 0; j < ntr; j++) {
        const s = ti + trainNorms[j] - 2 * o[base + j];
        o[base + j] = s > 0 ? Math.sqrt(s) : 0;
      }
    }
    return out;
  }

  /**
   * Labels (numTest,) from a distance matrix (numTest, numTrain): the k nearest training points
   * vote. Equal distances are ordered by training index (a stable sort) and vote ties go to the
   * smaller label, as cs231n asks. Returns Int32 labels (cs231n's starter returns floats).
   */
  predictLabels(dists: Tensor, k = 1): IntTensor {
    const { labels, numTrain } = this.trained();
    floatDtype('dists', dists);
    const { N } = assertShape('dists', dists, ['N', numTrain]);
    checkK('k', k, numTrain);
    const nearest = nearestNeighbors(dists, k);
    const pred = voteLabels(nearest, N, k, k, labels, this.numClasses);
    return ndarray(pred, [N]);
  }

  private trained(): { X: Tensor; labels: Int32Array; numTrain: number } {
    if (!this.Xtrain || !this.yTrain) {
      throw new Error('KNearestNeighbor: call train(X, y) before computing distances or predicting');
    }
    return { X: this.Xtrain, labels: this.yTrain, numTrain: this.Xtrain.shape[0] };
  }

  /** Checks a test batch and brings it and the training data to one dense float dtype. */
  private prepare(X: NdArray<NumStore>): { test: Tensor; train: Tensor; dtype: DType; nte: number; ntr: number; D: number } {
    const { X: Xtr, numTrain } = this.trained();
    const Xf = floatMatrix('X', X);
    const D = Xtr.shape[1];
    const { N } = assertShape('X', Xf, ['N', D]);
    if (N === 0) throw new ShapeError(`X: expected at least one test example, got shape ${shapeStr(Xf.shape)}`);
    // Checked once here for every routine: the no-loop formula would clamp a NaN distance to 0.
    assertFiniteRows('X', Xf);
    const dtype = commonDtype(dtypeOf(Xf), dtypeOf(Xtr));
    const test = ascontiguous(astype(Xf, dtype));
    return { test, train: this.trainIn(dtype), dtype, nte: N, ntr: numTrain, D };
  }

  private trainIn(dtype: DType): Tensor {
    const Xtr = this.Xtrain as Tensor;
    if (dtypeOf(Xtr) === dtype) return Xtr;
    return (this.trainAs[dtype] ??= astype(Xtr, dtype));
  }

  private trainNormsFor(dtype: DType, train: Tensor): Float64Array {
    return (this.trainNorms[dtype] ??= rowSquaredNorms(train.data, train.shape[0], train.shape[1]));
  }
}

function checkK(name: string, k: unknown, numTrain: number): asserts k is number {
  assertInt(name, k, 1, numTrain);
}

/** Σ_d (a[ao+d] − b[bo+d])², accumulated in float64. */
function pairSquaredDistance(a: FloatArray, ao: number, b: FloatArray, bo: number, D: number): number {
  let s = 0;
  for (let d = 0; d < D; d++) {
    const t = a[ao + d] - b[bo + d];
    s += t * t;
  }
  return s;
}

/** Squared distances of one test point to every training row, into out[oo .. oo+ntr). */
function squaredDistanceRow(a: FloatArray, ao: number, b: FloatArray, ntr: number, D: number, out: FloatArray, oo: number): void {
  let j = 0;
  for (; j + 4 <= ntr; j += 4) {
    const b0 = j * D;
    const b1 = b0 + D;
    const b2 = b1 + D;
    const b3 = b2 + D;
    let s0 = 0;
    let s1 = 0;
    let s2 = 0;
    let s3 = 0;
    for (let d = 0; d < D; d++) {
      const v = a[ao + d];
      const t0 = v - b[b0 + d];
      const t1 = v - b[b1 + d];
      const t2 = v - b[b2 + d];
      const t3 = v - b[b3 + d];
      s0 += t0 * t0;
      s1 += t1 * t1;
      s2 += t2 * t2;
      s3 += t3 * t3;
    }
    out[oo + j] = s0;
    out[oo + j + 1] = s1;
    out[oo + j + 2] = s2;
    out[oo + j + 3] = s3;
  }
  for (; j < ntr; j++) out[oo + j] = pairSquaredDistance(a, ao, b, j * D, D);
}

function rowSquaredNorms(x: FloatArray, n: number, D: number): Float64Array {
  const out = new Float64Array(n);
  for (let i = 0; i < n; i++) {
    let s = 0;
    const base = i * D;
    for (let d = 0; d < D; d++) {
      const v = x[base + d];
      s += v * v;
    }
    out[i] = s;
  }
  return out;
}

/**
 * Splits `0..n-1` (given a number) or the first axis of an array into `numFolds` consecutive
 * parts with numpy's `array_split` sizes: the first `n % numFolds` parts get one extra element.
 * Parts of an ndarray are views; parts of a number are Int32 index arrays. More folds than
 * elements gives empty trailing parts, as numpy does.
 */
export function kFoldSplit(n: number, numFolds: number): IntTensor[];
export function kFoldSplit<T extends NumStore>(a: NdArray<T>, numFolds: number): NdArray<T>[];
export function kFoldSplit<T>(a: readonly T[], numFolds: number): T[][];
export function kFoldSplit(a: number | NdArray<NumStore> | readonly unknown[], numFolds: number): unknown[] {
  assertInt('numFolds', numFolds, 1);
  const bounds = (n: number): number[] => {
    const base = Math.floor(n / numFolds);
    const extra = n % numFolds;
    const b = [0];
    for (let f = 0; f < numFolds; f++) b.push(b[f] + base + (f < extra ? 1 : 0));
    return b;
  };
  if (typeof a === 'number') {
    assertInt('n', a, 0);
    const b = bounds(a);
    return b.slice(1).map((end, f) => {
      const idx = new Int32Array(end - b[f]);
      for (let t = 0; t < idx.length; t++) idx[t] = b[f] + t;
      return ndarray(idx, [idx.length]);
    });
  }
  if (Array.isArray(a)) {
    const b = bounds(a.length);
    return b.slice(1).map((end, f) => a.slice(b[f], end));
  }
  const nd = a as NdArray<NumStore>;
  assertArg(nd !== null && typeof nd === 'object' && Array.isArray(nd.shape) && nd.shape.length >= 1, 'a', 'a number, a plain array or an ndarray with at least one axis', typeof a);
  const b = bounds(nd.shape[0]);
  return b.slice(1).map((end, f) => nd.lo(b[f]).hi(end - b[f]));
}

/** Options of {@link crossValidateK}. */
export interface CrossValidateOptions {
  /** The k values to try (each ≥ 1 and ≤ the training size of every fold). */
  kChoices: number[];
  /** Number of folds. Default 5, as the notebook. */
  numFolds?: number;
  /** Called after each fold with (foldsDone, numFolds), e.g. to tick a progress bar. */
  onProgress?: (done: number, total: number) => void;
}

/**
 * The notebook's k-fold cross-validation for kNN: X and y are split with {@link kFoldSplit};
 * for each fold the others (concatenated in order) train a classifier that predicts the fold.
 * The no-loop distance matrix is computed once per fold and the neighbour order once per fold
 * (up to the largest k), then reused for every k. Returns the per-fold accuracies for each k,
 * keyed by k like the notebook's `k_to_accuracies`.
 */
export function crossValidateK(X: NdArray<NumStore>, y: NdArray<NumStore>, opts: CrossValidateOptions): Record<number, number[]> {
  const { kChoices, numFolds = 5, onProgress } = opts;
  const Xf = floatMatrix('X', X);
  const { N } = assertShape('X', Xf, ['N', 'D']);
  const labels = labelArray('y', y, N);
  if (N < 2) throw new ShapeError(`X: expected at least 2 examples to cross-validate, got shape ${shapeStr(Xf.shape)}`);
  assertInt('numFolds', numFolds, 2, N);
  assertArg(Array.isArray(kChoices) && kChoices.length > 0, 'kChoices', 'a non-empty array of integers', kChoices);
  const minTrain = N - Math.ceil(N / numFolds);
  kChoices.forEach((k, i) => checkK(`kChoices[${i}]`, k, minTrain));
  const kMax = Math.max(...kChoices);
  const xFolds = kFoldSplit(Xf, numFolds);
  const yFolds = kFoldSplit(Array.from(labels), numFolds);
  const result: Record<number, number[]> = {};
  for (const k of kChoices) result[k] = [];
  const knn = new KNearestNeighbor();
  for (let f = 0; f < numFolds; f++) {
    const trainParts = xFolds.filter((_, g) => g !== f);
    const trainLabels = yFolds.filter((_, g) => g !== f).flat();
    knn.train(concatRows(trainParts), ndarray(Int32Array.from(trainLabels), [trainLabels.length]));
    const dists = knn.computeDistancesNoLoops(xFolds[f]);
    const nVal = dists.shape[0];
    const nearest = nearestNeighbors(dists, kMax);
    const trueVal = yFolds[f];
    const trainY = Int32Array.from(trainLabels);
    const numClasses = numClassesOf(trainY);
    for (const k of kChoices) {
      const pred = voteLabels(nearest, nVal, kMax, k, trainY, numClasses);
      let correct = 0;
      for (let i = 0; i < nVal; i++) if (pred[i] === trueVal[i]) correct++;
      result[k].push(correct / nVal);
    }
    onProgress?.(f + 1, numFolds);
  }
  return result;
}
