import type { Parameter } from '../nn/parameter';
import { bool, nonNegative, Optimizer, stateLike, stateStore, type OptionRule, type ParamGroup, type ParamsArg, type ParamState } from './optimizer';

/** Options of {@link Adagrad} (PyTorch's, camelCased). */
export interface AdagradOptions {
  lr: number;
  /** Learning-rate decay per step: `lr/(1 + (t − 1)·lrDecay)`. Default 0. */
  lrDecay: number;
  /** L2 penalty added to the gradient. Default 0. */
  weightDecay: number;
  /** Starting value of the squared-gradient sum. Default 0. */
  initialAccumulatorValue: number;
  /** Added to the denominator. Default 1e-10. */
  eps: number;
  /** Ascend instead of descend. Default false. */
  maximize: boolean;
}

const RULES: Record<keyof AdagradOptions, OptionRule> = {
  lr: nonNegative,
  lrDecay: nonNegative,
  weightDecay: nonNegative,
  initialAccumulatorValue: nonNegative,
  eps: nonNegative,
  maximize: bool,
};

/**
 * Adagrad as `torch.optim.Adagrad` (torch 1.13, dense single-tensor path): per step t,
 * `g ← ±grad + wd·p`, `sum ← sum + g²`, `p ← p − lr/(1 + (t − 1)·lrDecay) · g/(sqrt(sum) + ε)`.
 * As PyTorch, the state of every parameter exists from construction (the accumulator starts
 * at `initialAccumulatorValue`).
 */
export class Adagrad extends Optimizer<AdagradOptions> {
  constructor(params: ParamsArg<AdagradOptions>, opts: Partial<AdagradOptions> = {}) {
    super(params, { lr: 1e-2, lrDecay: 0, weightDecay: 0, initialAccumulatorValue: 0, eps: 1e-10, maximize: false, ...opts }, RULES);
    for (const group of this.paramGroups) for (const p of group.params) this.state.set(p, this.initState(p, group));
    this.constructed = true;
  }

  /** Set once the constructor has made the first groups' state (field initialisers run after `super`). */
  private constructed?: boolean;

  override addParamGroup(spec: Parameters<Optimizer<AdagradOptions>['addParamGroup']>[0]): void {
    super.addParamGroup(spec);
    // Groups added after construction get their state at once too (the constructor's loop covers the first ones).
    if (this.constructed) {
      const g = this.paramGroups[this.paramGroups.length - 1];
      for (const p of g.params) this.state.set(p, this.initState(p, g));
    }
  }

  protected initState(p: Parameter, group: ParamGroup<AdagradOptions>): ParamState {
    return { step: 0, sum: stateLike(p, group.initialAccumulatorValue) };
  }

  protected updateParam(w: Float64Array | Float32Array, g: Float64Array | Float32Array, st: ParamState, group: ParamGroup<AdagradOptions>): void {
    const { lr, lrDecay, weightDecay: wd, eps, maximize } = group;
    const step = (st.step as number) + 1;
    st.step = step;
    const sum = stateStore(st, 'sum');
    const clr = lr / (1 + (step - 1) * lrDecay);
    const sign = maximize ? -1 : 1;
    const sqrt = Math.sqrt;
    const n = w.length;
    for (let i = 0; i < n; i++) {
      const gi = wd !== 0 ? sign * g[i] + wd * w[i] : sign * g[i];
      sum[i] = sum[i] + gi * gi;
      w[i] = w[i] - clr * (gi / (sqrt(sum[i]) + eps));
    }
  }
}
