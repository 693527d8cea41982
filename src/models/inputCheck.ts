import { ShapeError, shapeStr } from '../core/check';
import type { Tensor } from '../core/tensor';

/**
 * Checks a model's input `(N, C, H, W)` at the top of its forward, so an image that is too
 * small fails with the model's name and its minimum size instead of a shape error from some
 * pooling layer deep inside. `exact` ([H, W] or one side) is for heads whose Linear layer
 * fixes the input size.
 */
export function checkInput(model: string, x: Tensor, channels: number, size: { min?: number; exact?: number | readonly [number, number] }): void {
  const s = x?.shape;
  const ex = typeof size.exact === 'number' ? [size.exact, size.exact] : size.exact;
  const min = size.min ?? 1;
  const want = ex ? `${ex[0]}×${ex[1]}` : `H, W ≥ ${min}`;
  const ok = Array.isArray(s) && s.length === 4 && s[1] === channels
    && (ex ? s[2] === ex[0] && s[3] === ex[1] : s[2] >= min && s[3] >= min);
  if (!ok) {
    throw new ShapeError(`x: ${model} expects input (N, ${channels}, H, W) with ${want}, got ${Array.isArray(s) ? shapeStr(s) : String(x)}`);
  }
}
