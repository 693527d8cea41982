import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import ndarray from 'ndarray';
import { PNG } from 'pngjs';
import { runAssignment, type AssignmentScript } from '../assignments/common';
import { script as featuresScript } from '../assignments/assignment1/features';
import { grayToRgb, notebookFeatureDim, notebookFeatureFns } from '../assignments/assignment1/featureFns';
import { fmtParam, gridOf, searchSettings } from '../assignments/assignment1/gridSearch';
import { writeMisclassified } from '../assignments/assignment1/misclassified';
import { comparability } from '../assignments/assignment1/netReference';
import { script as twoLayerNetScript } from '../assignments/assignment1/twoLayerNet';
import { RandomState } from '../src/core/random';
import { CIFAR10_CLASSES } from '../src/data/cifar';
import type { ImageDataset } from '../src/data/dataset';
import { loadEmbeddedMnist } from '../src/data/mnistEmbedded';
import { loadBestDataset, type BestDataset } from '../src/data/resolve';
import { extractFeatures } from '../src/features';

/*
 * The two-layer-net and features scripts end to end with --quick, on the shared mini CIFAR-10
 * and on the embedded MNIST digits (28×28×1), plus the helpers they are built from.
 */

const MINI = path.resolve(__dirname, '../../shared/data/cifar-10-mini');
const PNG_SIGNATURE = Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]);
const tmp = () => fs.mkdtempSync(path.join(os.tmpdir(), 'cs231n-a1net-'));

function expectFigure(dir: string, html: string, file: string): void {
  const p = path.join(dir, file);
  expect(fs.existsSync(p)).toBe(true);
  const buf = fs.readFileSync(p);
  expect(buf.length).toBeGreaterThan(100);
  if (file.endsWith('.png')) expect(buf.subarray(0, 8).equals(PNG_SIGNATURE)).toBe(true);
  else expect(buf.toString('utf8', 0, 2000)).toContain('<svg');
  expect(html).toContain(`src="${file}"`);
}

function pngSize(dir: string, file: string): [number, number] {
  const img = PNG.sync.read(fs.readFileSync(path.join(dir, file)));
  return [img.height, img.width];
}

async function runQuick(script: AssignmentScript, best: BestDataset) {
  const out = tmp();
  const lines: string[] = [];
  const report = await runAssignment(script, { data: MINI, out, quick: true, seed: 0, print: (l) => lines.push(l) }, best);
  const dir = path.join(out, script.name);
  const html = fs.readFileSync(path.join(dir, 'report.html'), 'utf8');
  return { report, dir, html, lines };
}

const checkValue = (report: { checks: Array<{ name: string; ours: string }> }, name: string) => report.checks.find((c) => c.name === name)?.ours;

/** The grid side of `n` tiles of size `s` with padding `p` (cs231n's square visualize_grid). */
const squareGrid = (n: number, s: number, p: number) => {
  const g = Math.ceil(Math.sqrt(n));
  return g * s + (g - 1) * p;
};

const TOY_CHECKS = [
  'Difference between your scores and correct scores (sum |diff|)',
  'Difference between your loss and correct loss',
  'W1 max relative error',
  'b1 max relative error',
  'W2 max relative error',
  'b2 max relative error',
  'Final training loss',
  'Final training loss vs an independent numpy run with the same seeds',
];

const NET_FIGURES = ['toy_loss_history.svg', 'loss_history.svg', 'accuracy_history.svg', 'net_weights.png', 'search_heatmap.svg', 'best_net_weights.png'];
const FEATURE_FIGURES = ['svm_heatmap.svg', 'misclassified_svm.png', 'misclassified_net.png'];

/**
 * The first `nTr` training and `nTe` test images of `ds`. --quick asks for 2000/500/500 rows;
 * on 1000 training images the split keeps the notebook's rule (validation a tenth: 900/100)
 * and the run is shorter — CPU-bound code runs several times slower under jest than under tsx.
 */
function head(ds: ImageDataset, nTr: number, nTe: number): ImageDataset {
  const [, H, W, C] = ds.Xtr.shape;
  const D = H * W * C;
  return {
    ...ds,
    Xtr: ndarray(ds.Xtr.data.subarray(ds.Xtr.offset, ds.Xtr.offset + nTr * D), [nTr, H, W, C]),
    ytr: ndarray(ds.ytr.data.subarray(ds.ytr.offset, ds.ytr.offset + nTr), [nTr]),
    Xte: ndarray(ds.Xte.data.subarray(ds.Xte.offset, ds.Xte.offset + nTe * D), [nTe, H, W, C]),
    yte: ndarray(ds.yte.data.subarray(ds.yte.offset, ds.yte.offset + nTe), [nTe]),
  };
}

let mini: BestDataset;
let mnist: BestDataset;
beforeAll(() => {
  const full = loadBestDataset({ path: MINI });
  mini = { ...full, dataset: head(full.dataset, 1000, 200) };
  mnist = { dataset: head(loadEmbeddedMnist(), 1000, 200), location: null, description: 'the first 1000 / 200 embedded MNIST digits' };
});

describe('twoLayerNet script (--quick)', () => {
  test('cifar-10-mini: the toy checks and every other check pass; figures and report.html are written', async () => {
    expect(mini.dataset.name).toBe('CIFAR-10');
    const { report, dir, html } = await runQuick(twoLayerNetScript, mini);
    expect(report.failures).toEqual([]);
    const names = report.checks.map((c) => c.name);
    for (const n of TOY_CHECKS) expect(names).toContain(n);
    expect(names).toContain('loss at iteration 0, ≈ log(C) for near-zero scores');
    expect(names).toContain('best validation accuracy, above chance');
    // Not the full CIFAR-10: the notebook's accuracies are printed, never checked.
    expect(names).not.toContain('validation accuracy, default settings');
    expect(names).not.toContain('test accuracy of the best net');
    expect(html).toContain('full-CIFAR reference ≈ 0.29 (0.281–0.287 in the solutions); not comparable on this data');
    expect(html).toContain('full-CIFAR reference &gt; 0.48');
    for (const f of NET_FIGURES) expectFigure(dir, html, f);
    // 50 hidden units of 32×32×3, padding 3, upscaled 2×.
    const side = squareGrid(50, 32, 3) * 2;
    expect(pngSize(dir, 'net_weights.png')).toEqual([side, side]);
  }, 60000);

  test('MNIST (28×28×1): runs end to end; the weight images are 28×28 gray', async () => {
    const { report, dir, html, lines } = await runQuick(twoLayerNetScript, mnist);
    expect(report.failures).toEqual([]);
    expect(lines.some((l) => l.startsWith('Train data shape: (900, 784), validation (100, 784), test (200, 784)'))).toBe(true);
    for (const f of NET_FIGURES) expectFigure(dir, html, f);
    const side = squareGrid(50, 28, 3) * 2;
    expect(pngSize(dir, 'best_net_weights.png')).toEqual([side, side]);
    const img = PNG.sync.read(fs.readFileSync(path.join(dir, 'net_weights.png')));
    let colored = 0;
    for (let p = 0; p < img.data.length; p += 4) if (img.data[p] !== img.data[p + 1] || img.data[p] !== img.data[p + 2]) colored++;
    expect(colored).toBe(0);
  }, 60000);
});

describe('features script (--quick)', () => {
  test('cifar-10-mini: 154 features (155 with bias); SVM and net train; mistakes grids are 10 rows × 8', async () => {
    const { report, dir, html } = await runQuick(featuresScript, mini);
    expect(report.failures).toEqual([]);
    expect(checkValue(report, 'feature dimension')).toBe('154');
    expect(checkValue(report, 'feature dimension with the bias column')).toBe('155');
    const names = report.checks.map((c) => c.name);
    expect(names).toContain('SVM best validation accuracy, above chance');
    expect(names).toContain('net best validation accuracy, above chance');
    expect(names).not.toContain('SVM test accuracy');
    expect(names).not.toContain('net test accuracy');
    expect(html).toContain('not comparable on this data');
    for (const f of FEATURE_FIGURES) expectFigure(dir, html, f);
    const expected: [number, number] = [(10 * 32 + 9 * 2) * 2, (8 * 32 + 7 * 2) * 2];
    expect(pngSize(dir, 'misclassified_svm.png')).toEqual(expected);
    expect(pngSize(dir, 'misclassified_net.png')).toEqual(expected);
  }, 60000);

  test('MNIST: gray images give 3·3·9 + 10 = 91 features (92 with bias) and the script runs end to end', async () => {
    const { report, dir, html } = await runQuick(featuresScript, mnist);
    expect(report.failures).toEqual([]);
    expect(checkValue(report, 'feature dimension')).toBe('91');
    expect(checkValue(report, 'feature dimension with the bias column')).toBe('92');
    expect(html).toContain('replicated to three equal channels');
    for (const f of FEATURE_FIGURES) expectFigure(dir, html, f);
    expect(pngSize(dir, 'misclassified_net.png')).toEqual([(10 * 28 + 9 * 2) * 2, (8 * 28 + 7 * 2) * 2]);
  }, 60000);
});

describe('helpers of the scripts', () => {
  test('a gray image replicated to RGB has hue 0 everywhere: its histogram is [1, 0, …, 0], HOG unchanged', () => {
    const rng = new RandomState(3);
    const gray = rng.randint(0, 256, [28, 28]);
    const rgb = grayToRgb(gray);
    expect(rgb.shape).toEqual([28, 28, 3]);
    for (let c = 0; c < 3; c++) expect(rgb.get(5, 7, c)).toBe(gray.get(5, 7));
    const imgs = ndarray(Uint8Array.from(gray.data), [1, 28, 28, 1]);
    const F = extractFeatures(imgs, notebookFeatureFns(), { progress: false });
    expect(F.shape).toEqual([1, notebookFeatureDim(28, 28)]);
    expect(notebookFeatureDim(32, 32)).toBe(154);
    const hist = Array.from({ length: 10 }, (_, k) => F.get(0, 81 + k));
    expect(hist).toEqual([1, 0, 0, 0, 0, 0, 0, 0, 0, 0]);
  });

  test('writeMisclassified shows, per predicted class, only images of another class given that label', () => {
    const N = 60;
    const C = 3;
    const imgs = ndarray(Uint8Array.from({ length: N * 4 * 4 * 1 }, (_, k) => Math.floor(k / 16)), [N, 4, 4, 1]);
    const rng = new RandomState(0);
    const yTrue = ndarray(Int32Array.from({ length: N }, (_, i) => i % C), [N]);
    const yPred = ndarray(Int32Array.from({ length: N }, (_, i) => (i % 5 === 0 ? (i + 1) % C : i % C)), [N]);
    const file = path.join(tmp(), 'm.png');
    const grid = writeMisclassified(file, imgs, yTrue, yPred, C, rng, 8);
    grid.perClass.forEach((picked, cls) => {
      const available = Array.from({ length: N }, (_, i) => i).filter((i) => yPred.get(i) === cls && yTrue.get(i) !== cls);
      expect(picked.length).toBe(Math.min(8, available.length));
      expect(new Set(picked).size).toBe(picked.length);
      for (const i of picked) expect(available).toContain(i);
    });
    // Tile (row cls, column j) holds image perClass[cls][j]: every pixel of image i is i.
    const png = PNG.sync.read(fs.readFileSync(file));
    const scale = 2;
    const first = grid.perClass.findIndex((p) => p.length > 0);
    const i = grid.perClass[first][0];
    const y = first * (4 + 2) * scale;
    expect(png.data[(y * png.width + 0) * 4]).toBe(i);
  });

  test('gridOf enumerates every combination, last axis fastest; searchSettings keeps the first best and skips NaN', () => {
    expect(gridOf({ a: [1, 2], b: ['x', 'y'] })).toEqual([
      { a: 1, b: 'x' },
      { a: 1, b: 'y' },
      { a: 2, b: 'x' },
      { a: 2, b: 'y' },
    ]);
    const vals = [NaN, 0.3, 0.5, 0.5, 0.1];
    const out = searchSettings('test', [0, 1, 2, 3, 4], (k) => ({ model: `m${k}`, trainAcc: 0, valAcc: vals[k] }));
    expect(out.results).toHaveLength(5);
    expect(out.best.model).toBe('m2');
    expect(() => searchSettings('test', [], () => ({ model: 0, trainAcc: 0, valAcc: 0 }))).toThrow(/at least one setting/);
    expect([1e-3, 0.25, 1, 500, 2.5e4, 5e-6].map(fmtParam)).toEqual(['1e-3', '0.25', '1', '500', '2.5e4', '5e-6']);
  });

  test('the notebook references are checked only on the full CIFAR-10 without --quick', () => {
    const shaped = (n: number) => ndarray(new Uint8Array(0), [n, 32, 32, 3]);
    const full: ImageDataset = {
      name: 'CIFAR-10',
      Xtr: shaped(50000),
      ytr: ndarray(new Int32Array(0), [50000]),
      Xte: shaped(10000),
      yte: ndarray(new Int32Array(0), [10000]),
      classNames: CIFAR10_CLASSES.slice(),
      shape: 'HWC',
      source: 'test',
    };
    expect(comparability(full, false)).toEqual({ comparable: true, note: null });
    expect(comparability(full, true).comparable).toBe(false);
    expect(comparability({ ...full, Xtr: shaped(4660) }, false).note).toMatch(/not comparable on this data/);
  });
});
