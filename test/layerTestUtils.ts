/* Helpers shared by the layer and optimizer tests (not a test file itself). */
import ndarray from 'ndarray';
import { mean, std } from '../src/core/reduce';
import { copy, fromData, linspace, reshape, sizeOf, type Tensor } from '../src/core/tensor';
import { evalNumericalGradientArray } from '../src/gradientCheck';

/** numpy's `np.linspace(a, b, num=prod(shape)).reshape(shape)`. */
export function linspaceShaped(a: number, b: number, shape: number[]): Tensor {
  return reshape(linspace(a, b, sizeOf(shape)), shape);
}

/** A Float64 tensor from a flat or nested array, with a shape. */
export function t64(values: number[], shape: number[]): Tensor {
  return fromData(Float64Array.from(values), shape);
}

/** Max |a − b| over all elements (arrays of equal length). */
export function maxAbsDiff(a: Tensor | ArrayLike<number>, b: Tensor | ArrayLike<number>): number {
  const x = 'data' in (a as Tensor) ? copy(a as Tensor).data : (a as ArrayLike<number>);
  const y = 'data' in (b as Tensor) ? copy(b as Tensor).data : (b as ArrayLike<number>);
  if (x.length !== y.length) throw new Error(`length mismatch ${x.length} vs ${y.length}`);
  let m = 0;
  for (let i = 0; i < x.length; i++) {
    const d = Math.abs(x[i] - y[i]);
    if (d > m || d !== d) m = d;
  }
  return m;
}

/** Nested array flattened (for the JSON fixtures). */
export function flatten(n: unknown): number[] {
  return Array.isArray(n) ? n.flatMap((v) => flatten(v)) : [n as number];
}

/**
 * Numerical gradient of `x ↦ f(x)` contracted with dout, for an input we may not mutate:
 * the input is used in place (the gradient check restores it).
 */
export function numGrad(f: (x: Tensor) => Tensor, x: Tensor, dout: Tensor, h = 1e-5): Tensor {
  return evalNumericalGradientArray(f, x, dout, { h });
}

/** Mean and (biased) std per column of an (R, D) array: the assignment scripts' helper. */
/** Per-column mean and biased std of an (R, D) array, as plain arrays. */
export function colStats(a: Tensor): { means: number[]; stds: number[] } {
  return { means: Array.from(mean(a, 0).data), stds: Array.from(std(a, 0).data) };
}

/** (N, C, H, W) → (N·H·W, C), for per-channel statistics. */
export function channelsLast(x: Tensor): Tensor {
  const [N, C, H, W] = x.shape;
  const out = new Float64Array(N * H * W * C);
  const s = copy(x).data;
  for (let n = 0; n < N; n++) for (let c = 0; c < C; c++) for (let p = 0; p < H * W; p++) out[(n * H * W + p) * C + c] = s[(n * C + c) * H * W + p];
  return ndarray(out, [N * H * W, C]);
}

/** Rows of a matrix as plain arrays, for comparing against notebook prints. */
export function rows(a: Tensor): number[][] {
  const [R, D] = a.shape;
  const c = copy(a).data;
  return Array.from({ length: R }, (_, i) => Array.from(c.subarray(i * D, (i + 1) * D)));
}

/** Expect every |a_i − b_i| ≤ tol. */
export function expectClose(actual: ArrayLike<number>, expected: ArrayLike<number>, tol: number): void {
  expect(actual.length).toBe(expected.length);
  const d = maxAbsDiff(actual, expected);
  if (!(d <= tol)) throw new Error(`max |diff| ${d} > ${tol}\nactual   ${Array.from(actual).join(', ')}\nexpected ${Array.from(expected).join(', ')}`);
}

/**
 * cs231n's rel_error with each entry's denominator floored at 1e-3 of the array's largest
 * |a| + |b|. On random data some gradient entry is eventually near zero by chance, and there the
 * plain per-entry ratio measures only the centred difference's round-off; the floor judges such
 * entries on the array's scale instead. A wrong gradient still scores ~1e-1 or worse.
 */
export function gradError(a: Tensor, b: Tensor): number {
  const x = copy(a).data;
  const y = copy(b).data;
  let scale = 0;
  for (let i = 0; i < x.length; i++) scale = Math.max(scale, Math.abs(x[i]) + Math.abs(y[i]));
  let m = 0;
  for (let i = 0; i < x.length; i++) {
    const r = Math.abs(x[i] - y[i]) / Math.max(1e-8, Math.abs(x[i]) + Math.abs(y[i]), 1e-3 * scale);
    if (r > m || r !== r) m = r;
  }
  return m;
}
