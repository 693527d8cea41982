import ndarray, { type NdArray } from 'ndarray';
import ops from 'ndarray-ops';
import { allocFloat, arrayCtor, type DType, type FloatArray } from './dtype';
import { ShapeError, shapeStr } from './check';

/** A floating-point ndarray (Float64 or Float32 store). */
export type Tensor = NdArray<FloatArray>;
/** A Float64 ndarray. */
export type Tensor64 = NdArray<Float64Array>;
/** An integer ndarray: labels, indices. */
export type IntTensor = NdArray<Int32Array>;
/** An image ndarray before preprocessing. */
export type ByteTensor = NdArray<Uint8Array>;
/** Any numeric typed-array store. */
export type NumStore = Float64Array | Float32Array | Int32Array | Uint8Array | Int8Array | Uint16Array | Int16Array | Uint32Array | Uint8ClampedArray;
/** Nested JS arrays of numbers, any depth. */
export type Nested = number | Nested[];

/** Number of elements of a shape. */
export function sizeOf(shape: readonly number[]): number {
  let n = 1;
  for (const d of shape) n *= d;
  return n;
}

function checkShape(shape: readonly number[], name = 'shape'): number[] {
  if (!Array.isArray(shape)) throw new TypeError(`${name}: expected an array of non-negative integers, got ${typeof shape}`);
  for (const d of shape) {
    if (!Number.isInteger(d) || d < 0) {
      throw new RangeError(`${name}: expected non-negative integer dimensions, got ${shapeStr(shape)}`);
    }
  }
  return shape.slice();
}

/** A row-major ndarray over `data` with the given shape. */
export function fromData<T extends NumStore>(data: T, shape: readonly number[]): NdArray<T> {
  const s = checkShape(shape);
  if (sizeOf(s) !== data.length) {
    throw new ShapeError(`data: expected ${sizeOf(s)} elements for shape ${shapeStr(s)}, got ${data.length}`);
  }
  return ndarray(data as any, s) as NdArray<T>;
}

/** New zero-filled float tensor. */
export function zeros(shape: readonly number[], dtype: DType = 'float64'): Tensor {
  const s = checkShape(shape);
  return ndarray(allocChecked(dtype, s), s);
}

/**
 * A zeroed store for `shape`, turning V8's bare "Invalid typed array length" / "Array buffer
 * allocation failed" into an error that names the shape and the bytes asked for.
 */
function allocChecked(dtype: DType, shape: readonly number[]): FloatArray {
  const n = sizeOf(shape);
  const bytes = n * (dtype === 'float32' ? 4 : 8);
  const fail = (why: string): never => {
    throw new RangeError(`shape: cannot allocate ${shapeStr(shape)} ${dtype} (${n} elements, ${formatBytes(bytes)}): ${why}`);
  };
  if (!Number.isSafeInteger(n)) fail('more elements than a typed array can index');
  try {
    return allocFloat(dtype, n);
  } catch (e) {
    if (e instanceof RangeError) return fail(e.message);
    throw e;
  }
}

/** Bytes in the largest binary unit that keeps the number ≥ 1. */
function formatBytes(b: number): string {
  const units = ['bytes', 'KiB', 'MiB', 'GiB', 'TiB', 'PiB', 'EiB'];
  let v = b;
  let u = 0;
  while (v >= 1024 && u < units.length - 1) {
    v /= 1024;
    u++;
  }
  return u === 0 ? `${b} bytes` : `${v.toPrecision(3)} ${units[u]}`;
}

/** New tensor filled with `value`. */
export function full(shape: readonly number[], value: number, dtype: DType = 'float64'): Tensor {
  const t = zeros(shape, dtype);
  t.data.fill(value);
  return t;
}

/** New tensor of ones. */
export function ones(shape: readonly number[], dtype: DType = 'float64'): Tensor {
  return full(shape, 1, dtype);
}

/** New zero-filled Int32 tensor. */
export function intZeros(shape: readonly number[]): IntTensor {
  const s = checkShape(shape);
  return ndarray(new Int32Array(sizeOf(s)), s);
}

/** Zeros with the shape and dtype of `a`. */
export function zerosLike(a: Tensor): Tensor {
  return zeros(a.shape, dtypeOf(a));
}

/** The dtype of a float tensor. */
export function dtypeOf(a: Tensor): DType {
  return a.data instanceof Float32Array ? 'float32' : 'float64';
}

/**
 * Tensor from nested arrays (`array([[1, 2], [3, 4]])`). Ragged input is an error that names
 * the offending path.
 */
export function array(nested: Nested, dtype: DType = 'float64'): Tensor {
  const shape: number[] = [];
  let probe: Nested = nested;
  while (Array.isArray(probe)) {
    shape.push(probe.length);
    if (probe.length === 0) break;
    probe = probe[0];
  }
  const out = allocFloat(dtype, sizeOf(shape));
  let k = 0;
  const walk = (node: Nested, depth: number, path: string): void => {
    if (depth === shape.length) {
      if (typeof node !== 'number') throw new ShapeError(`array${path}: expected a number, got a nested array (ragged input)`);
      out[k++] = node;
      return;
    }
    if (!Array.isArray(node) || node.length !== shape[depth]) {
      const got = Array.isArray(node) ? `length ${node.length}` : 'a number';
      throw new ShapeError(`array${path}: expected an array of length ${shape[depth]}, got ${got} (ragged input)`);
    }
    for (let i = 0; i < node.length; i++) walk(node[i], depth + 1, `${path}[${i}]`);
  };
  walk(nested, 0, '');
  return ndarray(out, shape);
}

/** Int32 tensor from a flat list. */
export function intArray(values: ArrayLike<number>): IntTensor {
  return ndarray(Int32Array.from(values as ArrayLike<number>), [values.length]);
}

/** `[start, stop)` in steps of `step`, as numpy's arange. */
export function arange(start: number, stop?: number, step = 1, dtype: DType = 'float64'): Tensor {
  if (stop === undefined) {
    stop = start;
    start = 0;
  }
  if (step === 0 || !Number.isFinite(step)) throw new RangeError(`step: expected a finite non-zero number, got ${step}`);
  const n = Math.max(0, Math.ceil((stop - start) / step));
  const out = allocFloat(dtype, n);
  for (let i = 0; i < n; i++) out[i] = start + i * step;
  return ndarray(out, [n]);
}

/** `num` evenly spaced values from `start` to `stop` inclusive, computed as numpy does. */
export function linspace(start: number, stop: number, num = 50, dtype: DType = 'float64'): Tensor {
  if (!Number.isInteger(num) || num < 0) throw new RangeError(`num: expected a non-negative integer, got ${num}`);
  const out = allocFloat(dtype, num);
  const div = num - 1;
  const step = div > 0 ? (stop - start) / div : 0;
  for (let i = 0; i < num; i++) out[i] = start + i * step;
  if (num > 1) out[num - 1] = stop;
  return ndarray(out, [num]);
}

/** True when `a` is a dense row-major view starting at offset 0 of its store. */
export function isContiguous(a: NdArray<any>): boolean {
  let expected = 1;
  for (let i = a.shape.length - 1; i >= 0; i--) {
    if (a.shape[i] !== 1 && a.stride[i] !== expected) return false;
    expected *= a.shape[i];
  }
  return a.offset === 0 && a.data.length === expected;
}

/** A dense row-major copy of `a` in the given dtype (default: its own). */
export function copy(a: Tensor, dtype: DType = dtypeOf(a)): Tensor {
  const out = zeros(a.shape, dtype);
  if (isContiguous(a)) out.data.set(a.data);
  else if (a.shape.length > 0 && sizeOf(a.shape) > 0) ops.assign(out, a);
  else if (a.shape.length === 0) out.data[0] = a.get();
  return out;
}

/** `a` itself when it is dense row-major with offset 0, otherwise a dense copy. */
export function ascontiguous(a: Tensor): Tensor {
  return isContiguous(a) ? a : copy(a);
}

/** `a` converted to the dtype (no copy when it already has it). */
export function astype(a: Tensor, dtype: DType): Tensor {
  return dtypeOf(a) === dtype ? a : copy(a, dtype);
}

/** Any numeric ndarray (uint8 images, int labels) converted to a dense float tensor. */
export function toFloat(a: NdArray<NumStore>, dtype: DType = 'float64'): Tensor {
  const out = zeros(a.shape, dtype);
  if (isContiguous(a as NdArray<any>)) {
    out.data.set(a.data as ArrayLike<number>);
    return out;
  }
  ops.assign(out, a as NdArray<any>);
  return out;
}

/**
 * Reshape, numpy-style; one dimension may be -1. Returns a view when `a` is contiguous,
 * otherwise a reshaped copy.
 */
export function reshape<T extends NumStore>(a: NdArray<T>, shape: readonly number[]): NdArray<T> {
  const total = sizeOf(a.shape);
  const s = shape.slice();
  const neg = s.indexOf(-1);
  if (neg >= 0) {
    const rest = s.reduce((p, d, i) => (i === neg ? p : p * d), 1);
    if (rest === 0 || total % rest !== 0) {
      throw new ShapeError(`shape: cannot reshape array of shape ${shapeStr(a.shape)} into ${shapeStr(shape)}`);
    }
    s[neg] = total / rest;
  }
  if (sizeOf(s) !== total || s.some((d) => !Number.isInteger(d) || d < 0)) {
    throw new ShapeError(`shape: cannot reshape array of shape ${shapeStr(a.shape)} (size ${total}) into ${shapeStr(shape)}`);
  }
  const src = isContiguous(a as NdArray<any>) ? a : (copyAny(a) as NdArray<T>);
  return ndarray(src.data as any, s) as NdArray<T>;
}

function copyAny<T extends NumStore>(a: NdArray<T>): NdArray<T> {
  const C = (a.data as any).constructor as new (n: number) => T;
  const out = ndarray(new C(sizeOf(a.shape)) as any, a.shape.slice()) as NdArray<T>;
  if (sizeOf(a.shape) > 0) ops.assign(out as NdArray<any>, a as NdArray<any>);
  return out;
}

/** A transposed view; with no axes, reverses them (numpy `.T`). */
export function transpose<T extends NumStore>(a: NdArray<T>, axes?: readonly number[]): NdArray<T> {
  const nd = a.shape.length;
  const ax = axes ? axes.slice() : Array.from({ length: nd }, (_, i) => nd - 1 - i);
  const sorted = ax.slice().sort((x, y) => x - y);
  if (ax.length !== nd || sorted.some((v, i) => v !== i)) {
    throw new RangeError(`axes: expected a permutation of 0..${nd - 1}, got [${ax.join(', ')}]`);
  }
  return a.transpose(...ax) as NdArray<T>;
}

/** Nested JS arrays from a tensor (for printing and tests). */
export function toNested(a: NdArray<NumStore>): Nested {
  const rec = (prefix: number[]): Nested => {
    const d = prefix.length;
    if (d === a.shape.length) return a.get(...prefix);
    const out: Nested[] = [];
    for (let i = 0; i < a.shape[d]; i++) out.push(rec([...prefix, i]));
    return out;
  };
  return rec([]);
}

/** Flat row-major copy of the elements as a plain array. */
export function toArray(a: NdArray<NumStore>): number[] {
  if (isContiguous(a as NdArray<any>)) return Array.from(a.data as ArrayLike<number>);
  const flat = reshape(copyAny(a), [-1]);
  return Array.from(flat.data as ArrayLike<number>);
}

/** Rows `[start, end)` of the first axis as a view. */
export function sliceRows<T extends NumStore>(a: NdArray<T>, start: number, end: number): NdArray<T> {
  return a.lo(start).hi(end - start) as NdArray<T>;
}

/**
 * Gathers rows of the first axis by index into a dense array (numpy `a[idx]`); into `out`
 * when given (same dtype, shape (idx.length, ...a.shape[1:]), contiguous), so training loops can
 * reuse one minibatch buffer.
 */
export function takeRows<T extends NumStore>(a: NdArray<T>, idx: ArrayLike<number>, out?: NdArray<T>): NdArray<T> {
  const src = isContiguous(a as NdArray<any>) ? a : copyAny(a);
  const rowSize = sizeOf(a.shape.slice(1));
  const C = (src.data as any).constructor as new (n: number) => any;
  const outShape = [idx.length, ...a.shape.slice(1)];
  if (out) {
    const okShape = out.shape.length === outShape.length && out.shape.every((d, i) => d === outShape[i]);
    if (!okShape || !isContiguous(out as NdArray<any>) || (out.data as any).constructor !== C) {
      throw new ShapeError(`out: expected a dense ${C.name} array of shape ${shapeStr(outShape)}, got ${(out.data as any).constructor.name} of shape ${shapeStr(out.shape)}`);
    }
  }
  const dst = out ? (out.data as any) : new C(idx.length * rowSize);
  const data = src.data as any;
  for (let i = 0; i < idx.length; i++) {
    const r = idx[i];
    if (!Number.isInteger(r) || r < 0 || r >= a.shape[0]) {
      throw new RangeError(`idx[${i}]: expected a row index in [0, ${a.shape[0]}), got ${r}`);
    }
    dst.set(data.subarray(r * rowSize, (r + 1) * rowSize), i * rowSize);
  }
  return out ?? (ndarray(dst, outShape) as NdArray<T>);
}

/** Concatenates along the first axis into a new dense array. */
export function concatRows<T extends NumStore>(parts: NdArray<T>[]): NdArray<T> {
  if (parts.length === 0) throw new RangeError('parts: expected at least one array, got none');
  const inner = parts[0].shape.slice(1);
  parts.forEach((p, i) => {
    if (p.shape.length !== inner.length + 1 || p.shape.slice(1).some((d, j) => d !== inner[j])) {
      throw new ShapeError(`parts[${i}]: expected shape ${shapeStr(['any', ...inner])}, got ${shapeStr(p.shape)}`);
    }
  });
  const rows = parts.reduce((s, p) => s + p.shape[0], 0);
  const rowSize = sizeOf(inner);
  const C = (parts[0].data as any).constructor as new (n: number) => any;
  const out = new C(rows * rowSize);
  let off = 0;
  for (const p of parts) {
    const src = isContiguous(p as NdArray<any>) ? p : copyAny(p);
    out.set(src.data as any, off);
    off += p.shape[0] * rowSize;
  }
  return ndarray(out, [rows, ...inner]) as NdArray<T>;
}

export { arrayCtor };
