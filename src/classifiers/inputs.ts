import type { Backend } from '../gpu';
import type { NdArray } from 'ndarray';
import { assertArg, assertNdim, assertShape, floatDtype, ShapeError, shapeStr } from '../core/check';
import type { DType } from '../core/dtype';
import { astype, isContiguous, toFloat, type NumStore, type Tensor } from '../core/tensor';

/*
 * Argument checks and conversions shared by the classifiers. They produce the plain typed
 * arrays the hot loops want (labels as Int32Array, matrices as dense float stores), so each
 * classifier validates once at its public entry and then works on raw memory.
 */

/** The result of every linear loss: the scalar loss and its gradient in W's shape and dtype. */
/** Options of the vectorized losses. */
export interface VectorizedLossOptions {
  /**
   * Where to compute (see `createBackend`): a gpu.js backend computes in float32 and agrees
   * with the default pure-TS path to float32 tolerance. Gradient checks use the TS path.
   */
  backend?: Backend;
}

export interface LossResult {
  /** Data loss averaged over the examples plus `reg·ΣW²`. */
  loss: number;
  /** ∂loss/∂W, same shape and dtype as W. */
  dW: Tensor;
}

function isNdarray(a: unknown): a is NdArray<NumStore> {
  return typeof a === 'object' && a !== null && Array.isArray((a as { shape?: unknown }).shape) && 'data' in a;
}

/**
 * Reads a 1-d label array into an Int32Array. Labels must be non-negative integers, below
 * `numClasses` when given, and `n` long when given. Any numeric store is accepted (Int32 is
 * the norm; integer-valued floats work too) because labels often come straight from a loader.
 */
export function labelArray(name: string, y: NdArray<NumStore>, n?: number, numClasses?: number): Int32Array {
  if (!isNdarray(y)) throw new TypeError(`${name}: expected a 1-d integer label ndarray, got ${describe(y)}`);
  assertNdim(name, y, 1);
  if (n !== undefined) assertShape(name, y, ['N'], { N: n });
  const len = y.shape[0];
  const out = new Int32Array(len);
  const dense = isContiguous(y as NdArray<any>);
  const d = y.data as ArrayLike<number>;
  for (let i = 0; i < len; i++) {
    const v = dense ? d[i] : Number(y.get(i));
    if (!Number.isInteger(v) || v < 0 || (numClasses !== undefined && v >= numClasses)) {
      const range = numClasses === undefined ? 'a non-negative integer' : `an integer in [0, ${numClasses})`;
      throw new RangeError(`${name}[${i}]: expected ${range}, got ${v}`);
    }
    out[i] = v;
  }
  return out;
}

/** Largest label + 1 (0 for no labels): cs231n's `num_classes = np.max(y) + 1`. */
export function numClassesOf(labels: Int32Array): number {
  let m = -1;
  for (let i = 0; i < labels.length; i++) if (labels[i] > m) m = labels[i];
  return m + 1;
}

/**
 * A 2-d input as a float tensor: float stores pass through untouched, integer stores (uint8
 * images, say) become Float64 — the notebooks' `astype(np.float64)` — so pixel differences
 * cannot wrap around.
 */
export function floatMatrix(name: string, X: NdArray<NumStore>): Tensor {
  if (!isNdarray(X)) throw new TypeError(`${name}: expected a 2-d ndarray, got ${describe(X)}`);
  assertNdim(name, X, 2);
  if (X.data instanceof Float64Array || X.data instanceof Float32Array) return X as Tensor;
  return toFloat(X, 'float64');
}

/** numpy's promotion of two float dtypes: float64 wins. */
export function commonDtype(a: DType, b: DType): DType {
  return a === 'float64' || b === 'float64' ? 'float64' : 'float32';
}

/** Checks that `x` is a finite number. */
export function assertFinite(name: string, x: unknown): asserts x is number {
  assertArg(typeof x === 'number' && Number.isFinite(x), name, 'a finite number', x);
}

/**
 * Checks that `x` is a finite number >= 0: a regularization strength or learning rate below 0
 * climbs the loss instead of descending it, which trains "successfully" into nonsense.
 */
export function assertNonNegative(name: string, x: unknown): asserts x is number {
  assertArg(typeof x === 'number' && Number.isFinite(x) && x >= 0, name, 'a finite number >= 0', x);
}

/** Checks that `x` is an integer in [lo, hi] (hi optional). */
export function assertInt(name: string, x: unknown, lo: number, hi?: number): asserts x is number {
  const ok = typeof x === 'number' && Number.isInteger(x) && x >= lo && (hi === undefined || x <= hi);
  const range = hi === undefined ? `an integer >= ${lo}` : `an integer in [${lo}, ${hi}]`;
  assertArg(ok, name, range, x);
}

/** Shapes and converted inputs of a linear loss `(W, X, y, reg)`. */
export interface LossArgs {
  /** X in W's dtype (a view of the caller's X when the dtypes already match). */
  X: Tensor;
  labels: Int32Array;
  N: number;
  D: number;
  C: number;
  dtype: DType;
}

/**
 * Validates `(W, X, y, reg)` of the linear losses: W (D, C) float, X (N, D) float with N ≥ 1,
 * y (N,) labels in [0, C), reg finite and >= 0. X is converted to W's dtype because the gradient is
 * returned in W's dtype and both products should run in it.
 */
export function checkLossArgs(W: Tensor, X: Tensor, y: NdArray<NumStore>, reg: number): LossArgs {
  const dtype = floatDtype('W', W);
  floatDtype('X', X);
  const { D, C } = assertShape('W', W, ['D', 'C']);
  const { N } = assertShape('X', X, ['N', 'D'], { D });
  if (N === 0) throw new ShapeError(`X: expected at least one example, got shape ${shapeStr(X.shape)}`);
  if (C === 0) throw new ShapeError(`W: expected at least one class column, got shape ${shapeStr(W.shape)}`);
  const labels = labelArray('y', y, N, C);
  assertNonNegative('reg', reg);
  return { X: astype(X, dtype), labels, N, D, C, dtype };
}

function describe(a: unknown): string {
  if (a === null || a === undefined) return String(a);
  if (Array.isArray(a)) return `a plain Array of length ${a.length}`;
  if (ArrayBuffer.isView(a)) return `a bare ${(a as object).constructor.name} (wrap it with fromData)`;
  return typeof a === 'object' ? ((a as object).constructor?.name ?? 'object') : typeof a;
}
