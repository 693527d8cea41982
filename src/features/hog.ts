import { ShapeError, shapeStr } from '../core/check';
import { fromData, type Tensor64 } from '../core/tensor';
import { imageView, type Image } from './imageView';
import { rgb2gray } from './rgb2gray';
import { uniformFilterSampled } from './uniformFilter';

/** Orientation bins of cs231n's HOG (20° each over [0, 180)). */
export const HOG_ORIENTATIONS = 9;
/** Cell size in pixels (both directions). */
export const HOG_CELL = 8;

/**
 * cs231n's `hog_feature`: a histogram of gradient orientations per 8×8 cell, as a 1-d Float64
 * array — 144 values for a 32×32 image, ordered [column cell][row cell][bin].
 *
 * The starter's exact definition, quirks included:
 * - colour images go through {@link rgb2gray} (weights 0.299/0.587/0.144); (H, W) images are
 *   used as they are (the starter's grayscale branch calls the non-existent `np.at_least_2d`;
 *   here it works);
 * - forward differences, zero in the last column (gx) and last row (gy);
 * - orientation `atan2(gy, gx + 1e-15)·180/π + 90`, so it spans [−90, 270]; bin i keeps the
 *   magnitude where `20i ≤ ori < 20(i+1)` and `ori > 0`: orientations of exactly 0, of 180 and
 *   beyond (gx < 0) are dropped;
 * - each bin's masked magnitude goes through `uniform_filter(size=8)` (scipy 'reflect' borders)
 *   and is sampled at rows/columns 4, 12, 20, …; for sizes that are multiples of 8 these are the
 *   cell means. The sampled (rows × cols) grid is transposed into a (⌊H/8⌋, ⌊W/8⌋) histogram.
 *
 * The transpose only fits when ⌈(W−4)/8⌉ = ⌊H/8⌋ and ⌈(H−4)/8⌉ = ⌊W/8⌋ (square images whose
 * side mod 8 is at most 4, and a few near-square ones); other sizes make the starter raise a
 * broadcast error, and here a ShapeError.
 */
export function hogFeature(im: Image): Tensor64 {
  const v = imageView('im', im, [2, 3]);
  const { H, W } = v;
  let gray: Float64Array;
  if (im.shape.length === 3) {
    gray = rgb2gray(im).data;
  } else {
    gray = new Float64Array(H * W);
    for (let r = 0; r < H; r++) for (let c = 0; c < W; c++) gray[r * W + c] = v.data[v.offset + r * v.sH + c * v.sW];
  }

  const start = Math.round(HOG_CELL / 2);
  const sampledRows = H > start ? Math.ceil((H - start) / HOG_CELL) : 0;
  const sampledCols = W > start ? Math.ceil((W - start) / HOG_CELL) : 0;
  const cellsX = Math.floor(H / HOG_CELL);
  const cellsY = Math.floor(W / HOG_CELL);
  if (sampledCols !== cellsX || sampledRows !== cellsY) {
    throw new ShapeError(
      `im: image size ${shapeStr(im.shape)} gives a ${sampledRows}x${sampledCols} grid of cell samples whose transpose does not fit ` +
        `the (${cellsX}, ${cellsY}) cell histogram (cs231n's hog_feature fails on it too); use square images whose side mod 8 is at most 4, e.g. 32x32`,
    );
  }

  // Bin index per pixel (−1: no bin). 180/9 is exactly 20, so the edges are 20·i.
  const n = H * W;
  const mag = new Float64Array(n);
  const bin = new Int8Array(n).fill(-1);
  const degPerRad = 180 / Math.PI;
  const binWidth = 180 / HOG_ORIENTATIONS;
  for (let r = 0; r < H; r++) {
    for (let c = 0; c < W; c++) {
      const p = r * W + c;
      const gx = c < W - 1 ? gray[p + 1] - gray[p] : 0;
      const gy = r < H - 1 ? gray[p + W] - gray[p] : 0;
      mag[p] = Math.sqrt(gx * gx + gy * gy);
      const ori = Math.atan2(gy, gx + 1e-15) * degPerRad + 90;
      for (let i = 0; i < HOG_ORIENTATIONS; i++) {
        if (ori < binWidth * (i + 1) && ori >= binWidth * i && ori > 0) {
          bin[p] = i;
          break;
        }
      }
    }
  }

  const out = new Float64Array(cellsX * cellsY * HOG_ORIENTATIONS);
  const masked = new Float64Array(n);
  for (let i = 0; i < HOG_ORIENTATIONS; i++) {
    for (let p = 0; p < n; p++) masked[p] = bin[p] === i ? mag[p] : 0;
    const { values, nc } = uniformFilterSampled(masked, H, W, HOG_CELL, start, HOG_CELL);
    // hist[a, b, i] = sampled[b, a] (the starter's `.T`), raveled as [a][b][i].
    for (let a = 0; a < cellsX; a++) {
      for (let b = 0; b < cellsY; b++) out[(a * cellsY + b) * HOG_ORIENTATIONS + i] = values[b * nc + a];
    }
  }
  return fromData(out, [out.length]);
}
