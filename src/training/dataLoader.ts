import ndarray from 'ndarray';
import { shapeStr } from '../core/check';
import { arrayCtor, type DType } from '../core/dtype';
import { RandomState } from '../core/random';
import { isContiguous, type ByteTensor, type IntTensor, type Tensor } from '../core/tensor';
import type { ImageDataset } from '../data/dataset';
import type { Transform } from './transforms';

/** Options of {@link DataLoader}. */
export interface DataLoaderOptions {
  /** Samples per batch. */
  batchSize: number;
  /** Draw a new order every epoch (`rng.permutation(N)`). Default false. */
  shuffle?: boolean;
  /** Drop the last, smaller batch. Default false. */
  dropLast?: boolean;
  /** The generator for the order and the transforms; default `new RandomState(seed ?? 0)`. */
  rng?: RandomState;
  /** Seed of the default generator. Default 0. */
  seed?: number;
  /** Float type of the batches. Default 'float32'. */
  dtype?: DType;
  /** Applied to each float batch, after scaling to [0, 1]. */
  transform?: Transform;
}

/** One batch: images (B, C, H, W) scaled to [0, 1] then transformed, labels (B), and the dataset rows they came from. */
export interface Batch {
  x: Tensor;
  y: IntTensor;
  indices: Int32Array;
}

/**
 * Batches over uint8 images (N, H, W, C) — the package's {@link ImageDataset} layout — as
 * float (B, C, H, W), the layout the conv layers take. Each epoch (one `for … of` over the
 * loader) draws its order from the loader's `rng` (when shuffling) before its first batch,
 * then for every batch gathers the rows, converts uint8 → float (`v / 255`) once into a
 * buffer the loader reuses, and runs the transform, whose draws follow the order draw.
 * Because the generator is the only source of randomness, saving `rng.getState()` between
 * epochs and restoring it reproduces the following epochs exactly.
 *
 * The arrays of a batch are reused by the next batch: copy what must outlive it.
 */
export class DataLoader implements Iterable<Batch> {
  readonly rng: RandomState;
  readonly batchSize: number;
  readonly shuffle: boolean;
  readonly dropLast: boolean;
  readonly dtype: DType;
  readonly transform: Transform | undefined;
  private readonly N: number;
  private readonly H: number;
  private readonly W: number;
  private readonly C: number;
  private xBuf: Tensor | null = null;
  private readonly yBuf: Int32Array;
  /** `v / 255` for every byte, in double (rounded to float32 on store, as a float32 division would be). */
  private readonly scale = Float64Array.from({ length: 256 }, (_, v) => v / 255);

  constructor(readonly images: ByteTensor, readonly labels: IntTensor, opts: DataLoaderOptions) {
    if (!images || !(images.data instanceof Uint8Array) || images.shape.length !== 4) {
      throw new RangeError(`DataLoader: images: expected uint8 images of shape (N, H, W, C), got ${images && images.shape ? `${images.data?.constructor?.name} ${shapeStr(images.shape)}` : String(images)}`);
    }
    if (!isContiguous(images)) throw new RangeError(`DataLoader: images: expected a dense (N, H, W, C) array, got a strided view of shape ${shapeStr(images.shape)}`);
    const [N, H, W, C] = images.shape;
    if (!labels || !(labels.data instanceof Int32Array) || labels.shape.length !== 1 || labels.shape[0] !== N) {
      throw new RangeError(`DataLoader: labels: expected Int32 labels of shape (${N},), got ${labels && labels.shape ? shapeStr(labels.shape) : String(labels)}`);
    }
    if (!Number.isInteger(opts.batchSize) || opts.batchSize <= 0) throw new RangeError(`DataLoader: batchSize: expected a positive integer, got ${opts.batchSize}`);
    if (opts.dtype !== undefined && opts.dtype !== 'float32' && opts.dtype !== 'float64') throw new RangeError(`DataLoader: dtype: expected 'float32' or 'float64', got ${JSON.stringify(opts.dtype)}`);
    this.N = N;
    this.H = H;
    this.W = W;
    this.C = C;
    this.batchSize = opts.batchSize;
    this.shuffle = opts.shuffle ?? false;
    this.dropLast = opts.dropLast ?? false;
    this.dtype = opts.dtype ?? 'float32';
    this.transform = opts.transform;
    this.rng = opts.rng ?? new RandomState(opts.seed ?? 0);
    this.yBuf = new Int32Array(this.batchSize);
  }

  /** A loader over one split of a dataset. */
  static fromDataset(ds: ImageDataset, split: 'train' | 'test', opts: DataLoaderOptions): DataLoader {
    if (split !== 'train' && split !== 'test') throw new RangeError(`DataLoader.fromDataset: split: expected 'train' or 'test', got ${JSON.stringify(split)}`);
    return split === 'train' ? new DataLoader(ds.Xtr, ds.ytr, opts) : new DataLoader(ds.Xte, ds.yte, opts);
  }

  /** Number of samples. */
  get size(): number {
    return this.N;
  }

  /** Batches per epoch. */
  get length(): number {
    return this.dropLast ? Math.floor(this.N / this.batchSize) : Math.ceil(this.N / this.batchSize);
  }

  /** One epoch of batches. */
  *[Symbol.iterator](): Iterator<Batch> {
    const order = this.shuffle ? (this.rng.permutation(this.N).data as Int32Array) : Int32Array.from({ length: this.N }, (_, i) => i);
    const B = this.batchSize;
    for (let k = 0; k < this.length; k++) {
      const idx = order.subarray(k * B, Math.min(this.N, (k + 1) * B));
      yield this.batch(idx);
    }
  }

  /** The batch of the given dataset rows (scaled, transformed), in the loader's reused buffers. */
  batch(indices: Int32Array): Batch {
    const { H, W, C } = this;
    const b = indices.length;
    const chw = C * H * W;
    if (this.xBuf === null || this.xBuf.data.length < b * chw) this.xBuf = ndarray(new (arrayCtor(this.dtype))(Math.max(b, this.batchSize) * chw), [Math.max(b, this.batchSize), C, H, W]);
    const dst = this.xBuf.data;
    const src = this.images.data;
    const labels = this.labels.data;
    const y = b <= this.yBuf.length ? this.yBuf.subarray(0, b) : new Int32Array(b);
    const hw = H * W;
    const scale = this.scale;
    for (let n = 0; n < b; n++) {
      const row = indices[n];
      if (!(row >= 0 && row < this.N)) throw new RangeError(`DataLoader.batch: indices[${n}]: expected a row in [0, ${this.N}), got ${row}`);
      y[n] = labels[row];
      const s = row * chw;
      const d = n * chw;
      // HWC → CHW while scaling: one pass over the batch, the division looked up.
      for (let c = 0; c < C; c++) {
        const o = d + c * hw;
        for (let p = 0, q = s + c; p < hw; p++, q += C) dst[o + p] = scale[src[q]];
      }
    }
    let x: Tensor = ndarray(dst.subarray(0, b * chw), [b, C, H, W]);
    if (this.transform) x = this.transform(x, this.rng);
    return { x, y: ndarray(y, [b]), indices };
  }
}
