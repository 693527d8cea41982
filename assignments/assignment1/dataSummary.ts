import path from 'node:path';
import ndarray from 'ndarray';
import type { RandomState } from '../../src/core/random';
import type { ImageDataset } from '../../src/data/dataset';
import { visualizeGrid, writePng } from '../../src/vis/grid';
import type { Report } from '../../src/vis/report';
import { imageShape } from './images';

/*
 * The first cells of every assignment-1 notebook: print the array shapes and show a few
 * training images of each class (classes as columns, as the notebooks plot them).
 */

/** True when `ds` is the official full CIFAR-10 (50000 train / 10000 test). */
export function isFullCifar(ds: ImageDataset): boolean {
  return ds.name === 'CIFAR-10' && ds.Xtr.shape[0] === 50000 && ds.Xte.shape[0] === 10000;
}

/** Indices of the training examples of each class, in order. */
export function indicesByClass(ds: ImageDataset): number[][] {
  const byClass: number[][] = ds.classNames.map(() => []);
  const n = ds.ytr.shape[0];
  for (let i = 0; i < n; i++) {
    const c = ds.ytr.get(i);
    if (c >= 0 && c < byClass.length) byClass[c].push(i);
  }
  return byClass;
}

/**
 * Prints the data summary and writes `samples.png`: `perClass` random training images of
 * each class (drawn without replacement with `rng`, like the notebook's
 * `np.random.choice(idxs, samples_per_class, replace=False)`), one column per class.
 */
export function showDataSummary(ds: ImageDataset, report: Report, outDir: string, rng: RandomState, perClass = 7): void {
  report.section('Data');
  const [H, W, C] = imageShape(ds.Xtr);
  report.text(`${ds.name} from ${ds.source}`);
  report.text(`Training data shape: (${ds.Xtr.shape.join(', ')}), labels (${ds.ytr.shape[0]},)`);
  report.text(`Test data shape: (${ds.Xte.shape.join(', ')}), labels (${ds.yte.shape[0]},)`);
  report.text(`Classes (${ds.classNames.length}): ${ds.classNames.join(', ')}`);

  const byClass = indicesByClass(ds);
  const picks = byClass.map((idx) => {
    const k = Math.min(perClass, idx.length);
    if (k === 0) return [];
    const chosen = rng.choice(idx.length, k, false);
    return Array.from({ length: k }, (_, t) => idx[chosen.get(t)]);
  });
  const rows = Math.max(0, ...picks.map((p) => p.length));
  if (rows === 0) {
    report.text('No training images to show.');
    return;
  }
  const numCols = byClass.length;
  const D = H * W * C;
  // Row r holds sample r of every class; a class with fewer samples leaves a black tile.
  const tiles = new Uint8Array(rows * numCols * D);
  for (let r = 0; r < rows; r++) {
    for (let c = 0; c < numCols; c++) {
      const i = picks[c][r];
      if (i === undefined) continue;
      const dst = (r * numCols + c) * D;
      let k = 0;
      for (let y = 0; y < H; y++) for (let x = 0; x < W; x++) for (let ch = 0; ch < C; ch++) tiles[dst + k++] = ds.Xtr.get(i, y, x, ch);
    }
  }
  const grid = visualizeGrid(ndarray(tiles, [rows * numCols, H, W, C]), { cols: numCols, normalize: false, padding: 2 });
  const file = 'samples.png';
  writePng(path.join(outDir, file), grid, { scale: H < 64 ? 2 : 1 });
  report.figure(file, `${rows} random training images per class; columns left to right: ${ds.classNames.join(', ')}`);
}
