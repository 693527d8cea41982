import { showValue } from '../core/check';
import type { Tensor } from '../core/tensor';
import { hyper, prepare, state, type OptimConfig, type UpdateResult } from './config';

/**
 * Adam with bias correction. `t` is incremented FIRST (cs231n: "modify t before using it"), then
 * `m = β1·m + (1 − β1)·dw; v = β2·v + (1 − β2)·dw²; m̂ = m/(1 − β1^t); v̂ = v/(1 − β2^t);
 * nextW = w − lr·m̂ / (sqrt(v̂) + ε)` (lr 1e-3, β1 0.9, β2 0.999, ε 1e-8, m = v = zeros, t 0).
 * `config.m` and `config.v` are updated in place; nextW is a new array.
 */
export function adam(w: Tensor, dw: Tensor, config: OptimConfig = {}): UpdateResult {
  const lr = hyper(config, 'learningRate', 1e-3);
  const b1 = hyper(config, 'beta1', 0.9);
  const b2 = hyper(config, 'beta2', 0.999);
  const eps = hyper(config, 'epsilon', 1e-8);
  const t0 = config.t ?? 0;
  if (typeof t0 !== 'number' || !Number.isInteger(t0) || t0 < 0) {
    throw new RangeError(`config.t: expected a non-negative integer step count, got ${showValue(t0)}`);
  }
  const { w: ws, dw: g, next } = prepare(w, dw);
  const m = state(config, 'm', w);
  const v = state(config, 'v', w);
  const t = t0 + 1;
  config.t = t;
  const c1 = 1 - b1 ** t;
  const c2 = 1 - b2 ** t;
  const o = next.data;
  // Local alias: under jest's vm sandbox a global `Math` lookup per element is ~20x slower.
  const sqrt = Math.sqrt;
  for (let i = 0; i < o.length; i++) {
    const gi = g[i];
    m[i] = b1 * m[i] + (1 - b1) * gi;
    v[i] = b2 * v[i] + (1 - b2) * (gi * gi);
    const mt = m[i] / c1;
    const vt = v[i] / c2;
    o[i] = ws[i] - (lr * mt) / (sqrt(vt) + eps);
  }
  return { nextW: next, config };
}
