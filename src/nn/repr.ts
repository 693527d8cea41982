/*
 * Python-style renderings for `extraRepr`, so a printed model reads as PyTorch prints it
 * (`MaxPool2d(kernel_size=3, stride=2, padding=1, dilation=1, ceil_mode=False)`).
 */

/** A number as Python's `repr(float)`: `2.0`, `0.75`, `0.0001`, `1e-05`. */
export function pyFloat(v: number): string {
  if (Number.isNaN(v)) return 'nan';
  if (!Number.isFinite(v)) return v > 0 ? 'inf' : '-inf';
  if (Number.isInteger(v) && Math.abs(v) < 1e16) return v.toFixed(1);
  const a = Math.abs(v);
  if (a < 1e-4 || a >= 1e16) {
    const [m, e] = v.toExponential().split('e');
    const n = Number(e);
    return `${m}e${n < 0 ? '-' : '+'}${String(Math.abs(n)).padStart(2, '0')}`;
  }
  return String(v);
}

/** A boolean as Python prints it. */
export function pyBool(v: boolean): string {
  return v ? 'True' : 'False';
}

/** An int or an `[h, w]` pair as Python prints it: `3` or `(3, 2)`. */
export function pyPair(v: number | readonly (number | null)[]): string {
  return typeof v === 'number' ? String(v) : `(${v.map((d) => (d === null ? 'None' : String(d))).join(', ')})`;
}
