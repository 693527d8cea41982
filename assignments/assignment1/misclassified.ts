import ndarray from 'ndarray';
import type { RandomState } from '../../src/core/random';
import type { ByteTensor, IntTensor } from '../../src/core/tensor';
import { visualizeGrid, writePng } from '../../src/vis/grid';

/*
 * features.ipynb's "visualize mistakes" cell: for every class, a few test images the
 * classifier labelled as that class although they belong to another one
 * (`np.where((y_test != cls) & (y_test_pred == cls))`, then `np.random.choice(idxs,
 * examples_per_class, replace=False)`), one row per class here.
 */

/** What {@link writeMisclassified} drew: per class, the test indices shown (in row order). */
export interface MisclassifiedGrid {
  perClass: number[][];
}

/**
 * Writes a PNG with one row per class: up to `perRow` test images predicted as that class but
 * labelled otherwise, drawn without replacement with `rng` (fewer when fewer exist; the rest of
 * the row stays black). Pixels are the raw uint8 images, not rescaled.
 */
export function writeMisclassified(
  file: string,
  images: ByteTensor,
  yTrue: IntTensor,
  yPred: IntTensor,
  numClasses: number,
  rng: RandomState,
  perRow = 8,
): MisclassifiedGrid {
  const [N, H, W, C] = images.shape;
  if (yTrue.shape[0] !== N || yPred.shape[0] !== N) {
    throw new RangeError(`yTrue, yPred: expected ${N} labels each (one per image), got ${yTrue.shape[0]} and ${yPred.shape[0]}`);
  }
  const perClass: number[][] = [];
  for (let cls = 0; cls < numClasses; cls++) {
    const idxs: number[] = [];
    for (let i = 0; i < N; i++) if (yPred.get(i) === cls && yTrue.get(i) !== cls) idxs.push(i);
    const k = Math.min(perRow, idxs.length);
    const picked = k === 0 ? [] : Array.from(rng.choice(idxs.length, k, false).data, (t) => idxs[t]);
    perClass.push(picked);
  }
  const D = H * W * C;
  const tiles = new Uint8Array(numClasses * perRow * D);
  perClass.forEach((picked, cls) => {
    picked.forEach((i, j) => {
      const dst = (cls * perRow + j) * D;
      let k = 0;
      for (let y = 0; y < H; y++) for (let x = 0; x < W; x++) for (let c = 0; c < C; c++) tiles[dst + k++] = images.get(i, y, x, c);
    });
  });
  const grid = visualizeGrid(ndarray(tiles, [numClasses * perRow, H, W, C]), { cols: perRow, normalize: false, padding: 2 });
  writePng(file, grid, { scale: H < 64 ? 2 : 1 });
  return { perClass };
}
