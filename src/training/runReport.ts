import path from 'node:path';
import ndarray from 'ndarray';
import type { ImageDataset } from '../data/dataset';
import { visualizeGrid, writePng } from '../vis/grid';
import { heatmapSpec, lineSpec, writeSvg } from '../vis/plot';
import type { Report } from '../vis/report';
import type { EpochRecord } from './fit';
import { confusionMatrix, type Predictions } from './predict';

/** Writes `loss.svg` and `accuracy.svg` (train and test against epoch) into the report's directory and adds them. */
export async function addHistoryPlots(report: Report, history: EpochRecord[], title: string): Promise<void> {
  const epochs = history.map((h) => h.epoch);
  const series = (name: string, f: (h: EpochRecord) => number | null) => ({ name, x: epochs, y: history.map((h) => f(h) ?? NaN) });
  await writeSvg(path.join(report.outDir, 'loss.svg'), lineSpec([series('train', (h) => h.trainLoss), series('test', (h) => h.testLoss)], { title: `${title}: loss`, xLabel: 'epoch', yLabel: 'cross-entropy', points: true }));
  report.figure('loss.svg', 'training and test loss per epoch');
  await writeSvg(path.join(report.outDir, 'accuracy.svg'), lineSpec([series('train', (h) => h.trainAccuracy), series('test', (h) => h.testAccuracy)], { title: `${title}: accuracy`, xLabel: 'epoch', yLabel: 'accuracy', points: true }));
  report.figure('accuracy.svg', 'training and test accuracy per epoch');
}

/**
 * Adds the confusion matrix (counts as a table, row-normalised as `confusion.svg`) and a grid
 * of the first `maxImages` misclassified test images (`misclassified.png`, with a table of
 * their true and predicted classes) to the report. Returns the matrix.
 */
export async function addErrorAnalysis(report: Report, data: ImageDataset, p: Predictions, maxImages = 40): Promise<number[][]> {
  const names = data.classNames;
  const K = names.length;
  const m = confusionMatrix(p.labels, p.predictions, K);
  report.text(`Confusion matrix on ${p.labels.length} test images (rows: true class, columns: predicted):`);
  report.table(['true \\ predicted', ...names], m.map((row, i) => [names[i], ...row]));
  const rates = m.map((row) => {
    const n = row.reduce((a, b) => a + b, 0);
    return row.map((v) => (n ? v / n : NaN));
  });
  await writeSvg(path.join(report.outDir, 'confusion.svg'), heatmapSpec(names, names, rates, { title: 'confusion matrix (fraction of each true class)', xLabel: 'predicted', yLabel: 'true', valueLabel: 'fraction', width: 420, height: 420 }));
  report.figure('confusion.svg', 'confusion matrix, each row normalised to its class');
  const wrong: number[] = [];
  for (let i = 0; i < p.labels.length && wrong.length < maxImages; i++) if (p.labels[i] !== p.predictions[i]) wrong.push(i);
  if (!wrong.length) {
    report.text('No misclassified test images.');
    return m;
  }
  const [, H, W, C] = data.Xte.shape;
  const px = H * W * C;
  const tiles = new Uint8Array(wrong.length * px);
  wrong.forEach((i, k) => tiles.set(data.Xte.data.subarray(data.Xte.offset + p.rows[i] * px, data.Xte.offset + (p.rows[i] + 1) * px), k * px));
  const cols = Math.min(8, wrong.length);
  writePng(path.join(report.outDir, 'misclassified.png'), visualizeGrid(ndarray(tiles, [wrong.length, H, W, C]), { cols, normalize: false, padding: 2 }), { scale: 3 });
  report.figure('misclassified.png', `the first ${wrong.length} misclassified test images, ${cols} per row (labels below)`);
  report.table(['#', 'test image', 'true', 'predicted'], wrong.map((i, k) => [k + 1, p.rows[i], names[p.labels[i]], names[p.predictions[i]]]));
  return m;
}
