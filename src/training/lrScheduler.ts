import type { BaseOptimizerOptions, Optimizer } from './optimizer';

/** Any optimizer (schedulers only touch the groups' `lr`, momentum and scheduler fields). */
export type AnyOptimizer = Optimizer<BaseOptimizerOptions>;

/**
 * A scheduler's state: its kind and configuration (checked on load, so a checkpoint cannot
 * silently resume a different schedule), its counters and the last learning rates. JSON-safe.
 */
export interface SchedulerStateDict {
  kind: string;
  config: Record<string, unknown>;
  lastEpoch: number;
  stepCount: number;
  baseLrs: number[];
  lastLr: number[];
  /** Wrapped schedulers' states (SequentialLR, ChainedScheduler). */
  schedulers?: SchedulerStateDict[];
}

/** What every schedule offers: PyTorch's `step()`, `get_last_lr()`, `state_dict()`, `load_state_dict()`. */
export interface Scheduler {
  readonly optimizer: AnyOptimizer;
  step(): void;
  getLastLr(): number[];
  stateDict(): SchedulerStateDict;
  loadStateDict(sd: SchedulerStateDict): void;
}

/**
 * The base of the learning-rate schedules, as torch 1.13's `_LRScheduler`: construction records
 * each group's `initialLr` (kept if already set) as the base learning rate and takes a first
 * step to epoch 0; each `step()` advances `lastEpoch` and sets every group's `lr` from the
 * schedule's chainable form ({@link getLr}), which works from the group's current lr, so
 * schedules composed in a {@link ChainedScheduler} multiply as PyTorch's do.
 * `step(epoch)` jumps to an epoch through the closed form where the schedule has one (PyTorch's
 * deprecated path, still what `SequentialLR` uses at its milestones).
 *
 * Subclasses set their configuration, then call {@link initialStep} at the end of their constructor.
 */
export abstract class LRScheduler implements Scheduler {
  readonly baseLrs: number[];
  /** The epoch (or iteration) the current learning rates belong to; -1 before the first step. */
  lastEpoch = -1;
  /** Steps taken, counting the one at construction (PyTorch's `_step_count`). */
  protected stepCount = 0;
  protected lastLr: number[] = [];

  protected constructor(readonly optimizer: AnyOptimizer) {
    for (const g of optimizer.paramGroups) if (g.initialLr === undefined) g.initialLr = g.lr;
    this.baseLrs = optimizer.paramGroups.map((g) => g.initialLr as number);
  }

  /** The configuration saved in (and checked against) state dicts. */
  protected abstract config(): Record<string, unknown>;

  /** The learning rates for `lastEpoch`, from the current ones (chainable form). */
  protected abstract getLr(): number[];

  /** The learning rates for `lastEpoch` from the base ones, or null when the schedule has no closed form. */
  protected closedFormLr(): number[] | null {
    return null;
  }

  /** Resets the step count and steps to epoch 0 (PyTorch's `_initial_step`). */
  initialStep(): void {
    this.stepCount = 0;
    this.step();
  }

  /** Advances one epoch (or iteration), or jumps to `epoch` (closed form where there is one). */
  step(epoch?: number): void {
    this.stepCount++;
    let values: number[];
    if (epoch === undefined) {
      this.lastEpoch++;
      values = this.getLr();
    } else {
      if (!Number.isInteger(epoch) || epoch < 0) throw new RangeError(`${this.constructor.name}.step: epoch: expected an integer >= 0, got ${epoch}`);
      this.lastEpoch = epoch;
      values = this.closedFormLr() ?? this.getLr();
    }
    this.optimizer.paramGroups.forEach((g, i) => {
      g.lr = values[i];
    });
    this.lastLr = this.optimizer.paramGroups.map((g) => g.lr);
  }

  /** The learning rate of each group as this scheduler last set it. */
  getLastLr(): number[] {
    return this.lastLr.slice();
  }

  /** The current learning rate of each group. */
  protected groupLrs(): number[] {
    return this.optimizer.paramGroups.map((g) => g.lr);
  }

  stateDict(): SchedulerStateDict {
    return {
      kind: this.constructor.name,
      config: this.config(),
      lastEpoch: this.lastEpoch,
      stepCount: this.stepCount,
      baseLrs: this.baseLrs.slice(),
      lastLr: this.lastLr.slice(),
    };
  }

  loadStateDict(sd: SchedulerStateDict): void {
    checkSchedulerState(this.constructor.name, this.config(), this.baseLrs.length, sd);
    this.lastEpoch = sd.lastEpoch;
    this.stepCount = sd.stepCount;
    this.baseLrs.splice(0, this.baseLrs.length, ...sd.baseLrs);
    this.lastLr = sd.lastLr.slice();
  }
}

/** Checks a saved scheduler state against the scheduler loading it; throws naming what differs. */
export function checkSchedulerState(kind: string, config: Record<string, unknown>, groups: number, sd: SchedulerStateDict): void {
  if (!sd || typeof sd !== 'object') throw new TypeError(`${kind}.loadStateDict: expected a scheduler state dict, got ${String(sd)}`);
  if (sd.kind !== kind) throw new RangeError(`${kind}.loadStateDict: kind: expected '${kind}', got '${sd.kind}'`);
  const mine = JSON.stringify(config);
  const theirs = JSON.stringify(sd.config);
  if (mine !== theirs) throw new RangeError(`${kind}.loadStateDict: config: expected ${mine}, got ${theirs}`);
  if (!Number.isInteger(sd.lastEpoch) || sd.lastEpoch < -1) throw new RangeError(`${kind}.loadStateDict: lastEpoch: expected an integer >= -1, got ${sd.lastEpoch}`);
  if (!Number.isInteger(sd.stepCount) || sd.stepCount < 0) throw new RangeError(`${kind}.loadStateDict: stepCount: expected an integer >= 0, got ${sd.stepCount}`);
  for (const key of ['baseLrs', 'lastLr'] as const) {
    const v = sd[key];
    if (!Array.isArray(v) || v.length !== groups || !v.every((x) => typeof x === 'number' && Number.isFinite(x))) {
      throw new RangeError(`${kind}.loadStateDict: ${key}: expected ${groups} finite numbers, got ${JSON.stringify(v)}`);
    }
  }
}

/** Throws unless `v` is a finite number passing `ok` (described by `expected`). */
export function checkNumber(where: string, v: unknown, ok: (x: number) => boolean, expected: string): number {
  if (typeof v !== 'number' || !Number.isFinite(v) || !ok(v)) throw new RangeError(`${where}: expected ${expected}, got ${JSON.stringify(v) ?? String(v)}`);
  return v;
}
