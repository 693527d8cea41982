import type { Tensor } from '../core/tensor';
import { hyper, prepare, state, type OptimConfig, type UpdateResult } from './config';

/**
 * Adagrad: `cache += dw²; nextW = w − lr·dw / (sqrt(cache) + ε)` (lr 1e-2, ε 1e-8, cache zeros).
 * `config.cache` is updated in place; nextW is a new array.
 */
export function adagrad(w: Tensor, dw: Tensor, config: OptimConfig = {}): UpdateResult {
  const lr = hyper(config, 'learningRate', 1e-2);
  const eps = hyper(config, 'epsilon', 1e-8);
  const { w: ws, dw: g, next } = prepare(w, dw);
  const cache = state(config, 'cache', w);
  const o = next.data;
  // Local alias: under jest's vm sandbox a global `Math` lookup per element is ~20x slower.
  const sqrt = Math.sqrt;
  for (let i = 0; i < o.length; i++) {
    const gi = g[i];
    cache[i] += gi * gi;
    o[i] = ws[i] - (lr * gi) / (sqrt(cache[i]) + eps);
  }
  return { nextW: next, config };
}
