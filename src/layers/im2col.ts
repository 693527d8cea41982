import ndarray from 'ndarray';
import { assertArg, assertNdim, ShapeError, shapeStr } from '../core/check';
import type { ConvGeometry } from '../core/convFused';
import { allocFloat, type FloatArray } from '../core/dtype';
import { dtypeOf, isContiguous, type Tensor } from '../core/tensor';
import { runUnfold } from '../ops/kernels/unfoldTasks';
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

/**
 * Raw kernel: writes the columns of channels [c0, c0 + cn) of the dense input `x` into `dst`
 * (length cn·fh·fw · N·outH·outW). Every entry of `dst` is written (padding as zeros), so `dst`
 * may be a reused buffer. On every thread when the stores are shared and the work is large
 * (ops/kernels/unfoldTasks.ts).
 */
export function im2colInto(x: FloatArray, g: WindowGeometry, c0: number, cn: number, dst: FloatArray): void {
  runUnfold({ fold: false, ...g, c0, cn, img: x, cols: dst });
}

/**
 * Raw kernel, the adjoint of {@link im2colInto}: adds each column entry back onto the input
 * position it was read from (overlapping windows accumulate, in (kernel row, kernel column,
 * position) order per plane; padding positions are dropped). `dx` is the dense (N, C, H, W)
 * gradient; only channels [c0, c0 + cn) are touched. On every thread like im2colInto.
 */
export function col2imAdd(cols: FloatArray, g: WindowGeometry, c0: number, cn: number, dx: FloatArray): void {
  runUnfold({ fold: true, ...g, c0, cn, img: dx, cols });
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
