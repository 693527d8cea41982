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

/**
 * A store of `n` elements whose contents are unspecified — a recycled store keeps its old
 * values — for outputs the caller writes in full (an op's output, a kernel's dx). WHY: zeroing
 * a recycled activation is a full pass over memory that the op then overwrites; for a batch
 * norm in eval it took as long as the op.
 */
export function allocFloatUninit(dtype: DType, n: number): FloatArray {
  arrayCtor(dtype);
  return takeFloat(dtype, n, () => freshFloat(dtype, n), false);
}

/** The dtype of a typed array (throws for integer arrays). */
export function dtypeOfArray(data: unknown): DType {
  if (data instanceof Float64Array) return 'float64';
  if (data instanceof Float32Array) return 'float32';
  const name = (data as { constructor?: { name?: string } })?.constructor?.name ?? typeof data;
  throw new TypeError(`expected a Float64Array or Float32Array store, got ${name}`);
}
