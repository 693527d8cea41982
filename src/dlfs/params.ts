import { ShapeError, shapeStr } from '../core/check';
import type { Tensor } from '../core/tensor';

/**
 * The book's `network.params` / `grads` dictionaries: named ndarrays (`W1`, `b1`, `gamma1`, …).
 * Layers hold references to these very arrays, so optimizers update them in place.
 */
export type ParamRecord = Record<string, Tensor>;

/** Total number of scalars in a parameter record (what `sum(p.size for p in params)` gives). */
export function countParams(params: ParamRecord): number {
  let n = 0;
  for (const k of Object.keys(params)) n += params[k].data.length;
  return n;
}

/** Checks that every gradient has a parameter of the same shape (names the key at fault). */
export function checkGrads(params: ParamRecord, grads: ParamRecord): void {
  for (const k of Object.keys(grads)) {
    const p = params[k];
    if (!p) throw new RangeError(`grads.${k}: no parameter of that name (parameters: ${Object.keys(params).join(', ')})`);
    const g = grads[k];
    if (g.shape.length !== p.shape.length || g.shape.some((d, i) => d !== p.shape[i])) {
      throw new ShapeError(`grads.${k}: expected shape ${shapeStr(p.shape)} to match params.${k}, got ${shapeStr(g.shape)}`);
    }
  }
}
