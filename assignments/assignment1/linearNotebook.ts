import type { Backend } from '../../src/gpu';
import path from 'node:path';
import type { NdArray } from 'ndarray';
import type { LinearClassifier, LossResult } from '../../src/classifiers';
import { RandomState } from '../../src/core/random';
import { fromData, type NumStore, type Tensor } from '../../src/core/tensor';
import { gradCheckSparse } from '../../src/gradientCheck';
import { progressBar } from '../../src/util/progress';
import { writePng } from '../../src/vis/grid';
import { heatmapSpec, lineSpec, writeSvg } from '../../src/vis/plot';
import type { Report } from '../../src/vis/report';
import type { ScriptContext } from '../common';
import { frobeniusDiff } from './compare';
import { isFullCifar, showDataSummary } from './dataSummary';
import { accuracy } from './images';
import { NOTEBOOK_SPLIT, prepareLinearData, type LinearData, type LinearSplitRequest } from './linearData';
import { fmtNum, fullCifarCheck, MEAN_IMAGE_HEAD } from './reference';
import { writeTemplates } from './templates';
import { fmtSeconds, timed, timedBest } from './timing';

/*
 * svm.ipynb and softmax.ipynb share one flow and differ only in the loss: preprocessing,
 * the naive loss at a tiny random W, sparse gradient checks at reg 0 and 5e1, naive vs
 * vectorized (values and time), SGD with a loss curve, a learning-rate × regularization
 * search on the validation set, the best model on the test set, and the learned weights as
 * class templates. The spec below holds what differs.
 */

type LossFn = (W: Tensor, X: Tensor, y: NdArray<NumStore>, reg: number, opts?: { backend?: Backend }) => LossResult;

/** What differs between the SVM and the softmax notebook. */
export interface LinearNotebookSpec {
  /** 'SVM' or 'softmax', used in the printed names. */
  lossName: string;
  naive: LossFn;
  vectorized: LossFn;
  /** A fresh, untrained classifier with the vectorized loss. */
  create(): LinearClassifier;
  /** reg of the notebook's first naive-loss cell (SVM 5e-6, softmax 0). */
  firstReg: number;
  /** The expected first naive loss for C classes, its accepted band and the reason. */
  firstLossReference(numClasses: number): { ref: number; band: [number, number]; why: string };
  /** Judges the sparse gradient check (the SVM's hinge has kinks, softmax is smooth). */
  judgeGradCheck(report: Report, name: string, relErrors: number[]): void;
  /** Full-CIFAR validation / test accuracy references and bands. */
  reference: { val: string; valBand: [number, number]; test: string; testBand: [number, number] };
}

/** SGD settings of the notebook's first training cell, and the smaller --quick ones. */
const SGD = { learningRate: 1e-7, reg: 2.5e4, batchSize: 200, numIters: 1500, quickIters: 200 };

/**
 * The search grid. The notebooks' 1e-7 / 2.5e4 are for raw 0..255 pixels minus the mean
 * (CIFAR and MNIST alike): with reg r the weight decay per step is 2·lr·r, so lr up to 1e-6
 * with r ≤ 5e4 stays stable (decay ≤ 0.1) while 1500 steps still reach the regularised
 * equilibrium for the smallest lr (time constant 1 / (2·lr·r) ≤ 500 steps).
 */
const GRID = {
  full: { learningRates: [1e-7, 3e-7, 1e-6], regs: [5e3, 2.5e4, 5e4], numIters: 1500 },
  quick: { learningRates: [1e-7, 5e-7], regs: [1e4, 5e4], numIters: 100 },
};

/** --quick sizes; the dev set is halved too, since the naive loss dominates the gradient checks. */
const QUICK_SPLIT: LinearSplitRequest = { numTraining: 2000, numValidation: 500, numTest: 500, numDev: 250 };

/** `1e-7`, `2.5e4`: short labels for the grid axes. */
function fmtExp(v: number): string {
  const [m, e] = v.toExponential().split('e');
  return `${Number(m)}e${Number(e)}`;
}

/** C's `%e`: six decimals and at least two exponent digits (`1.5e-07`, `0.000000e+00`). */
function fmtE(x: number): string {
  return x.toExponential(6).replace(/e([+-])(\d)$/, 'e$10$2');
}

function printGradCheck(report: Report, entries: Array<{ numerical: number; analytic: number; relError: number }>): number[] {
  for (const e of entries) {
    report.text(`numerical: ${e.numerical.toFixed(6)} analytic: ${e.analytic.toFixed(6)}, relative error: ${fmtE(e.relError)}`);
  }
  return entries.map((e) => e.relError);
}

/** Runs the shared notebook flow for `spec` on the script context. */
export async function runLinearNotebook(spec: LinearNotebookSpec, { opts, best, report, outDir, backend }: ScriptContext): Promise<void> {
  const ds = best.dataset;
  const rng = new RandomState(opts.seed);
  const full = isFullCifar(ds);
  showDataSummary(ds, report, outDir, rng);

  report.section('Preprocessing');
  const data = prepareLinearData(ds, opts.quick ? QUICK_SPLIT : NOTEBOOK_SPLIT, rng);
  const numClasses = ds.classNames.length;
  // The notebook's exact split (and so its mean image) needs the official data and sizes.
  const comparable = full && !opts.quick && !data.split.clamped;
  report.text(`Split: ${data.split.note}; dev = ${data.numDev} random training rows (without replacement)`);
  report.text(
    `Shapes after flattening, mean subtraction and the bias column: train (${data.XTrain.shape.join(', ')}), ` +
      `val (${data.XVal.shape.join(', ')}), test (${data.XTest.shape.join(', ')}), dev (${data.XDev.shape.join(', ')})`,
  );
  showMeanImage(report, outDir, data);
  const head = Array.from(data.mean.subarray(0, 10));
  if (comparable) {
    const worst = Math.max(...head.map((v, i) => Math.abs(v - MEAN_IMAGE_HEAD[i])));
    report.check('mean_image[:10], max |difference|', worst, 0, { lessThan: 1e-6 });
  } else {
    report.text(`mean_image[:10]: [${head.map((v) => v.toFixed(4)).join(', ')}] (full-CIFAR reference [${MEAN_IMAGE_HEAD.map((v) => v.toFixed(4)).join(', ')}]; not comparable on this data)`);
  }
  const D = data.XDev.shape[1];

  report.section(`Naive ${spec.lossName} loss`);
  const W = rng.randn(D, numClasses);
  for (let t = 0; t < W.data.length; t++) W.data[t] *= 0.0001;
  const first = spec.naive(W, data.XDev, data.yDev, spec.firstReg);
  const firstRef = spec.firstLossReference(numClasses);
  report.text(`W = randn(${D}, ${numClasses}) * 0.0001, reg ${spec.firstReg}, on the dev set; ${firstRef.why}`);
  report.check(`naive ${spec.lossName} loss`, first.loss, firstRef.ref, { between: firstRef.band });

  report.section('Gradient check');
  for (const reg of [0, 5e1]) {
    const { dW } = spec.naive(W, data.XDev, data.yDev, reg);
    const f = (w: Tensor) => spec.naive(w, data.XDev, data.yDev, reg).loss;
    report.text(`reg = ${reg}:`);
    const rel = printGradCheck(report, gradCheckSparse(f, W, dW, { rng, print: false, numChecks: 10 }));
    spec.judgeGradCheck(report, `${spec.lossName} gradient check (reg ${reg})`, rel);
  }

  report.section('Naive vs vectorized');
  const naive = timedBest(() => spec.naive(W, data.XDev, data.yDev, 0.000005));
  const vect = timedBest(() => spec.vectorized(W, data.XDev, data.yDev, 0.000005));
  report.text(`Naive loss: ${naive.value.loss.toFixed(6)} computed in ${fmtSeconds(naive.seconds)} (best of 3 after a warm-up call)`);
  report.text(`Vectorized loss: ${vect.value.loss.toFixed(6)} computed in ${fmtSeconds(vect.seconds)} (best of 3 after a warm-up call)`);
  report.check('loss difference (naive − vectorized)', Math.abs(naive.value.loss - vect.value.loss), 0, { lessThan: 1e-8 });
  report.check('gradient difference (Frobenius norm)', frobeniusDiff(naive.value.dW, vect.value.dW), 0, { lessThan: 1e-8 });
  if (backend) {
    // gpu.js computes in float32: losses to 1e-4 relative, gradients to 1e-3 of their largest entry.
    const onBackend = timedBest(() => spec.vectorized(W, data.XDev, data.yDev, 0.000005, { backend }));
    report.check(`vectorized loss on ${backend.mode} vs the TS path, relative difference`, relDiff(onBackend.value.loss, vect.value.loss), 0, { lessThan: 1e-4 });
    report.check(`vectorized gradient on ${backend.mode}, max difference / max |dW|`, maxScaledDiff(onBackend.value.dW, vect.value.dW), 0, { lessThan: 1e-3 });
    report.text(`vectorized on ${backend.mode}: ${fmtSeconds(onBackend.seconds)} (TS path ${fmtSeconds(vect.seconds)})`);
  }
  report.table(
    ['version', 'seconds (loss + gradient, dev set)'],
    [
      ['naive', Number(naive.seconds.toPrecision(3))],
      ['vectorized', Number(vect.seconds.toPrecision(3))],
    ],
  );
  report.text(`vectorized is ${(naive.seconds / vect.seconds).toFixed(1)}× faster than naive on the dev set (${data.XDev.shape[0]} × ${D}); bench/assignment1.ts has the careful numbers`);

  await trainAndSearch(spec, data, { report, outDir, rng, quick: opts.quick, comparable, classNames: ds.classNames, backend });
}

function relDiff(a: number, b: number): number {
  return Math.abs(a - b) / Math.max(1e-12, Math.abs(b));
}

/** max |a − b| / max |b|. */
function maxScaledDiff(a: Tensor, b: Tensor): number {
  let m = 0;
  let scale = 0;
  for (let i = 0; i < b.data.length; i++) {
    m = Math.max(m, Math.abs(a.data[i] - b.data[i]));
    scale = Math.max(scale, Math.abs(b.data[i]));
  }
  return scale === 0 ? m : m / scale;
}

/** The mean image is already in 0..255, so it is written as is (no contrast stretch). */
function showMeanImage(report: Report, outDir: string, data: LinearData): void {
  const [H, W, C] = data.imageShape;
  writePng(path.join(outDir, 'mean_image.png'), fromData(Float64Array.from(data.mean), [H, W, C]), { scale: H < 64 ? 3 : 1 });
  report.figure('mean_image.png', 'Mean training image (subtracted from every split)');
}

async function trainAndSearch(
  spec: LinearNotebookSpec,
  data: LinearData,
  ctx: { report: Report; outDir: string; rng: RandomState; quick: boolean; comparable: boolean; classNames: string[]; backend?: Backend },
): Promise<void> {
  const { report, outDir, rng, quick, comparable, classNames, backend } = ctx;
  const numClasses = classNames.length;

  report.section('Stochastic gradient descent');
  const numIters = quick ? SGD.quickIters : SGD.numIters;
  const clf = spec.create();
  const run = timed(() => clf.train(data.XTrain, data.yTrain, { learningRate: SGD.learningRate, reg: SGD.reg, numIters, batchSize: SGD.batchSize, rng, backend }));
  const history = run.value;
  for (let it = 0; it < numIters; it += 100) report.text(`iteration ${it} / ${numIters}: loss ${history[it].toFixed(6)}`);
  report.text(`That took ${fmtSeconds(run.seconds)} (lr ${fmtExp(SGD.learningRate)}, reg ${fmtExp(SGD.reg)}, batch ${SGD.batchSize})`);
  const tail = history.slice(Math.floor(history.length * 0.9));
  const tailMean = tail.reduce((a, b) => a + b, 0) / tail.length;
  report.check('mean loss of the last 10% of iterations, below the first loss', tailMean, history[0], { lessThan: history[0] });
  await writeSvg(
    path.join(outDir, 'loss_history.svg'),
    lineSpec([{ name: 'loss', x: history.map((_, i) => i), y: history }], { title: `${spec.lossName} training loss`, xLabel: 'Iteration number', yLabel: 'Loss value' }),
  );
  report.figure('loss_history.svg', 'Loss of every SGD iteration');
  const trainAcc = accuracy(clf.predict(data.XTrain), data.yTrain).accuracy;
  const valAcc = accuracy(clf.predict(data.XVal), data.yVal).accuracy;
  report.text(`training accuracy: ${trainAcc.toFixed(6)}`);
  report.text(`validation accuracy: ${valAcc.toFixed(6)}`);

  report.section('Learning rate × regularization search');
  const grid = quick ? GRID.quick : GRID.full;
  report.text(
    `learning rates [${grid.learningRates.map(fmtExp).join(', ')}] × regularization strengths [${grid.regs.map(fmtExp).join(', ')}], ` +
      `${grid.numIters} iterations each, batch ${SGD.batchSize}; chosen by validation accuracy`,
  );
  const bar = progressBar(grid.learningRates.length * grid.regs.length, { label: 'hyperparameter search' });
  const valGrid: number[][] = grid.learningRates.map(() => grid.regs.map(() => NaN));
  const rows: Array<Array<string | number>> = [];
  let bestVal = -1;
  let bestModel: LinearClassifier | null = null;
  let bestParams = '';
  grid.learningRates.forEach((lr, i) => {
    grid.regs.forEach((reg, j) => {
      const model = spec.create();
      model.train(data.XTrain, data.yTrain, { learningRate: lr, reg, numIters: grid.numIters, batchSize: SGD.batchSize, rng, backend });
      const tr = accuracy(model.predict(data.XTrain), data.yTrain).accuracy;
      const va = accuracy(model.predict(data.XVal), data.yVal).accuracy;
      valGrid[i][j] = va;
      rows.push([fmtExp(lr), fmtExp(reg), Number(tr.toFixed(4)), Number(va.toFixed(4))]);
      if (va > bestVal) {
        bestVal = va;
        bestModel = model;
        bestParams = `lr ${fmtExp(lr)}, reg ${fmtExp(reg)}`;
      }
      bar.tick(1, `val ${va.toFixed(3)}`);
    });
  });
  bar.stop();
  report.table(['learning rate', 'regularization', 'train accuracy', 'val accuracy'], rows);
  await writeSvg(
    path.join(outDir, 'validation_heatmap.svg'),
    heatmapSpec(grid.learningRates.map(fmtExp), grid.regs.map(fmtExp), valGrid, {
      title: 'Validation accuracy',
      yLabel: 'learning rate',
      xLabel: 'regularization strength',
      valueLabel: 'val accuracy',
    }),
  );
  report.figure('validation_heatmap.svg', 'Validation accuracy over learning rate × regularization strength');
  report.text(`best validation accuracy achieved during cross-validation: ${bestVal.toFixed(6)} (${bestParams})`);
  const chance = 1 / numClasses;
  report.check('best validation accuracy, above chance', bestVal, `> ${fmtNum(chance)}`, { ok: bestVal > chance });
  fullCifarCheck(report, comparable, 'best validation accuracy', bestVal, spec.reference.val, { between: spec.reference.valBand });

  report.section('Test set');
  const model = bestModel as unknown as LinearClassifier;
  const testAcc = accuracy(model.predict(data.XTest), data.yTest);
  report.text(`${spec.lossName} on raw pixels, final test set accuracy: ${testAcc.accuracy.toFixed(6)} (${testAcc.correct} / ${testAcc.total}, ${bestParams})`);
  fullCifarCheck(report, comparable, 'test accuracy', testAcc.accuracy, spec.reference.test, { between: spec.reference.testBand });

  report.section('Learned weights');
  writeTemplates(path.join(outDir, 'templates.png'), model.W as Tensor, data.imageShape);
  report.figure('templates.png', `Learned weights of the best model as class templates (bias row dropped, one shared rescale to 0..255), five per row: ${classNames.join(', ')}`);
}
