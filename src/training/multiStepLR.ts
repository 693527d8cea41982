import { checkNumber, LRScheduler, type AnyOptimizer } from './lrScheduler';

/** Options of {@link MultiStepLR}. */
export interface MultiStepLROptions {
  /** Epochs at which to decay (a repeated milestone decays that many times). */
  milestones: number[];
  /** Factor applied at each milestone. Default 0.1. */
  gamma?: number;
}

/** Multiplies the learning rate by `gamma` at each milestone epoch (torch's `MultiStepLR`). */
export class MultiStepLR extends LRScheduler {
  readonly milestones: number[];
  readonly gamma: number;
  private readonly counts = new Map<number, number>();

  constructor(optimizer: AnyOptimizer, opts: MultiStepLROptions) {
    super(optimizer);
    if (!Array.isArray(opts.milestones)) throw new TypeError(`MultiStepLR: milestones: expected an array of epochs, got ${JSON.stringify(opts.milestones)}`);
    this.milestones = opts.milestones.map((m, i) => checkNumber(`MultiStepLR: milestones[${i}]`, m, (x) => Number.isInteger(x) && x >= 0, 'an integer >= 0'));
    this.milestones.sort((a, b) => a - b);
    for (const m of this.milestones) this.counts.set(m, (this.counts.get(m) ?? 0) + 1);
    this.gamma = checkNumber('MultiStepLR: gamma', opts.gamma ?? 0.1, () => true, 'a finite number');
    this.initialStep();
  }

  protected config(): Record<string, unknown> {
    return { milestones: this.milestones, gamma: this.gamma };
  }

  protected getLr(): number[] {
    const k = this.counts.get(this.lastEpoch);
    if (k === undefined) return this.groupLrs();
    return this.groupLrs().map((lr) => lr * this.gamma ** k);
  }

  protected override closedFormLr(): number[] {
    const passed = this.milestones.filter((m) => m <= this.lastEpoch).length;
    return this.baseLrs.map((b) => b * this.gamma ** passed);
  }
}
