import { assertArg, ShapeError, shapeStr } from '../core/check';
import { fromData, linspace, type Tensor64 } from '../core/tensor';
import { imageView, type Image } from './imageView';

/** Options of {@link colorHistogramHsv}; defaults are cs231n's. */
export interface ColorHistogramHsvOptions {
  /** Number of hue bins. Default 10. */
  nbin?: number;
  /** Lower edge of the first bin. Default 0. */
  xmin?: number;
  /** Upper edge of the last bin, and the value pixels are divided by. Default 255. */
  xmax?: number;
  /** Return the fraction of pixels per bin (true) or count × bin width (false). Default true. */
  normalized?: boolean;
}

/**
 * Hue of one RGB pixel in [0, 1) with matplotlib's `rgb_to_hsv` arithmetic: gray pixels
 * (max = min) get 0; otherwise the red-max formula applies first and the green-max and then the
 * blue-max formulas overwrite it on ties; the sextant is divided by 6 and reduced with Python's
 * float modulo (the sign of the divisor, so negative hues wrap to just below 1).
 */
export function hueOf(r: number, g: number, b: number): number {
  const max = Math.max(r, g, b);
  const delta = max - Math.min(r, g, b);
  let h = 0;
  if (delta > 0) {
    if (r === max) h = (g - b) / delta;
    if (g === max) h = 2 + (b - r) / delta;
    if (b === max) h = 4 + (r - g) / delta;
  }
  let m = (h / 6) % 1;
  if (m < 0) m += 1;
  else if (m === 0) m = 0; // numpy's remainder returns +0 for a zero result, never −0
  return m;
}

/**
 * cs231n's `color_histogram_hsv`: a histogram of the hue channel of an (H, W, 3) RGB image,
 * as a Float64 (nbin,) array.
 *
 * Hue is matplotlib's `rgb_to_hsv(im / xmax)[..., 0] · xmax` (see {@link hueOf}); the bins are
 * `linspace(xmin, xmax, nbin + 1)` with numpy's histogram rule (each bin closed on the left,
 * the last one also on the right; values outside are not counted). As in the starter, the
 * `density` histogram is multiplied by the bin widths, so with `normalized` each entry is the
 * fraction of counted pixels in that bin (NaN when none is counted, as numpy gives), and without
 * it each entry is the count times the bin width. Pixels are read as float64 (matplotlib rejects
 * values outside [0, 1] after the division, and so does this function).
 */
export function colorHistogramHsv(im: Image, opts: ColorHistogramHsvOptions = {}): Tensor64 {
  const { nbin = 10, xmin = 0, xmax = 255, normalized = true } = opts;
  assertArg(Number.isInteger(nbin) && nbin >= 1, 'nbin', 'a positive integer', nbin);
  assertArg(Number.isFinite(xmin), 'xmin', 'a finite number', xmin);
  assertArg(Number.isFinite(xmax) && xmax > 0, 'xmax', 'a finite number > 0', xmax);
  assertArg(xmin < xmax, 'xmin', `a value below xmax=${xmax}`, xmin);
  const v = imageView('im', im, [3]);
  if (v.C !== 3) throw new ShapeError(`im: expected an RGB image of shape (H, W, 3), got ${shapeStr(im.shape)}`);
  const { H, W, data, offset, sH, sW, sC } = v;

  const edges = linspace(xmin, xmax, nbin + 1).data;
  const lo = edges[0];
  const hi = edges[nbin];
  const counts = new Float64Array(nbin);
  for (let r = 0; r < H; r++) {
    for (let c = 0; c < W; c++) {
      const p = offset + r * sH + c * sW;
      const R = data[p] / xmax;
      const G = data[p + sC] / xmax;
      const B = data[p + 2 * sC] / xmax;
      if (!(R >= 0 && G >= 0 && B >= 0 && R <= 1 && G <= 1 && B <= 1)) {
        throw new RangeError(`im[${r}, ${c}]: expected pixel values in [0, xmax=${xmax}], got (${data[p]}, ${data[p + sC]}, ${data[p + 2 * sC]})`);
      }
      const hue = hueOf(R, G, B) * xmax;
      if (!(hue >= lo && hue <= hi)) continue;
      // Estimate the bin arithmetically, then settle it against the actual edges so the
      // result is exactly numpy's searchsorted rule.
      let k = Math.min(nbin - 1, Math.max(0, Math.floor(((hue - lo) / (hi - lo)) * nbin)));
      while (k > 0 && hue < edges[k]) k--;
      while (k < nbin - 1 && hue >= edges[k + 1]) k++;
      counts[k]++;
    }
  }

  let total = 0;
  for (let k = 0; k < nbin; k++) total += counts[k];
  const out = new Float64Array(nbin);
  for (let k = 0; k < nbin; k++) {
    const width = edges[k + 1] - edges[k];
    // numpy: density = n / db / n.sum(); the starter then multiplies by db again.
    out[k] = normalized ? (counts[k] / width / total) * width : counts[k] * width;
  }
  return fromData(out, [nbin]);
}
