import ndarray from 'ndarray';
import type { Tensor } from '../../src/core/tensor';
import { visualizeGrid, writePng } from '../../src/vis/grid';

/*
 * The notebooks' last cell: each class's column of W (without the bias row) reshaped to an
 * image. All classes share one min–max rescale to 0..255, as the notebook does, so the
 * templates' brightness is comparable across classes.
 */

/**
 * Writes the class templates of W (D + 1, numClasses) for images (H, W, C) as one PNG, five
 * classes per row (the notebook's 2 × 5 layout for ten classes). Gray for C = 1.
 */
export function writeTemplates(file: string, W: Tensor, shape: [number, number, number]): void {
  const [H, Wd, C] = shape;
  const D = H * Wd * C;
  const numClasses = W.shape[1];
  if (W.shape[0] !== D + 1) throw new RangeError(`W: expected ${D + 1} rows (an image of ${H}×${Wd}×${C} plus the bias), got ${W.shape[0]}`);
  let lo = Infinity;
  let hi = -Infinity;
  for (let d = 0; d < D; d++) {
    for (let c = 0; c < numClasses; c++) {
      const v = W.get(d, c);
      if (v < lo) lo = v;
      if (v > hi) hi = v;
    }
  }
  const range = hi - lo || 1;
  const tiles = new Float64Array(numClasses * D);
  for (let c = 0; c < numClasses; c++) for (let d = 0; d < D; d++) tiles[c * D + d] = (255 * (W.get(d, c) - lo)) / range;
  const grid = visualizeGrid(ndarray(tiles, [numClasses, H, Wd, C]), { cols: Math.min(5, numClasses), normalize: false, padding: 2 });
  writePng(file, grid, { scale: H < 64 ? 3 : 1 });
}
