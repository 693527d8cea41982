import { assertArg, assertNdim } from '../core/check';
import { fromData, toFloat, type NumStore, type Tensor64 } from '../core/tensor';
import type { NdArray } from 'ndarray';

/*
 * scipy.ndimage.uniform_filter for 2-d float64 arrays in 'reflect' mode (d c b a | a b c d |
 * d c b a), reproducing scipy's arithmetic rather than just its maths: one 1-d pass per axis
 * (axis 0 first), each a running sum — the first window summed left to right, then
 * + entering − leaving per step — divided by the size at every output (what scipy 1.17 does;
 * older scipy divided the increments instead, which is bitwise the same whenever the size is a
 * power of two, as HOG's 8 is). Window for output i is [i − ⌊size/2⌋, i + size − ⌊size/2⌋ − 1],
 * i.e. [i−4, i+3] for size 8. Matching the rounding matters because HOG cells that hold no
 * gradient can come out as tiny residues rather than zeros.
 */

function reflectIndex(p: number, L: number): number {
  const period = 2 * L;
  let m = p % period;
  if (m < 0) m += period;
  return m < L ? m : period - 1 - m;
}

/**
 * Running mean of one strided line of length L; writes outputs 0..count-1 to `out` at
 * `outOff + i * outStride`. `buf` must hold at least L + size - 1 values.
 */
function filterLine(
  src: Float64Array, off: number, stride: number, L: number, size: number,
  buf: Float64Array, count: number, out: Float64Array, outOff: number, outStride: number,
): void {
  const before = size >> 1;
  const n = L + size - 1;
  for (let k = 0; k < n; k++) {
    const q = k - before;
    buf[k] = src[off + (q >= 0 && q < L ? q : reflectIndex(q, L)) * stride];
  }
  let acc = 0;
  for (let k = 0; k < size; k++) acc += buf[k];
  out[outOff] = acc / size;
  for (let i = 1; i < count; i++) {
    acc += buf[i - 1 + size] - buf[i - 1];
    out[outOff + i * outStride] = acc / size;
  }
}

function checkSize(size: number | readonly [number, number]): [number, number] {
  const s: [number, number] = typeof size === 'number' ? [size, size] : [size[0], size[1]];
  assertArg(s.every((v) => Number.isInteger(v) && v >= 1), 'size', 'a positive integer or a pair of them', size);
  return s;
}

/**
 * `scipy.ndimage.uniform_filter(a, size, mode='reflect')` for a 2-d array; the result is
 * Float64 (H, W). Axes with size 1 are left untouched, as scipy skips them.
 */
export function uniformFilter(a: NdArray<NumStore>, size: number | readonly [number, number]): Tensor64 {
  assertNdim('a', a, 2);
  const [s0, s1] = checkSize(size);
  const [H, W] = a.shape;
  // toFloat always copies, so the passes below never touch the caller's array.
  let cur = toFloat(a, 'float64').data as Float64Array;
  if (H === 0 || W === 0) return fromData(cur, [H, W]);
  const buf = new Float64Array(Math.max(H + s0, W + s1));
  if (s0 > 1) {
    const next = new Float64Array(H * W);
    for (let c = 0; c < W; c++) filterLine(cur, c, W, H, s0, buf, H, next, c, W);
    cur = next;
  }
  if (s1 > 1) {
    const next = new Float64Array(H * W);
    for (let r = 0; r < H; r++) filterLine(cur, r * W, 1, W, s1, buf, W, next, r * W, 1);
    cur = next;
  }
  return fromData(cur, [H, W]);
}

/**
 * `uniform_filter(a, size)[start::step, start::step]` for a dense row-major (H, W) Float64
 * buffer, computing only what the samples need (the running means still run from the start of
 * every line, so the values are scipy's bit for bit). Returns the (nr, nc) grid row-major.
 */
export function uniformFilterSampled(
  a: Float64Array, H: number, W: number, size: number, start: number, step: number,
): { values: Float64Array; nr: number; nc: number } {
  const nr = H > start ? Math.ceil((H - start) / step) : 0;
  const nc = W > start ? Math.ceil((W - start) / step) : 0;
  const values = new Float64Array(nr * nc);
  if (nr === 0 || nc === 0) return { values, nr, nc };
  const buf = new Float64Array(Math.max(H, W) + size);
  const rowsNeeded = start + step * (nr - 1) + 1;
  const colsNeeded = start + step * (nc - 1) + 1;
  // Pass along axis 0 for every column, keeping only the sampled rows.
  const colOut = new Float64Array(rowsNeeded);
  const mid = new Float64Array(nr * W);
  for (let c = 0; c < W; c++) {
    if (size > 1) filterLine(a, c, W, H, size, buf, rowsNeeded, colOut, 0, 1);
    else for (let r = 0; r < rowsNeeded; r++) colOut[r] = a[r * W + c];
    for (let b = 0; b < nr; b++) mid[b * W + c] = colOut[start + b * step];
  }
  // Pass along axis 1 on the sampled rows only.
  const rowOut = new Float64Array(colsNeeded);
  for (let b = 0; b < nr; b++) {
    if (size > 1) filterLine(mid, b * W, 1, W, size, buf, colsNeeded, rowOut, 0, 1);
    else rowOut.set(mid.subarray(b * W, b * W + colsNeeded));
    for (let k = 0; k < nc; k++) values[b * nc + k] = rowOut[start + k * step];
  }
  return { values, nr, nc };
}
