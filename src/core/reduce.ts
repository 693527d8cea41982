import ndarray from 'ndarray';
import { allocFloat } from './dtype';
import { floatDtype } from './check';
import { ascontiguous, dtypeOf, sizeOf, type IntTensor, type Tensor } from './tensor';

/*
 * Reductions along one axis. Every reduction views the dense array as (outer, n, inner) around
 * the reduced axis, so one loop nest serves every rank and axis; the innermost loop runs over
 * contiguous memory, which is what makes the axis-0 sums of (N, D) arrays (biases, BN) fast.
 */

function normAxis(a: Tensor, axis: number): number {
  const nd = a.shape.length;
  const ax = axis < 0 ? axis + nd : axis;
  if (!Number.isInteger(ax) || ax < 0 || ax >= nd) {
    throw new RangeError(`axis: expected an integer in [${-nd}, ${nd - 1}], got ${axis}`);
  }
  return ax;
}

function split(a: Tensor, ax: number): { outer: number; n: number; inner: number; outShape: number[] } {
  const outer = sizeOf(a.shape.slice(0, ax));
  const inner = sizeOf(a.shape.slice(ax + 1));
  const outShape = a.shape.filter((_, i) => i !== ax);
  return { outer, n: a.shape[ax], inner, outShape };
}

type Combine = (acc: Float64Array, src: ArrayLike<number>, base: number, inner: number, first: boolean) => void;

function reduceAxis(name: string, a: Tensor, axis: number, combine: Combine, post?: (v: number, n: number) => number, keepdims = false): Tensor {
  floatDtype('a', a);
  const ax = normAxis(a, axis);
  const { outer, n, inner, outShape } = split(a, ax);
  if (n === 0 && name !== 'sum') throw new RangeError(`a: cannot take ${name} over axis ${ax} of length 0`);
  const src = ascontiguous(a).data;
  const out = allocFloat(dtypeOf(a), outer * inner);
  const acc = new Float64Array(inner);
  for (let o = 0; o < outer; o++) {
    acc.fill(0);
    for (let j = 0; j < n; j++) combine(acc, src, (o * n + j) * inner, inner, j === 0);
    for (let i = 0; i < inner; i++) out[o * inner + i] = post ? post(acc[i], n) : acc[i];
  }
  const shape = keepdims ? a.shape.map((d, i) => (i === ax ? 1 : d)) : outShape;
  return ndarray(out, shape);
}

const addInto: Combine = (acc, src, base, inner) => {
  for (let i = 0; i < inner; i++) acc[i] += src[base + i];
};
const maxInto: Combine = (acc, src, base, inner, first) => {
  if (first) for (let i = 0; i < inner; i++) acc[i] = src[base + i];
  else for (let i = 0; i < inner; i++) if (src[base + i] > acc[i] || src[base + i] !== src[base + i]) acc[i] = src[base + i];
};
const minInto: Combine = (acc, src, base, inner, first) => {
  if (first) for (let i = 0; i < inner; i++) acc[i] = src[base + i];
  else for (let i = 0; i < inner; i++) if (src[base + i] < acc[i] || src[base + i] !== src[base + i]) acc[i] = src[base + i];
};

/** Options shared by the axis reductions. */
export interface ReduceOptions {
  /** Keep the reduced axis with length 1 (numpy `keepdims`). */
  keepdims?: boolean;
}

/** Sum of all elements (accumulated in float64). */
export function sumAll(a: Tensor): number {
  floatDtype('a', a);
  const d = ascontiguous(a).data;
  let s = 0;
  for (let i = 0; i < d.length; i++) s += d[i];
  return s;
}

/** Sum along `axis`; with no axis, the sum of all elements as a number. */
export function sum(a: Tensor): number;
export function sum(a: Tensor, axis: number, opts?: ReduceOptions): Tensor;
export function sum(a: Tensor, axis?: number, opts: ReduceOptions = {}): number | Tensor {
  if (axis === undefined) return sumAll(a);
  return reduceAxis('sum', a, axis, addInto, undefined, opts.keepdims);
}

/** Mean along `axis`; with no axis, the mean of all elements. */
export function mean(a: Tensor): number;
export function mean(a: Tensor, axis: number, opts?: ReduceOptions): Tensor;
export function mean(a: Tensor, axis?: number, opts: ReduceOptions = {}): number | Tensor {
  if (axis === undefined) {
    const n = sizeOf(a.shape);
    if (n === 0) throw new RangeError('a: cannot take the mean of an empty array');
    return sumAll(a) / n;
  }
  return reduceAxis('mean', a, axis, addInto, (v, n) => v / n, opts.keepdims);
}

/**
 * Standard deviation along `axis` (numpy's `std`, biased: divides by n), two-pass: the mean
 * first, then the squared deviations, so large offsets do not cancel the spread away.
 */
export function std(a: Tensor, axis: number, opts: ReduceOptions = {}): Tensor {
  const m = mean(a, axis, { keepdims: true });
  const ax = normAxis(a, axis);
  const { outer, n, inner } = split(a, ax);
  const src = ascontiguous(a).data;
  const md = m.data;
  const sq = ndarray(new Float64Array(src.length), a.shape.slice());
  for (let o = 0; o < outer; o++) {
    for (let j = 0; j < n; j++) {
      const base = (o * n + j) * inner;
      for (let i = 0; i < inner; i++) {
        const d = src[base + i] - md[o * inner + i];
        sq.data[base + i] = d * d;
      }
    }
  }
  const v = reduceAxis('std', sq, ax, addInto, (s, k) => Math.sqrt(s / k), opts.keepdims);
  return dtypeOf(a) === 'float64' ? v : ndarray(Float32Array.from(v.data), v.shape);
}

/** Maximum along `axis` (NaN propagates); with no axis, the overall maximum. */
export function max(a: Tensor): number;
export function max(a: Tensor, axis: number, opts?: ReduceOptions): Tensor;
export function max(a: Tensor, axis?: number, opts: ReduceOptions = {}): number | Tensor {
  if (axis === undefined) {
    const d = ascontiguous(a).data;
    if (d.length === 0) throw new RangeError('a: cannot take the max of an empty array');
    let m = d[0];
    for (let i = 1; i < d.length; i++) if (d[i] > m || d[i] !== d[i]) m = d[i];
    return m;
  }
  return reduceAxis('max', a, axis, maxInto, undefined, opts.keepdims);
}

/** Minimum along `axis`; with no axis, the overall minimum. */
export function min(a: Tensor): number;
export function min(a: Tensor, axis: number, opts?: ReduceOptions): Tensor;
export function min(a: Tensor, axis?: number, opts: ReduceOptions = {}): number | Tensor {
  if (axis === undefined) {
    const d = ascontiguous(a).data;
    if (d.length === 0) throw new RangeError('a: cannot take the min of an empty array');
    let m = d[0];
    for (let i = 1; i < d.length; i++) if (d[i] < m || d[i] !== d[i]) m = d[i];
    return m;
  }
  return reduceAxis('min', a, axis, minInto, undefined, opts.keepdims);
}

/** Index of the maximum along `axis` (first occurrence wins, as numpy). */
export function argmax(a: Tensor, axis: number): IntTensor {
  floatDtype('a', a);
  const ax = normAxis(a, axis);
  const { outer, n, inner, outShape } = split(a, ax);
  if (n === 0) throw new RangeError(`a: cannot take argmax over axis ${ax} of length 0`);
  const src = ascontiguous(a).data;
  const out = new Int32Array(outer * inner);
  const best = new Float64Array(inner);
  for (let o = 0; o < outer; o++) {
    const base0 = o * n * inner;
    for (let i = 0; i < inner; i++) best[i] = src[base0 + i];
    const idx = out.subarray(o * inner, (o + 1) * inner);
    for (let j = 1; j < n; j++) {
      const base = base0 + j * inner;
      for (let i = 0; i < inner; i++) {
        const v = src[base + i];
        // NaN wins and stays, as numpy's argmax reports the first NaN.
        if ((v > best[i] || (v !== v && best[i] === best[i]))) {
          best[i] = v;
          idx[i] = j;
        }
      }
    }
  }
  return ndarray(out, outShape);
}
