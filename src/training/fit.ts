import fs from 'node:fs';
import path from 'node:path';
import { argmax } from '../core/reduce';
import type { IntTensor, Tensor } from '../core/tensor';
import { softmaxLoss } from '../layers/losses';
import { noGrad } from '../nn/gradMode';
import type { Module } from '../nn/module';
import { progressBar } from '../util/progress';
import { checkpointDirOf, keepPrevious, loadTrainingCheckpoint, PREVIOUS_DIR, saveTrainingCheckpoint, type TrainingProgress } from './checkpoint';
import type { DataLoader } from './dataLoader';
import type { Scheduler } from './lrScheduler';
import { OneCycleLR } from './oneCycleLR';
import type { BaseOptimizerOptions, Optimizer } from './optimizer';

/** A loss on logits (N, K) and labels (N): its mean value and the gradient with respect to the logits. */
export type LossFn = (logits: Tensor, labels: IntTensor) => { loss: number; dlogits: Tensor };

/** The package's softmax cross-entropy (`softmaxLoss`), averaged over the batch. */
export const crossEntropyLoss: LossFn = (logits, labels) => {
  const { loss, dx } = softmaxLoss(logits, labels);
  return { loss, dlogits: dx };
};

/** Options of {@link fit}. */
export interface FitOptions {
  optimizer: Optimizer<BaseOptimizerOptions>;
  /** Training batches (shuffled and augmented as the loader says). */
  train: DataLoader;
  /** Evaluated after every epoch, under `noGrad`, in eval mode. */
  test?: DataLoader;
  /** Total epochs of the run (a resumed run counts the epochs already done). */
  epochs: number;
  scheduler?: Scheduler;
  /** When the scheduler steps: per batch (default for OneCycleLR) or per epoch (default otherwise). */
  schedulerStep?: 'batch' | 'epoch';
  /** Default: {@link crossEntropyLoss}. */
  loss?: LossFn;
  /** Seconds; once passed, the run stops cleanly after the epoch in progress. */
  timeBudget?: number;
  /**
   * Directory of the checkpoint written after every epoch: `model.safetensors` and
   * `training.ckpt`, each written atomically, and `prev/` with the pair of the epoch before.
   */
  checkpointDir?: string;
  /** Continue from the checkpoint in `checkpointDir` (true) or in the given directory (or its `training.ckpt`). */
  resume?: boolean | string;
  /** Progress bar on stderr (default: when stderr is a terminal). */
  progress?: boolean;
  /** Called after every epoch with its record. */
  onEpoch?: (record: EpochRecord) => void;
}

/** One epoch of a run. */
export interface EpochRecord {
  epoch: number;
  trainLoss: number;
  trainAccuracy: number;
  testLoss: number | null;
  testAccuracy: number | null;
  /** Learning rate of the first group during the epoch's last batch. */
  lr: number;
  /** Training time of the epoch (without evaluation). */
  seconds: number;
  imagesPerSecond: number;
  /** Time of the epoch's evaluation (0 without a test loader). */
  testSeconds: number;
}

/** What {@link fit} returns. */
export interface FitResult {
  history: EpochRecord[];
  bestTestAccuracy: number | null;
  epochsDone: number;
  stopReason: 'completed' | 'timeBudget';
  /** Training seconds over the whole run, resumes included. */
  seconds: number;
}

/** Thrown when the loss goes NaN or infinite; says whether the inputs or the parameters did. */
export class NonFiniteLossError extends Error {
  constructor(message: string, readonly history: EpochRecord[], readonly epoch: number, readonly batch: number) {
    super(message);
    this.name = 'NonFiniteLossError';
  }
}

function firstNonFinite(a: ArrayLike<number>): number {
  for (let i = 0; i < a.length; i++) if (!Number.isFinite(a[i])) return i;
  return -1;
}

function correct(logits: Tensor, y: IntTensor): number {
  const pred = argmax(logits, 1).data;
  let c = 0;
  for (let i = 0; i < pred.length; i++) if (pred[i] === y.data[i]) c++;
  return c;
}

/**
 * Trains `model` for `opts.epochs` epochs: per batch `zeroGrad`, forward, loss, backward, step
 * (and the scheduler when it steps per batch); per epoch the scheduler (when it steps per
 * epoch), an evaluation on `opts.test`, the history, the best test accuracy, and a checkpoint
 * (model, optimizer, scheduler, loaders' generators, history) written atomically, from which
 * `resume` continues with exactly the bits an uninterrupted run would have.
 *
 * A non-finite loss stops the run with a {@link NonFiniteLossError} that says whether the
 * batch's inputs or the model's parameters (named) were non-finite first; the last checkpoint
 * is left as it was.
 */
export function fit(model: Module, opts: FitOptions): FitResult {
  const { optimizer, scheduler, train, test } = opts;
  if (!Number.isInteger(opts.epochs) || opts.epochs < 0) throw new RangeError(`fit: epochs: expected an integer >= 0, got ${opts.epochs}`);
  if (opts.timeBudget !== undefined && !(opts.timeBudget > 0)) throw new RangeError(`fit: timeBudget: expected seconds > 0, got ${opts.timeBudget}`);
  if (opts.resume && !opts.checkpointDir && typeof opts.resume !== 'string') throw new RangeError('fit: resume: true needs checkpointDir (or give the checkpoint file)');
  const lossFn = opts.loss ?? crossEntropyLoss;
  const perBatch = (opts.schedulerStep ?? (scheduler instanceof OneCycleLR ? 'batch' : 'epoch')) === 'batch';
  const loaders: Record<string, DataLoader> = test ? { train, test } : { train };
  const dir = opts.checkpointDir;
  let progress: TrainingProgress<EpochRecord> = { epoch: 0, history: [], bestTestAccuracy: null, seconds: 0 };
  // The checkpoint in `dir` moves to `dir/prev` only when it belongs to this run (loaded or
  // written by it): a checkpoint left by another run, or one refused, is never made "previous".
  let dirHoldsThisRun = false;
  if (opts.resume) {
    const from = typeof opts.resume === 'string' ? checkpointDirOf(opts.resume) : (dir as string);
    progress = loadTrainingCheckpoint<EpochRecord>(from, { model, optimizer, scheduler, loaders });
    dirHoldsThisRun = dir !== undefined && path.resolve(from) === path.resolve(dir);
  }
  if (dir) {
    fs.mkdirSync(dir, { recursive: true });
    if (!opts.resume) fs.rmSync(path.join(dir, PREVIOUS_DIR), { recursive: true, force: true });
  }
  const history = progress.history.slice();
  let best = progress.bestTestAccuracy;
  let seconds = progress.seconds;
  let stopReason: FitResult['stopReason'] = 'completed';

  for (let epoch = progress.epoch + 1; epoch <= opts.epochs; epoch++) {
    model.train();
    const bar = progressBar(train.length, { label: `epoch ${epoch}/${opts.epochs}`, enabled: opts.progress });
    const t0 = performance.now();
    let lossSum = 0;
    let hits = 0;
    let seen = 0;
    let k = 0;
    try {
      for (const { x, y } of train) {
        k++;
        optimizer.zeroGrad();
        const logits = model.forward(x);
        const { loss, dlogits } = lossFn(logits, y);
        if (!Number.isFinite(loss)) throw nonFinite(model, x, loss, history, epoch, k);
        model.backwardParams(dlogits);
        optimizer.step();
        if (perBatch && scheduler) scheduler.step();
        lossSum += loss * y.size;
        hits += correct(logits, y);
        seen += y.size;
        const elapsed = (performance.now() - t0) / 1000;
        bar.tick(1, `loss ${(lossSum / seen).toFixed(4)} acc ${(hits / seen).toFixed(4)} ${(seen / elapsed).toFixed(0)} img/s`);
      }
    } finally {
      bar.stop();
    }
    const trainSeconds = (performance.now() - t0) / 1000;
    seconds += trainSeconds;
    const lr = optimizer.lr;
    if (!perBatch && scheduler) scheduler.step();
    const tEval = performance.now();
    const ev = test ? evaluate(model, test, lossFn) : null;
    const testSeconds = test ? (performance.now() - tEval) / 1000 : 0;
    const record: EpochRecord = {
      epoch,
      trainLoss: seen ? lossSum / seen : NaN,
      trainAccuracy: seen ? hits / seen : NaN,
      testLoss: ev ? ev.loss : null,
      testAccuracy: ev ? ev.accuracy : null,
      lr,
      seconds: trainSeconds,
      imagesPerSecond: trainSeconds > 0 ? seen / trainSeconds : 0,
      testSeconds,
    };
    history.push(record);
    if (ev && (best === null || ev.accuracy > best)) best = ev.accuracy;
    if (dir) {
      if (dirHoldsThisRun) keepPrevious(dir);
      saveTrainingCheckpoint(dir, { model, optimizer, scheduler, loaders, progress: { epoch, history, bestTestAccuracy: best, seconds } });
      dirHoldsThisRun = true;
    }
    opts.onEpoch?.(record);
    if (opts.timeBudget !== undefined && seconds >= opts.timeBudget && epoch < opts.epochs) {
      stopReason = 'timeBudget';
      break;
    }
  }
  return { history, bestTestAccuracy: best, epochsDone: history.length ? history[history.length - 1].epoch : progress.epoch, stopReason, seconds };
}

/** Mean loss and accuracy of `model` over `loader`, in eval mode under `noGrad` (the mode is restored). */
export function evaluate(model: Module, loader: DataLoader, lossFn: LossFn = crossEntropyLoss): { loss: number; accuracy: number } {
  const wasTraining = model.training;
  model.eval();
  try {
    return noGrad(() => {
      let lossSum = 0;
      let hits = 0;
      let seen = 0;
      for (const { x, y } of loader) {
        const logits = model.forward(x);
        lossSum += lossFn(logits, y).loss * y.size;
        hits += correct(logits, y);
        seen += y.size;
      }
      return { loss: seen ? lossSum / seen : NaN, accuracy: seen ? hits / seen : NaN };
    });
  } finally {
    model.train(wasTraining);
  }
}

function nonFinite(model: Module, x: Tensor, loss: number, history: EpochRecord[], epoch: number, batch: number): NonFiniteLossError {
  const where = `epoch ${epoch}, batch ${batch}`;
  const i = firstNonFinite(x.data);
  if (i >= 0) {
    return new NonFiniteLossError(`fit: the loss is ${loss} at ${where} because the inputs went non-finite (input element ${i} of the batch is ${x.data[i]}); check the data and its transforms`, history, epoch, batch);
  }
  const bad = model.namedParameters().filter(([, p]) => firstNonFinite(p.data.data) >= 0).map(([n]) => n);
  if (bad.length) {
    return new NonFiniteLossError(`fit: the loss is ${loss} at ${where} because the parameters went non-finite (${bad.join(', ')}); lower the learning rate or check the gradients`, history, epoch, batch);
  }
  return new NonFiniteLossError(`fit: the loss is ${loss} at ${where} with finite inputs and parameters: the model's outputs overflowed; lower the learning rate or rescale the inputs`, history, epoch, batch);
}
