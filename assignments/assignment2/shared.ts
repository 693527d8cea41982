import path from 'node:path';
import ndarray from 'ndarray';
import type { DType } from '../../src/core/dtype';
import { mean, std } from '../../src/core/reduce';
import { ascontiguous, sizeOf, transpose, type IntTensor, type Tensor } from '../../src/core/tensor';
import { getCifar10Data, type Cifar10Data } from '../../src/data/cifarSplits';
import type { BestDataset } from '../../src/data/resolve';
import { evalNumericalGradient, evalNumericalGradientArray, relError } from '../../src/gradientCheck';
import type { Labels } from '../../src/layers';
import type { LossAndGrads, Model, Solver } from '../../src/solver';
import { visualizeGrid, writePng } from '../../src/vis/grid';
import { lineSpec, writeSvg } from '../../src/vis/plot';
import type { Report } from '../../src/vis/report';

/*
 * What the four assignment-2 scripts share: splitting whichever dataset was found the way
 * cs231n's get_CIFAR10_data does (NCHW, mean image subtracted — for MNIST too, with its real
 * 1×28×28 dims), gradient-check helpers that print like the notebooks, accuracy checks that
 * only compare against cs231n's numbers on the full CIFAR-10, and the training-curve plots.
 */

/** get_CIFAR10_data's splits of the chosen dataset, plus what they are. */
export interface Splits extends Cifar10Data {
  /** (C, H, W) of one image. */
  inputDim: [number, number, number];
  /** C·H·W. */
  D: number;
  numClasses: number;
}

/** True when the data is the whole CIFAR-10 (the only case where cs231n's accuracy numbers apply). */
export function isFullCifar(best: BestDataset): boolean {
  const d = best.dataset;
  return d.name === 'CIFAR-10' && d.Xtr.shape[0] === 50000 && d.Xte.shape[0] === 10000;
}

/**
 * cs231n's `get_CIFAR10_data(num_training, num_validation, num_test)` on any of the found
 * datasets (CIFAR-10 full or mini, MNIST-format): NCHW, training mean subtracted. Requests
 * larger than the data are clamped (the split note says so).
 */
export function loadSplits(best: BestDataset, opts: { numTraining?: number; numValidation?: number; numTest?: number; dtype?: DType } = {}): Splits {
  const d = best.dataset;
  const data = getCifar10Data({
    // The splitter only reads the arrays and class names; dir/layout are for CIFAR's own loader.
    data: { Xtr: d.Xtr, ytr: d.ytr, Xte: d.Xte, yte: d.yte, classNames: d.classNames, dir: d.source, layout: 'cifar-10-batches-py' },
    numTraining: opts.numTraining ?? 49000,
    numValidation: opts.numValidation ?? 1000,
    numTest: opts.numTest ?? 1000,
    dtype: opts.dtype ?? 'float64',
    channelsFirst: true,
  });
  const [, C, H, W] = data.XTrain.shape;
  return { ...data, inputDim: [C, H, W], D: C * H * W, numClasses: d.classNames.length };
}

/** The first n rows of X and y (cs231n's `small_data`): copies, so training cannot alias them. */
export function firstRows(X: Tensor, y: IntTensor, n: number): { X: Tensor; y: IntTensor } {
  const m = Math.min(n, X.shape[0]);
  const row = sizeOf(X.shape.slice(1));
  const yd = y.data.slice(y.offset, y.offset + m);
  return { X: ndarray(ascontiguous(X).data.slice(0, m * row), [m, ...X.shape.slice(1)]), y: ndarray(yd, [m]) };
}

/** Relative error of every parameter's analytic gradient against the centred difference. */
export function modelGradErrors(model: Model, X: Tensor, y: Labels, h = 1e-5): Array<[string, number]> {
  const { grads } = model.loss(X, y) as LossAndGrads;
  return Object.keys(grads).sort().map((k) => {
    const num = evalNumericalGradient(() => (model.loss(X, y) as LossAndGrads).loss, model.params[k], { h });
    return [k, relError(num, grads[k])];
  });
}

/** Relative error of a layer's backward output against the numerical gradient of its forward (contracted with dout). */
export function layerGradError(forward: (x: Tensor) => Tensor, x: Tensor, dout: Tensor, analytic: Tensor, h = 1e-5): number {
  return relError(evalNumericalGradientArray(forward, x, dout, { h }), analytic);
}

/** Prints `name error: e (reference < bound)` as a check that passes below `bound`. */
export function checkError(report: Report, name: string, err: number, bound: number): boolean {
  return report.check(name, err, `< ${bound.toExponential(0)}`, { ok: err < bound, digits: 3 });
}

/**
 * A data-dependent accuracy, always judged: against cs231n's band on the full CIFAR-10; on a
 * subset or another dataset (where cs231n's numbers do not apply) against chance level, the
 * least a trained net must beat — a printed number without a verdict would count as passed.
 */
export function accuracyCheck(report: Report, best: BestDataset, name: string, ours: number, ref: number, band: [number, number]): boolean {
  if (isFullCifar(best)) return report.check(name, ours, ref, { between: band, digits: 4 });
  const chance = 1 / best.dataset.classNames.length;
  const why = `cs231n's ${ref} on full CIFAR-10 is not comparable on ${best.dataset.name} with ${best.dataset.Xtr.shape[0]} training images`;
  return report.check(`${name}, above chance (${why})`, ours, `> ${Number(chance.toFixed(4))}`, { ok: ours > chance, digits: 4 });
}

/** Writes a line plot into the report's directory and adds it to the report. */
export async function plot(report: Report, outDir: string, file: string, caption: string, series: Array<{ name: string; y: ArrayLike<number>; x?: ArrayLike<number> }>, opts: { xLabel: string; yLabel: string; logX?: boolean; logY?: boolean; points?: boolean }): Promise<void> {
  const spec = lineSpec(
    series.map((s) => ({ name: s.name, x: s.x ?? Array.from({ length: s.y.length }, (_, i) => i), y: s.y })),
    { title: caption, xLabel: opts.xLabel, yLabel: opts.yLabel, logX: opts.logX, logY: opts.logY, points: opts.points ?? series.some((s) => s.y.length < 30) },
  );
  await writeSvg(path.join(outDir, file), spec);
  report.figure(file, caption);
}

/** The notebook's three training-curve figures (loss per iteration, train and val accuracy per check) for several solvers. */
export async function plotSolvers(report: Report, outDir: string, prefix: string, title: string, solvers: Record<string, Solver>): Promise<void> {
  const names = Object.keys(solvers);
  await plot(report, outDir, `${prefix}_loss.svg`, `${title}: training loss`, names.map((n) => ({ name: n, y: solvers[n].lossHistory })), { xLabel: 'iteration', yLabel: 'loss', points: false });
  await plot(report, outDir, `${prefix}_train_acc.svg`, `${title}: training accuracy`, names.map((n) => ({ name: n, y: solvers[n].trainAccHistory })), { xLabel: 'epoch', yLabel: 'accuracy' });
  await plot(report, outDir, `${prefix}_val_acc.svg`, `${title}: validation accuracy`, names.map((n) => ({ name: n, y: solvers[n].valAccHistory })), { xLabel: 'epoch', yLabel: 'accuracy' });
}

/** First-layer conv filters `(F, C, h, w)` as one PNG grid (cs231n's `visualize_grid(W1.transpose(0, 2, 3, 1))`). */
export function writeFilterGrid(report: Report, outDir: string, file: string, caption: string, W1: Tensor): void {
  const grid = visualizeGrid(transpose(W1, [0, 2, 3, 1]));
  writePng(path.join(outDir, file), grid, { scale: W1.shape[2] <= 7 ? 8 : 4 });
  report.figure(file, caption);
}

/** Elapsed seconds of `fn` and its result. */
export function timed<T>(fn: () => T): { value: T; seconds: number } {
  const t0 = process.hrtime.bigint();
  const value = fn();
  return { value, seconds: Number(process.hrtime.bigint() - t0) / 1e9 };
}

/** Prints an array beside its reference (e.g. per-feature means); passes when every |ours − ref| ≤ tol. */
export function checkArray(report: Report, name: string, ours: ArrayLike<number>, ref: ArrayLike<number>, tol: number): boolean {
  const a = Array.from(ours);
  const r = Array.from(ref);
  const ok = a.length === r.length && a.every((v, i) => Math.abs(v - r[i]) <= tol);
  const show = (v: number[]): string => `[${v.map((x) => (Math.abs(x) < 5e-13 ? '0' : String(Number(x.toPrecision(10))))).join(', ')}]`;
  return report.check(`${name} (tolerance ${tol})`, show(a), show(r), { ok });
}

/** Per-column mean and biased std of an (R, D) array (the notebooks' `x.mean(axis=0)`, `x.std(axis=0)`). */
export function columnStats(a: Tensor): { means: number[]; stds: number[] } {
  return { means: Array.from(mean(a, 0).data), stds: Array.from(std(a, 0).data) };
}

/**
 * Trains, turning a diverged run (the Solver stops on a NaN/Inf loss) into a printed line
 * rather than an error: sweeps over weight scales expect some settings to blow up.
 */
export function trainOrReport(report: Report, what: string, solver: Solver): boolean {
  try {
    solver.train();
    return true;
  } catch (e) {
    if ((e as Error).name !== 'TrainingDivergedError') throw e;
    report.text(`${what}: diverged — ${(e as Error).message}`);
    return false;
  }
}

/** numpy's `np.logspace(a, b, num)`: 10 ** linspace(a, b, num). */
export function logspace(a: number, b: number, num: number): number[] {
  return Array.from({ length: num }, (_, i) => 10 ** (num === 1 ? a : a + ((b - a) * i) / (num - 1)));
}
