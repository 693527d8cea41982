/*
 * `cs231n train` / `cs231n eval` end to end on the mini CIFAR (../shared/data/cifar-10-mini)
 * and the embedded MNIST, with a tiny model registered here so each run takes seconds.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import ndarray from 'ndarray';
import { RandomState } from '../src/core/random';
import { loadSafetensors } from '../src/data/safetensors';
import { buildProgram } from '../src/cli/main';
import { parseDuration, runEval, runTrain } from '../src/cli/train';
import { listModels, registerModel } from '../src/models';
import { AdaptiveAvgPool2d } from '../src/nn/pooling';
import { BatchNorm2d } from '../src/nn/batchNorm';
import { Flatten } from '../src/nn/channel';
import { Conv2d } from '../src/nn/conv2d';
import { Linear } from '../src/nn/linear';
import { ReLU } from '../src/nn/activation';
import { Sequential } from '../src/nn/sequential';
import { summary } from '../src/nn/summary';
import { inputAdapter, pad, repeatChannels } from '../src/training';

const MINI = path.resolve(__dirname, '..', '..', 'shared', 'data', 'cifar-10-mini');
const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'cs231n-train-cli-'));
afterAll(() => fs.rmSync(tmp, { recursive: true, force: true }));
const quiet = () => undefined;

if (!listModels().some((e) => e.name === 'tiny_test_cnn')) {
  registerModel({
    name: 'tiny_test_cnn',
    description: 'test only: conv 3×3/2 (8) + BN + ReLU, global pool, linear',
    input: [3, 32, 32],
    numClasses: 10,
    options: [],
    build: (o) => {
      const rng = o.rng ?? new RandomState(0);
      return new Sequential(new Conv2d(3, 8, 3, { stride: 2, padding: 1, rng }), new BatchNorm2d(8), new ReLU(), new AdaptiveAvgPool2d({ outputSize: 1 }), new Flatten(), new Linear(8, o.numClasses as number, { rng }));
    },
  });
}

const base = ['--model', 'tiny_test_cnn', '--dataset', 'cifar10', '--data', MINI, '--batch-size', '64', '--optimizer', 'sgd', '--lr', '0.05', '--momentum', '0.9', '--nesterov', '--weight-decay', '5e-4', '--schedule', 'cosine', '--augment', 'crop-flip', '--seed', '3'];
const flags = (args: string[]) => {
  const o: Record<string, string | boolean> = {};
  for (let i = 0; i < args.length; i++) {
    const k = args[i].slice(2).replace(/-([a-z])/g, (_, c: string) => c.toUpperCase());
    if (args[i + 1] === undefined || args[i + 1].startsWith('--')) o[k] = true;
    else o[k] = args[++i];
  }
  return o;
};

describe('cs231n train', () => {
  const full = path.join(tmp, 'full');
  let lines: string[] = [];

  beforeAll(async () => {
    lines = [];
    await runTrain(flags([...base, '--epochs', '2', '--out', full]), (l) => lines.push(l));
  });

  test('writes metrics.jsonl (one line per epoch), summary.json with params and MACs, plots, report and checkpoint', () => {
    const metrics = fs.readFileSync(path.join(full, 'metrics.jsonl'), 'utf8').trim().split('\n').map((l) => JSON.parse(l));
    expect(metrics.map((m) => m.epoch)).toEqual([1, 2]);
    for (const m of metrics) expect(m.testAccuracy).toBeGreaterThan(0.1); // chance is 0.1 on CIFAR-10
    const s = JSON.parse(fs.readFileSync(path.join(full, 'summary.json'), 'utf8'));
    expect(Object.keys(s)).toEqual(expect.arrayContaining(['model', 'dataset', 'epochs', 'testAccuracy', 'bestTestAccuracy', 'seconds', 'imagesPerSecond', 'params', 'macs']));
    const sum = summary(new Sequential(new Conv2d(3, 8, 3, { stride: 2, padding: 1 }), new BatchNorm2d(8), new ReLU(), new AdaptiveAvgPool2d({ outputSize: 1 }), new Flatten(), new Linear(8, 10)), [3, 32, 32]);
    expect([s.model, s.dataset, s.epochs, s.params, s.macs]).toEqual(['tiny_test_cnn', 'cifar10', 2, sum.params, sum.macs]);
    expect(s.testAccuracy).toBe(metrics[1].testAccuracy);
    expect(s.bestTestAccuracy).toBe(Math.max(metrics[0].testAccuracy, metrics[1].testAccuracy));
    expect(s.imagesPerSecond).toBeGreaterThan(0);
    for (const f of ['loss.svg', 'accuracy.svg', 'confusion.svg']) expect(fs.readFileSync(path.join(full, f), 'utf8')).toMatch(/^<svg/);
    expect(fs.readFileSync(path.join(full, 'misclassified.png')).subarray(1, 4).toString()).toBe('PNG');
    const html = fs.readFileSync(path.join(full, 'report.html'), 'utf8');
    expect(html).toMatch(/Confusion matrix on 932 test images/);
    expect(html).toMatch(/misclassified\.png/);
    expect(html).toMatch(/<th>airplane<\/th>/);
    const weights = loadSafetensors(path.join(full, 'model.safetensors')).tensors;
    expect(Object.keys(weights)).toContain('1.running_mean');
    // PyTorch keeps num_batches_tracked as int64: the checkpoint's safetensors says I64 too.
    const bytes = fs.readFileSync(path.join(full, 'model.safetensors'));
    const header = JSON.parse(bytes.subarray(8, 8 + Number(bytes.readBigUInt64LE(0))).toString('utf8'));
    expect(header['1.num_batches_tracked'].dtype).toBe('I64');
    expect(Array.from(weights['1.num_batches_tracked'].data)).toEqual([2 * Math.ceil(4660 / 64)]);
    expect(lines.some((l) => /epoch 2\/2: train loss/.test(l))).toBe(true);
  });

  test('--resume after epoch 1 ends with the same weights and metrics as the uninterrupted run', async () => {
    const split = path.join(tmp, 'split');
    const first = await runTrain(flags([...base, '--epochs', '2', '--time-budget', '0.001s', '--out', split]), quiet);
    expect([first.summary.epochs, first.summary.stopReason]).toEqual([1, 'timeBudget']);
    await runTrain({ resume: split }, quiet);
    const a = loadSafetensors(path.join(full, 'model.safetensors')).tensors;
    const b = loadSafetensors(path.join(split, 'model.safetensors')).tensors;
    for (const k of Object.keys(a)) expect(Array.from(b[k].data)).toEqual(Array.from(a[k].data));
    const strip = (f: string) => fs.readFileSync(f, 'utf8').trim().split('\n').map((l) => {
      const { seconds, imagesPerSecond, testSeconds, ...rest } = JSON.parse(l);
      return rest;
    });
    expect(strip(path.join(split, 'metrics.jsonl'))).toEqual(strip(path.join(full, 'metrics.jsonl')));
    await expect(runTrain({ resume: split, lr: '0.1' }, quiet)).rejects.toThrow(/^--lr: the run in .* used 0\.05, got 0\.1/);
    await expect(runTrain({ resume: split, epochs: '3' }, quiet)).rejects.toThrow(/^--epochs: the cosine schedule of the run in .* spans 2 epochs/);
  });

  test('cs231n eval of the saved weights gives the run\'s test accuracy and its confusion matrix', async () => {
    const out: string[] = [];
    const r = await runEval({ model: 'tiny_test_cnn', weights: path.join(full, 'model.safetensors'), dataset: 'cifar10', data: MINI, out: path.join(tmp, 'eval') }, (l) => out.push(l));
    const s = JSON.parse(fs.readFileSync(path.join(full, 'summary.json'), 'utf8'));
    expect(r.accuracy).toBe(s.testAccuracy);
    expect(r.confusion.flat().reduce((a, b) => a + b, 0)).toBe(932);
    expect(r.confusion.reduce((a, row, i) => a + row[i], 0)).toBe(Math.round(s.testAccuracy * 932));
    expect(out.some((l) => /^confusion matrix/.test(l))).toBe(true);
    expect(fs.existsSync(path.join(tmp, 'eval', 'report.html'))).toBe(true);
  });

  test('one-channel 28×28 MNIST goes to the 3×32×32 model padded and repeated, and says so', async () => {
    const lines2: string[] = [];
    const r = await runTrain(flags(['--model', 'tiny_test_cnn', '--dataset', 'mnist', '--epochs', '1', '--batch-size', '100', '--optimizer', 'adam', '--lr', '0.01', '--out', path.join(tmp, 'mnist')]), (l) => lines2.push(l));
    expect(lines2.join('\n')).toMatch(/28×28 images zero-padded to 32×32[\s\S]*one-channel images repeated into the 3 channels/);
    expect(r.summary.input).toEqual([3, 32, 32]);
    expect(r.summary.testAccuracy).toBeGreaterThan(0.2); // chance 0.1; one epoch of an 8-channel net
  });
});

describe('input adaptation', () => {
  test('pad and repeatChannels place the image in the middle of a zero border, in every channel', () => {
    const x = ndarray(Float32Array.from({ length: 2 * 28 * 28 }, (_, i) => (i % 97) / 97), [2, 1, 28, 28]);
    const y = repeatChannels(3)(pad(2)(x, new RandomState(0)), new RandomState(0));
    expect(y.shape).toEqual([2, 3, 32, 32]);
    for (const [n, c, i, j] of [[0, 0, 0, 0], [1, 2, 31, 31], [0, 1, 1, 15], [1, 0, 30, 2]]) expect(y.get(n, c, i, j)).toBe(0);
    for (const [n, c, i, j] of [[0, 0, 2, 2], [1, 2, 29, 29], [0, 1, 10, 17]]) expect(y.get(n, c, i, j)).toBe(x.get(n, 0, i - 2, j - 2));
  });

  test('inputAdapter: padding, repetition, ImageNet models as is, and an error when the images cannot fit', () => {
    expect(inputAdapter([3, 32, 32], [3, 32, 32], 'm').notes).toEqual([]);
    expect(inputAdapter([1, 28, 28], [1, 28, 28], 'm').notes).toEqual([]);
    expect(inputAdapter([1, 28, 28], [3, 224, 224], 'resnet18')).toMatchObject({ input: [3, 28, 28] });
    expect(() => inputAdapter([3, 32, 32], [1, 28, 28], 'simple_convnet')).toThrow(/^--model simple_convnet: takes 1×28×28 images, --dataset gives 3×32×32/);
  });

  test('parseDuration', () => {
    expect([parseDuration('--t', '90'), parseDuration('--t', '90s'), parseDuration('--t', '10m'), parseDuration('--t', '1.5h')]).toEqual([90, 90, 600, 5400]);
    expect(() => parseDuration('--time-budget', '10 minutes')).toThrow(/^--time-budget: expected a duration/);
  });
});

describe('bad flags are one-line errors naming the flag', () => {
  const run = async (args: string[]): Promise<string> => {
    const errs: string[] = [];
    const program = buildProgram().exitOverride().configureOutput({ writeErr: (s) => errs.push(s), writeOut: () => undefined });
    for (const c of program.commands) c.exitOverride().configureOutput({ writeErr: (s) => errs.push(s), writeOut: () => undefined });
    try {
      await program.parseAsync(['node', 'cs231n', ...args]);
    } catch (e) {
      errs.push((e as Error).message);
    }
    return errs.join('\n');
  };
  const out = path.join(tmp, 'err');
  test.each([
    [['--model', 'nope'], /^--model: unknown model 'nope'; known: .*resnet18/],
    [['--dataset', 'imagenet'], /^--dataset: expected one of cifar10, fashion-mnist, mnist, got "imagenet"/],
    [['--epochs', '0'], /^--epochs: expected a positive integer, got "0"/],
    [['--batch-size', '1.5'], /^--batch-size: expected a positive integer/],
    [['--optimizer', 'lbfgs'], /^--optimizer: expected one of sgd, adam, adamw, got "lbfgs"/],
    [['--lr', '-1'], /^--lr: expected a learning rate > 0, got "-1"/],
    [['--schedule', 'linear'], /^--schedule: expected one of none, step, cosine, onecycle/],
    [['--augment', 'mixup'], /^--augment: expected one of none, crop-flip/],
    [['--time-budget', 'soon'], /^--time-budget: expected a duration/],
    [['--data', '/nonexistent/dir'], /^--data: \/nonexistent\/dir does not exist/],
    [['--dataset', 'fashion-mnist'], /^--data: .*cifar-10-mini holds no fashion-mnist dataset/],
  ])('%j', async (override, msg) => {
    const o = flags([...base, '--epochs', '1', '--out', out]);
    Object.assign(o, flags(override));
    await expect(runTrain(o, quiet)).rejects.toThrow(msg);
  });

  test('unknown flags and missing required ones (through the command line)', async () => {
    expect(await run(['train', '--modle', 'x'])).toMatch(/unknown option '--modle'/);
    expect(await run(['train', '--model', 'tiny_test_cnn', '--dataset', 'cifar10', '--epochs', '1', '--batch-size', '8', '--optimizer', 'sgd', '--lr', '0.1'])).toMatch(/^--out: required/m);
    expect(await run(['eval', '--model', 'tiny_test_cnn', '--dataset', 'cifar10'])).toMatch(/^--weights: required/m);
  });
});

describe('--model-option', () => {
  if (!listModels().some((e) => e.name === 'tiny_test_cnn_w')) {
    registerModel({
      name: 'tiny_test_cnn_w',
      description: 'test only: tiny_test_cnn with a width option',
      input: [3, 32, 32],
      numClasses: 10,
      options: ['width'],
      build: (o) => {
        const rng = o.rng ?? new RandomState(0);
        const w = (o.width as number | undefined) ?? 8;
        return new Sequential(new Conv2d(3, w, 3, { stride: 2, padding: 1, rng }), new ReLU(), new AdaptiveAvgPool2d({ outputSize: 1 }), new Flatten(), new Linear(w, o.numClasses as number, { rng }));
      },
    });
  }
  const dir = path.join(tmp, 'opts');
  const args = ['--model', 'tiny_test_cnn_w', '--dataset', 'cifar10', '--data', MINI, '--batch-size', '256', '--optimizer', 'adam', '--lr', '0.01', '--epochs', '1', '--out', dir];

  test('reaches the builder, is kept in run.json, must match on --resume, and eval takes it too', async () => {
    const lines: string[] = [];
    await runTrain({ ...flags(args), modelOption: ['width=4'] }, (l) => lines.push(l));
    expect(lines.some((l) => /model options: width=4/.test(l))).toBe(true);
    expect(JSON.parse(fs.readFileSync(path.join(dir, 'run.json'), 'utf8')).modelOptions).toEqual({ width: 4 });
    expect(loadSafetensors(path.join(dir, 'model.safetensors')).tensors['0.weight'].shape).toEqual([4, 3, 3, 3]);
    await expect(runTrain({ resume: dir, epochs: '2', modelOption: ['width=8'] }, quiet)).rejects.toThrow(/^--model-option: the run in .* used \{"width":4\}, got \{"width":8\}/);
    const r = await runEval({ model: 'tiny_test_cnn_w', weights: path.join(dir, 'model.safetensors'), dataset: 'cifar10', data: MINI, modelOption: ['width=4'] }, quiet);
    expect(r.accuracy).toBeGreaterThan(0);
    await expect(runEval({ model: 'tiny_test_cnn_w', weights: path.join(dir, 'model.safetensors'), dataset: 'cifar10', data: MINI }, quiet)).rejects.toThrow(/^--weights: .* does not fit tiny_test_cnn_w/);
  });

  test.each([
    [['depth=3'], /^--model-option: tiny_test_cnn_w has no option 'depth'; its options: width/],
    [['width'], /^--model-option: expected key=value, got "width"/],
    [['numClasses=3'], /^--model-option: numClasses is set by the run itself/],
  ])('%j is a one-line error', async (opt, msg) => {
    await expect(runTrain({ ...flags(args), out: path.join(tmp, 'opts-bad'), modelOption: opt }, quiet)).rejects.toThrow(msg);
  });
});
