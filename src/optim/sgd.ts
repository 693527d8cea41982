import type { Tensor } from '../core/tensor';
import { hyper, prepare, type OptimConfig, type UpdateResult } from './config';

/** Vanilla SGD: `nextW = w − learningRate·dw` (learningRate 1e-2). Returns a new array; w is not modified. */
export function sgd(w: Tensor, dw: Tensor, config: OptimConfig = {}): UpdateResult {
  const lr = hyper(config, 'learningRate', 1e-2);
  const { w: ws, dw: g, next } = prepare(w, dw);
  const o = next.data;
  for (let i = 0; i < o.length; i++) o[i] = ws[i] - lr * g[i];
  return { nextW: next, config };
}
