import { checkSchedulerState, LRScheduler, type AnyOptimizer, type Scheduler, type SchedulerStateDict } from './lrScheduler';

/**
 * Runs schedules one after another, torch's `SequentialLR`: `schedulers[i]` drives epochs from
 * `milestones[i − 1]` on, and is restarted at its milestone through its closed form
 * (`step(0)`), so a warm-up followed by a cosine is
 * `new SequentialLR(opt, [new LinearLR(opt, …), new CosineAnnealingLR(opt, …)], [5])`.
 * As PyTorch, construction undoes the first steps the wrapped schedulers took when they were
 * built and restarts the first one from the groups' initial learning rates.
 */
export class SequentialLR implements Scheduler {
  lastEpoch: number;
  private lastLr: number[];

  constructor(readonly optimizer: AnyOptimizer, readonly schedulers: LRScheduler[], readonly milestones: number[]) {
    if (!Array.isArray(schedulers) || schedulers.length === 0) throw new RangeError('SequentialLR: schedulers: expected at least one scheduler, got none');
    schedulers.forEach((s, i) => {
      if (s.optimizer !== optimizer) throw new RangeError(`SequentialLR: schedulers[${i}]: expected a scheduler of the same optimizer, got one of another optimizer`);
    });
    if (!Array.isArray(milestones) || milestones.length !== schedulers.length - 1) {
      throw new RangeError(`SequentialLR: milestones: expected ${schedulers.length - 1} milestones (one fewer than schedulers), got ${Array.isArray(milestones) ? milestones.length : String(milestones)}`);
    }
    milestones.forEach((m, i) => {
      if (!Number.isInteger(m) || m < 0 || (i > 0 && m < milestones[i - 1])) throw new RangeError(`SequentialLR: milestones[${i}]: expected a non-decreasing integer >= 0, got ${m}`);
    });
    this.lastEpoch = 0;
    for (const g of optimizer.paramGroups) g.lr = g.initialLr as number;
    for (const s of schedulers) s.lastEpoch -= 1;
    schedulers[0].initialStep();
    this.lastLr = schedulers[0].getLastLr();
  }

  step(): void {
    this.lastEpoch++;
    const idx = this.milestones.filter((m) => m <= this.lastEpoch).length;
    const s = this.schedulers[idx];
    if (idx > 0 && this.milestones[idx - 1] === this.lastEpoch) s.step(0);
    else s.step();
    this.lastLr = s.getLastLr();
  }

  getLastLr(): number[] {
    return this.lastLr.slice();
  }

  stateDict(): SchedulerStateDict {
    return {
      kind: 'SequentialLR',
      config: { milestones: this.milestones, schedulers: this.schedulers.map((s) => s.constructor.name) },
      lastEpoch: this.lastEpoch,
      stepCount: 0,
      baseLrs: this.optimizer.paramGroups.map((g) => g.initialLr as number),
      lastLr: this.lastLr.slice(),
      schedulers: this.schedulers.map((s) => s.stateDict()),
    };
  }

  loadStateDict(sd: SchedulerStateDict): void {
    checkSchedulerState('SequentialLR', this.stateDict().config, this.lastLr.length, sd);
    if (!Array.isArray(sd.schedulers) || sd.schedulers.length !== this.schedulers.length) {
      throw new RangeError(`SequentialLR.loadStateDict: schedulers: expected ${this.schedulers.length} states, got ${sd.schedulers?.length}`);
    }
    // Check every wrapped state before changing any, so a bad dict leaves this one usable.
    this.schedulers.forEach((s, i) => {
      const mine = s.stateDict();
      checkSchedulerState(mine.kind, mine.config, mine.baseLrs.length, (sd.schedulers as SchedulerStateDict[])[i]);
    });
    this.schedulers.forEach((s, i) => s.loadStateDict((sd.schedulers as SchedulerStateDict[])[i]));
    this.lastEpoch = sd.lastEpoch;
    this.lastLr = sd.lastLr.slice();
  }
}
