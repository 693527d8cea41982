import fc from 'fast-check';
import type { NdArray } from 'ndarray';
import { ShapeError } from '../src/core/check';
import { array, fromData, toArray, transpose, type NumStore } from '../src/core/tensor';
import {
  appendBias, applyFeatureStats, colorHistogramHsv, extractFeatures, fitFeatureStats, hogFeature, hueOf,
  normalizeFeatures, rgb2gray, uniformFilter, type FeatureFn,
} from '../src/features';
import expected from './fixtures/features_expected.json';

/*
 * Expected vectors come from fixtures/gen_features.py: the starter's features.py definitions in
 * numpy + scipy (uniform_filter is scipy's; matplotlib's rgb_to_hsv is re-implemented in numpy
 * because matplotlib is not installed), on the first 5 images of cifar-10-mini data_batch_1 and
 * on constructed edge cases. Tolerance: relative 1e-10 per entry (zeros must be exact).
 */

interface Case {
  shape: number[];
  dtype?: string;
  pixels: number[];
}

function image(c: Case): NdArray<NumStore> {
  const isByte = c.dtype === undefined || c.dtype === 'uint8';
  return fromData(isByte ? Uint8Array.from(c.pixels) : Float64Array.from(c.pixels), c.shape);
}

function expectClose(actual: ArrayLike<number>, want: readonly number[], label: string, rel = 1e-10): void {
  expect({ label, length: actual.length }).toEqual({ label, length: want.length });
  const bad: string[] = [];
  for (let i = 0; i < want.length; i++) {
    const a = actual[i];
    const e = want[i];
    if (!(Math.abs(a - e) <= rel * Math.max(Math.abs(a), Math.abs(e)))) bad.push(`[${i}] ${a} vs ${e}`);
  }
  expect({ label, bad: bad.slice(0, 5) }).toEqual({ label, bad: [] });
}

const cifar = expected.cifar.map((c) => ({ ...c, im: image(c) }));

describe('rgb2gray', () => {
  test('equals numpy np.dot(rgb, [0.299, 0.587, 0.144]) bit for bit on CIFAR images', () => {
    for (const c of cifar) {
      const g = rgb2gray(c.im);
      expect(g.shape).toEqual([32, 32]);
      expect(Array.from(g.data)).toEqual(c.gray);
    }
  });

  test('uses 0.144 for blue, evaluated (0.299·R + 0.587·G) + 0.144·B', () => {
    const g = rgb2gray(fromData(Uint8Array.from([0, 0, 100, 10, 20, 30, 1, 1, 1]), [1, 3, 3]));
    expect(g.get(0, 0)).toBe(14.399999999999999);
    expect(g.get(0, 1)).toBe((0.299 * 10 + 0.587 * 20) + 0.144 * 30);
  });

  test('rejects images with fewer than 3 channels', () => {
    expect(() => rgb2gray(fromData(new Uint8Array(8), [2, 2, 2]))).toThrow(/rgb: expected at least 3 channels.*\(2, 2, 2\)/);
    expect(() => rgb2gray(fromData(new Uint8Array(4), [2, 2]))).toThrow(/rgb: expected an image of shape \(H, W, C\), got \(2, 2\)/);
  });
});

describe('hogFeature', () => {
  test('matches the numpy/scipy starter on 5 CIFAR images (144 values each)', () => {
    for (const [k, c] of cifar.entries()) {
      const h = hogFeature(c.im);
      expect(h.shape).toEqual([144]);
      expectClose(h.data, c.hog, `cifar ${k} hog`);
    }
  });

  const edges = expected.edge.filter((e) => e.hog !== null);
  test.each(edges.map((e) => [e.name, e.note, e] as const))('edge case %s (%s)', (_name, _note, e) => {
    expectClose(hogFeature(image(e as Case)).data, e.hog as number[], `${e.name} hog`);
  });

  test('orientations of exactly 0 and 180 are dropped: horizontal stripes give an all-zero HOG', () => {
    const e = expected.edge.find((x) => x.name === 'horizontalStripes')!;
    const h = hogFeature(image(e as Case));
    expect(Array.from(h.data).every((v) => v === 0)).toBe(true);
  });

  test('sizes the starter cannot handle throw a clear ShapeError', () => {
    for (const e of expected.edge.filter((x) => x.hog === null)) {
      expect(e.hogError).toMatch(/could not broadcast/);
      expect(() => hogFeature(image(e as Case))).toThrow(ShapeError);
      expect(() => hogFeature(image(e as Case))).toThrow(/does not fit the .* cell histogram/);
    }
  });

  test('reads strided views: an NCHW batch transposed to NHWC gives the same features', () => {
    const chw = new Uint8Array(5 * 3072);
    cifar.forEach((c, n) => {
      for (let r = 0; r < 32; r++) for (let col = 0; col < 32; col++) for (let ch = 0; ch < 3; ch++) {
        chw[n * 3072 + ch * 1024 + r * 32 + col] = c.pixels[(r * 32 + col) * 3 + ch];
      }
    });
    const nhwc = transpose(fromData(chw, [5, 3, 32, 32]), [0, 2, 3, 1]);
    for (let n = 0; n < 5; n++) expect(Array.from(hogFeature(nhwc.pick(n)).data)).toEqual(Array.from(hogFeature(cifar[n].im).data));
  });

  test('rejects non-images', () => {
    expect(() => hogFeature(fromData(new Uint8Array(8), [2, 2, 2, 1]))).toThrow(/im: expected an image of shape \(H, W\) or \(H, W, C\), got \(2, 2, 2, 1\)/);
    expect(() => hogFeature([1, 2, 3] as never)).toThrow(/im: expected an image ndarray.*plain Array/);
  });
});

describe('colorHistogramHsv', () => {
  test('matches the numpy starter on 5 CIFAR images (10 fractions summing to 1)', () => {
    for (const [k, c] of cifar.entries()) {
      const h = colorHistogramHsv(c.im);
      expect(h.shape).toEqual([10]);
      expectClose(h.data, c.hist, `cifar ${k} hist`);
      expect(toArray(h).reduce((s, v) => s + v, 0)).toBeCloseTo(1, 12);
    }
  });

  test.each(expected.histVariants.map((v) => [JSON.stringify(v.opts), v] as const))('options %s', (_s, v) => {
    expectClose(colorHistogramHsv(cifar[v.image].im, v.opts).data, v.expected, JSON.stringify(v.opts));
  });

  const edges = expected.edge.filter((e) => 'hist' in e && e.hist);
  test.each(edges.map((e) => [e.name, e] as const))('edge case %s', (_name, e) => {
    expectClose(colorHistogramHsv(image(e as Case)).data, (e as { hist: number[] }).hist, `${e.name} hist`);
  });

  test('hue: matplotlib tie order and wrap-around', () => {
    expect(hueOf(0.5, 0.5, 0.5)).toBe(0);
    expect(hueOf(0, 0, 0)).toBe(0);
    expect(hueOf(1, 0, 0)).toBe(0);
    expect(hueOf(0, 1, 0)).toBe(2 / 6);
    expect(hueOf(0, 0, 1)).toBe(4 / 6);
    // red and blue tie at the max: the blue formula overwrites, 4 + (r − g)/delta = 5 → 5/6.
    expect(hueOf(1, 0, 1)).toBe(5 / 6);
    // red max with g < b: negative sextant, wrapped by Python's float modulo to just below 1.
    expect(hueOf(1, 0, 1 / 255)).toBe(((-1 / 255) / 6) % 1 + 1);
    expect(Object.is(hueOf(1, 0.5, 0.5), 0)).toBe(true);
  });

  test('bad input', () => {
    expect(() => colorHistogramHsv(fromData(new Uint8Array(16), [2, 2, 4]))).toThrow(/im: expected an RGB image of shape \(H, W, 3\), got \(2, 2, 4\)/);
    expect(() => colorHistogramHsv(fromData(Float64Array.from([0, 0, 256]), [1, 1, 3]))).toThrow(/im\[0, 0\]: expected pixel values in \[0, xmax=255\], got \(0, 0, 256\)/);
    expect(() => colorHistogramHsv(cifar[0].im, { nbin: 0 })).toThrow(/nbin: expected a positive integer, got 0/);
    expect(() => colorHistogramHsv(cifar[0].im, { xmin: 300 })).toThrow(/xmin: expected a value below xmax=255, got 300/);
  });

  test('property: normalised histograms are fractions of the pixel count summing to 1', () => {
    fc.assert(
      fc.property(fc.integer({ min: 1, max: 6 }), fc.integer({ min: 1, max: 6 }), fc.integer({ min: 1, max: 15 }), fc.uint8Array({ minLength: 108, maxLength: 108 }),
        (H, W, nbin, px) => {
          const im = fromData(px.slice(0, H * W * 3), [H, W, 3]);
          const h = toArray(colorHistogramHsv(im, { nbin }));
          expect(h.reduce((s, v) => s + v, 0)).toBeCloseTo(1, 12);
          for (const v of h) expect(Math.abs(v * H * W - Math.round(v * H * W))).toBeLessThan(1e-9);
        }),
      { numRuns: 100 },
    );
  });
});

describe('uniformFilter', () => {
  test.each(expected.uniform.map((u) => [JSON.stringify(u.shape), JSON.stringify(u.size), u] as const))(
    'shape %s size %s equals scipy.ndimage.uniform_filter (reflect)', (_s, _z, u) => {
      const a = fromData(Float64Array.from(u.input), u.shape);
      const out = uniformFilter(a, u.size as number | [number, number]);
      expect(out.shape).toEqual(u.shape);
      expectClose(out.data, u.output, `uniform ${JSON.stringify(u.shape)}`, 1e-12);
    });

  test('does not modify its input and rejects bad sizes', () => {
    const a = array([[1, 2], [3, 4]]);
    uniformFilter(a, 3);
    expect(toArray(a)).toEqual([1, 2, 3, 4]);
    expect(() => uniformFilter(a, 0)).toThrow(/size: expected a positive integer or a pair of them, got 0/);
  });
});

describe('extractFeatures', () => {
  const batch = fromData(Uint8Array.from(cifar.flatMap((c) => c.pixels)), [5, 32, 32, 3]);
  const fns: FeatureFn[] = [hogFeature, (im) => colorHistogramHsv(im, { nbin: 10 })];

  test('5 CIFAR images → (5, 154) equal to the numpy features; 155 with the bias column', () => {
    const X = extractFeatures(batch, fns);
    expect(X.shape).toEqual([5, 154]);
    expect(X.data).toBeInstanceOf(Float64Array);
    expectClose(X.data, expected.features5.flat(), 'features5');
    const Xb = appendBias(X);
    expect(Xb.shape).toEqual([5, 155]);
    for (let i = 0; i < 5; i++) {
      expect(Xb.get(i, 154)).toBe(1);
      expect(Xb.get(i, 7)).toBe(X.get(i, 7));
    }
  });

  test('0 images → an empty (0, 154) array (the width is found by running the functions on a zero image)', () => {
    const empty = fromData(new Uint8Array(0), [0, 32, 32, 3]);
    const X = extractFeatures(empty, fns);
    expect(X.shape).toEqual([0, 154]);
    expect(X.data.length).toBe(0);
    expect(appendBias(X).shape).toEqual([0, 155]);
  });

  test('each function sees one squeezed image view; verbose prints every 1000 images', () => {
    const shapes: string[] = [];
    const fn: FeatureFn = (im) => {
      shapes.push(JSON.stringify(im.shape));
      return array([im.get(0, 0), im.get(1, 1)]);
    };
    const imgs = fromData(Float64Array.from({ length: 1001 * 4 }, (_, i) => i), [1001, 2, 2, 1]);
    const log = jest.spyOn(console, 'log').mockImplementation(() => undefined);
    try {
      const X = extractFeatures(imgs, [fn], { verbose: true, progress: false });
      expect(X.shape).toEqual([1001, 2]);
      expect(X.get(1000, 0)).toBe(4000);
      expect(X.get(1000, 1)).toBe(4003);
      expect(log.mock.calls).toEqual([['Done extracting features for 1000 / 1001 images']]);
    } finally {
      log.mockRestore();
    }
    expect(new Set(shapes)).toEqual(new Set(['[2,2]']));
  });

  test('bad feature functions and inputs are reported', () => {
    const twoD: FeatureFn = () => fromData(new Float64Array(4), [2, 2]);
    expect(() => extractFeatures(batch, [hogFeature, twoD])).toThrow(/feature function 1: expected a 1-d feature vector, got shape \(2, 2\)/);
    let n = 0;
    const varying: FeatureFn = () => fromData(new Float64Array(++n), [n]);
    expect(() => extractFeatures(batch, [varying])).toThrow(/feature function 0: returned 1 values for image 0 but shape \(2,\) for image 1/);
    expect(() => extractFeatures(fromData(new Uint8Array(3), [3]), fns)).toThrow(/imgs: expected a batch of images/);
    expect(() => extractFeatures(batch, [])).toThrow(/fns: expected a non-empty array/);
  });
});

describe('feature preprocessing', () => {
  const train = array([[1, 10, 5], [3, 10, 7], [8, 10, 0], [4, 10, 4]]);
  const val = array([[2, 11, 1], [0, 9, 9]]);

  test('mean/std fitted on train (population std) and applied to train and val', () => {
    const stats = fitFeatureStats(train);
    expect(toArray(stats.mean)).toEqual([4, 10, 4]);
    expect(stats.std.get(0)).toBeCloseTo(Math.sqrt((9 + 1 + 16 + 0) / 4), 14);
    expect(stats.std.get(1)).toBe(0);
    const { train: t, others: [v] } = normalizeFeatures(train, val);
    expect(t.get(2, 0)).toBeCloseTo(4 / Math.sqrt(6.5), 14);
    expect(v.get(0, 0)).toBeCloseTo(-2 / Math.sqrt(6.5), 14);
    // A constant feature is centred but not divided by its zero std.
    expect(t.get(0, 1)).toBe(0);
    expect(v.get(0, 1)).toBe(1);
    const col0 = [0, 1, 2, 3].map((i) => t.get(i, 0));
    expect(col0.reduce((s, x) => s + x, 0)).toBeCloseTo(0, 12);
    expect(col0.reduce((s, x) => s + x * x, 0) / 4).toBeCloseTo(1, 12);
  });

  test('shape mismatches are reported', () => {
    const stats = fitFeatureStats(train);
    expect(() => applyFeatureStats(array([[1, 2]]), stats)).toThrow(/X: expected shape \(any, F=3\), got \(1, 2\)/);
    expect(() => fitFeatureStats(fromData(new Float64Array(0), [0, 3]))).toThrow(/X: expected at least one row/);
  });

  test('features of 5 images: 154 values per image, 155 after normalising and adding the bias', () => {
    const X = extractFeatures(fromData(Uint8Array.from(cifar.flatMap((c) => c.pixels)), [5, 32, 32, 3]), [hogFeature, (im) => colorHistogramHsv(im)]);
    const { train: Xn } = normalizeFeatures(X);
    expect(Xn.shape).toEqual([5, 154]);
    expect(appendBias(Xn).shape).toEqual([5, 155]);
    expect(Array.from(Xn.data).every((v) => Number.isFinite(v))).toBe(true);
  });
});
