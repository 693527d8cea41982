import ndarray from 'ndarray';
import { RandomState } from '../src/core/random';
import type { ImageDataset } from '../src/data/dataset';
import { compose, DataLoader, normalize, randomCrop, randomHorizontalFlip, type Transform } from '../src/training';
import fixture from './fixtures/training/transforms.json';

const images = ndarray(Uint8Array.from(fixture.images), fixture.shape);
const labels = ndarray(Int32Array.from(fixture.labels), [fixture.labels.length]);

describe('DataLoader and transforms equal the numpy re-implementation exactly', () => {
  test.each(fixture.cases.map((c) => [c.name, c] as const))('%s', (_n, c) => {
    const ts: Transform[] = [];
    if (c.crop) ts.push(randomCrop(c.crop[0], c.crop[1]));
    if (c.flip_p !== null) ts.push(randomHorizontalFlip(c.flip_p));
    if (c.mean) ts.push(normalize(c.mean, c.std!));
    const loader = new DataLoader(images, labels, {
      batchSize: c.batch_size, shuffle: c.shuffle, dropLast: c.drop_last, seed: c.seed,
      dtype: c.dtype as 'float32' | 'float64', transform: ts.length ? compose(ts) : undefined,
    });
    const got: Array<{ indices: number[]; y: number[]; shape: number[]; x: number[] }> = [];
    for (let e = 0; e < c.epochs; e++) {
      for (const b of loader) {
        expect(b.x.data).toBeInstanceOf(c.dtype === 'float32' ? Float32Array : Float64Array);
        got.push({ indices: Array.from(b.indices), y: Array.from(b.y.data), shape: b.x.shape.slice(), x: Array.from(b.x.data) });
      }
    }
    expect(got.length).toBe(c.batches.length);
    got.forEach((g, k) => {
      expect(g.indices).toEqual(c.batches[k].indices);
      expect(g.y).toEqual(c.batches[k].y);
      expect(g.shape).toEqual(c.batches[k].shape);
      expect(g.x).toEqual(c.batches[k].x); // bit for bit
    });
  });
});

describe('DataLoader', () => {
  test('batch counts with and without dropLast; every row once per epoch', () => {
    const a = new DataLoader(images, labels, { batchSize: 3, shuffle: true, seed: 1 });
    const b = new DataLoader(images, labels, { batchSize: 3, dropLast: true });
    expect([a.length, b.length]).toEqual([3, 2]);
    const rows = [...a].flatMap((x) => Array.from(x.indices));
    expect(rows.slice().sort((p, q) => p - q)).toEqual([0, 1, 2, 3, 4, 5, 6]);
    expect([...b].map((x) => x.x.shape[0])).toEqual([3, 3]);
  });

  test('restoring the generator state between epochs replays the next epoch exactly', () => {
    const t = compose([randomCrop(4, 1), randomHorizontalFlip()]);
    const a = new DataLoader(images, labels, { batchSize: 2, shuffle: true, seed: 9, transform: t, dtype: 'float64' });
    [...a];
    const saved = a.rng.getState();
    const next = [...a].map((b) => Array.from(b.x.data));
    const b = new DataLoader(images, labels, { batchSize: 2, shuffle: true, rng: new RandomState(), transform: t, dtype: 'float64' });
    b.rng.setState(saved);
    expect([...b].map((x) => Array.from(x.x.data))).toEqual(next);
  });

  test('fromDataset reads the split; bad input is refused with the argument named', () => {
    const ds: ImageDataset = { name: 't', Xtr: images, ytr: labels, Xte: images, yte: labels, classNames: [], shape: 'HWC', source: 'test' };
    expect(DataLoader.fromDataset(ds, 'test', { batchSize: 7 }).length).toBe(1);
    expect(() => DataLoader.fromDataset(ds, 'val' as 'test', { batchSize: 7 })).toThrow(/split: expected 'train' or 'test', got "val"/);
    expect(() => new DataLoader(images, labels, { batchSize: 0 })).toThrow(/batchSize: expected a positive integer, got 0/);
    expect(() => new DataLoader(ndarray(new Float64Array(4), [1, 2, 2, 1]) as never, labels, { batchSize: 1 })).toThrow(/images: expected uint8 images of shape \(N, H, W, C\)/);
    expect(() => new DataLoader(images, ndarray(new Int32Array(3), [3]), { batchSize: 1 })).toThrow(/labels: expected Int32 labels of shape \(7,\), got \(3,\)/);
  });

  test('randomCrop pads with zeros: a crop shifted fully into the padding is zero there', () => {
    const x = ndarray(new Float64Array(2 * 3 * 3).fill(1), [1, 2, 3, 3]);
    // Find a seed whose first draws are top = 0, left = 0 (the top-left corner of the padded image).
    let seed = 0;
    for (;; seed++) {
      const r = new RandomState(seed);
      if (r.randint(0, 5) === 0 && r.randint(0, 5) === 0) break;
    }
    const out = randomCrop(3, 2)(x, new RandomState(seed));
    // Rows 0–1 and columns 0–1 come from the padding; only (2, 2) is the image's pixel (0, 0).
    expect(Array.from(out.data.subarray(0, 9))).toEqual([0, 0, 0, 0, 0, 0, 0, 0, 1]);
  });

  test('transform arguments are checked', () => {
    expect(() => randomCrop(0)).toThrow(/randomCrop: size: expected a positive integer, got 0/);
    expect(() => randomCrop(3, -1)).toThrow(/padding: expected an integer >= 0, got -1/);
    expect(() => randomHorizontalFlip(2)).toThrow(/p: expected a probability in \[0, 1\], got 2/);
    expect(() => normalize([0.5], [0])).toThrow(/std: expected 1 positive numbers/);
    const x = ndarray(new Float64Array(2 * 4), [1, 2, 2, 2]);
    expect(() => normalize([0.5], [0.2])(x, new RandomState(0))).toThrow(/mean: expected 2 values for a batch of 2 channels, got 1/);
    expect(() => randomCrop(5)(x, new RandomState(0))).toThrow(/size: expected at most the padded image size 2×2, got 5/);
  });
});
