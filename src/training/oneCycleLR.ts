import { checkNumber, LRScheduler, type AnyOptimizer } from './lrScheduler';

/** Options of {@link OneCycleLR} (torch's, camelCased). */
export interface OneCycleLROptions {
  /** Peak learning rate, one for all groups or one per group. */
  maxLr: number | number[];
  /** Steps in the cycle; or give `epochs` and `stepsPerEpoch`. */
  totalSteps?: number;
  epochs?: number;
  stepsPerEpoch?: number;
  /** Fraction of the cycle spent increasing the lr. Default 0.3. */
  pctStart?: number;
  /** Default 'cos'. */
  annealStrategy?: 'cos' | 'linear';
  /** Cycle momentum (SGD, RMSprop) or β1 (Adam, AdamW) inversely to the lr. Default true. */
  cycleMomentum?: boolean;
  /** Lowest momentum, at the peak lr. Default 0.85. */
  baseMomentum?: number | number[];
  /** Highest momentum, at the ends. Default 0.95. */
  maxMomentum?: number | number[];
  /** Starting lr = maxLr / divFactor. Default 25. */
  divFactor?: number;
  /** Final lr = starting lr / finalDivFactor. Default 1e4. */
  finalDivFactor?: number;
  /** Three phases (up, back down to the start, then annihilate) as fastai's original. Default false. */
  threePhase?: boolean;
}

interface Phase {
  endStep: number;
  startLr: 'initialLr' | 'maxLr' | 'minLr';
  endLr: 'initialLr' | 'maxLr' | 'minLr';
  startMomentum: 'maxMomentum' | 'baseMomentum';
  endMomentum: 'maxMomentum' | 'baseMomentum';
}

/**
 * The 1cycle policy, torch's `OneCycleLR`: step once per batch. The lr rises from
 * `maxLr/divFactor` to `maxLr` over the first `pctStart` of the steps and anneals to
 * `maxLr/divFactor/finalDivFactor` (cosine or linear), while momentum (or Adam's β1) moves
 * the opposite way between `maxMomentum` and `baseMomentum`. Like PyTorch it writes
 * `initialLr`, `maxLr`, `minLr` (and the momenta) into each parameter group, and stepping past
 * `totalSteps` is an error.
 */
export class OneCycleLR extends LRScheduler {
  readonly totalSteps: number;
  private readonly opts: Required<Omit<OneCycleLROptions, 'totalSteps' | 'epochs' | 'stepsPerEpoch'>>;
  private readonly phases: Phase[];
  private readonly useBeta1: boolean;

  constructor(optimizer: AnyOptimizer, opts: OneCycleLROptions) {
    const n = optimizer.paramGroups.length;
    const perGroup = (name: string, v: number | number[], ok: (x: number) => boolean, expected: string): number[] => {
      const list = Array.isArray(v) ? v : new Array<number>(n).fill(v);
      if (list.length !== n) throw new RangeError(`OneCycleLR: ${name}: expected ${n} values (one per parameter group), got ${list.length}`);
      return list.map((x, i) => checkNumber(`OneCycleLR: ${name}${Array.isArray(v) ? `[${i}]` : ''}`, x, ok, expected));
    };
    let totalSteps: number;
    const posInt = (x: number): boolean => Number.isInteger(x) && x > 0;
    if (opts.totalSteps !== undefined) totalSteps = checkNumber('OneCycleLR: totalSteps', opts.totalSteps, posInt, 'a positive integer');
    else if (opts.epochs !== undefined || opts.stepsPerEpoch !== undefined) {
      totalSteps = checkNumber('OneCycleLR: epochs', opts.epochs, posInt, 'a positive integer') * checkNumber('OneCycleLR: stepsPerEpoch', opts.stepsPerEpoch, posInt, 'a positive integer');
    } else throw new RangeError('OneCycleLR: totalSteps: expected totalSteps, or epochs and stepsPerEpoch, got none of them');
    const o = {
      maxLr: perGroup('maxLr', opts.maxLr, (x) => x >= 0, 'a finite number >= 0'),
      pctStart: checkNumber('OneCycleLR: pctStart', opts.pctStart ?? 0.3, (x) => x >= 0 && x <= 1, 'a number in [0, 1]'),
      annealStrategy: opts.annealStrategy ?? 'cos',
      cycleMomentum: opts.cycleMomentum ?? true,
      baseMomentum: perGroup('baseMomentum', opts.baseMomentum ?? 0.85, () => true, 'a finite number'),
      maxMomentum: perGroup('maxMomentum', opts.maxMomentum ?? 0.95, () => true, 'a finite number'),
      divFactor: checkNumber('OneCycleLR: divFactor', opts.divFactor ?? 25, (x) => x > 0, 'a number > 0'),
      finalDivFactor: checkNumber('OneCycleLR: finalDivFactor', opts.finalDivFactor ?? 1e4, (x) => x > 0, 'a number > 0'),
      threePhase: opts.threePhase ?? false,
    };
    if (o.annealStrategy !== 'cos' && o.annealStrategy !== 'linear') throw new RangeError(`OneCycleLR: annealStrategy: expected 'cos' or 'linear', got ${JSON.stringify(o.annealStrategy)}`);
    const defaults = optimizer.defaults as unknown as Record<string, unknown>;
    const useBeta1 = 'betas' in defaults;
    if (o.cycleMomentum && !('momentum' in defaults) && !useBeta1) {
      throw new RangeError(`OneCycleLR: cycleMomentum: ${optimizer.constructor.name} has no momentum or betas to cycle; pass cycleMomentum: false`);
    }
    optimizer.paramGroups.forEach((g, i) => {
      g.initialLr = o.maxLr[i] / o.divFactor;
      g.maxLr = o.maxLr[i];
      g.minLr = g.initialLr / o.finalDivFactor;
      if (o.cycleMomentum) {
        const grp = g as unknown as { betas?: number[]; momentum?: number };
        if (useBeta1) grp.betas = [o.maxMomentum[i], (grp.betas as number[])[1]];
        else grp.momentum = o.maxMomentum[i];
        g.maxMomentum = o.maxMomentum[i];
        g.baseMomentum = o.baseMomentum[i];
      }
    });
    super(optimizer);
    this.totalSteps = totalSteps;
    this.opts = { ...o, maxLr: opts.maxLr, baseMomentum: opts.baseMomentum ?? 0.85, maxMomentum: opts.maxMomentum ?? 0.95 };
    this.useBeta1 = useBeta1;
    const up = o.pctStart * totalSteps - 1;
    this.phases = o.threePhase
      ? [
          { endStep: up, startLr: 'initialLr', endLr: 'maxLr', startMomentum: 'maxMomentum', endMomentum: 'baseMomentum' },
          { endStep: 2 * o.pctStart * totalSteps - 2, startLr: 'maxLr', endLr: 'initialLr', startMomentum: 'baseMomentum', endMomentum: 'maxMomentum' },
          { endStep: totalSteps - 1, startLr: 'initialLr', endLr: 'minLr', startMomentum: 'maxMomentum', endMomentum: 'maxMomentum' },
        ]
      : [
          { endStep: up, startLr: 'initialLr', endLr: 'maxLr', startMomentum: 'maxMomentum', endMomentum: 'baseMomentum' },
          { endStep: totalSteps - 1, startLr: 'maxLr', endLr: 'minLr', startMomentum: 'baseMomentum', endMomentum: 'maxMomentum' },
        ];
    this.initialStep();
  }

  protected config(): Record<string, unknown> {
    return { totalSteps: this.totalSteps, ...this.opts };
  }

  private anneal(start: number, end: number, pct: number): number {
    if (this.opts.annealStrategy === 'linear') return (end - start) * pct + start;
    return end + ((start - end) / 2) * (Math.cos(Math.PI * pct) + 1);
  }

  protected getLr(): number[] {
    const stepNum = this.lastEpoch;
    if (stepNum > this.totalSteps) {
      throw new RangeError(`OneCycleLR.step: tried to step ${stepNum + 1} times; the schedule has totalSteps ${this.totalSteps}`);
    }
    return this.optimizer.paramGroups.map((g) => {
      let start = 0;
      let lr = 0;
      let momentum = 0;
      for (let i = 0; i < this.phases.length; i++) {
        const ph = this.phases[i];
        if (stepNum <= ph.endStep || i === this.phases.length - 1) {
          const pct = (stepNum - start) / (ph.endStep - start);
          lr = this.anneal(g[ph.startLr] as number, g[ph.endLr] as number, pct);
          if (this.opts.cycleMomentum) momentum = this.anneal(g[ph.startMomentum] as number, g[ph.endMomentum] as number, pct);
          break;
        }
        start = ph.endStep;
      }
      if (this.opts.cycleMomentum) {
        const grp = g as unknown as { betas?: number[]; momentum?: number };
        if (this.useBeta1) grp.betas = [momentum, (grp.betas as number[])[1]];
        else grp.momentum = momentum;
      }
      return lr;
    });
  }
}
