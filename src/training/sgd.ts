import type { FloatArray } from '../core/dtype';
import type { Parameter } from '../nn/parameter';
import { registerElementwise } from '../ops/kernels/elementwise';
import { bool, finite, nonNegative, Optimizer, stateLike, type OptionRule, type ParamGroup, type ParamsArg, type ParamState } from './optimizer';

/** Options of {@link SGD} (PyTorch's, camelCased). */
export interface SGDOptions {
  lr: number;
  /** Momentum factor μ. Default 0 (plain SGD). */
  momentum: number;
  /** Dampening of the gradient added to the momentum buffer. Default 0. */
  dampening: number;
  /** Nesterov momentum (needs momentum > 0 and dampening 0). Default false. */
  nesterov: boolean;
  /** L2 penalty added to the gradient (`g + wd·p`). Default 0. */
  weightDecay: number;
  /** Ascend instead of descend. Default false. */
  maximize: boolean;
}

const RULES: Record<keyof SGDOptions, OptionRule> = {
  lr: nonNegative,
  momentum: nonNegative,
  dampening: finite,
  nesterov: bool,
  weightDecay: nonNegative,
  maximize: bool,
};

/**
 * Stochastic gradient descent as `torch.optim.SGD` (torch 1.13, single-tensor path):
 * `g ← ±grad + wd·p`; with momentum, `b ← g` on the first step, then `b ← μ·b + (1 − dampening)·g`,
 * and `g ← g + μ·b` (Nesterov) or `g ← b`; finally `p ← p − lr·g`.
 *
 * This is not cs231n's `sgdMomentum` (`v = μv − lr·dw`, velocity starting at zero): the two
 * differ on the first step and whenever lr changes, so both exist.
 */
export class SGD extends Optimizer<SGDOptions> {
  constructor(params: ParamsArg<SGDOptions>, opts: Partial<SGDOptions> & { lr: number }) {
    super(params, { momentum: 0, dampening: 0, nesterov: false, weightDecay: 0, maximize: false, ...opts }, RULES);
  }

  protected override checkOptions(o: Partial<SGDOptions>, where: string): void {
    super.checkOptions(o, where);
    if (o.nesterov && (!(o.momentum! > 0) || o.dampening !== 0)) {
      throw new RangeError(`SGD: ${where}.nesterov: Nesterov momentum needs momentum > 0 and dampening 0, got momentum ${o.momentum} and dampening ${o.dampening}`);
    }
  }

  protected initState(): ParamState {
    return { momentum_buffer: null };
  }

  protected updateParam(w: Float64Array | Float32Array, g: Float64Array | Float32Array, st: ParamState, group: ParamGroup<SGDOptions>, p: Parameter): void {
    const { lr, momentum: mu, dampening, nesterov, weightDecay: wd, maximize } = group;
    const n = w.length;
    const sign = maximize ? -1 : 1;
    if (mu === 0) {
      for (let i = 0; i < n; i++) {
        const d = wd !== 0 ? sign * g[i] + wd * w[i] : sign * g[i];
        w[i] = w[i] - lr * d;
      }
      return;
    }
    let buf = st.momentum_buffer;
    const first = buf === null || buf === undefined || typeof buf === 'number';
    if (first) {
      buf = stateLike(p);
      st.momentum_buffer = buf;
    }
    const b = (buf as { data: Float64Array | Float32Array }).data;
    const keep = 1 - dampening;
    // WHY: the common case (plain momentum after the first step) as its own loop, with no
    // per-element branches and, for float32, one element type: 4.1 → 2.8 ms for the 825k
    // parameters of cs231n's three-layer net (scratch measurement; the same bits).
    if (!first && !nesterov && wd === 0 && sign === 1 && keep === 1) {
      if (w instanceof Float32Array && g instanceof Float32Array && b instanceof Float32Array) momentum32(n, w, g, b, [lr, mu]);
      else momentum64(n, w, g, b, [lr, mu]);
      return;
    }
    for (let i = 0; i < n; i++) {
      const d = wd !== 0 ? sign * g[i] + wd * w[i] : sign * g[i];
      b[i] = first ? d : b[i] * mu + keep * d;
      w[i] = w[i] - lr * (nesterov ? d + mu * b[i] : b[i]);
    }
  }
}

/*
 * The plain momentum step as elementwise loops over (w, g, b) with the scalars [lr, μ], so a
 * large parameter's update runs on every thread (ops/kernels/elementwise.ts; each element is
 * the same operations wherever it runs). WHY: on one thread it was 5% of a VGG16 (CIFAR)
 * train step (48 ms for 15 M parameters).
 */

/** b = μ·b + g; w −= lr·b (the buffer read back as stored), float32. */
const momentum32 = registerElementwise('sgd.momentum32', (w: FloatArray, g: FloatArray, b: FloatArray, i0: number, i1: number, _m: unknown, s: readonly number[]) => {
  const lr = s[0], mu = s[1];
  for (let i = i0; i < i1; i++) {
    // The buffer as stored (rounded to float32) is what the step reads, as in the general loop.
    const v = Math.fround(b[i] * mu + g[i]);
    b[i] = v;
    w[i] = w[i] - lr * v;
  }
}, 3);

/** {@link momentum32} for any other store types. */
const momentum64 = registerElementwise('sgd.momentum64', (w: FloatArray, g: FloatArray, b: FloatArray, i0: number, i1: number, _m: unknown, s: readonly number[]) => {
  const lr = s[0], mu = s[1];
  for (let i = i0; i < i1; i++) {
    b[i] = b[i] * mu + g[i];
    w[i] = w[i] - lr * b[i];
  }
}, 3);
