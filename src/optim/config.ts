import { assertSameShape, floatDtype, ShapeError, shapeStr, showValue } from '../core/check';
import { ascontiguous, astype, copy, dtypeOf, zerosLike, type Tensor } from '../core/tensor';

/**
 * cs231n's optimizer `config` dict, camelCased. Each rule reads the keys it uses, fills in its
 * defaults (mutating the object, as cs231n's `config.setdefault`), and keeps its state arrays
 * (`velocity`, `cache`, `m`, `v`) and step count `t` here between calls.
 */
export interface OptimConfig {
  /** Step size. Default 1e-2 (1e-3 for adam). */
  learningRate?: number;
  /** Momentum coefficient μ (sgdMomentum, nesterov). Default 0.9. */
  momentum?: number;
  /** Velocity state (sgdMomentum, nesterov); zeros like w when absent. */
  velocity?: Tensor;
  /** Decay of the squared-gradient average (rmsprop). Default 0.99. */
  decayRate?: number;
  /** Added to the denominator for stability (rmsprop, adam, adagrad). Default 1e-8. */
  epsilon?: number;
  /** Squared-gradient accumulator (rmsprop, adagrad); zeros like w when absent. */
  cache?: Tensor;
  /** First-moment decay (adam). Default 0.9. */
  beta1?: number;
  /** Second-moment decay (adam). Default 0.999. */
  beta2?: number;
  /** First-moment estimate (adam); zeros like w when absent. */
  m?: Tensor;
  /** Second-moment estimate (adam); zeros like w when absent. */
  v?: Tensor;
  /** Adam step count, incremented before the bias correction. Default 0. */
  t?: number;
}

/** What every update rule returns: the updated weights and the (same, updated) config. */
export interface UpdateResult {
  nextW: Tensor;
  config: OptimConfig;
}

/**
 * Checks w and dw; returns both stores dense (dw in w's dtype) and a fresh array for the result.
 * w itself is never written: the caller may still hold it (best-params snapshots, notebooks).
 */
export function prepare(w: Tensor, dw: Tensor): { w: Float64Array | Float32Array; dw: Float64Array | Float32Array; next: Tensor } {
  floatDtype('w', w);
  floatDtype('dw', dw);
  assertSameShape('w', w, 'dw', dw);
  return { w: ascontiguous(w).data, dw: ascontiguous(astype(dw, dtypeOf(w))).data, next: zerosLike(w) };
}

/** A numeric hyperparameter from config (default filled in), checked to be finite. */
export function hyper(config: OptimConfig, key: 'learningRate' | 'momentum' | 'decayRate' | 'epsilon' | 'beta1' | 'beta2', dflt: number): number {
  if (config[key] === undefined || config[key] === null) config[key] = dflt;
  const v = config[key];
  if (typeof v !== 'number' || !Number.isFinite(v)) {
    throw new RangeError(`config.${key}: expected a finite number, got ${showValue(v)}`);
  }
  // A negative step size ascends the loss: every update would make the model worse.
  if (key === 'learningRate' && v < 0) throw new RangeError(`config.learningRate: expected a finite number >= 0, got ${v}`);
  return v;
}

/**
 * A state array from config: created as zeros like w when absent; otherwise checked against w's
 * shape and, if it is strided or another dtype, replaced by a dense copy in w's dtype. The array
 * left in config is the one the rule then updates in place.
 */
export function state(config: OptimConfig, key: 'velocity' | 'cache' | 'm' | 'v', w: Tensor): Float64Array | Float32Array {
  let s = config[key];
  if (s === undefined || s === null) {
    s = zerosLike(w);
  } else {
    if (!s.shape || s.shape.length !== w.shape.length || s.shape.some((d, i) => d !== w.shape[i])) {
      throw new ShapeError(`config.${key}: expected shape ${shapeStr(w.shape)} to match w, got ${s.shape ? shapeStr(s.shape) : String(s)}`);
    }
    floatDtype(`config.${key}`, s);
    if (dtypeOf(s) !== dtypeOf(w)) s = copy(s, dtypeOf(w));
    else s = ascontiguous(s);
  }
  config[key] = s;
  return s.data;
}
