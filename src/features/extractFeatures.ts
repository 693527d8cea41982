import type { NdArray } from 'ndarray';
import { ShapeError, shapeStr } from '../core/check';
import { fromData, sizeOf, type NumStore, type Tensor64 } from '../core/tensor';
import { progressBar } from '../util/progress';

/** A feature function: one image in, a 1-d feature vector out (cs231n's `feature_fns`). */
export type FeatureFn = (im: NdArray<NumStore>) => NdArray<NumStore>;

/** Options of {@link extractFeatures}. */
export interface ExtractFeaturesOptions {
  /** Print "Done extracting features for i / N images" every 1000 images, as cs231n. Default false. */
  verbose?: boolean;
  /** Show a progress bar on stderr: true/false force it, undefined shows it on a terminal. */
  progress?: boolean;
  /** Label of the progress bar. Default 'features'. */
  label?: string;
}

/** Image `i` of the batch with every size-1 axis dropped (numpy's `imgs[i].squeeze()`), as a view. */
function squeezedImage(imgs: NdArray<NumStore>, i: number): NdArray<NumStore> {
  const im = imgs.pick(i) as NdArray<NumStore>;
  if (!im.shape.includes(1)) return im;
  return im.pick(...im.shape.map((d) => (d === 1 ? 0 : null))) as NdArray<NumStore>;
}

function runFn(fn: FeatureFn, k: number, im: NdArray<NumStore>): NdArray<NumStore> {
  const f = fn(im);
  if (!f || !Array.isArray(f.shape) || f.shape.length !== 1) {
    throw new ShapeError(`feature function ${k}: expected a 1-d feature vector, got ${f && Array.isArray(f.shape) ? `shape ${shapeStr(f.shape)}` : String(f)}`);
  }
  return f;
}

/**
 * cs231n's `extract_features`: applies every feature function to every image of `imgs`
 * (N, H, W, C) — any numeric dtype; each function receives a view of one image with size-1
 * axes squeezed — and concatenates the results into an (N, ΣF) Float64 array.
 *
 * With N = 0 cs231n returns a shapeless `np.array([])`; here the functions are run once on a
 * zero image of the batch's image shape to learn ΣF, and an empty (0, ΣF) array is returned, so
 * the result can still be concatenated, normalised and fed to a classifier.
 */
export function extractFeatures(imgs: NdArray<NumStore>, fns: readonly FeatureFn[], opts: ExtractFeaturesOptions = {}): Tensor64 {
  if (!imgs || !Array.isArray(imgs.shape) || imgs.shape.length < 2) {
    throw new ShapeError(`imgs: expected a batch of images (N, H, W, C) or (N, H, W), got ${imgs && Array.isArray(imgs.shape) ? shapeStr(imgs.shape) : String(imgs)}`);
  }
  if (!Array.isArray(fns) || fns.length === 0 || fns.some((f) => typeof f !== 'function')) {
    throw new TypeError('fns: expected a non-empty array of feature functions');
  }
  const N = imgs.shape[0];
  const imShape = imgs.shape.slice(1);

  if (N === 0) {
    const C = imgs.data.constructor as unknown as new (n: number) => NumStore;
    const zero = fromData(new C(sizeOf(imShape)), [1, ...imShape]);
    const dims = fns.map((fn, k) => runFn(fn, k, squeezedImage(zero, 0)).shape[0]);
    return fromData(new Float64Array(0), [0, dims.reduce((s, d) => s + d, 0)]);
  }

  const first = fns.map((fn, k) => runFn(fn, k, squeezedImage(imgs, 0)));
  const dims = first.map((f) => f.shape[0]);
  const total = dims.reduce((s, d) => s + d, 0);
  const out = new Float64Array(N * total);
  const bar = progressBar(N, { label: opts.label ?? 'features', enabled: opts.progress });
  const write = (i: number, k: number, f: NdArray<NumStore>, at: number): void => {
    if (f.shape[0] !== dims[k]) {
      throw new ShapeError(`feature function ${k}: returned ${dims[k]} values for image 0 but shape ${shapeStr(f.shape)} for image ${i}`);
    }
    for (let j = 0; j < dims[k]; j++) out[i * total + at + j] = f.get(j);
  };
  try {
    let pending = 0;
    for (let i = 0; i < N; i++) {
      const im = i === 0 ? null : squeezedImage(imgs, i);
      let at = 0;
      for (let k = 0; k < fns.length; k++) {
        write(i, k, i === 0 ? first[k] : runFn(fns[k], k, im as NdArray<NumStore>), at);
        at += dims[k];
      }
      if (opts.verbose && i % 1000 === 999) console.log(`Done extracting features for ${i + 1} / ${N} images`);
      // Tick in chunks: a redraw per 32×32 image would cost as much as the features.
      if (++pending === 100 || i === N - 1) {
        bar.tick(pending);
        pending = 0;
      }
    }
  } finally {
    bar.stop();
  }
  return fromData(out, [N, total]);
}
