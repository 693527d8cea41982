import { assertArg, assertNdim, ShapeError } from '../core/check';
import type { Tensor } from '../core/tensor';

/** A size given as one integer for both axes or as `[height, width]` (PyTorch's `_pair`). */
export type Pair = number | readonly [number, number];

/** Window attributes shared by max and average pooling, as PyTorch's `max_pool2d` / `avg_pool2d` take them. */
export interface Pool2dAttrs {
  kernelSize: Pair;
  /** Default: the kernel size (PyTorch's `stride=None`). */
  stride?: Pair | null;
  /** Implicit padding on both sides; at most half the kernel. Default 0. */
  padding?: Pair;
  /** Ceil instead of floor for the output size (see {@link poolOutputSize}). Default false. */
  ceilMode?: boolean;
}

/** The resolved geometry of a 2-D pooling of an `(N, C, H, W)` input. */
export interface Pool2dGeometry {
  N: number;
  C: number;
  H: number;
  W: number;
  kh: number;
  kw: number;
  sh: number;
  sw: number;
  ph: number;
  pw: number;
  outH: number;
  outW: number;
}

/** `v` as `[h, w]`, checking each is an integer ≥ `min` (names the argument). */
export function pairOf(name: string, v: unknown, min: number): [number, number] {
  const p = typeof v === 'number' ? [v, v] : Array.isArray(v) && v.length === 2 ? v : null;
  const ok = p !== null && p.every((d) => typeof d === 'number' && Number.isInteger(d) && d >= min);
  assertArg(ok, name, `an integer ≥ ${min} or a pair [h, w] of them`, v);
  return [p![0], p![1]];
}

/**
 * PyTorch's pooling output size: `floor((size + 2·pad − k)/stride) + 1`, or with `ceilMode` the
 * ceiling, except that the last window must start inside the input or its left padding
 * (otherwise it would cover only right padding and is dropped).
 */
export function poolOutputSize(name: string, size: number, k: number, stride: number, pad: number, ceilMode: boolean): number {
  const span = size + 2 * pad - k;
  if (span < 0) throw new ShapeError(`${name}: a window of ${k} does not fit in ${size} (${size + 2 * pad} with padding ${pad})`);
  let out = Math.floor((span + (ceilMode ? stride - 1 : 0)) / stride) + 1;
  if (ceilMode && (out - 1) * stride >= size + pad) out--;
  return out;
}

/** Validates x `(N, C, H, W)` and the window attributes; returns the geometry. */
export function pool2dGeometry(op: string, x: Tensor, attrs: Pool2dAttrs): Pool2dGeometry {
  if (!attrs || typeof attrs !== 'object') throw new TypeError(`${op} attrs: expected an object { kernelSize, stride?, padding?, ceilMode? }, got ${String(attrs)}`);
  assertNdim('x', x, 4);
  const [N, C, H, W] = x.shape;
  const [kh, kw] = pairOf('kernelSize', attrs.kernelSize, 1);
  const [sh, sw] = attrs.stride === undefined || attrs.stride === null ? [kh, kw] : pairOf('stride', attrs.stride, 1);
  const [ph, pw] = pairOf('padding', attrs.padding ?? 0, 0);
  // PyTorch's rule: padding beyond half the kernel would make windows made only of padding.
  assertArg(ph <= Math.floor(kh / 2) && pw <= Math.floor(kw / 2), 'padding', `at most half the kernel size (${Math.floor(kh / 2)}, ${Math.floor(kw / 2)})`, [ph, pw]);
  const ceil = attrs.ceilMode ?? false;
  assertArg(typeof ceil === 'boolean', 'ceilMode', 'a boolean', ceil);
  const outH = poolOutputSize('x height', H, kh, sh, ph, ceil);
  const outW = poolOutputSize('x width', W, kw, sw, pw, ceil);
  return { N, C, H, W, kh, kw, sh, sw, ph, pw, outH, outW };
}

/** Checks dout against the pooled shape and returns nothing (shape errors name `dout`). */
export function checkPooledDout(dout: Tensor, shape: readonly number[]): void {
  const s = dout?.shape;
  if (!Array.isArray(s) || s.length !== shape.length || s.some((d, i) => d !== shape[i])) {
    throw new ShapeError(`dout: expected shape (${shape.join(', ')}) (the forward output), got ${Array.isArray(s) ? `(${s.join(', ')})` : String(dout)}`);
  }
}
