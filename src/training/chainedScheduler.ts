import { checkSchedulerState, type AnyOptimizer, type Scheduler, type SchedulerStateDict } from './lrScheduler';

/**
 * Steps several schedules together, torch's `ChainedScheduler`: each `step()` steps every one
 * in order, each working from the lr the previous one left, so their factors multiply (a
 * linear warm-up chained with a step decay warms up the decayed lr).
 */
export class ChainedScheduler implements Scheduler {
  readonly optimizer: AnyOptimizer;
  private lastLr: number[];

  constructor(readonly schedulers: Scheduler[]) {
    if (!Array.isArray(schedulers) || schedulers.length === 0) throw new RangeError('ChainedScheduler: schedulers: expected at least one scheduler, got none');
    this.optimizer = schedulers[0].optimizer;
    schedulers.forEach((s, i) => {
      if (s.optimizer !== this.optimizer) throw new RangeError(`ChainedScheduler: schedulers[${i}]: expected a scheduler of the same optimizer as schedulers[0], got one of another optimizer`);
    });
    this.lastLr = this.optimizer.paramGroups.map((g) => g.lr);
  }

  step(): void {
    for (const s of this.schedulers) s.step();
    this.lastLr = this.optimizer.paramGroups.map((g) => g.lr);
  }

  getLastLr(): number[] {
    return this.lastLr.slice();
  }

  stateDict(): SchedulerStateDict {
    return {
      kind: 'ChainedScheduler',
      config: { schedulers: this.schedulers.map((s) => s.constructor.name) },
      lastEpoch: 0,
      stepCount: 0,
      baseLrs: this.lastLr.slice(),
      lastLr: this.lastLr.slice(),
      schedulers: this.schedulers.map((s) => s.stateDict()),
    };
  }

  loadStateDict(sd: SchedulerStateDict): void {
    checkSchedulerState('ChainedScheduler', this.stateDict().config, this.lastLr.length, sd);
    if (!Array.isArray(sd.schedulers) || sd.schedulers.length !== this.schedulers.length) {
      throw new RangeError(`ChainedScheduler.loadStateDict: schedulers: expected ${this.schedulers.length} states, got ${sd.schedulers?.length}`);
    }
    this.schedulers.forEach((s, i) => {
      const mine = s.stateDict();
      checkSchedulerState(mine.kind, mine.config, mine.baseLrs.length, (sd.schedulers as SchedulerStateDict[])[i]);
    });
    this.schedulers.forEach((s, i) => s.loadStateDict((sd.schedulers as SchedulerStateDict[])[i]));
    this.lastLr = sd.lastLr.slice();
  }
}
