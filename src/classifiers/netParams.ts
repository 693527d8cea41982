import { assertArg } from '../core/check';
import type { DType } from '../core/dtype';
import type { RandomState } from '../core/random';
import { ascontiguous, astype, zeros, type Tensor } from '../core/tensor';
import { assertNonNegative } from './inputs';

/*
 * What the modular nets (fcNet.ts, cnn.ts) share: option checks, Gaussian initialisation drawn
 * from a RandomState in cs231n's order, and the ½·reg·ΣW² penalty of the modular nets (whose
 * gradient is reg·W; the linear classifiers use reg·ΣW² instead, see regularize.ts).
 */

/** Throws when `opts` holds a key not in `known`, listing the known ones (catches cs231n snake_case names). */
export function checkOptionNames(where: string, opts: object, known: readonly string[]): void {
  const unknown = Object.keys(opts ?? {}).filter((k) => !known.includes(k));
  if (unknown.length) throw new RangeError(`${where}: unrecognized option${unknown.length > 1 ? 's' : ''} ${unknown.map((k) => JSON.stringify(k)).join(', ')}; known options: ${known.join(', ')}`);
}

/** `scale · randn(...shape)` drawn from rng in float64 and then cast to dtype (numpy's `randn(...) * s` then `.astype`). */
export function gaussian(rng: RandomState, shape: number[], scale: number, dtype: DType): Tensor {
  const r = rng.randn(...shape);
  const d = r.data;
  for (let i = 0; i < d.length; i++) d[i] *= scale;
  return astype(r, dtype);
}

/** Zero biases / betas. */
export function zerosOf(n: number, dtype: DType): Tensor {
  return zeros([n], dtype);
}

/** Ones (gammas). */
export function onesOf(n: number, dtype: DType): Tensor {
  const t = zeros([n], dtype);
  t.data.fill(1);
  return t;
}

/** Checks a dtype option. */
export function checkDtype(dtype: unknown): DType {
  assertArg(dtype === 'float64' || dtype === 'float32', 'dtype', "'float64' or 'float32'", dtype);
  return dtype as DType;
}

/** Checks a positive-integer option. */
export function positiveIntOption(name: string, v: unknown): number {
  assertArg(typeof v === 'number' && Number.isInteger(v) && v > 0, name, 'a positive integer', v);
  return v as number;
}

/** Checks a finite non-negative number option (reg, weightScale). */
export function nonNegativeOption(name: string, v: unknown): number {
  assertNonNegative(name, v);
  return v;
}

/**
 * Adds the modular nets' L2 term for the weights `names`: returns ½·reg·ΣW² (each sum in
 * float64) and adds reg·W to the matching gradient in place.
 */
export function addHalfL2(params: Record<string, Tensor>, grads: Record<string, Tensor>, names: readonly string[], reg: number): number {
  if (reg === 0) return 0;
  let penalty = 0;
  for (const k of names) {
    const w = ascontiguous(params[k]).data;
    const g = grads[k].data;
    let sq = 0;
    for (let i = 0; i < w.length; i++) {
      sq += w[i] * w[i];
      g[i] += reg * w[i];
    }
    penalty += 0.5 * reg * sq;
  }
  return penalty;
}
