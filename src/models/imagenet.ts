import ndarray, { type NdArray } from 'ndarray';
import type { DType } from '../core/dtype';
import { allocFloat } from '../core/dtype';
import type { Tensor } from '../core/tensor';
import classes from './data/imagenetClasses.json';

/** The 1000 ImageNet-1k class names in torchvision's order (index = logit). */
export const IMAGENET_CLASSES: readonly string[] = classes;
/** Per-channel mean and std torchvision's ImageNet weights expect (RGB, pixels in [0, 1]). */
export const IMAGENET_MEAN = [0.485, 0.456, 0.406] as const;
export const IMAGENET_STD = [0.229, 0.224, 0.225] as const;

/** Options of {@link imagenetInput}. */
export interface ImagenetInputOptions {
  /** Shorter side after resizing (default 256). */
  resize?: number;
  /** Centre crop (default 224). */
  crop?: number;
  dtype?: DType;
}

/**
 * torchvision's ImageNet evaluation transform for an `(H, W, 3)` uint8 RGB image: bilinear
 * resize of the shorter side to `resize`, centre crop `crop`×`crop`, scale to [0, 1],
 * normalise with the ImageNet mean and std → `(1, 3, crop, crop)`. (PIL's resize filters with
 * antialiasing when it shrinks; this one samples bilinearly, so inputs differ slightly from
 * torchvision's, not the classes it predicts.)
 */
export function imagenetInput(rgb: NdArray<Uint8Array>, opts: ImagenetInputOptions = {}): Tensor {
  const [H, W, C] = rgb.shape;
  if (C !== 3) throw new RangeError(`image: expected shape (H, W, 3), got (${rgb.shape.join(', ')})`);
  const resize = opts.resize ?? 256;
  const crop = opts.crop ?? 224;
  if (crop > resize) throw new RangeError(`crop: ${crop} is larger than the resized shorter side ${resize}`);
  const scale = resize / Math.min(H, W);
  const rh = Math.max(crop, Math.round(H * scale));
  const rw = Math.max(crop, Math.round(W * scale));
  const top = Math.floor((rh - crop) / 2);
  const left = Math.floor((rw - crop) / 2);
  const out = allocFloat(opts.dtype ?? 'float32', 3 * crop * crop);
  const src = rgb.data;
  for (let y = 0; y < crop; y++) {
    // Pixel centres aligned (half-pixel offsets), as torchvision's bilinear resize.
    const sy = Math.min(H - 1, Math.max(0, ((y + top + 0.5) * H) / rh - 0.5));
    const y0 = Math.floor(sy);
    const y1 = Math.min(H - 1, y0 + 1);
    const fy = sy - y0;
    for (let x = 0; x < crop; x++) {
      const sx = Math.min(W - 1, Math.max(0, ((x + left + 0.5) * W) / rw - 0.5));
      const x0 = Math.floor(sx);
      const x1 = Math.min(W - 1, x0 + 1);
      const fx = sx - x0;
      for (let c = 0; c < 3; c++) {
        const p = (yy: number, xx: number): number => src[(yy * W + xx) * 3 + c];
        const v = (1 - fy) * ((1 - fx) * p(y0, x0) + fx * p(y0, x1)) + fy * ((1 - fx) * p(y1, x0) + fx * p(y1, x1));
        out[(c * crop + y) * crop + x] = (v / 255 - IMAGENET_MEAN[c]) / IMAGENET_STD[c];
      }
    }
  }
  return ndarray(out, [1, 3, crop, crop]);
}

/** The `k` largest softmax probabilities of one row of logits, with their class indices. */
export function topK(logits: ArrayLike<number>, k: number): Array<{ index: number; probability: number }> {
  let max = -Infinity;
  for (let i = 0; i < logits.length; i++) {
    if (!Number.isFinite(logits[i])) throw new RangeError(`logits: element ${i} is ${logits[i]}; a non-finite score has no ranking`);
    if (logits[i] > max) max = logits[i];
  }
  let sum = 0;
  const p = new Float64Array(logits.length);
  for (let i = 0; i < logits.length; i++) sum += p[i] = Math.exp(logits[i] - max);
  const idx = Array.from({ length: logits.length }, (_, i) => i).sort((a, b) => p[b] - p[a] || a - b);
  return idx.slice(0, k).map((index) => ({ index, probability: p[index] / sum }));
}
