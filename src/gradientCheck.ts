import { floatDtype, assertSameShape } from './core/check';
import { RandomState, defaultRandomState } from './core/random';
import { isContiguous, zerosLike, type Tensor } from './core/tensor';

/*
 * Centred-difference gradient checks, as the cs231n notebooks use them. They perturb `x` in
 * place (and always restore it), so `f` must read `x` rather than a copy taken beforehand.
 * Run them in Float64: Float32 round-off at h = 1e-5 swamps the difference.
 */

function denseStore(name: string, x: Tensor): Float64Array | Float32Array {
  floatDtype(name, x);
  if (!isContiguous(x)) {
    throw new TypeError(`${name}: expected a dense (contiguous) array, since it is perturbed in place; got a strided view`);
  }
  return x.data;
}

/** Options of the numerical gradient functions. */
export interface NumericalGradientOptions {
  /** Step of the centred difference. Default 1e-5. */
  h?: number;
  /** Print each coordinate's estimate as it is computed. Default false. */
  verbose?: boolean;
}

/** Numerical gradient of a scalar function `f` at `x`: (f(x+h) − f(x−h)) / 2h per element. */
export function evalNumericalGradient(f: (x: Tensor) => number, x: Tensor, opts: NumericalGradientOptions = {}): Tensor {
  const h = opts.h ?? 1e-5;
  const d = denseStore('x', x);
  const grad = zerosLike(x);
  for (let i = 0; i < d.length; i++) {
    const old = d[i];
    d[i] = old + h;
    const fxph = f(x);
    d[i] = old - h;
    const fxmh = f(x);
    d[i] = old;
    grad.data[i] = (fxph - fxmh) / (2 * h);
    if (opts.verbose) console.log(`[${i}] ${grad.data[i]}`);
  }
  return grad;
}

/**
 * Numerical gradient of an array-valued `f` contracted with the upstream gradient `df`:
 * Σ (f(x+h) − f(x−h)) · df / 2h per element of x. This is how layer backward passes are checked.
 */
export function evalNumericalGradientArray(
  f: (x: Tensor) => Tensor,
  x: Tensor,
  df: Tensor,
  opts: NumericalGradientOptions = {},
): Tensor {
  const h = opts.h ?? 1e-5;
  const d = denseStore('x', x);
  const grad = zerosLike(x);
  const dfd = (isContiguous(df) ? df : null)?.data;
  for (let i = 0; i < d.length; i++) {
    const old = d[i];
    d[i] = old + h;
    const pos = f(x);
    const posData = Float64Array.from(flat(pos));
    d[i] = old - h;
    const neg = f(x);
    d[i] = old;
    assertSameShape('df', df, 'f(x)', pos);
    const negData = flat(neg);
    let s = 0;
    for (let j = 0; j < posData.length; j++) s += (posData[j] - negData[j]) * (dfd ? dfd[j] : df.data[j]);
    grad.data[i] = s / (2 * h);
  }
  return grad;
}

function flat(a: Tensor): ArrayLike<number> {
  if (isContiguous(a)) return a.data;
  const out = zerosLike(a);
  const n = out.data.length;
  const idx = new Array<number>(a.shape.length).fill(0);
  for (let k = 0; k < n; k++) {
    out.data[k] = a.get(...idx);
    for (let dim = idx.length - 1; dim >= 0; dim--) {
      if (++idx[dim] < a.shape[dim]) break;
      idx[dim] = 0;
    }
  }
  return out.data;
}

/** Options of {@link gradCheckSparse}. */
export interface GradCheckSparseOptions {
  /** Number of random coordinates to check. Default 10. */
  numChecks?: number;
  /** Step of the centred difference. Default 1e-5. */
  h?: number;
  /** Generator for the coordinates. Default: the module-level default RandomState. */
  rng?: RandomState;
  /** Print each line like cs231n (`numerical: … analytic: …, relative error: …`). Default true. */
  print?: boolean;
}

/** One coordinate of a sparse gradient check. */
export interface GradCheckEntry {
  index: number[];
  numerical: number;
  analytic: number;
  relError: number;
}

/**
 * Compares the analytic gradient with the centred difference at `numChecks` random coordinates
 * (drawn one `randint` per axis, as cs231n does). Returns the entries so callers can assert on
 * them; prints them as the notebook does unless `print` is false.
 */
export function gradCheckSparse(
  f: (x: Tensor) => number,
  x: Tensor,
  analyticGrad: Tensor,
  opts: GradCheckSparseOptions = {},
): GradCheckEntry[] {
  const { numChecks = 10, h = 1e-5, print = true } = opts;
  const rng = opts.rng ?? defaultRandomState();
  const d = denseStore('x', x);
  assertSameShape('x', x, 'analyticGrad', analyticGrad);
  const strides = x.stride;
  const out: GradCheckEntry[] = [];
  for (let c = 0; c < numChecks; c++) {
    const index = x.shape.map((m) => rng.randint(m) as number);
    const flatIndex = index.reduce((s, v, k) => s + v * strides[k], 0);
    const old = d[flatIndex];
    d[flatIndex] = old + h;
    const fxph = f(x);
    d[flatIndex] = old - h;
    const fxmh = f(x);
    d[flatIndex] = old;
    const numerical = (fxph - fxmh) / (2 * h);
    const analytic = analyticGrad.get(...index);
    const denom = Math.abs(numerical) + Math.abs(analytic);
    const rel = denom === 0 ? 0 : Math.abs(numerical - analytic) / denom;
    out.push({ index, numerical, analytic, relError: rel });
    if (print) console.log(`numerical: ${numerical.toFixed(6)} analytic: ${analytic.toFixed(6)}, relative error: ${rel.toExponential(6)}`);
  }
  return out;
}

/** The notebooks' relative error: max |x − y| / max(1e-8, |x| + |y|). Accepts numbers or arrays. */
export function relError(x: Tensor | number, y: Tensor | number): number {
  if (typeof x === 'number' || typeof y === 'number') {
    if (typeof x !== 'number' || typeof y !== 'number') throw new TypeError('relError: expected two numbers or two arrays, got a mix');
    return Math.abs(x - y) / Math.max(1e-8, Math.abs(x) + Math.abs(y));
  }
  assertSameShape('x', x, 'y', y);
  const a = flat(x);
  const b = flat(y);
  let m = 0;
  for (let i = 0; i < a.length; i++) {
    const r = Math.abs(a[i] - b[i]) / Math.max(1e-8, Math.abs(a[i]) + Math.abs(b[i]));
    if (r > m || r !== r) m = r;
  }
  return m;
}
