import fs from 'node:fs';
import path from 'node:path';
import ndarray from 'ndarray';
import { RandomState } from '../../src/core/random';
import type { IntTensor, Tensor } from '../../src/core/tensor';
import { resolveDataset, loadDataset } from '../../src/data/resolve';
import { loadEmbeddedMnist } from '../../src/data/mnistEmbedded';
import type { ImageDataset } from '../../src/data/dataset';
import type { BestDataset } from '../../src/data/resolve';
import * as dlfs from '../../src/dlfs';
import { exitWith, parseScriptArgs, runAssignment, type AssignmentScript, type ScriptContext, type ScriptOptions } from '../common';

/*
 * What the Deep Learning from Scratch scripts share: the dataset choice (`--dataset
 * mnist|fashion-mnist`: real MNIST when it is found, else the 10,000 embedded digits; the full
 * Fashion-MNIST from the usual search order or the Debian package), the book's
 * `load_mnist(normalize=True, flatten=…)` form of it, and the trained weights that the filter,
 * misclassified and half-precision scripts reuse (the book's params.pkl files).
 */

/** The two datasets the book's scripts run on here. */
export type CnnDataset = 'mnist' | 'fashion-mnist';

/** The shared script options plus `--dataset`. */
export interface CnnScriptOptions extends ScriptOptions {
  /** Default: `$CS231N_DATASET`, else 'mnist'. */
  dataset?: CnnDataset;
}

/** The dataset asked for: the option, else `$CS231N_DATASET`, else MNIST. */
export function datasetOf(opts: ScriptOptions): CnnDataset {
  const d = (opts as CnnScriptOptions).dataset ?? process.env.CS231N_DATASET ?? 'mnist';
  if (d !== 'mnist' && d !== 'fashion-mnist') throw new RangeError(`--dataset: expected mnist or fashion-mnist, got ${JSON.stringify(d)}`);
  return d;
}

/** The book's `load_mnist(normalize=True)`: pixels /255 in float64, 1×28×28 or flattened to 784. */
export interface BookData {
  dataset: CnnDataset;
  /** One line: which data, from where, how many images. */
  description: string;
  xTrain: Tensor;
  tTrain: IntTensor;
  xTest: Tensor;
  tTest: IntTensor;
  classNames: string[];
}

const cache = new Map<CnnDataset, ImageDataset>();

function rawDataset(name: CnnDataset): { data: ImageDataset; from: string } {
  const loc = resolveDataset(name);
  if (!cache.has(name)) {
    if (loc) cache.set(name, loadDataset(loc));
    else if (name === 'mnist') cache.set(name, loadEmbeddedMnist());
    else throw new Error('--dataset fashion-mnist: Fashion-MNIST not found; run `cs231n data download fashion-mnist` or `apt-get install dataset-fashion-mnist`');
  }
  const data = cache.get(name) as ImageDataset;
  return { data, from: loc ? loc.dir : data.source };
}

function toFloat(X: ImageDataset['Xtr'], n: number, flatten: boolean): Tensor {
  const px = X.shape[1] * X.shape[2];
  const out = new Float64Array(n * px);
  const src = X.data;
  const off = X.offset;
  for (let i = 0; i < n * px; i++) out[i] = src[off + i] / 255;
  return ndarray(out, flatten ? [n, px] : [n, 1, X.shape[1], X.shape[2]]);
}

/**
 * The chosen dataset in the book's form. `maxTrain` / `maxTest` keep the first rows (the
 * embedded MNIST and Fashion-MNIST splits hold every class in proportion in any prefix).
 */
export function loadBookData(opts: ScriptOptions, o: { flatten: boolean; maxTrain?: number; maxTest?: number }): BookData {
  const dataset = datasetOf(opts);
  const { data, from } = rawDataset(dataset);
  const nTr = Math.min(o.maxTrain ?? Infinity, data.Xtr.shape[0]);
  const nTe = Math.min(o.maxTest ?? Infinity, data.Xte.shape[0]);
  const ytr = data.ytr.data.slice(data.ytr.offset, data.ytr.offset + nTr);
  const yte = data.yte.data.slice(data.yte.offset, data.yte.offset + nTe);
  const subset = nTr < data.Xtr.shape[0] || nTe < data.Xte.shape[0] ? ` (using ${nTr} / ${nTe})` : '';
  const stand = dataset === 'mnist' && data.name.includes('embedded') ? ' — standing in for the 60,000/10,000 MNIST, which cannot be downloaded here' : '';
  return {
    dataset,
    description: `data: ${data.name}, ${data.Xtr.shape[0]} train / ${data.Xte.shape[0]} test images${subset}, from ${from}${stand}`,
    xTrain: toFloat(data.Xtr, nTr, o.flatten),
    tTrain: ndarray(ytr, [nTr]),
    xTest: toFloat(data.Xte, nTe, o.flatten),
    tTest: ndarray(yte, [nTe]),
    classNames: data.classNames.slice(),
  };
}

/** True when the data is a full dataset (the long-run accuracy bands apply). */
export function isFull(d: BookData): boolean {
  return d.xTrain.shape[0] >= 8000 && d.xTest.shape[0] >= 2000;
}

/** Where a trained net's weights live: `<out>/<script>/<file>` (the book's params.pkl). */
export function paramsPath(opts: ScriptOptions, script: string, file: string): string {
  return path.join(opts.out, script, `${datasetOf(opts)}${opts.quick ? '-quick' : ''}-${file}`);
}

/**
 * The trained weights of `net` from `file` when a training script saved them there; otherwise
 * trains with `train` (a shorter run than the training script's) and saves the result.
 */
export function trainedOrTrain(ctx: ScriptContext, net: dlfs.BookNet, file: string, what: string, train: () => void): void {
  if (fs.existsSync(file)) {
    try {
      const meta = dlfs.loadParams(net, file);
      ctx.report.text(`${what}: weights loaded from ${file}${meta.testAcc !== undefined ? ` (test accuracy when saved ${meta.testAcc})` : ''}`);
      return;
    } catch (e) {
      ctx.report.text(`${what}: could not use ${file} (${(e as Error).message}); training instead`);
    }
  }
  ctx.report.text(`${what}: no saved weights at ${file}; training a net here`);
  train();
  fs.mkdirSync(path.dirname(file), { recursive: true });
  dlfs.saveParams(net, file);
}

/** A RandomState for one purpose of a script, derived from --seed. */
export function rngFor(opts: ScriptOptions, stream: number): RandomState {
  return new RandomState([opts.seed, stream]);
}

/**
 * What runAssignment calls the chosen data: the --dataset choice (not the CIFAR-first search
 * the cs231n notebooks use), so its first line names the data the script will train on.
 */
export function cnnBest(opts: ScriptOptions): BestDataset {
  const name = datasetOf(opts);
  const { data, from } = rawDataset(name);
  return { dataset: data, location: null, description: `--dataset ${name}: ${data.name} (${data.Xtr.shape[0]} train / ${data.Xte.shape[0]} test) from ${from}` };
}

/** Parses the shared options plus `--dataset` (removed from argv before the shared parser sees it). */
export function parseCnnArgs(name: string, description: string, argv: string[] = process.argv): CnnScriptOptions {
  const rest: string[] = [];
  let dataset: string | undefined;
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    if (a === '--dataset') dataset = argv[++i];
    else if (a.startsWith('--dataset=')) dataset = a.slice('--dataset='.length);
    else rest.push(a);
  }
  const { dataset: _shared, ...base } = parseScriptArgs(name, `${description} (--dataset mnist|fashion-mnist)`, rest);
  const opts: CnnScriptOptions = { ...base };
  if (dataset !== undefined) {
    if (dataset !== 'mnist' && dataset !== 'fashion-mnist') throw new RangeError(`--dataset: expected mnist or fashion-mnist, got ${JSON.stringify(dataset)}`);
    opts.dataset = dataset;
  }
  return opts;
}

/** Entry point of a CNN script run directly. */
export function cnnMain(script: AssignmentScript, description: string): void {
  let opts: CnnScriptOptions;
  try {
    opts = parseCnnArgs(script.name, description);
  } catch (e) {
    console.error(`error: ${(e as Error).message}`);
    process.exitCode = 2;
    return;
  }
  exitWith(runAssignment(script, opts, cnnBest(opts)));
}

/** A check that passes when lo ≤ value ≤ hi (printed with the band as the reference). */
export function checkRange(report: ScriptContext['report'], name: string, value: number, lo: number, hi: number, digits = 4): boolean {
  return report.check(name, value, `${lo}–${hi}`, { ok: value >= lo && value <= hi, digits });
}

/** The book's `SimpleConvNet()` (conv 30×5×5, hidden 100), as ch07/train_convnet builds it. */
export function bookSimpleConvNet(opts: ScriptOptions): dlfs.SimpleConvNet {
  return new dlfs.SimpleConvNet({ inputDim: [1, 28, 28], convParam: { filterNum: 30, filterSize: 5, pad: 0, stride: 1 }, hiddenSize: 100, outputSize: 10, weightInitStd: 0.01, rng: rngFor(opts, 1) });
}

/**
 * The SimpleConvNet that ch07/train_convnet saved (its params.pkl), for visualize_filter and
 * apply_filter; without one, a shorter run of the same training (2 epochs on 1000 images with
 * --quick, 3 epochs on the whole training set otherwise) is done here and saved.
 */
export function trainedSimpleConvNet(ctx: ScriptContext): dlfs.SimpleConvNet {
  const { opts } = ctx;
  const net = bookSimpleConvNet(opts);
  trainedOrTrain(ctx, net, paramsPath(opts, 'train_convnet', 'params.ckpt'), 'SimpleConvNet', () => {
    const data = loadBookData(opts, { flatten: false, maxTrain: opts.quick ? 1000 : undefined, maxTest: opts.quick ? 500 : undefined });
    const tr = new dlfs.Trainer(net, data.xTrain, data.tTrain, data.xTest, data.tTest, { epochs: opts.quick ? 2 : 3, miniBatchSize: 100, optimizer: 'Adam', optimizerParam: { lr: 0.001 }, evaluateSampleNumPerEpoch: 1000, verbose: false, rng: rngFor(opts, 2) });
    tr.train();
    ctx.report.text(`SimpleConvNet trained here: test accuracy ${tr.finalTestAcc.toFixed(4)}`);
  });
  return net;
}

/**
 * The DeepConvNet that ch08/train_deepnet saved (deep_convnet_params.pkl), for
 * misclassified_mnist and half_float_network; without one, a shorter run (1 epoch on 500
 * images with --quick, 5 epochs on the whole training set otherwise) is done here and saved.
 */
export function trainedDeepConvNet(ctx: ScriptContext): dlfs.DeepConvNet {
  const { opts } = ctx;
  const net = new dlfs.DeepConvNet({ rng: rngFor(opts, 1) });
  trainedOrTrain(ctx, net, paramsPath(opts, 'deep_convnet', 'deep_convnet_params.ckpt'), 'DeepConvNet', () => {
    const data = loadBookData(opts, { flatten: false, maxTrain: opts.quick ? 500 : undefined, maxTest: opts.quick ? 500 : undefined });
    const tr = new dlfs.Trainer(net, data.xTrain, data.tTrain, data.xTest, data.tTest, { epochs: opts.quick ? 1 : 5, optimizer: 'Adam', optimizerParam: { lr: 0.001 }, evaluateSampleNumPerEpoch: 500, verbose: false, rng: rngFor(opts, 2) });
    tr.train();
    ctx.report.text(`DeepConvNet trained here: test accuracy ${tr.finalTestAcc.toFixed(4)}`);
  });
  return net;
}
