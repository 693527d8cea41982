import ndarray, { type NdArray } from 'ndarray';
import { PNG } from 'pngjs';
import { assertArg, assertNdim, ShapeError, shapeStr } from '../core/check';
import type { NumStore, Tensor64 } from '../core/tensor';
import { writeFileAtomic } from '../util/atomicWrite';

/** Options of {@link visualizeGrid}. */
export interface VisualizeGridOptions {
  /** Each tile is scaled to [0, ubound] (cs231n default 255). */
  ubound?: number;
  /** Pixels between tiles (cs231n default 1). */
  padding?: number;
  /**
   * Tiles per row. Default: cs231n's square grid, ceil(sqrt(N)) by ceil(sqrt(N)). With
   * `cols`, the grid has ceil(N / cols) rows (e.g. 10 rows × 4 columns: one class per row).
   */
  cols?: number;
  /** Min-max scale each tile (cs231n, default true); false copies values as they are (for raw uint8 samples). */
  normalize?: boolean;
}

/**
 * cs231n's `visualize_grid`: images (N,H,W,C) of any numeric dtype tiled row by row into one
 * float64 image (gridH, gridW, C), each tile min-max scaled to [0, ubound] on its own,
 * `padding` zero pixels between tiles, unused tiles left zero. A constant tile (max = min,
 * where numpy would divide by zero and produce NaN) is drawn as zeros.
 */
export function visualizeGrid(images: NdArray<NumStore>, opts: VisualizeGridOptions = {}): Tensor64 {
  const { ubound = 255, padding = 1, normalize = true } = opts;
  assertNdim('images', images, 4);
  assertArg(Number.isInteger(padding) && padding >= 0, 'padding', 'a non-negative integer', padding);
  assertArg(Number.isFinite(ubound), 'ubound', 'a finite number', ubound);
  const [N, H, W, C] = images.shape;
  assertArg(N > 0, 'images', 'at least one image', `shape ${shapeStr(images.shape)}`);
  const cols = opts.cols ?? Math.ceil(Math.sqrt(N));
  assertArg(Number.isInteger(cols) && cols >= 1, 'cols', 'a positive integer', cols);
  const rows = opts.cols === undefined ? cols : Math.ceil(N / cols);
  const gh = rows > 0 ? H * rows + padding * (rows - 1) : 0;
  const gw = W * cols + padding * (cols - 1);
  const out = new Float64Array(gh * gw * C);
  const tile = new Float64Array(H * W * C);
  for (let n = 0; n < N; n++) {
    let lo = Infinity;
    let hi = -Infinity;
    let k = 0;
    for (let y = 0; y < H; y++) {
      for (let x = 0; x < W; x++) {
        for (let c = 0; c < C; c++) {
          const v = Number(images.get(n, y, x, c));
          tile[k++] = v;
          if (v < lo) lo = v;
          if (v > hi) hi = v;
        }
      }
    }
    const y0 = Math.floor(n / cols) * (H + padding);
    const x0 = (n % cols) * (W + padding);
    const range = hi - lo;
    k = 0;
    for (let y = 0; y < H; y++) {
      let o = ((y0 + y) * gw + x0) * C;
      if (!normalize) for (let x = 0; x < W * C; x++) out[o++] = tile[k++];
      // numpy's order, ubound * (img - low) / (high - low), so tiny ranges do not overflow
      else if (range > 0) for (let x = 0; x < W * C; x++) out[o++] = (ubound * (tile[k++] - lo)) / range;
      else k += W * C;
    }
  }
  return ndarray(out, [gh, gw, C]);
}

/** Options of {@link writePng}. */
export interface WritePngOptions {
  /** Integer upscaling factor (nearest neighbour), for tiny images such as 32×32 CIFAR. */
  scale?: number;
}

/**
 * Writes an image (H,W,C) with C = 1 (gray) or 3 (RGB) and values in [0, 255] (clamped and
 * rounded) as a PNG, atomically: a temporary file beside `file`, then a rename.
 */
export function writePng(file: string, image: NdArray<NumStore>, opts: WritePngOptions = {}): void {
  const scale = opts.scale ?? 1;
  assertArg(Number.isInteger(scale) && scale >= 1, 'scale', 'a positive integer', scale);
  assertNdim('image', image, 3);
  const [H, W, C] = image.shape;
  if (C !== 1 && C !== 3) throw new ShapeError(`image: expected shape (H, W, 1) or (H, W, 3), got ${shapeStr(image.shape)}`);
  if (H === 0 || W === 0) throw new ShapeError(`image: expected a non-empty image, got shape ${shapeStr(image.shape)}`);
  const png = new PNG({ width: W * scale, height: H * scale });
  const rgba = png.data;
  const byte = (v: number) => (Number.isNaN(v) ? 0 : v <= 0 ? 0 : v >= 255 ? 255 : Math.round(v));
  for (let y = 0; y < H; y++) {
    for (let x = 0; x < W; x++) {
      const r = byte(Number(image.get(y, x, 0)));
      const g = C === 3 ? byte(Number(image.get(y, x, 1))) : r;
      const b = C === 3 ? byte(Number(image.get(y, x, 2))) : r;
      for (let dy = 0; dy < scale; dy++) {
        let o = ((y * scale + dy) * W * scale + x * scale) * 4;
        for (let dx = 0; dx < scale; dx++, o += 4) {
          rgba[o] = r;
          rgba[o + 1] = g;
          rgba[o + 2] = b;
          rgba[o + 3] = 255;
        }
      }
    }
  }
  // Filter type 0 (none) with default deflate: pngjs's adaptive per-row filter search costs
  // 50-100x more time for a few percent of size on these small figures.
  const buf = PNG.sync.write(png, { filterType: 0 });
  writeFileAtomic(file, buf);
}
