import { freshFloat, takeFloat } from './bufferPool';

/** Floating-point storage types the numeric core computes in. */
export type DType = 'float64' | 'float32';
/** Backing store of a floating-point tensor. */
export type FloatArray = Float64Array | Float32Array;

/** The typed-array constructor for a dtype. */
export function arrayCtor(dtype: DType): Float64ArrayConstructor | Float32ArrayConstructor {
  if (dtype === 'float64') return Float64Array;
  if (dtype === 'float32') return Float32Array;
  throw new TypeError(`dtype: expected 'float64' or 'float32', got ${JSON.stringify(dtype)}`);
}

/** Allocates a zero-filled store of `n` elements (a recycled one when the buffer pool has one). */
export function allocFloat(dtype: DType, n: number): FloatArray {
  arrayCtor(dtype);
  return takeFloat(dtype, n, () => freshFloat(dtype, n));
}

/** The dtype of a typed array (throws for integer arrays). */
export function dtypeOfArray(data: unknown): DType {
  if (data instanceof Float64Array) return 'float64';
  if (data instanceof Float32Array) return 'float32';
  const name = (data as { constructor?: { name?: string } })?.constructor?.name ?? typeof data;
  throw new TypeError(`expected a Float64Array or Float32Array store, got ${name}`);
}
