import path from 'node:path';
import ndarray from 'ndarray';
import type { TwoLayerNetTrainResult } from '../../src/classifiers/twoLayerNet';
import type { Tensor } from '../../src/core/tensor';
import { visualizeGrid, writePng } from '../../src/vis/grid';
import { lineSpec, writeSvg } from '../../src/vis/plot';
import type { Report } from '../../src/vis/report';

/*
 * The two-layer-net notebook's figures: the loss and accuracy histories of a training run,
 * and `show_net_weights` — each hidden unit's column of W1 seen as an image.
 */

/**
 * Writes W1 (D, hidden) as a grid of images, one per hidden unit, each its column reshaped to
 * `shape` (H, W, C; rows were flattened in HWC order) and min–max scaled on its own
 * (`visualize_grid(W1.reshape(32, 32, 3, -1).transpose(3, 0, 1, 2), padding=3)`).
 */
export function writeNetWeights(file: string, W1: Tensor, shape: [number, number, number]): void {
  const [H, W, C] = shape;
  const D = H * W * C;
  const [rows, hidden] = W1.shape;
  if (rows !== D) throw new RangeError(`W1: expected ${D} rows (an image of ${H}×${W}×${C}), got ${rows}`);
  const tiles = new Float64Array(hidden * D);
  for (let j = 0; j < hidden; j++) for (let d = 0; d < D; d++) tiles[j * D + d] = W1.get(d, j);
  const grid = visualizeGrid(ndarray(tiles, [hidden, H, W, C]), { padding: 3 });
  writePng(file, grid, { scale: H < 64 ? 2 : 1 });
}

/**
 * The notebook's two subplots as two SVGs: `<prefix>loss_history.svg` (loss per iteration)
 * and `<prefix>accuracy_history.svg` (train / val accuracy per epoch).
 */
export async function writeTrainingCurves(report: Report, outDir: string, stats: TwoLayerNetTrainResult, prefix = '', what = ''): Promise<void> {
  const lossFile = `${prefix}loss_history.svg`;
  const accFile = `${prefix}accuracy_history.svg`;
  await writeSvg(
    path.join(outDir, lossFile),
    lineSpec([{ name: 'loss', x: stats.lossHistory.map((_, i) => i), y: stats.lossHistory }], { title: 'Loss history', xLabel: 'Iteration', yLabel: 'Loss' }),
  );
  report.figure(lossFile, `Minibatch loss of every iteration${what}`);
  const epochs = stats.trainAccHistory.map((_, i) => i);
  await writeSvg(
    path.join(outDir, accFile),
    lineSpec(
      [
        { name: 'train', x: epochs, y: stats.trainAccHistory },
        { name: 'val', x: epochs, y: stats.valAccHistory },
      ],
      { title: 'Classification accuracy history', xLabel: 'Epoch', yLabel: 'Classification accuracy', points: true },
    ),
  );
  report.figure(accFile, `Training (minibatch) and validation accuracy at the start of every epoch${what}`);
}
