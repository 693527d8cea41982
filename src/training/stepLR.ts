import { checkNumber, LRScheduler, type AnyOptimizer } from './lrScheduler';

/** Options of {@link StepLR}. */
export interface StepLROptions {
  /** Epochs between decays. */
  stepSize: number;
  /** Factor applied at each decay. Default 0.1. */
  gamma?: number;
}

/** Multiplies the learning rate by `gamma` every `stepSize` epochs: `lr = base·γ^⌊e/stepSize⌋` (torch's `StepLR`). */
export class StepLR extends LRScheduler {
  readonly stepSize: number;
  readonly gamma: number;

  constructor(optimizer: AnyOptimizer, opts: StepLROptions) {
    super(optimizer);
    this.stepSize = checkNumber('StepLR: stepSize', opts.stepSize, (x) => Number.isInteger(x) && x > 0, 'a positive integer');
    this.gamma = checkNumber('StepLR: gamma', opts.gamma ?? 0.1, () => true, 'a finite number');
    this.initialStep();
  }

  protected config(): Record<string, unknown> {
    return { stepSize: this.stepSize, gamma: this.gamma };
  }

  protected getLr(): number[] {
    const e = this.lastEpoch;
    if (e === 0 || e % this.stepSize !== 0) return this.groupLrs();
    return this.groupLrs().map((lr) => lr * this.gamma);
  }

  protected override closedFormLr(): number[] {
    return this.baseLrs.map((b) => b * this.gamma ** Math.floor(this.lastEpoch / this.stepSize));
  }
}
