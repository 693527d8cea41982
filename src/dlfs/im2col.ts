import ndarray from 'ndarray';
import { assertArg, assertNdim, ShapeError, shapeStr } from '../core/check';
import { ascontiguous, transpose, type Tensor } from '../core/tensor';
import { col2im as col2imColumns, im2col as im2colColumns } from '../layers/im2col';

/*
 * The book's common/util.py im2col/col2im. The book's matrix has one ROW per receptive field,
 * (N·out_h·out_w, C·fh·fw), rows in (n, oy, ox) order and columns in (c, ky, kx) order: exactly
 * the transpose of the package's im2col (src/layers/im2col.ts), which is what these wrap.
 */

/**
 * `im2col(input_data, filter_h, filter_w, stride=1, pad=0)`: x `(N, C, H, W)` →
 * `(N·out_h·out_w, C·filter_h·filter_w)`, dense, in x's dtype.
 */
export function im2col(inputData: Tensor, filterH: number, filterW: number, stride = 1, pad = 0): Tensor {
  assertNdim('inputData', inputData, 4);
  return ascontiguous(transpose(im2colColumns(inputData, filterH, filterW, { stride, pad })));
}

/**
 * `col2im(col, input_shape, filter_h, filter_w, stride=1, pad=0)`: the adjoint of {@link im2col}
 * (overlapping windows sum; padding is dropped), giving an `(N, C, H, W)` array.
 */
export function col2im(col: Tensor, inputShape: readonly number[], filterH: number, filterW: number, stride = 1, pad = 0): Tensor {
  assertArg(inputShape?.length === 4, 'inputShape', 'an (N, C, H, W) shape', inputShape ? shapeStr(inputShape) : String(inputShape));
  if (col?.shape?.length !== 2) throw new ShapeError(`col: expected a 2-D (N·out_h·out_w, C·fh·fw) array, got ${col?.shape ? shapeStr(col.shape) : String(col)}`);
  const t = ascontiguous(transpose(col));
  return col2imColumns(ndarray(t.data, t.shape), inputShape, filterH, filterW, { stride, pad });
}

/**
 * `conv_output_size(input_size, filter_size, stride=1, pad=0)` = (input + 2·pad − filter)/stride + 1,
 * as the book writes it (a true division: a stride that does not fit gives a fraction).
 */
export function convOutputSize(inputSize: number, filterSize: number, stride = 1, pad = 0): number {
  for (const [name, v, min] of [['inputSize', inputSize, 1], ['filterSize', filterSize, 1], ['stride', stride, 1], ['pad', pad, 0]] as const) {
    assertArg(Number.isInteger(v) && v >= min, name, `an integer ≥ ${min}`, v);
  }
  return (inputSize + 2 * pad - filterSize) / stride + 1;
}
