/*
 * kNN distances without loops over points: ‖a‖² + ‖b‖² − 2·a·b. Browser-safe.
 */
import { gemmSteps } from './gemmSteps';
import type { Steps } from './kernelCall';
import { denseView, transposed, type MatView } from './matView';
import type { TileLimits } from './tiling';

/** Σ_j v[i, j]² per row, in float64. */
export function rowSquaredNorms(v: MatView): Float64Array {
  const out = new Float64Array(v.rows);
  for (let i = 0; i < v.rows; i++) {
    let s = 0;
    const base = v.offset + i * v.rs;
    for (let j = 0; j < v.cols; j++) {
      const x = v.data[base + j * v.cs];
      s += x * x;
    }
    out[i] = s;
  }
  return out;
}

/** Column means of v, in float64. */
function columnMeans(v: MatView): Float64Array {
  const mean = new Float64Array(v.cols);
  for (let i = 0; i < v.rows; i++) {
    const base = v.offset + i * v.rs;
    for (let j = 0; j < v.cols; j++) mean[j] += v.data[base + j * v.cs];
  }
  for (let j = 0; j < v.cols; j++) mean[j] /= Math.max(1, v.rows);
  return mean;
}

/** v − mean (per column) as a dense float32 copy. */
function centered(v: MatView, mean: Float64Array): Float32Array {
  const out = new Float32Array(v.rows * v.cols);
  for (let i = 0; i < v.rows; i++) {
    const base = v.offset + i * v.rs;
    const o = i * v.cols;
    for (let j = 0; j < v.cols; j++) out[o + j] = v.data[base + j * v.cs] - mean[j];
  }
  return out;
}

/**
 * Distances (M, N) from test rows (M, D) to training rows (N, D): Euclidean (as cs231n's
 * compute_distances_no_loops) or squared; negative round-off is clamped to 0.
 *
 * In float32 the norm formula cancels: ‖a‖² + ‖b‖² can be far larger than ‖a − b‖², and the
 * float32 cross term carries an error proportional to the norms. Distances do not change when
 * both sets move by the same vector, so both are first centred on the training mean (raw
 * pixels in [0, 255] lose about three quarters of their squared norm). The norms are then
 * computed once per call, in float64 from the float32 values the kernel multiplies.
 */
export function* distanceSteps(test: MatView, train: MatView, lim: TileLimits, opts: { squared?: boolean } = {}): Steps<Float64Array> {
  const mean = columnMeans(train);
  const a = denseView(centered(test, mean), test.rows, test.cols);
  const b = denseView(centered(train, mean), train.rows, train.cols);
  const rowAdd = rowSquaredNorms(a);
  const colAdd = rowSquaredNorms(b);
  const d = yield* gemmSteps(a, transposed(b), lim, { alpha: -2, rowAdd, colAdd });
  const sq = opts.squared === true;
  for (let t = 0; t < d.length; t++) {
    const s = d[t];
    d[t] = s > 0 ? (sq ? s : Math.sqrt(s)) : 0;
  }
  return d;
}
