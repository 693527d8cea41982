/*
 * Argument checks shared by every backend: each public method validates here, so the pure-TS
 * and gpu.js paths reject the same inputs with the same messages.
 */
import type { NdArray } from 'ndarray';
import { assertArg, assertFiniteRows, assertLabels, assertNdim, assertShape, floatDtype, ShapeError, shapeStr } from '../core/check';
import type { DType } from '../core/dtype';
import type { NumStore, Tensor } from '../core/tensor';
import type { MatView } from './matView';

/** A 2-d float ndarray as a strided view (no copy). */
export function viewOf(a: Tensor): MatView {
  return { data: a.data, offset: a.offset, rows: a.shape[0], cols: a.shape[1], rs: a.stride[0], cs: a.stride[1] };
}

/** float64 wins, as in numpy. */
export function commonDtype(a: DType, b: DType): DType {
  return a === 'float64' || b === 'float64' ? 'float64' : 'float32';
}

/** Options of a matrix product. */
export interface MatmulOpts {
  /** Use Aᵀ. */
  transA?: boolean;
  /** Use Bᵀ. */
  transB?: boolean;
}

/** Checked matmul operands: op(A) (m, k), op(B) (k, n), result dtype = A's. */
export function checkMatmul(A: Tensor, B: Tensor, opts: MatmulOpts): { a: MatView; b: MatView; m: number; n: number; k: number; dtype: DType } {
  assertNdim('A', A, 2);
  assertNdim('B', B, 2);
  const dtype = floatDtype('A', A);
  floatDtype('B', B);
  let a = viewOf(A);
  let b = viewOf(B);
  if (opts.transA) a = { ...a, rows: a.cols, cols: a.rows, rs: a.cs, cs: a.rs };
  if (opts.transB) b = { ...b, rows: b.cols, cols: b.rows, rs: b.cs, cs: b.rs };
  if (a.cols !== b.rows) {
    const nameA = opts.transA ? 'Aᵀ' : 'A';
    const nameB = opts.transB ? 'Bᵀ' : 'B';
    throw new ShapeError(`B: expected ${nameB} to have ${a.cols} rows to match ${nameA} ${shapeStr([a.rows, a.cols])}, got ${nameB} ${shapeStr([b.rows, b.cols])}`);
  }
  return { a, b, m: a.rows, n: b.cols, k: a.cols, dtype };
}

/** Checked distance operands (test (M, D), train (N, D), all finite); result dtype is their common one. */
export function checkDistances(test: Tensor, train: Tensor): { dtype: DType; M: number; N: number; D: number } {
  const dt = floatDtype('test', test);
  const dr = floatDtype('train', train);
  const { N: M, D } = assertShape('test', test, ['N', 'D']);
  const { N } = assertShape('train', train, ['N', D]);
  // ‖a‖² + ‖b‖² − 2a·b turns a non-finite row into distances that clamp to 0 (a "nearest" neighbour).
  assertFiniteRows('test', test);
  assertFiniteRows('train', train);
  return { dtype: commonDtype(dt, dr), M, N, D };
}

/** Labels of any integer-valued numeric store as Int32Array, each in [0, limit). */
export function labelsOf(name: string, y: NdArray<NumStore>, n: number, limit?: number): Int32Array {
  if (!y || !Array.isArray(y.shape)) throw new TypeError(`${name}: expected a 1-d integer label ndarray, got ${typeof y}`);
  assertShape(name, y, [n]);
  assertLabels(name, y, limit);
  const out = new Int32Array(n);
  for (let i = 0; i < n; i++) out[i] = Number(y.get(i));
  return out;
}

/** Checked linear-loss operands: W (D, C), X (N, D) with N ≥ 1, y (N,) in [0, C), reg finite and >= 0. */
export function checkLoss(W: Tensor, X: Tensor, y: NdArray<NumStore>, reg: number): { N: number; D: number; C: number; labels: Int32Array; dtype: DType } {
  const dtype = floatDtype('W', W);
  floatDtype('X', X);
  const { D, C } = assertShape('W', W, ['D', 'C']);
  const { N } = assertShape('X', X, ['N', 'D'], { D, C });
  if (N === 0) throw new ShapeError(`X: expected at least one example, got shape ${shapeStr(X.shape)}`);
  if (C === 0) throw new ShapeError(`W: expected at least one class column, got shape ${shapeStr(W.shape)}`);
  const labels = labelsOf('y', y, N, C);
  assertArg(typeof reg === 'number' && Number.isFinite(reg) && reg >= 0, 'reg', 'a finite number >= 0', reg);
  return { N, D, C, labels, dtype };
}

/** Checked vote operands: dists (M, N) without NaN, yTrain (N,), 1 ≤ k ≤ N. */
export function checkVote(dists: Tensor, yTrain: NdArray<NumStore>, k: number, numClasses?: number): { M: number; N: number; labels: Int32Array; classes: number } {
  floatDtype('dists', dists);
  const { M, N } = assertShape('dists', dists, ['M', 'N']);
  const labels = labelsOf('yTrain', yTrain, N, numClasses);
  assertArg(Number.isInteger(k) && k >= 1 && k <= N, 'k', `an integer in [1, ${N}]`, k);
  let classes = numClasses ?? 0;
  if (numClasses === undefined) for (let i = 0; i < N; i++) classes = Math.max(classes, labels[i] + 1);
  assertArg(Number.isInteger(classes) && classes >= 1, 'numClasses', 'a positive integer', classes);
  const v = viewOf(dists);
  for (let i = 0; i < M; i++) {
    for (let j = 0; j < N; j++) {
      const d = v.data[v.offset + i * v.rs + j * v.cs];
      if (d !== d) throw new RangeError(`dists[${i}, ${j}]: expected a distance, got NaN`);
    }
  }
  return { M, N, labels, classes };
}
