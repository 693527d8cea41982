import ndarray from 'ndarray';
import { assertArg, ShapeError, shapeStr } from '../core/check';
import { defaultRandomState, type RandomState } from '../core/random';
import { sizeOf, takeRows, type Tensor } from '../core/tensor';
import type { Labels } from '../layers/losses';
import { progressBar } from '../util/progress';
import { batchRows, type BookNet } from './bookNet';
import { createOptimizer, type Optimizer, type OptimizerParam } from './optimizers';

/** Options of {@link Trainer} (the book's keyword arguments, camelCased). */
export interface TrainerOptions {
  /** Default 20. */
  epochs?: number;
  /** Default 100. */
  miniBatchSize?: number;
  /** 'SGD', 'Momentum', 'Nesterov', 'AdaGrad', 'RMSprop' or 'Adam' (any case). Default 'SGD'. */
  optimizer?: string;
  /** Default { lr: 0.01 }. */
  optimizerParam?: OptimizerParam;
  /** Accuracy per epoch on only the first this-many train and test samples (null: all). */
  evaluateSampleNumPerEpoch?: number | null;
  /** Print the loss of every step and the per-epoch accuracies, as the book. Default true. */
  verbose?: boolean;
  /** Generator of the minibatch choices; default the global `random` state. */
  rng?: RandomState;
  /** Where lines go (default console.log). */
  print?: (line: string) => void;
  /** Show a progress bar on stderr (default: when verbose is false and stderr is a terminal). */
  progress?: boolean;
  /**
   * Print the per-epoch accuracy line (and the elapsed time) through `print` even when
   * `verbose` is false: long runs written to a log show their progress without the book's
   * line per step. Default false.
   */
  logEpochs?: boolean;
}

/**
 * The book's common/trainer.py. Minibatches are drawn WITH replacement (`np.random.choice`);
 * after every update the loss on that same batch is recorded; accuracy is logged when
 * `iter % iter_per_epoch == 0` (with `iter_per_epoch = max(train_size / batch, 1)`, a float),
 * i.e. after the update of iterations 0, ipe, 2·ipe, …; `max_iter = int(epochs · ipe)`.
 */
export class Trainer {
  readonly epochs: number;
  readonly batchSize: number;
  readonly optimizer: Optimizer;
  readonly evaluateSampleNumPerEpoch: number | null;
  readonly verbose: boolean;
  readonly trainSize: number;
  readonly iterPerEpoch: number;
  readonly maxIter: number;
  currentIter = 0;
  currentEpoch = 0;
  readonly trainLossList: number[] = [];
  readonly trainAccList: number[] = [];
  readonly testAccList: number[] = [];
  /** Test accuracy on the whole test set after {@link train}. */
  finalTestAcc = NaN;
  private readonly rng: RandomState;
  private readonly print: (line: string) => void;
  private readonly progress: boolean;
  private readonly logEpochs: boolean;
  private readonly started = Date.now();

  constructor(
    readonly network: BookNet,
    readonly xTrain: Tensor,
    readonly tTrain: Labels,
    readonly xTest: Tensor,
    readonly tTest: Labels,
    opts: TrainerOptions = {},
  ) {
    if (xTrain.shape[0] !== tTrain.shape[0]) throw new ShapeError(`tTrain: expected ${xTrain.shape[0]} labels to match xTrain ${shapeStr(xTrain.shape)}, got ${shapeStr(tTrain.shape)}`);
    if (xTest.shape[0] !== tTest.shape[0]) throw new ShapeError(`tTest: expected ${xTest.shape[0]} labels to match xTest ${shapeStr(xTest.shape)}, got ${shapeStr(tTest.shape)}`);
    this.epochs = opts.epochs ?? 20;
    this.batchSize = opts.miniBatchSize ?? 100;
    assertArg(Number.isFinite(this.epochs) && this.epochs > 0, 'epochs', 'a positive number', this.epochs);
    assertArg(Number.isInteger(this.batchSize) && this.batchSize > 0, 'miniBatchSize', 'a positive integer', this.batchSize);
    assertArg(xTrain.shape[0] > 0, 'xTrain', 'at least one sample', xTrain.shape[0]);
    const ev = opts.evaluateSampleNumPerEpoch ?? null;
    assertArg(ev === null || (Number.isInteger(ev) && ev > 0), 'evaluateSampleNumPerEpoch', 'a positive integer or null', ev);
    this.evaluateSampleNumPerEpoch = ev;
    this.optimizer = createOptimizer(opts.optimizer ?? 'SGD', opts.optimizerParam ?? { lr: 0.01 });
    this.verbose = opts.verbose ?? true;
    this.trainSize = xTrain.shape[0];
    this.iterPerEpoch = Math.max(this.trainSize / this.batchSize, 1);
    this.maxIter = Math.trunc(this.epochs * this.iterPerEpoch);
    this.rng = opts.rng ?? defaultRandomState();
    this.print = opts.print ?? ((l) => console.log(l));
    this.progress = opts.progress ?? !this.verbose;
    this.logEpochs = opts.logEpochs ?? false;
  }

  /** One minibatch step (the book's `train_step`). */
  trainStep(): void {
    const mask = this.rng.choice(this.trainSize, this.batchSize) as unknown as { data: Int32Array };
    const xb = takeRows(this.xTrain, mask.data);
    const tb = takeRows(this.tTrain, mask.data);
    const grads = this.network.gradient(xb, tb);
    this.optimizer.update(this.network.params, grads);
    const loss = this.network.loss(xb, tb);
    this.trainLossList.push(loss);
    if (this.verbose) this.print(`train loss:${loss}`);
    if (this.currentIter % this.iterPerEpoch === 0) {
      this.currentEpoch++;
      const n = this.evaluateSampleNumPerEpoch;
      const [xtr, ttr] = n === null ? [this.xTrain, this.tTrain] : [firstRows(this.xTrain, n), firstRows(this.tTrain, n)];
      const [xte, tte] = n === null ? [this.xTest, this.tTest] : [firstRows(this.xTest, n), firstRows(this.tTest, n)];
      const trainAcc = this.network.accuracy(xtr, ttr);
      const testAcc = this.network.accuracy(xte, tte);
      this.trainAccList.push(trainAcc);
      this.testAccList.push(testAcc);
      if (this.verbose) this.print(`=== epoch:${this.currentEpoch}, train acc:${trainAcc}, test acc:${testAcc} ===`);
      else if (this.logEpochs) this.print(`=== epoch:${this.currentEpoch}, train acc:${trainAcc}, test acc:${testAcc} === (${((Date.now() - this.started) / 1000).toFixed(0)} s)`);
    }
    this.currentIter++;
  }

  /** All `maxIter` steps, then the accuracy on the whole test set (printed as the book does). */
  train(): void {
    const bar = progressBar(this.maxIter, { label: 'train', enabled: this.progress ? undefined : false });
    try {
      for (let i = 0; i < this.maxIter; i++) {
        this.trainStep();
        const acc = this.testAccList[this.testAccList.length - 1];
        bar.tick(1, `epoch ${this.currentEpoch} loss ${this.trainLossList[this.trainLossList.length - 1].toFixed(3)} test acc ${acc?.toFixed(3) ?? '-'}`);
      }
    } finally {
      bar.stop();
    }
    this.finalTestAcc = this.network.accuracy(this.xTest, this.tTest);
    if (this.verbose) {
      this.print('=============== Final Test Accuracy ===============');
      this.print(`test acc:${this.finalTestAcc}`);
    }
  }
}

/** The first n rows (all when there are fewer), as a view when possible. */
function firstRows<T extends Tensor | Labels>(a: T, n: number): T {
  const m = Math.min(n, a.shape[0]);
  const row = sizeOf(a.shape.slice(1));
  if (a.shape.length === 1) return ndarray(a.data.subarray(a.offset, a.offset + m), [m]) as T;
  return batchRows(a as Tensor, 0, m, row) as T;
}
