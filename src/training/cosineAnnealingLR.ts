import { checkNumber, LRScheduler, type AnyOptimizer } from './lrScheduler';

/** Options of {@link CosineAnnealingLR}. */
export interface CosineAnnealingLROptions {
  /** Epochs of one half period (from the base lr down to etaMin). */
  tMax: number;
  /** The lowest learning rate. Default 0. */
  etaMin?: number;
}

/**
 * Cosine annealing (torch's `CosineAnnealingLR`, SGDR without restarts):
 * `lr = ηmin + (base − ηmin)·(1 + cos(π·e/tMax))/2`, continuing as a cosine past tMax.
 * Stepping uses PyTorch's recursive form (the ratio of consecutive cosine factors applied to
 * the current lr) so that chained schedules compose as in PyTorch.
 */
export class CosineAnnealingLR extends LRScheduler {
  readonly tMax: number;
  readonly etaMin: number;

  constructor(optimizer: AnyOptimizer, opts: CosineAnnealingLROptions) {
    super(optimizer);
    this.tMax = checkNumber('CosineAnnealingLR: tMax', opts.tMax, (x) => x > 0, 'a number > 0');
    this.etaMin = checkNumber('CosineAnnealingLR: etaMin', opts.etaMin ?? 0, () => true, 'a finite number');
    this.initialStep();
  }

  protected config(): Record<string, unknown> {
    return { tMax: this.tMax, etaMin: this.etaMin };
  }

  protected getLr(): number[] {
    const e = this.lastEpoch;
    const T = this.tMax;
    const eta = this.etaMin;
    const cos = Math.cos;
    const PI = Math.PI;
    if (e === 0) return this.groupLrs();
    if (this.stepCount === 1 && e > 0) return this.baseLrs.map((b) => eta + ((b - eta) * (1 + cos((e * PI) / T))) / 2);
    // At the bottom of a period the ratio below would divide by zero: climb by the first step's amount instead.
    if ((e - 1 - T) % (2 * T) === 0) return this.groupLrs().map((lr, i) => lr + ((this.baseLrs[i] - eta) * (1 - cos(PI / T))) / 2);
    return this.groupLrs().map((lr) => ((1 + cos((PI * e) / T)) / (1 + cos((PI * (e - 1)) / T))) * (lr - eta) + eta);
  }

  protected override closedFormLr(): number[] {
    return this.baseLrs.map((b) => this.etaMin + ((b - this.etaMin) * (1 + Math.cos((Math.PI * this.lastEpoch) / this.tMax))) / 2);
  }
}
