import type { NdArray } from 'ndarray';
import type { DType } from './dtype';

/** Thrown when an argument has the wrong shape; names the argument, expected and actual. */
export class ShapeError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'ShapeError';
  }
}

/** `(2, 3)`-style rendering, as numpy prints shapes. */
export function shapeStr(shape: ArrayLike<number | null | string>): string {
  const parts = Array.from(shape, (d) => (d === null ? 'any' : String(d)));
  return `(${parts.join(', ')}${parts.length === 1 ? ',' : ''})`;
}

/**
 * Checks `a.shape` against `expected`. An entry may be a number (must match), `null`
 * (anything) or a name string: the first occurrence binds the name, later ones must agree,
 * and the bindings are returned, so `assertShape('X', X, ['N', 'D'])` yields `{ N, D }`.
 */
export function assertShape(
  name: string,
  a: { shape: number[] },
  expected: Array<number | null | string>,
  bindings: Record<string, number> = {},
): Record<string, number> {
  if (!a || !Array.isArray(a.shape)) {
    throw new TypeError(`${name}: expected an ndarray of shape ${shapeStr(expected)}, got ${describe(a)}`);
  }
  const actual = a.shape;
  const fail = (): never => {
    const exp = expected.map((e) => (typeof e === 'string' && e in bindings ? `${e}=${bindings[e]}` : e));
    throw new ShapeError(`${name}: expected shape ${shapeStr(exp)}, got ${shapeStr(actual)}`);
  };
  if (actual.length !== expected.length) fail();
  for (let i = 0; i < expected.length; i++) {
    const e = expected[i];
    if (e === null) continue;
    if (typeof e === 'number') {
      if (actual[i] !== e) fail();
    } else if (e in bindings) {
      if (actual[i] !== bindings[e]) fail();
    } else {
      bindings[e] = actual[i];
    }
  }
  return bindings;
}

/** Checks the number of dimensions only. */
export function assertNdim(name: string, a: { shape: number[] }, ndim: number): void {
  if (!a || !Array.isArray(a.shape)) throw new TypeError(`${name}: expected a ${ndim}-d ndarray, got ${describe(a)}`);
  if (a.shape.length !== ndim) {
    throw new ShapeError(`${name}: expected a ${ndim}-d array, got shape ${shapeStr(a.shape)}`);
  }
}

/** Checks that two arrays have exactly the same shape. */
export function assertSameShape(nameA: string, a: { shape: number[] }, nameB: string, b: { shape: number[] }): void {
  const same = a.shape.length === b.shape.length && a.shape.every((d, i) => d === b.shape[i]);
  if (!same) {
    throw new ShapeError(`${nameB}: expected the shape of ${nameA} ${shapeStr(a.shape)}, got ${shapeStr(b.shape)}`);
  }
}

/** The dtype of a float ndarray; throws naming the argument for anything else. */
export function floatDtype(name: string, a: NdArray<any>): DType {
  if (a === null || typeof a !== 'object' || !('data' in a)) throw new TypeError(`${name}: expected a float64 or float32 ndarray, got ${describe(a)}`);
  const d = a.data;
  if (d instanceof Float64Array) return 'float64';
  if (d instanceof Float32Array) return 'float32';
  throw new TypeError(`${name}: expected dtype float64 or float32, got ${describeStore(d)}`);
}

/** Checks the dtype of a float ndarray. */
export function assertDtype(name: string, a: NdArray<any>, dtype: DType): void {
  const actual = floatDtype(name, a);
  if (actual !== dtype) throw new TypeError(`${name}: expected dtype ${dtype}, got ${actual}`);
}

/** Checks that every entry of an integer label array lies in [0, numClasses). */
export function assertLabels(name: string, y: NdArray<any>, numClasses?: number): void {
  assertNdim(name, y, 1);
  const n = y.shape[0];
  for (let i = 0; i < n; i++) {
    const v = Number(y.get(i));
    if (!Number.isInteger(v) || v < 0 || (numClasses !== undefined && v >= numClasses)) {
      const range = numClasses === undefined ? 'a non-negative integer' : `an integer in [0, ${numClasses})`;
      throw new RangeError(`${name}[${i}]: expected ${range}, got ${v}`);
    }
  }
}

/** Throws a RangeError naming the argument unless `ok`. */
export function assertArg(ok: boolean, name: string, expected: string, actual: unknown): asserts ok {
  if (!ok) throw new RangeError(`${name}: expected ${expected}, got ${valueStr(actual)}`);
}

/**
 * A value as an error message shows it. JSON.stringify alone would print NaN and ±Infinity as
 * `null`, hiding exactly the values that most often cause the error.
 */
export function valueStr(v: unknown): string {
  if (typeof v === 'string') return v;
  if (typeof v === 'number' || typeof v === 'bigint' || typeof v === 'boolean' || v === undefined || v === null) return String(v);
  if (typeof v === 'function') return `a function ${v.name || '(anonymous)'}`;
  if (Array.isArray(v)) return `[${v.slice(0, 8).map(valueStr).join(', ')}${v.length > 8 ? ', …' : ''}]`;
  if (ArrayBuffer.isView(v) || (typeof v === 'object' && 'shape' in v)) return describe(v);
  try {
    return JSON.stringify(v, (_k, x) => (typeof x === 'number' && !Number.isFinite(x) ? String(x) : x));
  } catch {
    return describe(v);
  }
}

/** {@link valueStr}, with strings in quotes: for messages where the value may be a mistyped name. */
export function showValue(v: unknown): string {
  return typeof v === 'string' ? JSON.stringify(v) : valueStr(v);
}

/**
 * Checks that every element of a numeric ndarray is finite; otherwise throws naming the first
 * bad example (index on the first axis) and element, e.g. `X: expected finite values, got NaN
 * in row 3 (X[3, 17])`. Non-finite inputs would otherwise flow through products and
 * comparisons into confident-looking answers (a NaN distance compared as "not greater").
 */
export function assertFiniteRows(name: string, a: NdArray<any>): void {
  const d = a.data as ArrayLike<number>;
  if (!(d instanceof Float64Array || d instanceof Float32Array)) return;
  const shape = a.shape;
  const n = shape.reduce((p: number, q: number) => p * q, 1);
  if (n === 0) return;
  const bad = (flat: number): never => {
    const idx: number[] = [];
    let r = flat;
    for (let k = shape.length - 1; k >= 0; k--) {
      idx[k] = r % shape[k];
      r = Math.floor(r / shape[k]);
    }
    throw new RangeError(`${name}: expected finite values, got ${a.get(...idx)} in row ${idx[0]} (${name}[${idx.join(', ')}])`);
  };
  if (isRowMajorDense(a)) {
    const o = a.offset;
    for (let i = 0; i < n; i++) {
      const v = d[o + i];
      // v - v is 0 for finite v and NaN for NaN and ±Infinity: one compare per element.
      if (v - v !== 0) bad(i);
    }
    return;
  }
  const idx = new Array<number>(shape.length).fill(0);
  for (let i = 0; i < n; i++) {
    const v = a.get(...idx) as number;
    if (v - v !== 0) bad(i);
    for (let k = idx.length - 1; k >= 0; k--) {
      if (++idx[k] < shape[k]) break;
      idx[k] = 0;
    }
  }
}

function isRowMajorDense(a: NdArray<any>): boolean {
  let expected = 1;
  for (let k = a.shape.length - 1; k >= 0; k--) {
    if (a.shape[k] !== 1 && a.stride[k] !== expected) return false;
    expected *= a.shape[k];
  }
  return true;
}

function describeStore(d: unknown): string {
  if (d === undefined || d === null) return String(d);
  const ctor = (d as { constructor?: { name?: string } }).constructor?.name;
  const map: Record<string, string> = {
    Int32Array: 'int32', Uint8Array: 'uint8', Int8Array: 'int8', Uint16Array: 'uint16', Int16Array: 'int16',
    Uint32Array: 'uint32', Float64Array: 'float64', Float32Array: 'float32', Array: 'plain Array',
  };
  return ctor ? map[ctor] ?? ctor : typeof d;
}

function describe(a: unknown): string {
  if (a === null || a === undefined) return String(a);
  if (Array.isArray(a)) return `a plain Array of length ${a.length}`;
  if (typeof a === 'object') return (a as { constructor?: { name?: string } }).constructor?.name ?? 'object';
  return typeof a;
}
