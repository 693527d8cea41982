import { adagrad, adam, nesterov, rmsprop, sgd, sgdMomentum, type OptimConfig, type UpdateRule } from '../optim';
import { assertArg } from '../core/check';
import { checkGrads, type ParamRecord } from './params';

/*
 * The book's optimizers (common/optimizer.py) as classes with `update(params, grads)` that
 * change the parameter arrays in place. The arithmetic is the package's update rules
 * (src/optim); what differs in the book is only the constants, which are passed as options:
 *   - AdaGrad and RMSprop add 1e-7 (not 1e-8) to sqrt(h).
 *   - Nesterov `p += μ²v − (1+μ)·lr·g; v = μv − lr·g` is the cs231n-notes form expanded.
 *   - Adam folds the bias correction into the step, `lr_t = lr·√(1−β2^t)/(1−β1^t)`, and adds
 *     1e-7 to √v (uncorrected). That equals the corrected rule lr·m̂/(√v̂ + ε') with
 *     ε' = 1e-7/√(1−β2^t), so the step's ε is set per step.
 * Every parameter gets its own optimizer state, kept per key as the book's dictionaries do.
 */

/** What every book optimizer has. */
export interface Optimizer {
  /** One step: every `params[key]` is updated in place from `grads[key]`. */
  update(params: ParamRecord, grads: ParamRecord): void;
}

/** Shared machinery: one cs231n update rule, one config per parameter name. */
abstract class RuleOptimizer implements Optimizer {
  private readonly configs = new Map<string, OptimConfig>();

  protected constructor(private readonly rule: UpdateRule) {}

  /** The config to use for `key` this step (created on first use). */
  protected config(key: string): OptimConfig {
    let c = this.configs.get(key);
    if (!c) {
      c = this.initialConfig();
      this.configs.set(key, c);
    }
    return c;
  }

  protected abstract initialConfig(): OptimConfig;

  /** Hook run once per step before the parameters are updated (Adam's ε for this step). */
  protected beginStep(): void {}

  update(params: ParamRecord, grads: ParamRecord): void {
    checkGrads(params, grads);
    this.beginStep();
    for (const key of Object.keys(grads)) {
      const p = params[key];
      const { nextW } = this.rule(p, grads[key], this.config(key));
      // In place, as the book's `params[key] -= …`: layers keep references to these arrays.
      if (p.data.length === nextW.data.length && p.offset === 0) p.data.set(nextW.data);
      else for (let i = 0; i < nextW.data.length; i++) p.data[p.offset + i] = nextW.data[i];
    }
  }
}

function rate(name: string, v: number): number {
  assertArg(typeof v === 'number' && Number.isFinite(v) && v >= 0, name, 'a finite non-negative number', v);
  return v;
}

/** `SGD(lr=0.01)`: p −= lr·g. */
export class SGD extends RuleOptimizer {
  readonly lr: number;
  constructor(opts: { lr?: number } = {}) {
    super(sgd);
    this.lr = rate('lr', opts.lr ?? 0.01);
  }
  protected initialConfig(): OptimConfig {
    return { learningRate: this.lr };
  }
}

/** `Momentum(lr=0.01, momentum=0.9)`: v = μv − lr·g; p += v. */
export class Momentum extends RuleOptimizer {
  readonly lr: number;
  readonly momentum: number;
  constructor(opts: { lr?: number; momentum?: number } = {}) {
    super(sgdMomentum);
    this.lr = rate('lr', opts.lr ?? 0.01);
    this.momentum = rate('momentum', opts.momentum ?? 0.9);
  }
  protected initialConfig(): OptimConfig {
    return { learningRate: this.lr, momentum: this.momentum };
  }
}

/** `Nesterov(lr=0.01, momentum=0.9)`: p += μ²v − (1+μ)·lr·g; v = μv − lr·g. */
export class Nesterov extends RuleOptimizer {
  readonly lr: number;
  readonly momentum: number;
  constructor(opts: { lr?: number; momentum?: number } = {}) {
    super(nesterov);
    this.lr = rate('lr', opts.lr ?? 0.01);
    this.momentum = rate('momentum', opts.momentum ?? 0.9);
  }
  protected initialConfig(): OptimConfig {
    return { learningRate: this.lr, momentum: this.momentum };
  }
}

/** The ε the book adds to the root in AdaGrad, RMSprop and Adam. */
export const BOOK_EPS = 1e-7;

/** `AdaGrad(lr=0.01)`: h += g²; p −= lr·g/(√h + 1e-7). */
export class AdaGrad extends RuleOptimizer {
  readonly lr: number;
  constructor(opts: { lr?: number } = {}) {
    super(adagrad);
    this.lr = rate('lr', opts.lr ?? 0.01);
  }
  protected initialConfig(): OptimConfig {
    return { learningRate: this.lr, epsilon: BOOK_EPS };
  }
}

/** `RMSprop(lr=0.01, decay_rate=0.99)`: h = ρh + (1−ρ)g²; p −= lr·g/(√h + 1e-7). */
export class RMSprop extends RuleOptimizer {
  readonly lr: number;
  readonly decayRate: number;
  constructor(opts: { lr?: number; decayRate?: number } = {}) {
    super(rmsprop);
    this.lr = rate('lr', opts.lr ?? 0.01);
    this.decayRate = rate('decayRate', opts.decayRate ?? 0.99);
  }
  protected initialConfig(): OptimConfig {
    return { learningRate: this.lr, decayRate: this.decayRate, epsilon: BOOK_EPS };
  }
}

/** `Adam(lr=0.001, beta1=0.9, beta2=0.999)` with the book's folded bias correction (file comment). */
export class Adam extends RuleOptimizer {
  readonly lr: number;
  readonly beta1: number;
  readonly beta2: number;
  /** Steps taken (the book's `iter`). */
  iter = 0;
  constructor(opts: { lr?: number; beta1?: number; beta2?: number } = {}) {
    super(adam);
    this.lr = rate('lr', opts.lr ?? 0.001);
    this.beta1 = rate('beta1', opts.beta1 ?? 0.9);
    this.beta2 = rate('beta2', opts.beta2 ?? 0.999);
  }
  protected initialConfig(): OptimConfig {
    return { learningRate: this.lr, beta1: this.beta1, beta2: this.beta2, t: this.iter - 1 };
  }
  protected override beginStep(): void {
    this.iter++;
    this.stepEps = BOOK_EPS / Math.sqrt(1 - this.beta2 ** this.iter);
  }
  private stepEps = BOOK_EPS;
  protected override config(key: string): OptimConfig {
    const c = super.config(key);
    c.epsilon = this.stepEps;
    return c;
  }
}

/** Options any book optimizer accepts (the Trainer's `optimizer_param`). */
export interface OptimizerParam {
  lr?: number;
  momentum?: number;
  decayRate?: number;
  beta1?: number;
  beta2?: number;
}

const OPTIMIZERS: Record<string, (p: OptimizerParam) => Optimizer> = {
  sgd: (p) => new SGD(p),
  momentum: (p) => new Momentum(p),
  nesterov: (p) => new Nesterov(p),
  adagrad: (p) => new AdaGrad(p),
  rmsprop: (p) => new RMSprop(p),
  adam: (p) => new Adam(p),
};

/** The book's optimizer by its (case-insensitive) name, as the Trainer's `optimizer='Adam'`. */
export function createOptimizer(name: string, param: OptimizerParam = {}): Optimizer {
  const make = OPTIMIZERS[String(name).toLowerCase()];
  if (!make) throw new RangeError(`optimizer: unknown optimizer ${JSON.stringify(name)}; known: SGD, Momentum, Nesterov, AdaGrad, RMSprop, Adam`);
  return make(param);
}
