import { checkNumber, LRScheduler, type AnyOptimizer } from './lrScheduler';

/** Options of {@link LinearLR}. */
export interface LinearLROptions {
  /** Factor of the base lr at epoch 0, in (0, 1]. Default 1/3. */
  startFactor?: number;
  /** Factor reached at `totalIters`, in [0, 1]. Default 1. */
  endFactor?: number;
  /** Epochs (or iterations) of the ramp. Default 5. */
  totalIters?: number;
}

/**
 * Linear warm-up (or decay), torch's `LinearLR`: the factor of the base lr goes linearly from
 * `startFactor` to `endFactor` over `totalIters` steps, then stays. A start factor of 0, which
 * PyTorch 1.13 accepts but turns into NaN learning rates at the second step, is refused.
 */
export class LinearLR extends LRScheduler {
  readonly startFactor: number;
  readonly endFactor: number;
  readonly totalIters: number;

  constructor(optimizer: AnyOptimizer, opts: LinearLROptions = {}) {
    super(optimizer);
    this.startFactor = checkNumber('LinearLR: startFactor', opts.startFactor ?? 1 / 3, (x) => x > 0 && x <= 1, 'a number in (0, 1]');
    this.endFactor = checkNumber('LinearLR: endFactor', opts.endFactor ?? 1, (x) => x >= 0 && x <= 1, 'a number in [0, 1]');
    this.totalIters = checkNumber('LinearLR: totalIters', opts.totalIters ?? 5, (x) => Number.isInteger(x) && x > 0, 'a positive integer');
    this.initialStep();
  }

  protected config(): Record<string, unknown> {
    return { startFactor: this.startFactor, endFactor: this.endFactor, totalIters: this.totalIters };
  }

  protected getLr(): number[] {
    const e = this.lastEpoch;
    const { startFactor: s, endFactor: f, totalIters: T } = this;
    if (e === 0) return this.groupLrs().map((lr) => lr * s);
    if (e > T) return this.groupLrs();
    return this.groupLrs().map((lr) => lr * (1 + (f - s) / (T * s + (e - 1) * (f - s))));
  }

  protected override closedFormLr(): number[] {
    const { startFactor: s, endFactor: f, totalIters: T } = this;
    return this.baseLrs.map((b) => b * (s + ((f - s) * Math.min(T, this.lastEpoch)) / T));
  }
}
