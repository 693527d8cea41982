import { ShapeError, shapeStr } from '../core/check';
import type { Tensor } from '../core/tensor';

/**
 * Checks a model's input `(N, C, H, W)` at the top of its forward, so an image that is too
 * small fails with the model's name and its minimum size instead of a shape error from some
 * pooling layer deep inside. `exact` is for heads whose Linear layer fixes the input size.
 */
export function checkInput(model: string, x: Tensor, channels: number, size: { min?: number; exact?: number }): void {
  const s = x?.shape;
  const want = size.exact !== undefined ? `${size.exact}×${size.exact}` : `H, W ≥ ${size.min ?? 1}`;
  const ok = Array.isArray(s) && s.length === 4 && s[1] === channels
    && (size.exact !== undefined ? s[2] === size.exact && s[3] === size.exact : s[2] >= (size.min ?? 1) && s[3] >= (size.min ?? 1));
  if (!ok) {
    throw new ShapeError(`x: ${model} expects input (N, ${channels}, H, W) with ${want}, got ${Array.isArray(s) ? shapeStr(s) : String(x)}`);
  }
}
