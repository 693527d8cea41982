import path from 'node:path';
import type { DatasetName } from '../../src/data/dataset';
import { listModels } from '../../src/models';
import { loadTrainingData, type TrainingData } from '../../src/training/datasets';
import type { EpochRecord } from '../../src/training/fit';
import { trainRun, type TrainRunConfig, type TrainSummary } from '../../src/training/trainRun';
import { parseDuration } from '../../src/util/duration';
import { lineSpec, writeSvg } from '../../src/vis/plot';
import { parseScriptArgs, runAssignment, type AssignmentScript, type ScriptOptions } from '../common';

/*
 * The comparison of the CIFAR-10 re-implementations (issue 12 item 6, reference:
 * cnn-chapters.md §C.1): every architecture trained with one recipe — kuangliu's SGD 0.1,
 * momentum 0.9, weight decay 5e-4, cosine schedule, random crop + flip, batch 128 — for the
 * same wall-clock training budget, then a table of size, cost, speed and accuracy and the
 * accuracy curves against epoch and against training time.
 */

/** The architectures compared, with the registry names that implement each (first found wins). */
export const ARCHITECTURES: ReadonlyArray<{ title: string; names: readonly string[] }> = [
  { title: 'VGG16', names: ['vgg16_cifar'] },
  { title: 'ResNet-18', names: ['resnet18_cifar'] },
  { title: 'MobileNet V1', names: ['mobilenet_v1_cifar', 'mobilenet_cifar'] },
  { title: 'MobileNet V2', names: ['mobilenet_v2_cifar'] },
  { title: 'ShuffleNet V1 (g=3)', names: ['shufflenet_v1_g3_cifar'] },
  { title: 'ShuffleNet V2', names: ['shufflenet_v2_cifar'] },
  { title: 'EfficientNet-B0', names: ['efficientnet_b0_cifar'] },
];

/** The script's options: the shared ones plus the budget, the dataset and a subset of models. */
export interface ArchitecturesOptions extends ScriptOptions {
  /** Training seconds per model (default: `$CS231N_BUDGET`, else 2 s with --quick and 10 min otherwise). */
  budget?: number;
  /** Force a dataset instead of the automatic choice. */
  dataset?: DatasetName;
  /** Registry names to run (default: every architecture compared). */
  models?: string[];
  /** The architectures compared (default {@link ARCHITECTURES}). */
  architectures?: ReadonlyArray<{ title: string; names: readonly string[] }>;
}

/** The recipe, with the sizes --quick shrinks (a few images, so seven models fit well under a minute). */
function recipe(quick: boolean): Omit<TrainRunConfig, 'model' | 'dataset' | 'epochs' | 'seed'> {
  return {
    batchSize: quick ? 8 : 128, optimizer: 'sgd', lr: 0.1, momentum: 0.9, nesterov: false, weightDecay: 5e-4, schedule: 'cosine', augment: 'crop-flip',
    maxTrain: quick ? 8 : undefined, maxTest: quick ? 8 : undefined,
  };
}

/**
 * The data: with `dataset`, that one; with --quick, any CIFAR-10 found (the mini CIFAR in CI),
 * else as below; otherwise the full CIFAR-10 when present, else Fashion-MNIST, else a CIFAR-10
 * subset, else the embedded MNIST.
 */
export function chooseData(opts: ArchitecturesOptions): TrainingData {
  const key = JSON.stringify([opts.dataset, opts.data, opts.quick]);
  const hit = chosen.get(key);
  if (hit) return hit;
  const d = choose(opts);
  chosen.set(key, d);
  return d;
}

// The script's own entry point chooses the data before runAssignment, the script again: load once.
const chosen = new Map<string, TrainingData>();

function choose(opts: ArchitecturesOptions): TrainingData {
  if (opts.dataset) return loadTrainingData(opts.dataset, { data: opts.data });
  const attempt = (name: DatasetName): TrainingData | null => {
    try {
      return loadTrainingData(name, { data: name === 'cifar10' ? opts.data : undefined });
    } catch {
      return null;
    }
  };
  const cifar = attempt('cifar10');
  if (cifar && (opts.quick || cifar.dataset.Xtr.shape[0] === 50000)) return cifar;
  return attempt('fashion-mnist') ?? cifar ?? loadTrainingData('mnist');
}

/** Epochs that fit `budget` seconds at `secondsPerEpoch` (at least 1, at most 200 as the recipe). */
export function epochsForBudget(budget: number, secondsPerEpoch: number): number {
  return Math.max(1, Math.min(200, Math.floor(budget / Math.max(secondsPerEpoch, 1e-9))));
}

function budgetOf(opts: ArchitecturesOptions): number {
  if (opts.budget !== undefined) return opts.budget;
  if (process.env.CS231N_BUDGET) return parseDuration('$CS231N_BUDGET', process.env.CS231N_BUDGET);
  return opts.quick ? 2 : 600;
}

interface Row {
  title: string;
  model: string | null;
  summary?: TrainSummary;
  history?: EpochRecord[];
}

export const script: AssignmentScript = {
  name: 'architectures',
  title: 'Architecture comparison: CIFAR re-implementations under one recipe and one time budget',
  description: 'VGG16, ResNet-18, MobileNet V1/V2, ShuffleNet V1/V2, EfficientNet-B0 (CIFAR variants): one recipe, the same training time each (--budget or $CS231N_BUDGET)',
  async run({ opts, report, outDir }) {
    const o = opts as ArchitecturesOptions;
    const budget = budgetOf(o);
    const data = chooseData(o);
    const base = recipe(o.quick);
    const print = opts.print ?? ((l: string) => console.log(l));
    report.text(`data: ${data.description}${o.quick ? ` (--quick: the first ${base.maxTrain} training and ${base.maxTest} test images)` : ''}`);
    report.text(`recipe: SGD lr ${base.lr}, momentum ${base.momentum}, weight decay ${base.weightDecay}, cosine schedule over the epochs that fit the budget, random crop + flip, batch ${base.batchSize}; ${budget} s of training per model, seed ${opts.seed}`);
    const registered = new Set(listModels().map((e) => e.name));
    const wanted = o.models ? new Set(o.models) : null;
    const rows: Row[] = [];
    for (const a of o.architectures ?? ARCHITECTURES) {
      const model = a.names.find((n) => registered.has(n)) ?? null;
      if (wanted && !a.names.some((n) => wanted.has(n))) continue;
      if (!model) {
        report.text(`${a.title}: not available (none of ${a.names.join(', ')} is in the model registry yet)`);
        rows.push({ title: a.title, model: null });
        continue;
      }
      // One short run measures the epoch time; the real run's cosine schedule spans the epochs that fit.
      const probe = o.quick ? null : await trainRun({ ...base, model, dataset: data.name, epochs: 1, seed: opts.seed, maxTrain: Math.min(data.dataset.Xtr.shape[0], 4 * base.batchSize), maxTest: base.batchSize }, { out: path.join(outDir, 'probe', model), preloaded: data, report: false, print: () => undefined, progress: false });
      const epochs = probe ? epochsForBudget(budget, (probe.summary.seconds * data.dataset.Xtr.shape[0]) / (4 * base.batchSize)) : 2;
      print(`${a.title} (${model}): up to ${epochs} epochs in ${budget} s`);
      const r = await trainRun({ ...base, model, dataset: data.name, epochs, seed: opts.seed, timeBudget: budget }, { out: path.join(outDir, model), preloaded: data, report: false, print: o.quick ? () => undefined : print });
      rows.push({ title: a.title, model, summary: r.summary, history: r.history });
    }
    const done = rows.filter((r) => r.summary);
    report.section('Results');
    report.table(
      ['architecture', 'model', 'params', 'MACs', 'train img/s', 'eval img/s', 'epochs', 'best test acc'],
      rows.map((r) => (r.summary
        ? [r.title, r.model as string, r.summary.params, r.summary.macs, Number(r.summary.imagesPerSecond.toFixed(1)), Number(r.summary.evalImagesPerSecond.toFixed(1)), r.summary.epochs, r.summary.bestTestAccuracy ?? '-']
        : [r.title, 'not available', '-', '-', '-', '-', '-', '-'])),
    );
    if (done.length) {
      const byEpoch = done.map((r) => ({ name: r.title, x: (r.history as EpochRecord[]).map((h) => h.epoch), y: (r.history as EpochRecord[]).map((h) => h.testAccuracy ?? NaN) }));
      await writeSvg(path.join(outDir, 'accuracy_vs_epoch.svg'), lineSpec(byEpoch, { title: 'test accuracy against epoch', xLabel: 'epoch', yLabel: 'test accuracy', points: true }));
      report.figure('accuracy_vs_epoch.svg', 'test accuracy against epoch');
      const byTime = done.map((r) => {
        let t = 0;
        return { name: r.title, x: (r.history as EpochRecord[]).map((h) => (t += h.seconds)), y: (r.history as EpochRecord[]).map((h) => h.testAccuracy ?? NaN) };
      });
      await writeSvg(path.join(outDir, 'accuracy_vs_time.svg'), lineSpec(byTime, { title: 'test accuracy against training time', xLabel: 'training seconds', yLabel: 'test accuracy', points: true }));
      report.figure('accuracy_vs_time.svg', 'test accuracy against training time (evaluation excluded)');
    }
    report.check('every available architecture trained at least one epoch', done.filter((r) => (r.summary as TrainSummary).epochs >= 1).length, done.length, { ok: done.every((r) => (r.summary as TrainSummary).epochs >= 1 && Number.isFinite((r.summary as TrainSummary).bestTestAccuracy)) });
    if (!o.quick && data.name === 'cifar10' && data.dataset.Xtr.shape[0] === 50000) {
      report.text('Reference (kuangliu, 200 epochs): VGG16 92.64, ResNet-18 93.02, MobileNet V2 94.43; the chapters: MobileNet V1 trains faster than VGG and ResNet, ShuffleNet V1 beats MobileNet V1 at a similar speed.');
    }
  },
};

/** Parses the shared options plus `--budget`, `--dataset` and `--models`. */
export function parseArchitecturesArgs(argv: string[] = process.argv): ArchitecturesOptions {
  const rest: string[] = [];
  const extra: Partial<ArchitecturesOptions> = {};
  for (let i = 0; i < argv.length; i++) {
    const [flag, inline] = argv[i].split(/=(.*)/s, 2);
    const value = () => (inline !== undefined ? inline : argv[++i]);
    if (flag === '--budget') extra.budget = parseDuration('--budget', value() ?? '');
    else if (flag === '--dataset') {
      const d = value();
      if (d !== 'cifar10' && d !== 'fashion-mnist' && d !== 'mnist') throw new RangeError(`--dataset: expected cifar10, fashion-mnist or mnist, got ${JSON.stringify(d)}`);
      extra.dataset = d;
    } else if (flag === '--models') extra.models = (value() ?? '').split(',').map((s) => s.trim()).filter(Boolean);
    else rest.push(argv[i]);
  }
  return { ...parseScriptArgs('architectures', 'compare the CIFAR architectures under one recipe and budget (--budget 10m, --dataset, --models a,b)', rest), ...extra };
}

export default script;

if (require.main === module) {
  try {
    const opts = parseArchitecturesArgs();
    const data = chooseData(opts);
    runAssignment(script, opts, { dataset: data.dataset, location: null, description: data.description })
      .then((r) => {
        if (r.failures.length) process.exitCode = 1;
      })
      .catch((e: Error) => {
        console.error(`error: ${e.message}`);
        process.exitCode = 1;
      });
  } catch (e) {
    console.error(`error: ${(e as Error).message}`);
    process.exitCode = 2;
  }
}
