import type { Tensor } from '../core/tensor';
import { adagrad } from './adagrad';
import { adam } from './adam';
import type { OptimConfig, UpdateResult } from './config';
import { nesterov } from './nesterov';
import { rmsprop } from './rmsprop';
import { sgd } from './sgd';
import { sgdMomentum } from './sgdMomentum';

/*
 * First-order update rules (cs231n's optim.py plus adagrad and nesterov). Every rule has the
 * signature `update(w, dw, config?) → { nextW, config }`:
 * - w and dw are never modified; nextW is always a new array in w's dtype (w may be a parameter
 *   the caller still holds, e.g. a best-params snapshot), so no rule is in place on the weights.
 * - config is mutated: missing hyperparameters are filled with the defaults, and the state
 *   arrays (velocity, cache, m, v) are updated IN PLACE (created as zeros on the first call) —
 *   safe because the config owns its state; pass copies if you passed arrays you want to keep.
 *   adam's t is incremented before the bias correction.
 */

export type { OptimConfig, UpdateResult } from './config';
export { sgd, sgdMomentum, rmsprop, adam, adagrad, nesterov };

/** An optimizer update: `(w, dw, config?) → { nextW, config }`. */
export type UpdateRule = (w: Tensor, dw: Tensor, config?: OptimConfig) => UpdateResult;

/** The update rules by name (camelCase, as exported). */
export const updateRules: Readonly<Record<string, UpdateRule>> = Object.freeze({
  sgd,
  sgdMomentum,
  rmsprop,
  adam,
  adagrad,
  nesterov,
});

/** cs231n's snake_case spellings, accepted by {@link getUpdateRule} for users coming from Python. */
const aliases: Readonly<Record<string, string>> = { sgd_momentum: 'sgdMomentum' };

/**
 * The update rule called `name` ('sgd', 'sgdMomentum', 'rmsprop', 'adam', 'adagrad', 'nesterov';
 * cs231n's 'sgd_momentum' also works). An unknown name throws, listing the known ones.
 */
export function getUpdateRule(name: string): UpdateRule {
  const key = typeof name === 'string' ? (aliases[name] ?? name) : name;
  if (typeof key === 'string' && Object.prototype.hasOwnProperty.call(updateRules, key)) return updateRules[key];
  throw new RangeError(`updateRule: unknown update rule ${JSON.stringify(name)}; known rules: ${Object.keys(updateRules).join(', ')}`);
}
