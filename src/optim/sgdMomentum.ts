import type { Tensor } from '../core/tensor';
import { hyper, prepare, state, type OptimConfig, type UpdateResult } from './config';

/**
 * SGD with momentum: `v = μ·v − lr·dw; nextW = w + v` (lr 1e-2, μ 0.9, velocity zeros).
 * `config.velocity` is updated in place; nextW is a new array.
 */
export function sgdMomentum(w: Tensor, dw: Tensor, config: OptimConfig = {}): UpdateResult {
  const lr = hyper(config, 'learningRate', 1e-2);
  const mu = hyper(config, 'momentum', 0.9);
  const { w: ws, dw: g, next } = prepare(w, dw);
  const v = state(config, 'velocity', w);
  const o = next.data;
  for (let i = 0; i < o.length; i++) {
    v[i] = mu * v[i] - lr * g[i];
    o[i] = ws[i] + v[i];
  }
  return { nextW: next, config };
}
