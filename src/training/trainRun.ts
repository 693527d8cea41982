import fs from 'node:fs';
import path from 'node:path';
import ndarray from 'ndarray';
import { RandomState } from '../core/random';
import type { DatasetName, ImageDataset } from '../data/dataset';
import { createModel, listModels } from '../models';
import type { Module } from '../nn/module';
import { summary } from '../nn/summary';
import { writeFileAtomic } from '../util/atomicWrite';
import { Report } from '../vis/report';
import { AdamW } from './adamw';
import { Adam } from './adam';
import { CosineAnnealingLR } from './cosineAnnealingLR';
import { DataLoader } from './dataLoader';
import { inputAdapter, loadTrainingData, runTransforms, type Augment, type TrainingData } from './datasets';
import { fit, type EpochRecord, type FitResult } from './fit';
import type { Scheduler } from './lrScheduler';
import { OneCycleLR } from './oneCycleLR';
import type { BaseOptimizerOptions, Optimizer } from './optimizer';
import { predict, type Predictions } from './predict';
import { addErrorAnalysis, addHistoryPlots } from './runReport';
import { SGD } from './sgd';
import { StepLR } from './stepLR';

/** The settings of one training run (`cs231n train`'s flags). */
export interface TrainRunConfig {
  model: string;
  dataset: DatasetName;
  epochs: number;
  batchSize: number;
  optimizer: 'sgd' | 'adam' | 'adamw';
  lr: number;
  /** SGD momentum (default 0, as PyTorch). */
  momentum: number;
  nesterov: boolean;
  weightDecay: number;
  schedule: 'none' | 'step' | 'cosine' | 'onecycle';
  augment: Augment;
  seed: number;
  /** Seconds of training after which the run stops at the end of the epoch. */
  timeBudget?: number;
  /** `--data DIR` (searched first); kept in run.json so `--resume` finds the same data. */
  data?: string;
  /** Keep only the first rows of the splits (quick runs); default all. */
  maxTrain?: number;
  maxTest?: number;
  /** The model's own options (`--model-option dropout=0.1`), passed to createModel. */
  modelOptions?: Record<string, number | boolean | string>;
}

/** The settings a resumed run must share with the run it continues (the rest may change). */
const FIXED: ReadonlyArray<keyof TrainRunConfig> = ['model', 'dataset', 'batchSize', 'optimizer', 'lr', 'momentum', 'nesterov', 'weightDecay', 'schedule', 'augment', 'seed', 'maxTrain', 'maxTest', 'modelOptions'];
/** Flag names of the settings, for errors. */
export const CONFIG_FLAGS: Readonly<Record<keyof TrainRunConfig, string>> = {
  model: '--model', dataset: '--dataset', epochs: '--epochs', batchSize: '--batch-size', optimizer: '--optimizer', lr: '--lr',
  momentum: '--momentum', nesterov: '--nesterov', weightDecay: '--weight-decay', schedule: '--schedule', augment: '--augment',
  seed: '--seed', timeBudget: '--time-budget', data: '--data', maxTrain: 'maxTrain', maxTest: 'maxTest', modelOptions: '--model-option',
};

/** What `summary.json` holds (SPEC §11), plus the run's stop reason and input notes. */
export interface TrainSummary {
  model: string;
  dataset: string;
  epochs: number;
  testAccuracy: number | null;
  bestTestAccuracy: number | null;
  seconds: number;
  imagesPerSecond: number;
  params: number;
  macs: number;
  /** Test images per second during the final evaluation. */
  evalImagesPerSecond: number;
  stopReason: FitResult['stopReason'];
  input: number[];
  notes: string[];
}

/** Options of {@link trainRun} besides the settings. */
export interface TrainRunOptions {
  /** Output directory: checkpoints, metrics.jsonl, summary.json, plots, report.html. */
  out: string;
  /** Continue the run in `out` (its `run.json` must hold the same fixed settings). */
  resume?: boolean;
  /** Already loaded data (the architecture comparison loads it once). */
  preloaded?: TrainingData;
  /** Progress bar (default: when stderr is a terminal). */
  progress?: boolean;
  /** Where lines go (default console.log). */
  print?: (line: string) => void;
  /** Skip report.html and its figures (the comparison writes its own). */
  report?: boolean;
}

/** What {@link trainRun} returns. */
export interface TrainRunResult {
  summary: TrainSummary;
  history: EpochRecord[];
  model: Module;
  /** The test predictions of the final model (null with `report: false`). */
  predictions: Predictions | null;
  files: { metrics: string; summary: string; report: string | null; model: string };
}

/** The settings saved in a run directory's `run.json` (for `--resume`). */
export function readRunConfig(dir: string): TrainRunConfig {
  const file = path.join(dir, 'run.json');
  let text: string;
  try {
    text = fs.readFileSync(file, 'utf8');
  } catch {
    throw new Error(`--resume: ${dir} holds no run (no run.json)`);
  }
  try {
    return JSON.parse(text) as TrainRunConfig;
  } catch (e) {
    throw new Error(`--resume: ${file} is not valid JSON (${(e as Error).message})`);
  }
}

function readMetrics(file: string): EpochRecord[] {
  if (!fs.existsSync(file)) return [];
  return fs.readFileSync(file, 'utf8').split('\n').filter((l) => l.trim()).map((l) => JSON.parse(l) as EpochRecord);
}

/** The first `n` rows of uint8 images (N, H, W, C) and their labels, without copying. */
function head(X: ImageDataset['Xtr'], y: ImageDataset['ytr'], n: number | undefined): [ImageDataset['Xtr'], ImageDataset['ytr']] {
  if (n === undefined || n >= X.shape[0]) return [X, y];
  const [, H, W, C] = X.shape;
  const px = H * W * C;
  return [ndarray(X.data.subarray(X.offset, X.offset + n * px), [n, H, W, C]), ndarray(y.data.subarray(y.offset, y.offset + n), [n])];
}

function makeOptimizer(model: Module, c: TrainRunConfig): Optimizer<BaseOptimizerOptions> {
  const params = model.parameters();
  if (c.optimizer === 'sgd') return new SGD(params, { lr: c.lr, momentum: c.momentum, nesterov: c.nesterov, weightDecay: c.weightDecay });
  if (c.optimizer === 'adam') return new Adam(params, { lr: c.lr, weightDecay: c.weightDecay });
  return new AdamW(params, { lr: c.lr, weightDecay: c.weightDecay });
}

/**
 * The schedules of `--schedule`: `step` multiplies the lr by 0.1 every ⌈epochs/3⌉ epochs,
 * `cosine` anneals to 0 over the epochs, `onecycle` is OneCycleLR with `maxLr = lr` over every
 * batch of the run (stepped per batch); all as PyTorch's classes.
 */
function makeScheduler(opt: Optimizer<BaseOptimizerOptions>, c: TrainRunConfig, batches: number): Scheduler | undefined {
  if (c.schedule === 'step') return new StepLR(opt, { stepSize: Math.max(1, Math.ceil(c.epochs / 3)), gamma: 0.1 });
  if (c.schedule === 'cosine') return new CosineAnnealingLR(opt, { tMax: c.epochs });
  if (c.schedule === 'onecycle') return new OneCycleLR(opt, { maxLr: c.lr, totalSteps: c.epochs * batches });
  return undefined;
}

/**
 * One training run as `cs231n train` does it: loads the data, fits the images to the model
 * (padding, channel repetition, said in the notes), builds the model from the registry with
 * the seed, trains with {@link fit} (checkpoints in `out`, `metrics.jsonl` rewritten atomically
 * after every epoch), then evaluates the test split once more for the confusion matrix and
 * writes `summary.json`, the loss/accuracy plots and `report.html`.
 */
export async function trainRun(config: TrainRunConfig, opts: TrainRunOptions): Promise<TrainRunResult> {
  const print = opts.print ?? ((l: string) => console.log(l));
  const out = path.resolve(opts.out);
  const runFile = path.join(out, 'run.json');
  let c = config;
  if (opts.resume) {
    const saved = readRunConfig(out);
    for (const k of FIXED) {
      if (JSON.stringify(saved[k] ?? null) !== JSON.stringify(config[k] ?? null)) throw new Error(`${CONFIG_FLAGS[k]}: the run in ${out} used ${JSON.stringify(saved[k])}, got ${JSON.stringify(config[k])} (a resumed run keeps its settings)`);
    }
    if (saved.schedule !== 'none' && config.epochs !== saved.epochs) {
      throw new Error(`--epochs: the ${saved.schedule} schedule of the run in ${out} spans ${saved.epochs} epochs and a resumed run keeps it, got ${config.epochs}`);
    }
    c = { ...saved, epochs: config.epochs, timeBudget: config.timeBudget, data: config.data ?? saved.data };
  }
  const entry = listModels().find((e) => e.name === c.model);
  if (!entry) throw new RangeError(`--model: unknown model '${c.model}'; known: ${listModels().map((e) => e.name).join(', ')}`);
  const data = opts.preloaded ?? loadTrainingData(c.dataset, { data: c.data });
  const ds = data.dataset;
  const [, H, W, C] = ds.Xtr.shape;
  const adapter = inputAdapter([C, H, W], entry.input, c.model);
  const classes = ds.classNames.length;
  print(`Training ${c.model} on ${data.description}`);
  for (const n of adapter.notes) print(`  input: ${n}`);

  const model = createModel(c.model, { ...c.modelOptions, numClasses: classes, rng: new RandomState(c.seed) });
  if (c.modelOptions && Object.keys(c.modelOptions).length) print(`  model options: ${Object.entries(c.modelOptions).map(([k, v]) => `${k}=${v}`).join(', ')}`);
  const sum = summary(model, adapter.input);
  print(`  ${sum.params.toLocaleString('en-US')} parameters, ${(sum.macs / 1e6).toFixed(1)} M MACs per ${adapter.input.join('×')} image`);
  const tf = runTransforms(c.dataset, adapter, c.augment);
  const [Xtr, ytr] = head(ds.Xtr, ds.ytr, c.maxTrain);
  const [Xte, yte] = head(ds.Xte, ds.yte, c.maxTest);
  const train = new DataLoader(Xtr, ytr, { batchSize: c.batchSize, shuffle: true, seed: c.seed, transform: tf.train });
  const test = new DataLoader(Xte, yte, { batchSize: Math.max(c.batchSize, 100), transform: tf.test });
  const optimizer = makeOptimizer(model, c);
  const scheduler = makeScheduler(optimizer, c, train.length);

  fs.mkdirSync(out, { recursive: true });
  if (!opts.resume) writeFileAtomic(runFile, `${JSON.stringify({ ...c, timeBudget: undefined, data: c.data === undefined ? undefined : path.resolve(c.data) }, null, 2)}\n`);
  const metrics = path.join(out, 'metrics.jsonl');
  let lines: EpochRecord[] = opts.resume ? readMetrics(metrics) : [];
  const r = fit(model, {
    optimizer, scheduler, train, test, epochs: c.epochs, timeBudget: c.timeBudget, checkpointDir: out, resume: opts.resume, progress: opts.progress,
    onEpoch: (rec) => {
      // Rewritten whole and atomically: a reader never sees half a line, a resumed run drops
      // the epochs after its checkpoint.
      lines = [...lines.filter((h) => h.epoch < rec.epoch), rec];
      writeFileAtomic(metrics, lines.map((h) => JSON.stringify(h)).join('\n') + '\n');
      print(`epoch ${rec.epoch}/${c.epochs}: train loss ${rec.trainLoss.toFixed(4)} acc ${rec.trainAccuracy.toFixed(4)}, test loss ${rec.testLoss?.toFixed(4)} acc ${rec.testAccuracy?.toFixed(4)}, lr ${rec.lr.toPrecision(4)}, ${rec.imagesPerSecond.toFixed(1)} img/s`);
    },
  });
  // After fit: the whole history (a resumed run's included), one JSON line per epoch.
  writeFileAtomic(metrics, r.history.map((h) => JSON.stringify(h)).join('\n') + (r.history.length ? '\n' : ''));
  if (r.stopReason === 'timeBudget') print(`  stopped by the time budget after epoch ${r.epochsDone} (${r.seconds.toFixed(1)} s of training)`);

  const last = r.history[r.history.length - 1];
  const trained = r.history.reduce((a, h) => a + h.imagesPerSecond * h.seconds, 0);
  const s: TrainSummary = {
    model: c.model,
    dataset: c.dataset,
    epochs: r.epochsDone,
    testAccuracy: last ? last.testAccuracy : null,
    bestTestAccuracy: r.bestTestAccuracy,
    seconds: r.seconds,
    imagesPerSecond: r.seconds > 0 ? trained / r.seconds : 0,
    params: sum.params,
    macs: sum.macs,
    evalImagesPerSecond: last && last.testSeconds > 0 ? test.size / last.testSeconds : 0,
    stopReason: r.stopReason,
    input: adapter.input,
    notes: adapter.notes,
  };
  const summaryFile = path.join(out, 'summary.json');
  writeFileAtomic(summaryFile, `${JSON.stringify(s, null, 2)}\n`);
  print(`test accuracy ${s.testAccuracy?.toFixed(4)} (best ${s.bestTestAccuracy?.toFixed(4)}) after ${s.epochs} epochs, ${s.seconds.toFixed(1)} s, ${s.imagesPerSecond.toFixed(1)} img/s`);

  let reportFile: string | null = null;
  let predictions: Predictions | null = null;
  if (opts.report ?? true) {
    predictions = predict(model, test);
    const report = new Report(`${c.model} on ${ds.name}`, out, { print: () => undefined });
    report.text(data.description);
    for (const n of adapter.notes) report.text(`input: ${n}`);
    report.text(`recipe: ${c.optimizer} lr ${c.lr}${c.optimizer === 'sgd' ? ` momentum ${c.momentum}${c.nesterov ? ' nesterov' : ''}` : ''} weight decay ${c.weightDecay}, schedule ${c.schedule}, augment ${c.augment}, batch ${c.batchSize}, seed ${c.seed}`);
    report.table(['params', 'MACs', 'epochs', 'test accuracy', 'best test accuracy', 'train img/s', 'eval img/s', 'seconds'], [[s.params, s.macs, s.epochs, s.testAccuracy ?? '-', s.bestTestAccuracy ?? '-', s.imagesPerSecond, s.evalImagesPerSecond, s.seconds]]);
    await addHistoryPlots(report, r.history, c.model);
    report.section('Errors on the test set');
    await addErrorAnalysis(report, { ...ds, Xte, yte }, predictions);
    reportFile = report.write();
    print(`wrote ${metrics}, ${summaryFile}, ${reportFile}, checkpoint ${path.join(out, 'model.safetensors')}`);
  }
  return { summary: s, history: r.history, model, predictions, files: { metrics, summary: summaryFile, report: reportFile, model: path.join(out, 'model.safetensors') } };
}
