import ndarray from 'ndarray';
import { shapeStr } from '../core/check';
import type { RandomState } from '../core/random';
import type { Tensor } from '../core/tensor';

/**
 * A batch transform: takes a float batch (N, C, H, W) and returns the transformed batch
 * (the same array when it works in place). Random transforms draw from `rng`, sample by sample
 * in batch order, so a seed fixes every batch.
 */
export type Transform = (x: Tensor, rng: RandomState) => Tensor;

function dims(what: string, x: Tensor): [number, number, number, number] {
  if (x.shape.length !== 4) throw new RangeError(`${what}: expected a batch of shape (N, C, H, W), got ${shapeStr(x.shape)}`);
  return x.shape as [number, number, number, number];
}

/** A reusable output buffer of `shape` and `x`'s dtype (reallocated only when either changes). */
function bufferFor(cache: { t: Tensor | null }, x: Tensor, shape: number[]): Tensor {
  const Ctor = x.data instanceof Float32Array ? Float32Array : Float64Array;
  const n = shape.reduce((a, b) => a * b, 1);
  const t = cache.t;
  if (t && t.data.constructor === Ctor && t.data.length >= n) return ndarray(t.data.subarray(0, n), shape) as Tensor;
  cache.t = ndarray(new Ctor(n), shape);
  return cache.t;
}

/**
 * Random crop of `size` × `size` after zero-padding each side by `padding`, as torchvision's
 * `RandomCrop(size, padding)` on the raw image (the padding is 0 before normalisation). Per
 * sample it draws `top = randint(0, H + 2·padding − size + 1)`, then
 * `left = randint(0, W + 2·padding − size + 1)`. The output is a buffer the transform reuses.
 */
export function randomCrop(size: number, padding = 0): Transform {
  if (!Number.isInteger(size) || size <= 0) throw new RangeError(`randomCrop: size: expected a positive integer, got ${size}`);
  if (!Number.isInteger(padding) || padding < 0) throw new RangeError(`randomCrop: padding: expected an integer >= 0, got ${padding}`);
  const cache = { t: null as Tensor | null };
  return (x, rng) => {
    const [N, C, H, W] = dims('randomCrop', x);
    const ph = H + 2 * padding;
    const pw = W + 2 * padding;
    if (size > ph || size > pw) throw new RangeError(`randomCrop: size: expected at most the padded image size ${ph}×${pw}, got ${size}`);
    const out = bufferFor(cache, x, [N, C, size, size]);
    for (let n = 0; n < N; n++) {
      const top = rng.randint(0, ph - size + 1) - padding;
      const left = rng.randint(0, pw - size + 1) - padding;
      copyWindow(x, out, n, top, left);
    }
    return out;
  };
}

/**
 * Copies the window of sample `n` of `x` whose top-left corner is (`top`, `left`) (negative or
 * past the edge: zeros there) into sample `n` of `out`, whose height and width give its size.
 */
function copyWindow(x: Tensor, out: Tensor, n: number, top: number, left: number): void {
  const [, C, H, W] = x.shape;
  const [, , h, w] = out.shape;
  const src = x.data;
  const dst = out.data;
  for (let c = 0; c < C; c++) {
    const sBase = (n * C + c) * H * W;
    const dBase = (n * C + c) * h * w;
    // Columns j in [j0, j1) fall inside the image; the rest are padding.
    const j0 = Math.max(0, -left);
    const j1 = Math.min(w, W - left);
    for (let i = 0; i < h; i++) {
      const r = top + i;
      const row = dBase + i * w;
      if (r < 0 || r >= H || j1 <= j0) {
        dst.fill(0, row, row + w);
        continue;
      }
      for (let j = 0; j < j0; j++) dst[row + j] = 0;
      const from = sBase + r * W + left;
      for (let j = j0; j < j1; j++) dst[row + j] = src[from + j];
      for (let j = j1; j < w; j++) dst[row + j] = 0;
    }
  }
}

/**
 * Zero-pads every side by `padding` (e.g. 28×28 Fashion-MNIST to the 32×32 the CIFAR models
 * take; before normalisation, so the border is black as in the raw image). Draws nothing.
 */
export function pad(padding: number): Transform {
  if (!Number.isInteger(padding) || padding < 0) throw new RangeError(`pad: padding: expected an integer >= 0, got ${padding}`);
  const cache = { t: null as Tensor | null };
  return (x) => {
    const [N, C, H, W] = dims('pad', x);
    if (padding === 0) return x;
    const out = bufferFor(cache, x, [N, C, H + 2 * padding, W + 2 * padding]);
    for (let n = 0; n < N; n++) copyWindow(x, out, n, -padding, -padding);
    return out;
  };
}

/** Repeats a one-channel batch into `channels` equal channels (grey images into RGB models). Draws nothing. */
export function repeatChannels(channels: number): Transform {
  if (!Number.isInteger(channels) || channels <= 0) throw new RangeError(`repeatChannels: channels: expected a positive integer, got ${channels}`);
  const cache = { t: null as Tensor | null };
  return (x) => {
    const [N, C, H, W] = dims('repeatChannels', x);
    if (C !== 1) throw new RangeError(`repeatChannels: expected a one-channel batch, got ${C} channels`);
    const out = bufferFor(cache, x, [N, channels, H, W]);
    const hw = H * W;
    for (let n = 0; n < N; n++) {
      const plane = x.data.subarray(n * hw, (n + 1) * hw);
      for (let c = 0; c < channels; c++) out.data.set(plane, (n * channels + c) * hw);
    }
    return out;
  };
}

/** Mirrors each sample left–right with probability `p`, in place: per sample it draws `rng.rand() < p`. */
export function randomHorizontalFlip(p = 0.5): Transform {
  if (typeof p !== 'number' || !(p >= 0 && p <= 1)) throw new RangeError(`randomHorizontalFlip: p: expected a probability in [0, 1], got ${p}`);
  return (x, rng) => {
    const [N, C, H, W] = dims('randomHorizontalFlip', x);
    const d = x.data;
    for (let n = 0; n < N; n++) {
      if (!(rng.rand() < p)) continue;
      for (let r = 0; r < C * H; r++) {
        const base = (n * C * H + r) * W;
        for (let i = 0, j = W - 1; i < j; i++, j--) {
          const t = d[base + i];
          d[base + i] = d[base + j];
          d[base + j] = t;
        }
      }
    }
    return x;
  };
}

/**
 * `(x − mean[c]) / std[c]` per channel, in place, as torchvision's `Normalize` (subtract, then
 * divide, each rounded in the batch's dtype). Draws nothing.
 */
export function normalize(mean: readonly number[], std: readonly number[]): Transform {
  if (!Array.isArray(mean) || mean.length === 0 || !mean.every(Number.isFinite)) throw new RangeError(`normalize: mean: expected finite numbers, one per channel, got ${JSON.stringify(mean)}`);
  if (!Array.isArray(std) || std.length !== mean.length || !std.every((s) => Number.isFinite(s) && s > 0)) {
    throw new RangeError(`normalize: std: expected ${mean.length} positive numbers (one per channel, as mean), got ${JSON.stringify(std)}`);
  }
  return (x) => {
    const [N, C, H, W] = dims('normalize', x);
    if (C !== mean.length) throw new RangeError(`normalize: mean: expected ${C} values for a batch of ${C} channels, got ${mean.length}`);
    const d = x.data;
    const hw = H * W;
    if (d instanceof Float32Array) {
      // Each of the two operations rounds to float32 on its own, as torch's sub_ then div_.
      const fround = Math.fround;
      for (let n = 0; n < N; n++) {
        for (let c = 0; c < C; c++) {
          const m = fround(mean[c]);
          const s = fround(std[c]);
          const end = (n * C + c + 1) * hw;
          for (let k = end - hw; k < end; k++) d[k] = fround(d[k] - m) / s;
        }
      }
      return x;
    }
    for (let n = 0; n < N; n++) {
      for (let c = 0; c < C; c++) {
        const m = mean[c];
        const s = std[c];
        const end = (n * C + c + 1) * hw;
        for (let k = end - hw; k < end; k++) d[k] = (d[k] - m) / s;
      }
    }
    return x;
  };
}

/** Applies transforms left to right; each draws all its samples before the next one starts. */
export function compose(transforms: Transform[]): Transform {
  if (!Array.isArray(transforms) || !transforms.every((t) => typeof t === 'function')) {
    throw new TypeError(`compose: transforms: expected an array of transforms, got ${String(transforms)}`);
  }
  return (x, rng) => transforms.reduce((acc, t) => t(acc, rng), x);
}
