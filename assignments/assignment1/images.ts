import ndarray from 'ndarray';
import type { ByteTensor, IntTensor, Tensor64 } from '../../src/core/tensor';

/*
 * The notebooks flatten uint8 HWC images into float64 rows (`np.reshape(X, (N, -1))` after
 * `astype(float)`), so a row is pixel by pixel, channel by channel. These helpers do that for
 * any subset of rows without first materialising the whole dataset in float64.
 */

/** (H, W, C) of one image of an (N, H, W, C) dataset. */
export function imageShape(X: ByteTensor): [number, number, number] {
  if (X.shape.length !== 4) throw new RangeError(`X: expected images of shape (N, H, W, C), got (${X.shape.join(', ')})`);
  return [X.shape[1], X.shape[2], X.shape[3]];
}

/** Pixel bytes of image `i` as a dense copy-free view when possible, else a gathered copy. */
function imageBytes(X: ByteTensor, i: number, D: number): Uint8Array {
  const [, H, W, C] = X.shape;
  const [s0, s1, s2, s3] = X.stride;
  if (s3 === 1 && s2 === C && s1 === W * C) return X.data.subarray(X.offset + i * s0, X.offset + i * s0 + D);
  const out = new Uint8Array(D);
  let k = 0;
  for (let y = 0; y < H; y++) for (let x = 0; x < W; x++) for (let c = 0; c < C; c++) out[k++] = X.get(i, y, x, c);
  return out;
}

/**
 * Rows `rows` (indices, or the range [start, end)) of uint8 HWC images as an (n, D) float64
 * matrix, D = H·W·C, with `mean` (length D) subtracted when given and `bias` adding a trailing
 * column of ones (the linear notebooks' bias trick, D + 1 columns).
 */
export function flattenRows(
  X: ByteTensor,
  rows: ArrayLike<number> | { start: number; end: number },
  opts: { mean?: Float64Array; bias?: boolean } = {},
): Tensor64 {
  const [H, W, C] = imageShape(X);
  const D = H * W * C;
  const idx = 'start' in rows ? Int32Array.from({ length: rows.end - rows.start }, (_, t) => rows.start + t) : rows;
  const n = idx.length;
  const cols = D + (opts.bias ? 1 : 0);
  const out = new Float64Array(n * cols);
  const mean = opts.mean;
  for (let r = 0; r < n; r++) {
    const src = imageBytes(X, idx[r], D);
    const o = r * cols;
    if (mean) for (let k = 0; k < D; k++) out[o + k] = src[k] - mean[k];
    else for (let k = 0; k < D; k++) out[o + k] = src[k];
    if (opts.bias) out[o + D] = 1;
  }
  return ndarray(out, [n, cols]);
}

/** Per-pixel mean (length D, HWC order) of the images in rows [0, n), in float64. */
export function meanImage(X: ByteTensor, n: number): Float64Array {
  const [H, W, C] = imageShape(X);
  const D = H * W * C;
  const acc = new Float64Array(D);
  for (let i = 0; i < n; i++) {
    const src = imageBytes(X, i, D);
    for (let k = 0; k < D; k++) acc[k] += src[k];
  }
  if (n > 0) for (let k = 0; k < D; k++) acc[k] /= n;
  return acc;
}

/** Labels y[rows] as a fresh Int32 ndarray. */
export function takeLabels(y: IntTensor, rows: ArrayLike<number> | { start: number; end: number }): IntTensor {
  const idx = 'start' in rows ? Int32Array.from({ length: rows.end - rows.start }, (_, t) => rows.start + t) : rows;
  const out = new Int32Array(idx.length);
  for (let t = 0; t < idx.length; t++) out[t] = y.get(idx[t]);
  return ndarray(out, [idx.length]);
}

/** Fraction of equal entries of two label arrays of the same length. */
export function accuracy(pred: IntTensor, y: IntTensor): { correct: number; total: number; accuracy: number } {
  const total = y.shape[0];
  if (pred.shape[0] !== total) throw new RangeError(`pred: expected ${total} labels, got ${pred.shape[0]}`);
  let correct = 0;
  for (let i = 0; i < total; i++) if (pred.get(i) === y.get(i)) correct++;
  return { correct, total, accuracy: total ? correct / total : 0 };
}
