/*
 * The DLFS scripts (assignments/cnn) as a reader runs them: every check line passes and the
 * figures are written into report.html. The fast ones run here; the training
 * scripts run with --quick from `cs231n run` / CI (see bench/RESULTS.md for the full runs).
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { runAssignment, type AssignmentScript } from '../assignments/common';
import { CNN_SCRIPTS } from '../assignments/cnn';
import { cnnBest, datasetOf, parseCnnArgs } from '../assignments/cnn/shared';
import { checkNet } from '../assignments/cnn/gradientCheck';
import ndarray from 'ndarray';
import { RandomState } from '../src/core/random';
import * as dlfs from '../src/dlfs';

let tmp: string;
beforeAll(() => {
  process.env.CS231N_QUIET = '1';
  tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'dlfs-scripts-'));
});
afterAll(() => fs.rmSync(tmp, { recursive: true, force: true }));

async function run(name: string): Promise<string> {
  const script = CNN_SCRIPTS.find((s) => s.name === name) as AssignmentScript;
  const opts = { out: tmp, quick: true, seed: 0, print: () => {} };
  const report = await runAssignment(script, opts, cnnBest(opts));
  expect(report.failures).toEqual([]);
  expect(report.checks.length).toBeGreaterThan(3);
  const dir = path.join(tmp, name);
  const html = fs.readFileSync(path.join(dir, 'report.html'), 'utf8');
  const figures = Array.from(html.matchAll(/<img src="([^"]+)"/g), (m) => m[1]);
  expect(figures.length).toBeGreaterThan(0);
  for (const f of figures) expect(fs.statSync(path.join(dir, f)).size).toBeGreaterThan(500);
  return html;
}

test('CNN_SCRIPTS: unique names, the book order, each with a title and run', () => {
  const names = CNN_SCRIPTS.map((s) => s.name);
  expect(new Set(names).size).toBe(names.length);
  expect(names).toEqual([
    'optimizer_compare_naive', 'optimizer_compare_mnist', 'weight_init_activation_histogram', 'weight_init_compare',
    'batch_norm_test', 'batch_norm_gradient_check', 'overfit_weight_decay', 'overfit_dropout', 'hyperparameter_optimization',
    'gradient_check', 'train_convnet', 'visualize_filter', 'apply_filter',
    'deep_convnet', 'misclassified_mnist', 'augmentation', 'half_float_network',
    'architectures', // issue 12's CIFAR comparison, after the book's scripts
  ]);
  for (const s of CNN_SCRIPTS) expect(typeof s.run).toBe('function');
});

test('--dataset is parsed, checked and defaults to mnist', () => {
  const o = parseCnnArgs('x', 'd', ['node', 'x', '--dataset', 'fashion-mnist', '--quick']);
  expect([o.dataset, o.quick]).toEqual(['fashion-mnist', true]);
  expect(() => parseCnnArgs('x', 'd', ['node', 'x', '--dataset=cifar'])).toThrow(/--dataset: expected mnist or fashion-mnist, got "cifar"/);
  expect(datasetOf({ out: 'o', quick: true, seed: 0 })).toBe(process.env.CS231N_DATASET ?? 'mnist');
});

test('optimizer_compare_naive: the race end points pass and the contour figure is written', async () => {
  const html = await run('optimizer_compare_naive');
  expect(html).toContain('Adam after 30 updates');
});

test('weight_init_activation_histogram: the book qualitative results hold', async () => {
  const html = await run('weight_init_activation_histogram');
  expect(html).toContain('ReLU He');
});

test('gradient_check: every parameter agrees off ReLU/pool kinks, and kinks are rare', async () => {
  const html = await run('gradient_check');
  expect(html).toContain('entries excused as kinks');
});

test('augmentation: each transform is what it claims (rot90, shifts, flip, one brightness factor)', async () => {
  const html = await run('augmentation');
  expect(html).toContain('rotation by 90° = numpy rot90');
});

test('gradient_check: a backprop that is 1% off is not excused as a kink', () => {
  const net = new dlfs.SimpleConvNet({ inputDim: [1, 10, 10], convParam: { filterNum: 10, filterSize: 3, pad: 0, stride: 1 }, hiddenSize: 10, outputSize: 10, weightInitStd: 0.01, rng: new RandomState(1) });
  const x = new RandomState(2).rand(1, 1, 10, 10);
  const t = ndarray(Int32Array.of(1), [1]);
  const gradient = net.gradient.bind(net);
  net.gradient = (xb, tb) => {
    const g = gradient(xb, tb);
    return { ...g, W3: ndarray(Float64Array.from(g.W3.data, (v) => v * 1.01), g.W3.shape.slice()) };
  };
  const w3 = checkNet(net, x, t).find((r) => r.name === 'W3')!;
  expect(w3.kinks).toBe(0);
  expect(w3.worstSmooth).toBeGreaterThan(4e-3);
});
