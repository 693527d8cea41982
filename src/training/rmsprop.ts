import type { Parameter } from '../nn/parameter';
import { bool, nonNegative, Optimizer, stateLike, stateStore, type OptionRule, type ParamGroup, type ParamsArg, type ParamState } from './optimizer';

/** Options of {@link RMSprop} (PyTorch's, camelCased). */
export interface RMSpropOptions {
  lr: number;
  /** Decay of the squared-gradient average. Default 0.99. */
  alpha: number;
  /** Added to the denominator. Default 1e-8. */
  eps: number;
  /** L2 penalty added to the gradient. Default 0. */
  weightDecay: number;
  /** Momentum on the normalised step. Default 0. */
  momentum: number;
  /** Normalise by the estimated variance (subtract the squared mean gradient). Default false. */
  centered: boolean;
  /** Ascend instead of descend. Default false. */
  maximize: boolean;
}

const RULES: Record<keyof RMSpropOptions, OptionRule> = {
  lr: nonNegative,
  alpha: nonNegative,
  eps: nonNegative,
  weightDecay: nonNegative,
  momentum: nonNegative,
  centered: bool,
  maximize: bool,
};

/**
 * RMSprop as `torch.optim.RMSprop` (torch 1.13, single-tensor path): `g ← ±grad + wd·p`,
 * `s ← α·s + (1 − α)·g²`, `a ← sqrt(s) + ε` (centered: `ḡ ← α·ḡ + (1 − α)·g`,
 * `a ← sqrt(s − ḡ²) + ε`); with momentum `b ← μ·b + g/a`, `p ← p − lr·b`, else
 * `p ← p − lr·g/a`. ε is outside the square root, unlike cs231n's `rmsprop`, whose defaults
 * (lr 1e-2, decay 0.99) are PyTorch's too.
 */
export class RMSprop extends Optimizer<RMSpropOptions> {
  constructor(params: ParamsArg<RMSpropOptions>, opts: Partial<RMSpropOptions> = {}) {
    super(params, { lr: 1e-2, alpha: 0.99, eps: 1e-8, weightDecay: 0, momentum: 0, centered: false, maximize: false, ...opts }, RULES);
  }

  protected initState(p: Parameter, group: ParamGroup<RMSpropOptions>): ParamState {
    const st: ParamState = { step: 0, square_avg: stateLike(p) };
    if (group.momentum > 0) st.momentum_buffer = stateLike(p);
    if (group.centered) st.grad_avg = stateLike(p);
    return st;
  }

  protected updateParam(w: Float64Array | Float32Array, g: Float64Array | Float32Array, st: ParamState, group: ParamGroup<RMSpropOptions>, p: Parameter): void {
    const { lr, alpha, eps, weightDecay: wd, momentum: mu, centered, maximize } = group;
    st.step = (st.step as number) + 1;
    // A schedule may turn momentum or centering on after the first step.
    if (mu > 0 && !st.momentum_buffer) st.momentum_buffer = stateLike(p);
    if (centered && !st.grad_avg) st.grad_avg = stateLike(p);
    const s = stateStore(st, 'square_avg');
    const ga = centered ? stateStore(st, 'grad_avg') : s;
    const b = mu > 0 ? stateStore(st, 'momentum_buffer') : s;
    const a = 1 - alpha;
    const sign = maximize ? -1 : 1;
    const sqrt = Math.sqrt;
    const n = w.length;
    for (let i = 0; i < n; i++) {
      const gi = wd !== 0 ? sign * g[i] + wd * w[i] : sign * g[i];
      s[i] = s[i] * alpha + a * gi * gi;
      let avg: number;
      if (centered) {
        ga[i] = ga[i] * alpha + a * gi;
        avg = sqrt(s[i] + -1 * ga[i] * ga[i]) + eps;
      } else avg = sqrt(s[i]) + eps;
      if (mu > 0) {
        b[i] = b[i] * mu + gi / avg;
        w[i] = w[i] - lr * b[i];
      } else w[i] = w[i] - lr * (gi / avg);
    }
  }
}
