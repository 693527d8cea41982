import ndarray from 'ndarray';
import { colorHistogramHsv, HOG_CELL, HOG_ORIENTATIONS, hogFeature, type FeatureFn, type Image } from '../../src/features';

/*
 * features.ipynb's feature functions, `[hog_feature, lambda img: color_histogram_hsv(img,
 * nbin=10)]`, made to run on gray datasets too. extractFeatures squeezes a (28, 28, 1) MNIST
 * image to (28, 28); hogFeature takes that as the gray image directly (3 × 3 cells of 8 × 8,
 * 81 values), but the hue histogram needs RGB. A gray image is therefore replicated to three
 * equal channels, which is what it is as a colour image: every pixel has hue 0 and the
 * histogram is [1, 0, …, 0] for every image — a constant block of columns that the
 * normalisation leaves at 0 (zero std), so on gray data only HOG carries information.
 */

/** Hue bins of the notebook's colour histogram. */
export const NUM_COLOR_BINS = 10;

/** A gray (H, W) image as a dense float64 (H, W, 3) copy with three equal channels. */
export function grayToRgb(im: Image): Image {
  const [H, W] = im.shape;
  const out = new Float64Array(H * W * 3);
  for (let r = 0; r < H; r++) {
    for (let c = 0; c < W; c++) {
      const v = im.get(r, c);
      const o = (r * W + c) * 3;
      out[o] = v;
      out[o + 1] = v;
      out[o + 2] = v;
    }
  }
  return ndarray(out, [H, W, 3]);
}

/** The hue histogram with `nbin` bins of an RGB image, or of a gray image replicated to RGB. */
export function hsvHistogramFeature(nbin = NUM_COLOR_BINS): FeatureFn {
  return (im) => colorHistogramHsv(im.shape.length === 2 ? grayToRgb(im) : im, { nbin });
}

/** The notebook's two feature functions, HOG then the hue histogram. */
export function notebookFeatureFns(nbin = NUM_COLOR_BINS): FeatureFn[] {
  return [hogFeature, hsvHistogramFeature(nbin)];
}

/**
 * Feature width for H×W images: ⌊H/8⌋·⌊W/8⌋·9 HOG values plus `nbin` histogram bins —
 * 4·4·9 + 10 = 154 for CIFAR's 32×32 (the notebook's 154; 155 with the bias column),
 * 3·3·9 + 10 = 91 for MNIST's 28×28.
 */
export function notebookFeatureDim(H: number, W: number, nbin = NUM_COLOR_BINS): number {
  return Math.floor(H / HOG_CELL) * Math.floor(W / HOG_CELL) * HOG_ORIENTATIONS + nbin;
}
