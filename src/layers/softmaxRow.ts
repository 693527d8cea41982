/*
 * The softmax cross-entropy of one row of scores: the single implementation behind the layer
 * loss (softmaxLoss), the linear classifier's vectorized loss, and both backend paths. No
 * imports, so the browser bundle of src/gpu can load it as it is.
 */

/** Where {@link softmaxRow} writes the row's score gradient. */
export interface SoftmaxRowGrad {
  /** Destination; row `base` of it is overwritten (it may be the scores array itself). */
  out: { [i: number]: number };
  /** Multiplies the gradient, e.g. 1/N for a mean over N rows. */
  scale: number;
  /** Scratch of at least C entries, so the exponentials keep float64 precision before scaling. */
  tmp: Float64Array;
}

/**
 * `log Σ_j exp(s_j) − s_y` for the row `s[base .. base+C)`, with every score shifted by the row
 * maximum so nothing overflows, and the log-probability taken as a difference so it stays
 * finite when the label's probability underflows. With `grad`, also writes
 * `(softmax(s) − onehot(y))·scale` into `grad.out[base ..]`, one rounding per element.
 */
export function softmaxRow(s: ArrayLike<number>, base: number, C: number, y: number, grad?: SoftmaxRowGrad): number {
  let mx = -Infinity;
  for (let j = 0; j < C; j++) if (s[base + j] > mx) mx = s[base + j];
  // Read before a gradient written in place overwrites the row.
  const shiftedY = s[base + y] - mx;
  let sum = 0;
  if (!grad) {
    for (let j = 0; j < C; j++) sum += Math.exp(s[base + j] - mx);
    return Math.log(sum) - shiftedY;
  }
  const { out, scale, tmp } = grad;
  for (let j = 0; j < C; j++) {
    const e = Math.exp(s[base + j] - mx);
    tmp[j] = e;
    sum += e;
  }
  const k = scale / sum;
  for (let j = 0; j < C; j++) out[base + j] = tmp[j] * k;
  out[base + y] = (tmp[y] / sum - 1) * scale;
  return Math.log(sum) - shiftedY;
}
