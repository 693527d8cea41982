import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import ndarray from 'ndarray';
import { PNG } from 'pngjs';
import { runAssignment, type AssignmentScript } from '../assignments/common';
import { script as knnScript } from '../assignments/assignment1/knn';
import { script as svmScript } from '../assignments/assignment1/svm';
import { script as softmaxScript } from '../assignments/assignment1/softmax';
import { KNearestNeighbor } from '../src/classifiers';
import { toFloat, type ByteTensor } from '../src/core/tensor';
import { CIFAR10_CLASSES, loadCifarBatch } from '../src/data/cifar';
import type { ImageDataset } from '../src/data/dataset';
import { loadEmbeddedMnist } from '../src/data/mnistEmbedded';
import { loadBestDataset, type BestDataset } from '../src/data/resolve';

/*
 * The assignment-1 scripts end to end on the shared mini CIFAR-10 (--quick), and the kNN
 * k = 1 accuracy on the acceptance protocol against numpy.
 *
 * NUMPY_K1_CORRECT was computed by a numpy script (test/fixtures/gen_knn_k1.py, not this package): read
 * cifar-10-batches-bin/data_batch_1.bin and test_batch.bin of cifar-10-mini as records of
 * 1 label byte + 3072 bytes, reshape(-1, 3, 32, 32).transpose(0, 2, 3, 1) to HWC, flatten,
 * astype(float64); keep the first 500 test rows; dists = sqrt(((Xtr - x) ** 2).sum(1)) per
 * test row; nearest = argsort(dists, kind='stable')[:, 0] (ties → smaller training index);
 * correct = (ytr[nearest] == yte).sum(). It printed 118 (of 500, accuracy 0.236), and the
 * no-loop formula picked the same neighbours.
 */
const NUMPY_K1_CORRECT = 118;
const NUM_TEST = 500;

const MINI = path.resolve(__dirname, '../../shared/data/cifar-10-mini');
const tmp = () => fs.mkdtempSync(path.join(os.tmpdir(), 'cs231n-a1-'));
const PNG_SIGNATURE = Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]);

function expectFigure(dir: string, file: string): void {
  const p = path.join(dir, file);
  expect(fs.existsSync(p)).toBe(true);
  const buf = fs.readFileSync(p);
  expect(buf.length).toBeGreaterThan(100);
  if (file.endsWith('.png')) expect(buf.subarray(0, 8).equals(PNG_SIGNATURE)).toBe(true);
  else expect(buf.toString('utf8', 0, 2000)).toContain('<svg');
}

async function runQuick(script: AssignmentScript, best: BestDataset, extra: { quick?: boolean; lines?: string[] } = {}) {
  const out = tmp();
  const lines = extra.lines ?? [];
  const report = await runAssignment(script, { data: MINI, out, quick: extra.quick ?? true, seed: 0, print: (l) => lines.push(l) }, best);
  const dir = path.join(out, script.name);
  const html = path.join(dir, 'report.html');
  expect(fs.existsSync(html)).toBe(true);
  const text = fs.readFileSync(html, 'utf8');
  return { report, dir, html: text, lines };
}

describe('assignment 1 scripts on cifar-10-mini (--quick)', () => {
  let best: BestDataset;
  beforeAll(() => {
    best = loadBestDataset({ path: MINI });
  });

  test('knn: every check passes; distances, timings and cross-validation figures are written', async () => {
    const { report, dir, html } = await runQuick(knnScript, best);
    expect(report.failures).toEqual([]);
    const names = report.checks.map((c) => c.name);
    expect(names).toContain('one-loop vs two-loop distances, Frobenius difference');
    expect(names).toContain('no-loop vs two-loop distances, Frobenius difference');
    for (const f of ['samples.png', 'distances.png', 'timings.svg', 'cross_validation.svg']) {
      expectFigure(dir, f);
      expect(html).toContain(`src="${f}"`);
    }
    // The distance image is one pixel per (test, train) pair: 100 × 1000 in --quick.
    const img = PNG.sync.read(fs.readFileSync(path.join(dir, 'distances.png')));
    expect([img.height, img.width]).toEqual([100, 1000]);
    // Not the full CIFAR-10: the reference numbers are printed, not checked.
    expect(html).toContain('full-CIFAR reference 0.274; not comparable on this data');
  });

  for (const script of [svmScript, softmaxScript]) {
    test(`${script.name}: every check passes; loss curve, heat map, mean image and templates are written`, async () => {
      const { report, dir, html } = await runQuick(script, best);
      expect(report.failures).toEqual([]);
      const names = report.checks.map((c) => c.name);
      expect(names.some((n) => n.startsWith('naive ') && n.endsWith(' loss'))).toBe(true);
      expect(names.filter((n) => n.includes('gradient check (reg 0)')).length).toBe(1);
      expect(names.filter((n) => n.includes('gradient check (reg 50)')).length).toBe(1);
      expect(names).toContain('gradient difference (Frobenius norm)');
      for (const f of ['samples.png', 'mean_image.png', 'loss_history.svg', 'validation_heatmap.svg', 'templates.png']) {
        expectFigure(dir, f);
        expect(html).toContain(`src="${f}"`);
      }
      // Ten 32×32 templates, five per row, upscaled 3× with 2-pixel gaps.
      const t = PNG.sync.read(fs.readFileSync(path.join(dir, 'templates.png')));
      expect([t.height, t.width]).toEqual([(2 * 32 + 2) * 3, (5 * 32 + 4 * 2) * 3]);
    });
  }
});

describe('kNN k = 1 accuracy on data_batch_1 / first 500 of test_batch equals numpy', () => {
  const batchDir = path.join(MINI, 'cifar-10-batches-bin');
  const train = loadCifarBatch(path.join(batchDir, 'data_batch_1.bin'));
  const testBatch = loadCifarBatch(path.join(batchDir, 'test_batch.bin'));

  test('through the library: KNearestNeighbor on flattened HWC float64 rows', () => {
    const flat = (X: ByteTensor, n: number) => toFloat(ndarray(X.data.subarray(0, n * 3072), [n, 3072]), 'float64');
    const Xtr = flat(train.X, train.X.shape[0]);
    const Xte = flat(testBatch.X, NUM_TEST);
    const knn = new KNearestNeighbor();
    knn.train(Xtr, train.y);
    for (const numLoops of [0, 1]) {
      const pred = knn.predict(Xte, { k: 1, numLoops });
      let correct = 0;
      for (let i = 0; i < NUM_TEST; i++) if (pred.get(i) === testBatch.y.get(i)) correct++;
      expect(correct).toBe(NUMPY_K1_CORRECT);
    }
  });

  test('through the kNN script (full protocol sizes: 5000 train clamped to the 932 of the batch, 500 test)', async () => {
    const dataset: ImageDataset = {
      name: 'CIFAR-10 data_batch_1 / test_batch',
      Xtr: train.X,
      ytr: train.y,
      Xte: testBatch.X,
      yte: testBatch.y,
      classNames: CIFAR10_CLASSES.slice(),
      shape: 'HWC',
      source: batchDir,
    };
    const lines: string[] = [];
    const { report } = await runQuick(knnScript, { dataset, location: null, description: 'data_batch_1 / test_batch' }, { quick: false, lines });
    expect(report.failures).toEqual([]);
    expect(lines).toContain(`k=1: got ${NUMPY_K1_CORRECT} / ${NUM_TEST} correct => accuracy: ${(NUMPY_K1_CORRECT / NUM_TEST).toFixed(6)}`);
    expect(lines).toContain('X_train: (932, 3072), X_test: (500, 3072)');
  });
});

describe('assignment 1 scripts on MNIST-shaped data (28×28×1)', () => {
  test('svm --quick runs on a slice of the embedded digits; templates are gray', async () => {
    const m = loadEmbeddedMnist();
    const nTr = 1200;
    const nTe = 200;
    const dataset: ImageDataset = {
      ...m,
      Xtr: ndarray(m.Xtr.data.subarray(0, nTr * 784), [nTr, 28, 28, 1]),
      ytr: ndarray(m.ytr.data.subarray(0, nTr), [nTr]),
      Xte: ndarray(m.Xte.data.subarray(0, nTe * 784), [nTe, 28, 28, 1]),
      yte: ndarray(m.yte.data.subarray(0, nTe), [nTe]),
    };
    const lines: string[] = [];
    const { report, dir } = await runQuick(svmScript, { dataset, location: null, description: 'MNIST slice' }, { lines });
    expect(report.failures).toEqual([]);
    expect(lines.some((l) => l.includes('dev (250, 785)'))).toBe(true);
    const t = PNG.sync.read(fs.readFileSync(path.join(dir, 'templates.png')));
    expect([t.height, t.width]).toEqual([(2 * 28 + 2) * 3, (5 * 28 + 4 * 2) * 3]);
    let colored = 0;
    for (let p = 0; p < t.data.length; p += 4) if (t.data[p] !== t.data[p + 1] || t.data[p] !== t.data[p + 2]) colored++;
    expect(colored).toBe(0);
  });
});
