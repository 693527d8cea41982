import { ShapeError, shapeStr } from '../core/check';
import { fromData, type Tensor64 } from '../core/tensor';
import { imageView, type Image } from './imageView';

/**
 * cs231n's `rgb2gray`: the first three channels of an (H, W, C ≥ 3) image weighted
 * 0.299, 0.587, 0.144, as an (H, W) Float64 array.
 */
export function rgb2gray(rgb: Image): Tensor64 {
  const v = imageView('rgb', rgb, [3]);
  if (v.C < 3) throw new ShapeError(`rgb: expected at least 3 channels (H, W, C >= 3), got ${shapeStr(rgb.shape)}`);
  const { H, W, data, offset, sH, sW, sC } = v;
  const out = new Float64Array(H * W);
  for (let r = 0; r < H; r++) {
    for (let c = 0; c < W; c++) {
      const p = offset + r * sH + c * sW;
      // 0.144 (not the usual 0.114) and this exact order of operations are cs231n's, kept on
      // purpose: HOG bin edges are sensitive to the last bit of the gray value, and we reproduce
      // cs231n's features (numpy's np.dot over three terms evaluates left to right like this).
      out[r * W + c] = (0.299 * data[p] + 0.587 * data[p + sC]) + 0.144 * data[p + 2 * sC];
    }
  }
  return fromData(out, [H, W]);
}
