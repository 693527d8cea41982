import ndarray from 'ndarray';
import { assertArg, floatDtype, ShapeError, shapeStr, showValue } from '../core/check';
import { allocFloat, type DType } from '../core/dtype';
import { ascontiguous, astype, sizeOf, type Tensor } from '../core/tensor';

/*
 * Small helpers shared by the layer files: argument checks that name the parameter dict key,
 * and "dense in the input's dtype" coercions so every hot loop can index `.data` directly.
 */

/** `a` as a dense row-major tensor in `dtype` (no copy when it already is one). */
export function denseAs(name: string, a: Tensor, dtype: DType): Tensor {
  floatDtype(name, a);
  return ascontiguous(astype(a, dtype));
}

/** `a` as a dense row-major tensor in its own dtype (no copy when it already is one). */
export function dense(name: string, a: Tensor): Tensor {
  floatDtype(name, a);
  return ascontiguous(a);
}

/** A new zero tensor over a fresh store. */
export function alloc(shape: readonly number[], dtype: DType): Tensor {
  return ndarray(allocFloat(dtype, sizeOf(shape)), shape.slice());
}

/** A value from a parameter dict that must be a positive integer. */
export function positiveInt(name: string, v: unknown): number {
  assertArg(typeof v === 'number' && Number.isInteger(v) && v > 0, name, 'a positive integer', v);
  return v as number;
}

/** A value from a parameter dict that must be a non-negative integer. */
export function nonNegativeInt(name: string, v: unknown): number {
  assertArg(typeof v === 'number' && Number.isInteger(v) && v >= 0, name, 'a non-negative integer', v);
  return v as number;
}

/** A value that must be a finite positive number (eps). */
export function positiveNumber(name: string, v: unknown): number {
  assertArg(typeof v === 'number' && Number.isFinite(v) && v > 0, name, 'a finite positive number', v);
  return v as number;
}

/**
 * Per-channel parameters (gamma, beta) accepted as `(C,)` or `(1, C, 1, 1)` — cs231n documents
 * the first and its group-norm notebook passes the second. Returns the dense values (in `dtype`)
 * and the caller's shape, so gradients can be returned in that same shape.
 */
export function channelParam(name: string, p: Tensor, C: number, dtype: DType): { values: Tensor; shape: number[] } {
  const s = p?.shape;
  const ok = Array.isArray(s) && ((s.length === 1 && s[0] === C) || (s.length === 4 && s[0] === 1 && s[1] === C && s[2] === 1 && s[3] === 1));
  if (!ok) {
    throw new ShapeError(`${name}: expected shape (${C},) or (1, ${C}, 1, 1) to match the ${C} channels of x, got ${Array.isArray(s) ? shapeStr(s) : String(p)}`);
  }
  return { values: denseAs(name, p, dtype), shape: s.slice() };
}

/** Checks that a 1-D per-feature parameter has length D (names the argument). */
export function featureParam(name: string, p: Tensor, D: number, dtype: DType): Tensor {
  const s = p?.shape;
  if (!Array.isArray(s) || s.length !== 1 || s[0] !== D) {
    throw new ShapeError(`${name}: expected shape (${D},) to match the ${D} features of x, got ${Array.isArray(s) ? shapeStr(s) : String(p)}`);
  }
  return denseAs(name, p, dtype);
}

/** Checks a `mode` entry of a parameter dict. */
export function modeOf(name: string, mode: unknown): 'train' | 'test' {
  if (mode !== 'train' && mode !== 'test') {
    throw new RangeError(`${name}: expected 'train' or 'test', got ${showValue(mode)}`);
  }
  return mode;
}
