import ndarray from 'ndarray';
import { assertFiniteRows, assertLabels, ShapeError, shapeStr } from '../core/check';
import { defaultRandomState, RandomState } from '../core/random';
import { copy, isContiguous, sizeOf, takeRows, type Tensor } from '../core/tensor';
import type { OptimConfig } from '../optim';
import { progressBar, type Progress } from '../util/progress';
import { copyConfig, loadCheckpoint, saveCheckpoint, type SolverCheckpoint } from './checkpoint';
import type { Labels } from '../layers/losses';
import type { LossAndGrads, Model, SolverData } from './model';
import { resolveSolverOptions, type ResolvedSolverOptions, type SolverOptions } from './options';

/** Thrown when the training loss stops being finite; training is stopped at that iteration. */
export class TrainingDivergedError extends Error {
  constructor(
    /** 1-based iteration whose minibatch loss was not finite. */
    readonly iteration: number,
    /** The loss value (NaN, Infinity or -Infinity). */
    readonly loss: number,
    message: string,
  ) {
    super(message);
    this.name = 'TrainingDivergedError';
  }
}

/** Options of {@link Solver.checkAccuracy}. */
export interface CheckAccuracyOptions {
  /** Subsample this many rows (with replacement, from the solver's generator) when X has more. Default: all rows. */
  numSamples?: number | null;
  /** Rows per forward pass. Default 100. */
  batchSize?: number;
}

/** Rows [start, end) of a dense array as a dense array (a subarray view, no copy). */
function rowBlock<T extends Tensor | Labels>(a: T, start: number, end: number): T {
  const dense = isContiguous(a as Tensor) ? a : (copyRows(a) as T);
  const row = sizeOf(a.shape.slice(1));
  return ndarray((dense.data as Float64Array).subarray(start * row, end * row), [end - start, ...a.shape.slice(1)]) as unknown as T;
}

function copyRows<T extends Tensor | Labels>(a: T): T {
  const idx = Array.from({ length: a.shape[0] }, (_, i) => i);
  return takeRows(a as Tensor, idx) as unknown as T;
}

function argmaxRows(scores: Tensor, where: string): Int32Array {
  if (!scores || !Array.isArray(scores.shape) || scores.shape.length !== 2) {
    throw new ShapeError(`${where}: expected model.loss(X) without labels to return scores (N, C), got ${scores && Array.isArray(scores.shape) ? shapeStr(scores.shape) : typeof scores}`);
  }
  const [N, C] = scores.shape;
  const s = (isContiguous(scores) ? scores : copy(scores)).data;
  const out = new Int32Array(N);
  for (let i = 0; i < N; i++) {
    let best = 0;
    let bv = s[i * C];
    for (let j = 1; j < C; j++) if (s[i * C + j] > bv) (bv = s[i * C + j]), (best = j);
    out[i] = best;
  }
  return out;
}

/**
 * Validates `data` before any training: shapes (labels match their images, validation rows
 * shaped like training rows), finite values, and labels in range of the model's classes, which
 * one forward pass of a single training row tells (it also proves the model takes rows of this
 * shape). Without this, an all-NaN XVal still yields an "accuracy" (argmax of NaN scores picks
 * class 0) and out-of-range yVal labels simply never match.
 */
function checkData(model: Model, data: SolverData): void {
  if (!data || typeof data !== 'object') throw new TypeError('data: expected { XTrain, yTrain, XVal, yVal }');
  for (const [X, y] of [['XTrain', 'yTrain'], ['XVal', 'yVal']] as const) {
    const Xa = data[X];
    const ya = data[y];
    if (!Xa || !Array.isArray(Xa.shape) || Xa.shape.length < 2) throw new ShapeError(`data.${X}: expected an array with examples on the first axis, got ${Xa && Array.isArray(Xa.shape) ? shapeStr(Xa.shape) : String(Xa)}`);
    if (!ya || !Array.isArray(ya.shape) || ya.shape.length !== 1 || ya.shape[0] !== Xa.shape[0]) {
      throw new ShapeError(`data.${y}: expected shape (${Xa.shape[0]},) to match data.${X} ${shapeStr(Xa.shape)}, got ${ya && Array.isArray(ya.shape) ? shapeStr(ya.shape) : String(ya)}`);
    }
    if (Xa.shape[0] < 1) throw new ShapeError(`data.${X}: expected at least one example, got shape ${shapeStr(Xa.shape)}`);
  }
  const row = data.XTrain.shape.slice(1);
  const vrow = data.XVal.shape.slice(1);
  if (vrow.length !== row.length || vrow.some((d, i) => d !== row[i])) {
    throw new ShapeError(`data.XVal: expected examples of shape ${shapeStr(row)} like data.XTrain, got ${shapeStr(vrow)} (data.XVal ${shapeStr(data.XVal.shape)})`);
  }
  assertFiniteRows('data.XTrain', data.XTrain);
  assertFiniteRows('data.XVal', data.XVal);
  let scores: Tensor;
  try {
    scores = model.loss(rowBlock(data.XTrain, 0, 1)) as Tensor;
  } catch (e) {
    throw new ShapeError(`data.XTrain: the model cannot score examples of shape ${shapeStr(row)}: ${(e as Error).message}`);
  }
  argmaxRows(scores, 'model.loss(data.XTrain[0:1])');
  const C = scores.shape[1];
  assertLabels('data.yTrain', data.yTrain, C);
  assertLabels('data.yVal', data.yVal, C);
}

function checkModel(model: Model): void {
  if (!model || typeof model !== 'object' || !model.params || typeof model.params !== 'object' || typeof model.loss !== 'function') {
    throw new TypeError('model: expected an object with params (name → array) and loss(X, y?)');
  }
}

/**
 * cs231n's `Solver`: trains a {@link Model} with minibatch gradient descent.
 *
 * ```ts
 * const solver = new Solver(model, data, { updateRule: 'sgd', optimConfig: { learningRate: 1e-3 },
 *   lrDecay: 0.95, numEpochs: 10, batchSize: 100, printEvery: 100 });
 * solver.train();
 * solver.lossHistory; solver.trainAccHistory; solver.valAccHistory; // model.params = best params
 * ```
 *
 * Each iteration draws `batchSize` training rows with replacement (`rng.choice(numTrain, batchSize)`),
 * takes one update per parameter, and every epoch end multiplies each learning rate by `lrDecay`.
 * Training and validation accuracy are measured on the first iteration, at every epoch end and on
 * the last iteration; the parameters with the best validation accuracy are put back into the
 * model when `train()` returns. A non-finite loss stops training with a {@link TrainingDivergedError}.
 * With `checkpointName`, every accuracy check writes `<checkpointName>_epoch_<epoch>.ckpt`
 * atomically; {@link Solver.fromCheckpoint} or {@link Solver.restore} continue from one.
 */
export class Solver {
  /** The model being trained; its `params` entries are replaced by each update. */
  readonly model: Model;
  /** Training images (examples on the first axis). */
  readonly XTrain: Tensor;
  /** Training labels. */
  readonly yTrain: Labels;
  /** Validation images. */
  readonly XVal: Tensor;
  /** Validation labels. */
  readonly yVal: Labels;
  /** The options after defaults (updateRule as a function, rng resolved). */
  readonly options: ResolvedSolverOptions;
  /** Completed epochs. */
  epoch = 0;
  /** Completed iterations (minibatch steps) over all calls to train(). */
  iteration = 0;
  /** Best validation accuracy seen so far. */
  bestValAcc = 0;
  /** Copies of the parameters with the best validation accuracy (empty before the first check). */
  bestParams: Record<string, Tensor> = {};
  /** Minibatch loss of every iteration. */
  lossHistory: number[] = [];
  /** Training accuracy at every accuracy check. */
  trainAccHistory: number[] = [];
  /** Validation accuracy at every accuracy check. */
  valAccHistory: number[] = [];
  /** One optimizer config per parameter (copies of optimConfig, then the rule's state). */
  optimConfigs: Record<string, OptimConfig> = {};
  private hasBest = false;

  /**
   * @param model   a {@link Model}: `params` and `loss(X, y?)`
   * @param data    `{ XTrain, yTrain, XVal, yVal }` (as {@link getCifar10Data} returns)
   * @param options {@link SolverOptions}; an unknown option throws, listing the known ones
   */
  constructor(model: Model, data: SolverData, options: SolverOptions = {}) {
    checkModel(model);
    this.options = resolveSolverOptions(options, defaultRandomState);
    checkData(model, data);
    this.model = model;
    this.XTrain = data.XTrain;
    this.yTrain = data.yTrain;
    this.XVal = data.XVal;
    this.yVal = data.yVal;
    this.reset();
  }

  /** Forgets all progress: counters, histories, best params and optimizer state (cs231n's `_reset`). */
  reset(): void {
    this.epoch = 0;
    this.iteration = 0;
    this.bestValAcc = 0;
    this.bestParams = {};
    this.hasBest = false;
    this.lossHistory = [];
    this.trainAccHistory = [];
    this.valAccHistory = [];
    this.optimConfigs = {};
    for (const k of Object.keys(this.model.params)) this.optimConfigs[k] = copyConfig(this.options.optimConfig);
  }

  /** Iterations per epoch: max(floor(numTrain / batchSize), 1). */
  get iterationsPerEpoch(): number {
    return Math.max(Math.floor(this.XTrain.shape[0] / this.options.batchSize), 1);
  }

  /** Total iterations of a full run: numEpochs × iterationsPerEpoch. */
  get numIterations(): number {
    return this.options.numEpochs * this.iterationsPerEpoch;
  }

  /**
   * One gradient step on a random minibatch (cs231n's `_step`): draws the batch, computes the
   * loss and gradients, and replaces each `model.params[k]` by the update rule's result.
   * Returns the minibatch loss; a non-finite loss throws {@link TrainingDivergedError} before
   * any parameter is changed.
   */
  step(): number {
    const { batchSize, rng, updateRule } = this.options;
    const numTrain = this.XTrain.shape[0];
    const mask = rng.choice(numTrain, batchSize).data;
    const XBatch = takeRows(this.XTrain, mask);
    const yBatch = takeRows(this.yTrain, mask);
    const res = this.model.loss(XBatch, yBatch) as LossAndGrads;
    if (!res || typeof res !== 'object' || typeof res.loss !== 'number' || !res.grads) {
      throw new TypeError('model.loss(X, y): expected { loss: number, grads: { name: array } } when labels are given');
    }
    const t = this.iteration + 1;
    if (!Number.isFinite(res.loss)) {
      throw new TrainingDivergedError(
        t,
        res.loss,
        `Solver: the loss became ${res.loss} at iteration ${t} / ${this.numIterations} (epoch ${this.epoch + 1} of ${this.options.numEpochs}); ` +
          `training stopped, the model keeps the parameters of iteration ${t - 1}. ${this.divergenceCause(XBatch, mask)}`,
      );
    }
    this.lossHistory.push(res.loss);
    for (const k of Object.keys(this.model.params)) {
      const dw = res.grads[k];
      if (!dw) throw new RangeError(`model.loss: grads lacks ${JSON.stringify(k)} (params: ${Object.keys(this.model.params).join(', ')}; grads: ${Object.keys(res.grads).join(', ')})`);
      const { nextW, config } = updateRule(this.model.params[k], dw, this.optimConfigs[k]);
      this.model.params[k] = nextW;
      this.optimConfigs[k] = config;
    }
    this.iteration = t;
    return res.loss;
  }

  /**
   * Why the loss stopped being finite, as far as can be told: non-finite data (changed since
   * construction) or parameters are named first, since a smaller learning rate cannot fix them.
   */
  private divergenceCause(XBatch: Tensor, mask: ArrayLike<number>): string {
    try {
      assertFiniteRows('minibatch', XBatch);
    } catch (e) {
      const row = /in row (\d+)/.exec((e as Error).message);
      return `The data is not finite: data.XTrain row ${row ? mask[Number(row[1])] : '?'} holds a NaN or infinite value (it was changed after the Solver checked it).`;
    }
    for (const [k, v] of Object.entries(this.model.params)) {
      try {
        assertFiniteRows(k, v);
      } catch {
        return `Parameter ${k} already holds non-finite values, so the update before this one overflowed or the model was given bad parameters; try a smaller learning rate or weight scale.`;
      }
    }
    const lr = Object.values(this.optimConfigs)[0]?.learningRate;
    return `Try a smaller learning rate${lr !== undefined ? ` (optimConfig.learningRate is ${lr})` : ''} or weight scale.`;
  }

  /**
   * Classification accuracy of the model on (X, y): argmax of `model.loss(Xbatch)` in batches of
   * `batchSize`; with `numSamples` smaller than N, on that many rows drawn with replacement
   * (as cs231n's `check_accuracy`).
   */
  checkAccuracy(X: Tensor, y: Labels, opts: CheckAccuracyOptions = {}): number {
    const { numSamples = null, batchSize = 100 } = opts;
    if (!Number.isInteger(batchSize) || batchSize < 1) throw new RangeError(`batchSize: expected a positive integer, got ${batchSize}`);
    if (!X || !y || X.shape[0] !== y.shape[0]) {
      throw new ShapeError(`y: expected ${X?.shape?.[0]} labels to match X, got ${y?.shape ? shapeStr(y.shape) : String(y)}`);
    }
    let N = X.shape[0];
    let Xs = X;
    let ys = y;
    if (numSamples !== null && N > numSamples) {
      const mask = this.options.rng.choice(N, numSamples).data;
      Xs = takeRows(X, mask);
      ys = takeRows(y, mask);
      N = numSamples;
    }
    if (N === 0) return Number.NaN;
    let correct = 0;
    for (let start = 0; start < N; start += batchSize) {
      const end = Math.min(N, start + batchSize);
      const scores = this.model.loss(rowBlock(Xs, start, end)) as Tensor;
      const pred = argmaxRows(scores, 'checkAccuracy');
      if (pred.length !== end - start) throw new ShapeError(`checkAccuracy: model.loss(X) returned ${pred.length} rows of scores for ${end - start} examples`);
      const labels = rowBlock(ys, start, end).data;
      for (let i = 0; i < pred.length; i++) if (pred[i] === labels[i]) correct++;
    }
    return correct / N;
  }

  /**
   * Runs the optimisation (cs231n's `train`): from the current iteration (0, or where a restored
   * checkpoint left off) to numEpochs × iterationsPerEpoch, then puts the best parameters into
   * the model. Returns this solver.
   */
  train(): this {
    const o = this.options;
    const perEpoch = this.iterationsPerEpoch;
    const total = this.numIterations;
    const bar: Progress = o.progress ? progressBar(Math.max(total - this.iteration, 0), { label: o.label }) : { tick: () => undefined, stop: () => undefined };
    let status = '';
    try {
      for (let t = this.iteration; t < total; t++) {
        const loss = this.step();
        if (o.verbose && t % o.printEvery === 0) o.print(`(Iteration ${t + 1} / ${total}) loss: ${loss.toFixed(6)}`);
        const epochEnd = (t + 1) % perEpoch === 0;
        if (epochEnd) {
          this.epoch++;
          for (const c of Object.values(this.optimConfigs)) if (typeof c.learningRate === 'number') c.learningRate *= o.lrDecay;
        }
        if (t === 0 || t === total - 1 || epochEnd) {
          const trainAcc = this.checkAccuracy(this.XTrain, this.yTrain, { numSamples: o.numTrainSamples });
          const valAcc = this.checkAccuracy(this.XVal, this.yVal, { numSamples: o.numValSamples });
          this.trainAccHistory.push(trainAcc);
          this.valAccHistory.push(valAcc);
          if (o.verbose) o.print(`(Epoch ${this.epoch} / ${o.numEpochs}) train acc: ${trainAcc.toFixed(6)}; val_acc: ${valAcc.toFixed(6)}`);
          // The first check always takes a snapshot, so a run whose validation accuracy stays
          // at 0 still ends with usable parameters (cs231n would leave the model empty).
          if (valAcc > this.bestValAcc || !this.hasBest) {
            this.bestValAcc = Math.max(valAcc, this.bestValAcc);
            this.bestParams = {};
            for (const [k, v] of Object.entries(this.model.params)) this.bestParams[k] = copy(v);
            this.hasBest = true;
          }
          // Saved after the best-params update so that a resumed run ends with the same best.
          if (o.checkpointName !== null) this.saveCheckpoint(this.checkpointFile(this.epoch));
          status = `train ${trainAcc.toFixed(3)} val ${valAcc.toFixed(3)}`;
        }
        bar.tick(1, `loss ${loss.toFixed(4)}${status ? ` | ${status}` : ''}`);
      }
    } finally {
      bar.stop();
    }
    if (this.hasBest) for (const [k, v] of Object.entries(this.bestParams)) this.model.params[k] = v;
    return this;
  }

  /** `<checkpointName>_epoch_<epoch>.ckpt` (cs231n writes `%s_epoch_%d.pkl`). */
  checkpointFile(epoch: number): string {
    if (this.options.checkpointName === null) throw new RangeError('checkpointName: not set, so there is no checkpoint file name');
    return `${this.options.checkpointName}_epoch_${epoch}.ckpt`;
  }

  /** Everything needed to resume, as saved in a checkpoint (arrays are the live ones, not copies). */
  snapshot(): SolverCheckpoint {
    const o = this.options;
    return {
      updateRule: o.updateRuleName,
      optimConfig: o.optimConfig,
      lrDecay: o.lrDecay,
      batchSize: o.batchSize,
      numEpochs: o.numEpochs,
      numTrainSamples: o.numTrainSamples,
      numValSamples: o.numValSamples,
      printEvery: o.printEvery,
      epoch: this.epoch,
      iteration: this.iteration,
      bestValAcc: this.bestValAcc,
      lossHistory: this.lossHistory.slice(),
      trainAccHistory: this.trainAccHistory.slice(),
      valAccHistory: this.valAccHistory.slice(),
      params: { ...this.model.params },
      bestParams: this.hasBest ? { ...this.bestParams } : {},
      optimConfigs: this.optimConfigs,
      buffers: this.model.getBuffers ? this.model.getBuffers() : {},
      rngState: o.rng.getState(),
    };
  }

  /** Writes a checkpoint of the current state to `file` (atomically: the old file survives a crash). */
  saveCheckpoint(file: string): void {
    saveCheckpoint(file, this.snapshot());
  }

  /**
   * Loads a checkpoint into this solver and its model: parameters, best parameters, optimizer
   * state, histories, counters, model buffers and the generator's state, so that `train()`
   * continues exactly as the interrupted run would have. The solver's own options (batch
   * size, epochs, …) are kept. A truncated or corrupt file throws a `CheckpointError` naming it
   * and leaves the solver unchanged.
   */
  restore(file: string): this {
    this.apply(loadCheckpoint(file), file);
    return this;
  }

  /**
   * Checks everything in `ck` against the model and this solver, then applies it. Nothing is
   * changed unless every check passes, so a bad checkpoint leaves the solver as it was.
   */
  private apply(ck: SolverCheckpoint, file: string): void {
    const names = Object.keys(this.model.params);
    const saved = Object.keys(ck.params);
    const missing = names.filter((k) => !(k in ck.params));
    const extra = saved.filter((k) => !(k in this.model.params));
    if (missing.length || extra.length) {
      throw new RangeError(`${file}: checkpoint parameters (${saved.join(', ')}) do not match the model's (${names.join(', ')})`);
    }
    const sameShape = (what: string, a: Tensor, model: Tensor): void => {
      const s = a.shape;
      const m = model.shape;
      if (s.length !== m.length || s.some((d, i) => d !== m[i])) throw new ShapeError(`${file}: checkpoint ${what} has shape ${shapeStr(s)}, the model's has ${shapeStr(m)}`);
    };
    for (const k of names) {
      const p = this.model.params[k];
      sameShape(`parameter ${k}`, ck.params[k], p);
      if (ck.bestParams[k]) sameShape(`best parameter ${k}`, ck.bestParams[k], p);
      for (const [key, v] of Object.entries(ck.optimConfigs[k] ?? {})) {
        if (v && typeof v === 'object' && Array.isArray((v as Tensor).shape)) sameShape(`optimizer state ${k}.${key}`, v as Tensor, p);
      }
    }
    for (const [k, v] of [...Object.entries(ck.params), ...Object.entries(ck.bestParams)]) {
      try {
        assertFiniteRows(k, v);
      } catch (e) {
        throw new RangeError(`${file}: checkpoint parameter ${(e as Error).message}`);
      }
    }
    const bufferNames = Object.keys(ck.buffers);
    if (bufferNames.length && !this.model.setBuffers) throw new TypeError(`${file}: checkpoint has model buffers (${bufferNames.join(', ')}) but the model has no setBuffers()`);
    if (bufferNames.length && this.model.getBuffers) {
      const own = this.model.getBuffers();
      const ownNames = Object.keys(own);
      if (ownNames.length !== bufferNames.length || ownNames.some((k) => !(k in ck.buffers))) {
        throw new RangeError(`${file}: checkpoint buffers (${bufferNames.join(', ')}) do not match the model's (${ownNames.join(', ')})`);
      }
      for (const k of ownNames) sameShape(`buffer ${k}`, ck.buffers[k], own[k]);
    }
    if (ck.rngState) {
      try {
        new RandomState(0).setState(ck.rngState);
      } catch (e) {
        throw new RangeError(`${file}: checkpoint generator ${(e as Error).message}`);
      }
    }
    for (const k of names) this.model.params[k] = ck.params[k];
    if (bufferNames.length) this.model.setBuffers!(ck.buffers);
    this.bestParams = { ...ck.bestParams };
    this.hasBest = Object.keys(ck.bestParams).length > 0;
    this.bestValAcc = ck.bestValAcc;
    this.optimConfigs = {};
    for (const k of names) this.optimConfigs[k] = ck.optimConfigs[k] ?? copyConfig(this.options.optimConfig);
    this.lossHistory = ck.lossHistory.slice();
    this.trainAccHistory = ck.trainAccHistory.slice();
    this.valAccHistory = ck.valAccHistory.slice();
    this.epoch = ck.epoch;
    this.iteration = ck.iteration;
    if (ck.rngState) this.options.rng.setState(ck.rngState);
  }

  /**
   * A solver continuing from a checkpoint: hyperparameters come from the checkpoint unless
   * given in `options` (e.g. a larger `numEpochs` to train longer), then {@link Solver.restore}
   * is applied. A custom update-rule function must be passed again in `options.updateRule`.
   */
  static fromCheckpoint(file: string, model: Model, data: SolverData, options: SolverOptions = {}): Solver {
    const ck = loadCheckpoint(file);
    const saved: SolverOptions = {
      updateRule: ck.updateRule,
      optimConfig: ck.optimConfig,
      lrDecay: ck.lrDecay,
      batchSize: ck.batchSize,
      numEpochs: ck.numEpochs,
      numTrainSamples: ck.numTrainSamples,
      numValSamples: ck.numValSamples,
      printEvery: ck.printEvery,
    };
    let solver: Solver;
    try {
      solver = new Solver(model, data, { ...saved, ...options });
    } catch (e) {
      if (options.updateRule === undefined && /updateRule/.test((e as Error).message)) {
        throw new RangeError(`${file}: the checkpoint was trained with update rule ${JSON.stringify(ck.updateRule)}, which is not a known rule; pass it again as options.updateRule`);
      }
      throw e;
    }
    solver.apply(ck, file);
    return solver;
  }
}
