import type { Tensor } from '../core/tensor';
import { hyper, prepare, state, type OptimConfig, type UpdateResult } from './config';

/**
 * Nesterov momentum in the form of the cs231n notes (the lookahead folded into the update):
 * `vPrev = v; v = μ·v − lr·dw; nextW = w − μ·vPrev + (1 + μ)·v` (lr 1e-2, μ 0.9).
 * `config.velocity` is updated in place; nextW is a new array.
 */
export function nesterov(w: Tensor, dw: Tensor, config: OptimConfig = {}): UpdateResult {
  const lr = hyper(config, 'learningRate', 1e-2);
  const mu = hyper(config, 'momentum', 0.9);
  const { w: ws, dw: g, next } = prepare(w, dw);
  const v = state(config, 'velocity', w);
  const o = next.data;
  for (let i = 0; i < o.length; i++) {
    const vPrev = v[i];
    v[i] = mu * vPrev - lr * g[i];
    o[i] = ws[i] - mu * vPrev + (1 + mu) * v[i];
  }
  return { nextW: next, config };
}
