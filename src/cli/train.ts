import fs from 'node:fs';
import path from 'node:path';
import type { Command } from 'commander';
import { loadSafetensors } from '../data/safetensors';
import { createModel, listModels } from '../models';
import type { StateDict } from '../nn/module';
import { DataLoader } from '../training/dataLoader';
import { AUGMENTS, datasetName, inputAdapter, loadTrainingData, runTransforms, type Augment } from '../training/datasets';
import { confusionMatrix, predict } from '../training/predict';
import { addErrorAnalysis } from '../training/runReport';
import { readRunConfig, trainRun, type TrainRunConfig, type TrainRunResult } from '../training/trainRun';
import { Report } from '../vis/report';
import { parseDuration } from '../util/duration';

export { parseDuration };

const collect = (v: string, prev: string[]): string[] => [...prev, v];

/*
 * `cs231n train` and `cs231n eval` (SPEC §11): flag parsing and checking; the run itself is
 * training.trainRun. Every bad value is a one-line error naming its flag.
 */

const OPTIMIZERS = ['sgd', 'adam', 'adamw'] as const;
const SCHEDULES = ['none', 'step', 'cosine', 'onecycle'] as const;

function oneOf<T extends string>(flag: string, v: string, choices: readonly T[]): T {
  if (!(choices as readonly string[]).includes(v)) throw new RangeError(`${flag}: expected one of ${choices.join(', ')}, got ${JSON.stringify(v)}`);
  return v as T;
}

function positiveInt(flag: string, v: string): number {
  const n = Number(v);
  if (!/^\d+$/.test(v.trim()) || !Number.isSafeInteger(n) || n <= 0) throw new RangeError(`${flag}: expected a positive integer, got ${JSON.stringify(v)}`);
  return n;
}

function number(flag: string, v: string, ok: (x: number) => boolean, expected: string): number {
  const n = Number(v);
  if (v.trim() === '' || !Number.isFinite(n) || !ok(n)) throw new RangeError(`${flag}: expected ${expected}, got ${JSON.stringify(v)}`);
  return n;
}

/** Reserved createModel options that the other flags set. */
const RESERVED = new Set(['numClasses', 'dtype', 'rng', 'init']);

/**
 * `--model-option key=value` (repeatable) as createModel options: numbers, true/false, else
 * strings; the model's builder rejects options it does not have, naming the ones it has.
 */
export function parseModelOptions(model: string, pairs: readonly string[] | undefined): Record<string, number | boolean | string> | undefined {
  if (!pairs || pairs.length === 0) return undefined;
  const entry = listModels().find((e) => e.name === model);
  const out: Record<string, number | boolean | string> = {};
  for (const pair of pairs) {
    const m = /^([A-Za-z_][A-Za-z0-9_]*)=(.+)$/.exec(pair.trim());
    if (!m) throw new RangeError(`--model-option: expected key=value, got ${JSON.stringify(pair)}`);
    const [, key, raw] = m;
    if (RESERVED.has(key)) throw new RangeError(`--model-option: ${key} is set by the run itself, not an option of ${model}`);
    if (entry && !entry.options.includes(key)) {
      throw new RangeError(`--model-option: ${model} has no option '${key}'; its options: ${entry.options.length ? entry.options.join(', ') : 'none'}`);
    }
    const num = Number(raw);
    out[key] = raw === 'true' ? true : raw === 'false' ? false : raw.trim() !== '' && Number.isFinite(num) ? num : raw;
  }
  return out;
}

/** The raw option values commander collects for `train`. */
export interface TrainFlags {
  model?: string;
  dataset?: string;
  data?: string;
  epochs?: string;
  batchSize?: string;
  optimizer?: string;
  lr?: string;
  momentum?: string;
  nesterov?: boolean;
  weightDecay?: string;
  schedule?: string;
  augment?: string;
  seed?: string;
  timeBudget?: string;
  out?: string;
  resume?: string;
  modelOption?: string[];
}

/**
 * Checks `train`'s flags and turns them into a run: required flags for a new run, the saved
 * settings (`run.json`) for `--resume DIR`, where any flag given must agree with them except
 * `--epochs` and `--time-budget`.
 */
export function trainConfigFromFlags(f: TrainFlags): { config: TrainRunConfig; out: string; resume: boolean } {
  const resume = f.resume !== undefined;
  const out = f.out ?? f.resume;
  if (!out) throw new RangeError('--out: required (the directory for checkpoints, metrics and the report)');
  if (resume && f.out !== undefined && path.resolve(f.out) !== path.resolve(f.resume as string)) {
    throw new RangeError(`--out: a resumed run writes into its own directory (--resume ${f.resume}), got --out ${f.out}`);
  }
  const base: Partial<TrainRunConfig> = resume ? readRunConfig(path.resolve(out)) : {};
  const need = <T>(flag: string, v: T | undefined, fallback: T | undefined): T => {
    const r = v ?? fallback;
    if (r === undefined) throw new RangeError(`${flag}: required`);
    return r;
  };
  const model = need('--model', f.model, base.model);
  if (!listModels().some((e) => e.name === model)) throw new RangeError(`--model: unknown model '${model}'; known: ${listModels().map((e) => e.name).join(', ')}`);
  const config: TrainRunConfig = {
    model,
    dataset: datasetName(need('--dataset', f.dataset, base.dataset)),
    epochs: f.epochs !== undefined ? positiveInt('--epochs', f.epochs) : need('--epochs', undefined, base.epochs),
    batchSize: f.batchSize !== undefined ? positiveInt('--batch-size', f.batchSize) : need('--batch-size', undefined, base.batchSize),
    optimizer: f.optimizer !== undefined ? oneOf('--optimizer', f.optimizer, OPTIMIZERS) : need('--optimizer', undefined, base.optimizer),
    lr: f.lr !== undefined ? number('--lr', f.lr, (x) => x > 0, 'a learning rate > 0') : need('--lr', undefined, base.lr),
    momentum: f.momentum !== undefined ? number('--momentum', f.momentum, (x) => x >= 0 && x < 1, 'a number in [0, 1)') : (base.momentum ?? 0),
    nesterov: f.nesterov ?? base.nesterov ?? false,
    weightDecay: f.weightDecay !== undefined ? number('--weight-decay', f.weightDecay, (x) => x >= 0, 'a number >= 0') : (base.weightDecay ?? 0),
    schedule: f.schedule !== undefined ? oneOf('--schedule', f.schedule, SCHEDULES) : (base.schedule ?? 'none'),
    augment: f.augment !== undefined ? oneOf<Augment>('--augment', f.augment, AUGMENTS) : (base.augment ?? 'none'),
    seed: f.seed !== undefined ? number('--seed', f.seed, (x) => Number.isInteger(x) && x >= 0 && x < 2 ** 32, 'an integer in [0, 2**32-1]') : (base.seed ?? 0),
    timeBudget: f.timeBudget !== undefined ? parseDuration('--time-budget', f.timeBudget) : undefined,
    data: f.data ?? base.data,
    maxTrain: base.maxTrain,
    maxTest: base.maxTest,
    modelOptions: f.modelOption?.length ? parseModelOptions(model, f.modelOption) : base.modelOptions,
  };
  if (config.nesterov && config.optimizer !== 'sgd') throw new RangeError(`--nesterov: only with --optimizer sgd, got --optimizer ${config.optimizer}`);
  if (config.nesterov && !(config.momentum > 0)) throw new RangeError('--nesterov: needs --momentum > 0');
  if (f.momentum !== undefined && config.optimizer !== 'sgd') throw new RangeError(`--momentum: only with --optimizer sgd, got --optimizer ${config.optimizer}`);
  return { config, out, resume };
}

/** `cs231n train`. */
export async function runTrain(f: TrainFlags, print?: (line: string) => void): Promise<TrainRunResult> {
  const { config, out, resume } = trainConfigFromFlags(f);
  if (f.data !== undefined && !fs.existsSync(f.data)) throw new RangeError(`--data: ${f.data} does not exist`);
  return trainRun(config, { out, resume, print });
}

/** The raw option values of `eval`. */
export interface EvalFlags {
  model?: string;
  weights?: string;
  dataset?: string;
  data?: string;
  batchSize?: string;
  out?: string;
  modelOption?: string[];
}

/** What `cs231n eval` found. */
export interface EvalResult {
  accuracy: number;
  confusion: number[][];
  report: string | null;
}

/**
 * `cs231n eval`: builds `--model` for the dataset's classes, loads `--weights` (a safetensors
 * state dict, e.g. a run's `model.safetensors`; every key must fit), evaluates the test split
 * with the same input handling as `train`, and prints the accuracy and the confusion matrix;
 * with `--out`, also report.html with the confusion matrix and misclassified images.
 */
export async function runEval(f: EvalFlags, print: (line: string) => void = (l) => console.log(l)): Promise<EvalResult> {
  if (!f.model) throw new RangeError('--model: required');
  const entry = listModels().find((e) => e.name === f.model);
  if (!entry) throw new RangeError(`--model: unknown model '${f.model}'; known: ${listModels().map((e) => e.name).join(', ')}`);
  if (!f.weights) throw new RangeError('--weights: required (a safetensors file, e.g. a run directory\'s model.safetensors)');
  if (!fs.existsSync(f.weights)) throw new RangeError(`--weights: ${f.weights} does not exist`);
  const name = datasetName(f.dataset);
  const batchSize = f.batchSize !== undefined ? positiveInt('--batch-size', f.batchSize) : 100;
  if (f.data !== undefined && !fs.existsSync(f.data)) throw new RangeError(`--data: ${f.data} does not exist`);
  const data = loadTrainingData(name, { data: f.data });
  const ds = data.dataset;
  const [, H, W, C] = ds.Xte.shape;
  const adapter = inputAdapter([C, H, W], entry.input, f.model);
  const model = createModel(f.model, { ...parseModelOptions(f.model, f.modelOption), numClasses: ds.classNames.length, init: false });
  let tensors;
  try {
    tensors = loadSafetensors(f.weights).tensors;
  } catch (e) {
    throw new Error(`--weights: ${(e as Error).message}`);
  }
  try {
    model.loadStateDict(tensors as StateDict);
  } catch (e) {
    throw new Error(`--weights: ${f.weights} does not fit ${f.model} with ${ds.classNames.length} classes: ${(e as Error).message.split('\n')[0]}`);
  }
  print(`Evaluating ${f.model} (${f.weights}) on the test split of ${data.description}`);
  for (const n of adapter.notes) print(`  input: ${n}`);
  const test = new DataLoader(ds.Xte, ds.yte, { batchSize, transform: runTransforms(name, adapter, 'none').test });
  const p = predict(model, test);
  print(`test accuracy ${p.accuracy.toFixed(4)} (${Math.round(p.accuracy * p.labels.length)} / ${p.labels.length})`);
  const out = f.out ? path.resolve(f.out) : null;
  const report = out ? new Report(`${f.model} on ${ds.name}: evaluation`, out, { print: () => undefined }) : null;
  report?.text(`weights ${path.resolve(f.weights)}; ${data.description}; test accuracy ${p.accuracy}`);
  for (const n of adapter.notes) report?.text(`input: ${n}`);
  const confusion = report ? await addErrorAnalysis(report, ds, p) : confusionMatrix(p.labels, p.predictions, ds.classNames.length);
  const names = ds.classNames;
  const w = Math.max(...names.map((n) => n.length), 5);
  print('confusion matrix (rows: true class, columns: predicted):');
  print(`${''.padEnd(w)} ${names.map((_, j) => String(j).padStart(5)).join('')}`);
  confusion.forEach((row, i) => print(`${names[i].padEnd(w)} ${row.map((v) => String(v).padStart(5)).join('')}`));
  const file = report ? report.write() : null;
  if (file) print(`wrote ${file}`);
  return { accuracy: p.accuracy, confusion, report: file };
}

/** Adds `train` and `eval` to the `cs231n` program. */
export function registerTrainCommands(program: Command): void {
  program
    .command('train')
    .description('train a zoo model on cifar10, fashion-mnist or mnist (checkpoints, metrics.jsonl, summary.json, plots, report.html in --out)')
    .option('--model <name>', 'a registered model of the zoo')
    .option('--dataset <name>', 'cifar10 | fashion-mnist | mnist')
    .option('--data <dir>', 'a data directory searched first')
    .option('--epochs <n>', 'total epochs of the run')
    .option('--batch-size <n>', 'training batch size')
    .option('--optimizer <name>', 'sgd | adam | adamw')
    .option('--lr <x>', 'learning rate')
    .option('--momentum <m>', 'SGD momentum (default 0)')
    .option('--nesterov', 'Nesterov momentum (SGD)')
    .option('--weight-decay <w>', 'weight decay (default 0)')
    .option('--schedule <name>', 'none | step | cosine | onecycle (default none)')
    .option('--augment <name>', 'none | crop-flip (default none)')
    .option('--seed <n>', 'seed of the weights, the data order and the augmentation (default 0)')
    .option('--time-budget <t>', 'stop after the epoch in progress once this much training time passed (90s, 10m, 1.5h)')
    .option('--out <dir>', 'output directory')
    .option('--resume <dir>', 'continue the run in this directory, bit-exactly')
    .option('--model-option <key=value>', "one of the model's options (repeatable), e.g. dropout=0.1 or widthMult=0.5", collect, [])
    .action(async (o: TrainFlags) => {
      await runTrain(o);
    });
  program
    .command('eval')
    .description('evaluate saved weights on a test split: accuracy and confusion matrix (report.html with --out)')
    .option('--model <name>', 'a registered model')
    .option('--weights <file>', 'a safetensors state dict (a run directory\'s model.safetensors)')
    .option('--dataset <name>', 'cifar10 | fashion-mnist | mnist')
    .option('--data <dir>', 'a data directory searched first')
    .option('--batch-size <n>', 'evaluation batch size (default 100)')
    .option('--out <dir>', 'write report.html, confusion.svg and misclassified.png here')
    .option('--model-option <key=value>', 'the options the model was trained with (repeatable), e.g. widthMult=0.5', collect, [])
    .action(async (o: EvalFlags) => {
      await runEval(o);
    });
}
