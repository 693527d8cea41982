import type { Parameter } from '../nn/parameter';
import { betasRule, bool, nonNegative, Optimizer, stateLike, stateStore, type OptionRule, type ParamGroup, type ParamsArg, type ParamState } from './optimizer';

/** Options of {@link Adam} and {@link AdamW} (PyTorch's, camelCased). */
export interface AdamOptions {
  lr: number;
  /** Decay rates of the first and second moment averages. Default [0.9, 0.999]. */
  betas: [number, number];
  /** Added to the denominator. Default 1e-8. */
  eps: number;
  /** Adam: L2 penalty added to the gradient; AdamW: decoupled decay `p ← p(1 − lr·wd)`. Default 0 (Adam), 1e-2 (AdamW). */
  weightDecay: number;
  /** Normalise by the running maximum of the second moment (AMSGrad). Default false. */
  amsgrad: boolean;
  /** Ascend instead of descend. Default false. */
  maximize: boolean;
}

const RULES: Record<keyof AdamOptions, OptionRule> = {
  lr: nonNegative,
  betas: betasRule,
  eps: nonNegative,
  weightDecay: nonNegative,
  amsgrad: bool,
  maximize: bool,
};

/**
 * Adam as `torch.optim.Adam` (torch 1.13, single-tensor path). Per step t (counted per
 * parameter): `g ← ±grad (+ wd·p)`, `m ← β1·m + (1 − β1)·g`, `v ← β2·v + (1 − β2)·g²`
 * (`v̂ ← max(v̂, v)` with AMSGrad), then
 * `p ← p − lr/(1 − β1^t) · m / (sqrt(v)/sqrt(1 − β2^t) + ε)`.
 *
 * Not cs231n's `adam` rule, which puts ε outside the bias-corrected square root
 * (`m̂/(sqrt(v̂) + ε)`): the two differ whenever ε matters.
 */
export class Adam extends Optimizer<AdamOptions> {
  /** Whether weight decay is decoupled from the gradient (AdamW). */
  protected readonly decoupled: boolean = false;

  constructor(params: ParamsArg<AdamOptions>, opts: Partial<AdamOptions> = {}) {
    super(params, { lr: 1e-3, betas: [0.9, 0.999], eps: 1e-8, weightDecay: 0, amsgrad: false, maximize: false, ...opts }, RULES);
  }

  protected initState(p: Parameter, group: ParamGroup<AdamOptions>): ParamState {
    const st: ParamState = { step: 0, exp_avg: stateLike(p), exp_avg_sq: stateLike(p) };
    if (group.amsgrad) st.max_exp_avg_sq = stateLike(p);
    return st;
  }

  protected updateParam(w: Float64Array | Float32Array, g: Float64Array | Float32Array, st: ParamState, group: ParamGroup<AdamOptions>): void {
    const { lr, eps, weightDecay: wd, amsgrad, maximize } = group;
    const [b1, b2] = group.betas;
    const step = (st.step as number) + 1;
    st.step = step;
    const m = stateStore(st, 'exp_avg');
    const v = stateStore(st, 'exp_avg_sq');
    const vmax = amsgrad ? stateStore(st, 'max_exp_avg_sq') : v;
    const c1 = 1 - b1 ** step;
    const c2sqrt = Math.sqrt(1 - b2 ** step);
    const stepSize = lr / c1;
    const a1 = 1 - b1;
    const a2 = 1 - b2;
    const shrink = 1 - lr * wd;
    const coupledWd = this.decoupled ? 0 : wd;
    const sign = maximize ? -1 : 1;
    const sqrt = Math.sqrt;
    const n = w.length;
    for (let i = 0; i < n; i++) {
      if (this.decoupled && wd !== 0) w[i] = w[i] * shrink;
      const gi = coupledWd !== 0 ? sign * g[i] + coupledWd * w[i] : sign * g[i];
      m[i] = m[i] * b1 + a1 * gi;
      v[i] = v[i] * b2 + a2 * gi * gi;
      if (amsgrad && v[i] > vmax[i]) vmax[i] = v[i];
      const denom = sqrt(vmax[i]) / c2sqrt + eps;
      w[i] = w[i] - stepSize * (m[i] / denom);
    }
  }
}
