import { shapeStr } from '../../src/core/check';
import { copy, type Tensor } from '../../src/core/tensor';
import type { Transform } from '../../src/training/transforms';

/*
 * The augmentations of the book's ch. 8 text that src/training/transforms.ts does not have
 * (there: randomCrop with zero padding = a random translation, randomHorizontalFlip): rotation,
 * a zoomed crop, brightness. Images are (N, C, H, W) in [0, 1]; the warps sample bilinearly
 * with zero outside the image (MNIST's background), pixel centres at integer coordinates.
 */

function dims(what: string, x: Tensor): [number, number, number, number] {
  if (x.shape.length !== 4) throw new RangeError(`${what}: expected a batch of shape (N, C, H, W), got ${shapeStr(x.shape)}`);
  return x.shape as [number, number, number, number];
}

/**
 * Output pixel (i, j) of every sample and channel = the input at `where(n, i, j)` = (y, x),
 * bilinear between the four neighbours, 0 outside. Returns a new array.
 */
function warp(x: Tensor, where: (n: number) => (i: number, j: number) => [number, number]): Tensor {
  const [N, C, H, W] = dims('warp', x);
  const src = copy(x);
  const out = copy(x);
  const s = src.data;
  const d = out.data;
  const at = (base: number, r: number, c: number) => (r >= 0 && r < H && c >= 0 && c < W ? s[base + r * W + c] : 0);
  for (let n = 0; n < N; n++) {
    const map = where(n);
    for (let i = 0; i < H; i++) {
      for (let j = 0; j < W; j++) {
        const [y, xx] = map(i, j);
        const y0 = Math.floor(y);
        const x0 = Math.floor(xx);
        const fy = y - y0;
        const fx = xx - x0;
        for (let c = 0; c < C; c++) {
          const base = (n * C + c) * H * W;
          const top = at(base, y0, x0) * (1 - fx) + at(base, y0, x0 + 1) * fx;
          const bottom = at(base, y0 + 1, x0) * (1 - fx) + at(base, y0 + 1, x0 + 1) * fx;
          d[base + i * W + j] = top * (1 - fy) + bottom * fy;
        }
      }
    }
  }
  return out;
}

/** Rotation of every sample by `degrees(n)` (counter-clockwise on screen) about the image centre. */
export function rotate(x: Tensor, degrees: (n: number) => number): Tensor {
  const [, , H, W] = dims('rotate', x);
  const cy = (H - 1) / 2;
  const cx = (W - 1) / 2;
  return warp(x, (n) => {
    const a = (degrees(n) * Math.PI) / 180;
    const cos = Math.cos(a);
    const sin = Math.sin(a);
    // Inverse map (y points down): the source of output (i, j) is (i, j) turned back by a, so
    // 90° gives numpy's rot90, out[i][j] = in[j][W − 1 − i].
    return (i, j) => [cy + (i - cy) * cos + (j - cx) * sin, cx - (i - cy) * sin + (j - cx) * cos];
  });
}

/** Random rotation by an angle drawn uniformly from [−maxDegrees, maxDegrees] per sample. */
export function randomRotation(maxDegrees: number): Transform {
  if (!(Number.isFinite(maxDegrees) && maxDegrees >= 0)) throw new RangeError(`randomRotation: maxDegrees: expected a finite number >= 0, got ${maxDegrees}`);
  return (x, rng) => {
    const angles = Array.from({ length: x.shape[0] }, () => rng.uniform(-maxDegrees, maxDegrees));
    return rotate(x, (n) => angles[n]);
  };
}

/**
 * Random zoomed crop: a square of side `f·H` (f uniform in [minFraction, 1]) at a random
 * position, stretched back to H×W (the crop-and-resize form of cropping in the book's text).
 */
export function randomZoomCrop(minFraction: number): Transform {
  if (!(minFraction > 0 && minFraction <= 1)) throw new RangeError(`randomZoomCrop: minFraction: expected a number in (0, 1], got ${minFraction}`);
  return (x, rng) => {
    const [N, , H, W] = dims('randomZoomCrop', x);
    const boxes = Array.from({ length: N }, () => {
      const f = rng.uniform(minFraction, 1);
      return { f, top: rng.uniform(0, (1 - f) * (H - 1)), left: rng.uniform(0, (1 - f) * (W - 1)) };
    });
    return warp(x, (n) => {
      const b = boxes[n];
      return (i, j) => [b.top + i * b.f, b.left + j * b.f];
    });
  };
}

/** Brightness: every pixel times a factor drawn uniformly from [lo, hi] per sample, clipped to [0, 1]. */
export function randomBrightness(lo: number, hi: number): Transform {
  if (!(Number.isFinite(lo) && Number.isFinite(hi) && lo >= 0 && lo <= hi)) throw new RangeError(`randomBrightness: expected 0 <= lo <= hi, got [${lo}, ${hi}]`);
  return (x, rng) => {
    const [N] = dims('randomBrightness', x);
    const out = copy(x);
    const per = out.data.length / N;
    for (let n = 0; n < N; n++) {
      const k = rng.uniform(lo, hi);
      for (let i = n * per; i < (n + 1) * per; i++) out.data[i] = Math.min(1, Math.max(0, out.data[i] * k));
    }
    return out;
  };
}
