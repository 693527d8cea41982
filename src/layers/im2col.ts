import ndarray from 'ndarray';
import { assertArg, assertNdim, ShapeError, shapeStr } from '../core/check';
import type { ConvGeometry } from '../core/convFused';
import { allocFloat, type FloatArray } from '../core/dtype';
import { dtypeOf, isContiguous, type Tensor } from '../core/tensor';
import { dense, nonNegativeInt, positiveInt } from './layerArgs';

/*
 * im2col turns every receptive field of an (N, C, H, W) input into one column, so a convolution
 * becomes one matrix product: W (F, C·fh·fw) · cols (C·fh·fw, N·H'·W').
 *
 * Layout (ours, chosen for the GEMM and the output scatter; cs231n's im2col_indices and DLFS's
 * util.im2col order differently):
 *   row    r = (c·fh + ki)·fw + kj            (channel-major, then kernel row, kernel column)
 *   column q = (n·H' + oh)·W' + ow            (sample slowest, so each sample's H'·W' block is
 *                                              contiguous and the product scatters to (N, F, H', W')
 *                                              in runs of H'·W')
 * Both functions take a channel range, so a grouped (or depthwise) convolution calls them once
 * per group on its slice of channels, with no copy of x.
 */

/** Geometry of a sliding window over an (N, C, H, W) input (the core conv kernels' type). */
export type WindowGeometry = ConvGeometry;

/**
 * Output length of a window of size `field` sliding with `stride` over `size + 2·pad`:
 * `1 + floor((size + 2·pad − field) / stride)` (integer division, as cs231n's naive layers).
 * Throws naming `name` when the window does not fit at all.
 */
export function convOutputSize(name: string, size: number, field: number, stride: number, pad: number): number {
  const span = size + 2 * pad - field;
  if (span < 0) {
    throw new ShapeError(`${name}: a window of ${field} does not fit in ${size} (${size + 2 * pad} with pad ${pad})`);
  }
  return 1 + Math.floor(span / stride);
}

/** Builds and checks the geometry for an input shape, window and stride/pad. */
export function windowGeometry(xShape: readonly number[], fh: number, fw: number, stride: number, pad: number): WindowGeometry {
  const [N, C, H, W] = xShape;
  positiveInt('fh', fh);
  positiveInt('fw', fw);
  positiveInt('stride', stride);
  nonNegativeInt('pad', pad);
  const outH = convOutputSize('x height', H, fh, stride, pad);
  const outW = convOutputSize('x width', W, fw, stride, pad);
  return { N, C, H, W, fh, fw, stride, pad, outH, outW };
}

/** Range of output positions o (in [0, out)) whose input index o·stride − pad + k lies in [0, size). */
function validRange(k: number, size: number, out: number, stride: number, pad: number): [number, number] {
  const lo = Math.max(0, Math.ceil((pad - k) / stride));
  const hi = Math.min(out, Math.floor((size - 1 + pad - k) / stride) + 1);
  return [lo, Math.max(lo, hi)];
}

/**
 * Raw kernel: writes the columns of channels [c0, c0 + cn) of the dense input `x` into `dst`
 * (length cn·fh·fw · N·outH·outW). Every entry of `dst` is written (padding as zeros), so `dst`
 * may be a reused buffer.
 */
/** A 1×1 window at stride 1 without padding: unfolding is a permutation of whole planes. */
function pointwise(g: WindowGeometry): boolean {
  return g.fh === 1 && g.fw === 1 && g.stride === 1 && g.pad === 0;
}

/**
 * dst[d + i] = (or +=) src[s + i] for i < len. Short runs go element by element: a
 * subarray + set per run of 4–16 values (the 2×2 and 4×4 maps of deep layers) cost several
 * times the copy itself.
 */
function copyRun(src: ArrayLike<number>, s: number, dst: FloatArray, d: number, len: number, add: boolean): void {
  if (add) {
    for (let i = 0; i < len; i++) dst[d + i] += src[s + i];
    return;
  }
  if (len >= 64 && ArrayBuffer.isView(src)) {
    dst.set((src as FloatArray).subarray(s, s + len), d);
    return;
  }
  for (let i = 0; i < len; i++) dst[d + i] = src[s + i];
}

export function im2colInto(x: FloatArray, g: WindowGeometry, c0: number, cn: number, dst: FloatArray): void {
  const { N, C, H, W, fh, fw, stride, pad, outH, outW } = g;
  const P = outH * outW;
  const NP = N * P;
  if (pointwise(g)) {
    // A 1×1 window at stride 1 without padding: each unfolded row is the channel's plane.
    for (let c = 0; c < cn; c++) for (let n = 0; n < N; n++) copyRun(x, ((n * C + c0 + c) * H) * W, dst, c * NP + n * P, P, false);
    return;
  }
  for (let c = 0; c < cn; c++) {
    for (let ki = 0; ki < fh; ki++) {
      const [ohLo, ohHi] = validRange(ki, H, outH, stride, pad);
      for (let kj = 0; kj < fw; kj++) {
        const [owLo, owHi] = validRange(kj, W, outW, stride, pad);
        const rowBase = ((c * fh + ki) * fw + kj) * NP;
        const shift = kj - pad;
        for (let n = 0; n < N; n++) {
          const plane = ((n * C + c0 + c) * H) * W;
          const colBase = rowBase + n * P;
          if (ohLo > 0) dst.fill(0, colBase, colBase + ohLo * outW);
          if (ohHi < outH) dst.fill(0, colBase + ohHi * outW, colBase + P);
          for (let oh = ohLo; oh < ohHi; oh++) {
            const d = colBase + oh * outW;
            const srcRow = plane + (oh * stride - pad + ki) * W + shift;
            if (owLo > 0) dst.fill(0, d, d + owLo);
            if (owHi < outW) dst.fill(0, d + owHi, d + outW);
            if (stride === 1) {
              dst.set(x.subarray(srcRow + owLo, srcRow + owHi), d + owLo);
            } else {
              for (let ow = owLo; ow < owHi; ow++) dst[d + ow] = x[srcRow + ow * stride];
            }
          }
        }
      }
    }
  }
}

/**
 * Raw kernel, the adjoint of {@link im2colInto}: adds each column entry back onto the input
 * position it was read from (overlapping windows accumulate; padding positions are dropped).
 * `dx` is the dense (N, C, H, W) gradient; only channels [c0, c0 + cn) are touched.
 */
export function col2imAdd(cols: ArrayLike<number>, g: WindowGeometry, c0: number, cn: number, dx: FloatArray): void {
  const { N, C, H, W, fh, fw, stride, pad, outH, outW } = g;
  const P = outH * outW;
  const NP = N * P;
  if (pointwise(g)) {
    for (let n = 0; n < N; n++) for (let c = 0; c < cn; c++) copyRun(cols, c * NP + n * P, dx, ((n * C + c0 + c) * H) * W, P, true);
    return;
  }
  // Valid output ranges per kernel offset, computed once instead of per (c, n).
  const ohLo = new Int32Array(fh);
  const ohHi = new Int32Array(fh);
  const owLo = new Int32Array(fw);
  const owHi = new Int32Array(fw);
  for (let ki = 0; ki < fh; ki++) [ohLo[ki], ohHi[ki]] = validRange(ki, H, outH, stride, pad);
  for (let kj = 0; kj < fw; kj++) [owLo[kj], owHi[kj]] = validRange(kj, W, outW, stride, pad);
  // Sample and channel outermost: one (H, W) plane of dx stays in cache while all fh·fw
  // column rows that land on it are added (each read as a contiguous run of P).
  for (let n = 0; n < N; n++) {
    for (let c = 0; c < cn; c++) {
      const plane = ((n * C + c0 + c) * H) * W;
      for (let ki = 0; ki < fh; ki++) {
        const oh0 = ohLo[ki];
        const oh1 = ohHi[ki];
        for (let kj = 0; kj < fw; kj++) {
          const ow0 = owLo[kj];
          const ow1 = owHi[kj];
          const colBase = ((c * fh + ki) * fw + kj) * NP + n * P;
          const shift = kj - pad;
          if (stride === 1) {
            for (let oh = oh0; oh < oh1; oh++) {
              const s = colBase + oh * outW;
              const d = plane + (oh - pad + ki) * W + shift;
              for (let ow = ow0; ow < ow1; ow++) dx[d + ow] += cols[s + ow];
            }
          } else {
            for (let oh = oh0; oh < oh1; oh++) {
              const s = colBase + oh * outW;
              const d = plane + (oh * stride - pad + ki) * W + shift;
              for (let ow = ow0, di = d + ow0 * stride; ow < ow1; ow++, di += stride) dx[di] += cols[s + ow];
            }
          }
        }
      }
    }
  }
}

/** Options of {@link im2col} and {@link col2im}. */
export interface Im2colOptions {
  /** Window step. Default 1. */
  stride?: number;
  /** Zero padding on every side. Default 0. */
  pad?: number;
  /** First channel to unfold. Default 0. */
  channelStart?: number;
  /** Number of channels to unfold. Default: all from channelStart on. */
  channelCount?: number;
}

function channelRange(C: number, opts: Im2colOptions): [number, number] {
  const c0 = opts.channelStart ?? 0;
  const cn = opts.channelCount ?? C - c0;
  assertArg(Number.isInteger(c0) && c0 >= 0 && c0 < C, 'channelStart', `an integer in [0, ${C})`, c0);
  assertArg(Number.isInteger(cn) && cn >= 1 && c0 + cn <= C, 'channelCount', `an integer in [1, ${C - c0}]`, cn);
  return [c0, cn];
}

/**
 * Unfolds x `(N, C, H, W)` into columns `(cn·fh·fw, N·H'·W')` (layout in the file comment), for
 * any stride and padding; H' = 1 + floor((H + 2·pad − fh)/stride). Output dtype = x's dtype.
 */
export function im2col(x: Tensor, fh: number, fw: number, opts: Im2colOptions = {}): Tensor {
  assertNdim('x', x, 4);
  const g = windowGeometry(x.shape, fh, fw, opts.stride ?? 1, opts.pad ?? 0);
  const [c0, cn] = channelRange(g.C, opts);
  const xd = dense('x', x);
  const rows = cn * fh * fw;
  const cols = g.N * g.outH * g.outW;
  const dst = allocFloat(dtypeOf(xd), rows * cols);
  im2colInto(xd.data, g, c0, cn, dst);
  return ndarray(dst, [rows, cols]);
}

/**
 * Folds columns back into an `(N, C, H, W)` gradient, summing overlapping windows (the adjoint of
 * {@link im2col}: Σ im2col(x)·y = Σ x·col2im(y)). With `out`, adds into it (dense, shape xShape);
 * otherwise returns a new zero-initialised array in cols' dtype.
 */
export function col2im(
  cols: Tensor, xShape: readonly number[], fh: number, fw: number, opts: Im2colOptions & { out?: Tensor } = {},
): Tensor {
  assertArg(xShape.length === 4, 'xShape', 'an (N, C, H, W) shape', shapeStr(xShape));
  const g = windowGeometry(xShape, fh, fw, opts.stride ?? 1, opts.pad ?? 0);
  const [c0, cn] = channelRange(g.C, opts);
  const rows = cn * fh * fw;
  const ncols = g.N * g.outH * g.outW;
  if (cols?.shape?.length !== 2 || cols.shape[0] !== rows || cols.shape[1] !== ncols) {
    throw new ShapeError(`cols: expected shape ${shapeStr([rows, ncols])} for x ${shapeStr(xShape)}, got ${cols?.shape ? shapeStr(cols.shape) : String(cols)}`);
  }
  const cd = dense('cols', cols);
  let out = opts.out;
  if (out) {
    if (!isContiguous(out) || out.shape.length !== 4 || out.shape.some((d, i) => d !== xShape[i])) {
      throw new ShapeError(`out: expected a dense array of shape ${shapeStr(xShape)}, got ${shapeStr(out.shape)}`);
    }
  } else {
    out = ndarray(allocFloat(dtypeOf(cd), g.N * g.C * g.H * g.W), xShape.slice());
  }
  col2imAdd(cd.data, g, c0, cn, out.data);
  return out;
}
