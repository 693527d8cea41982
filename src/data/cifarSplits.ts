import ndarray from 'ndarray';
import type { DType } from '../core/dtype';
import { allocFloat } from '../core/dtype';
import type { ByteTensor, IntTensor, Tensor } from '../core/tensor';
import { assertArg } from '../core/check';
import { loadCifar10, type Cifar10 } from './cifar';
import { resolveDataset } from './resolve';

/** Options of {@link getCifar10Data}; defaults are cs231n's `get_CIFAR10_data`. */
export interface Cifar10DataOptions {
  /** Directory holding CIFAR-10 (either layout); default: the first found by {@link resolveDataset}. */
  root?: string;
  /** Already loaded data (skips reading `root`). */
  data?: Cifar10;
  numTraining?: number;
  numValidation?: number;
  numTest?: number;
  subtractMean?: boolean;
  dtype?: DType;
  /** NCHW (cs231n's transpose(0,3,1,2)) when true, else NHWC. */
  channelsFirst?: boolean;
}

/** What {@link getCifar10Data} actually took, after clamping to the data that exists. */
export interface Cifar10Split {
  numTraining: number;
  numValidation: number;
  numTest: number;
  /** True when the request did not fit and was reduced. */
  clamped: boolean;
  /** One line saying what was taken (and why, when clamped). */
  note: string;
}

/** cs231n's `get_CIFAR10_data` dict, camelCased, plus the mean image and class names. */
export interface Cifar10Data {
  XTrain: Tensor;
  yTrain: IntTensor;
  XVal: Tensor;
  yVal: IntTensor;
  XTest: Tensor;
  yTest: IntTensor;
  /** Mean of the training rows (always computed; subtracted only with `subtractMean`), laid out like one image of X. */
  meanImage: Tensor;
  classNames: string[];
  split: Cifar10Split;
}

/**
 * How many rows go to training, validation and test. cs231n takes train = rows
 * `[0, numTraining)`, val = rows `[numTraining, numTraining + numValidation)` of the training
 * batches and test = the first `numTest` test rows. When the training batches are too small
 * for that (e.g. the 4660-image `cifar-10-mini`), validation shrinks to at most a tenth of the
 * rows that exist and training takes at most the rest, so val still comes right after train
 * and the two never overlap: 49000/1000 on 4660 rows → train 4194 (rows 0..4193), val 466
 * (rows 4194..4659). Test is clamped to the test rows that exist.
 */
export function planCifarSplit(
  numTrainRows: number,
  numTestRows: number,
  req: { numTraining: number; numValidation: number; numTest: number },
): Cifar10Split {
  let { numTraining, numValidation, numTest } = req;
  let clamped = false;
  const why: string[] = [];
  if (numTraining + numValidation > numTrainRows) {
    clamped = true;
    numValidation = Math.min(numValidation, Math.floor(numTrainRows / 10));
    numTraining = Math.min(numTraining, numTrainRows - numValidation);
    why.push(`requested ${req.numTraining}+${req.numValidation} train+val rows but only ${numTrainRows} exist`);
  }
  if (numTest > numTestRows) {
    clamped = true;
    numTest = numTestRows;
    why.push(`requested ${req.numTest} test rows but only ${numTestRows} exist`);
  }
  const note =
    `train rows [0, ${numTraining}), val rows [${numTraining}, ${numTraining + numValidation}), test rows [0, ${numTest})` +
    (clamped ? ` (clamped: ${why.join('; ')})` : '');
  return { numTraining, numValidation, numTest, clamped, note };
}

/** Per-pixel mean of rows [0, n) of uint8 HWC images, as float64 (sums of bytes are exact). */
function meanOfRows(X: ByteTensor, n: number): Float64Array {
  const d = X.shape[1] * X.shape[2] * X.shape[3];
  const acc = new Float64Array(d);
  const src = X.data;
  for (let i = 0; i < n; i++) {
    const base = X.offset + i * d;
    for (let k = 0; k < d; k++) acc[k] += src[base + k];
  }
  if (n > 0) for (let k = 0; k < d; k++) acc[k] /= n;
  return acc;
}

/** Rows [start, end) of uint8 HWC images → float, minus `mean` (HWC), optionally transposed to CHW. */
function toFloatRows(X: ByteTensor, start: number, end: number, mean: Float64Array | null, dtype: DType, chw: boolean): Tensor {
  const [, H, W, C] = X.shape;
  const d = H * W * C;
  const n = end - start;
  const out = allocFloat(dtype, n * d);
  const src = X.data;
  const hw = H * W;
  const m = mean ?? new Float64Array(d);
  for (let i = 0; i < n; i++) {
    const s = X.offset + (start + i) * d;
    const o = i * d;
    if (chw) {
      // One output plane at a time: sequential writes, strided reads of the HWC source.
      for (let c = 0; c < C; c++) {
        const ob = o + c * hw;
        for (let p = 0, k = c; p < hw; p++, k += C) out[ob + p] = src[s + k] - m[k];
      }
    } else {
      for (let k = 0; k < d; k++) out[o + k] = src[s + k] - m[k];
    }
  }
  return ndarray(out, chw ? [n, C, H, W] : [n, H, W, C]);
}

function rows(y: IntTensor, start: number, end: number): IntTensor {
  return ndarray(y.data.slice(y.offset + start, y.offset + end), [end - start]);
}

/**
 * cs231n's `get_CIFAR10_data`: training, validation and test splits as float tensors
 * (default NCHW float64) with the training mean image subtracted, plus Int32 labels.
 * The split follows cs231n exactly when the data is large enough, and is clamped as
 * {@link planCifarSplit} describes when it is not (`split.note` says what was taken).
 */
export function getCifar10Data(opts: Cifar10DataOptions = {}): Cifar10Data {
  const {
    numTraining = 49000,
    numValidation = 1000,
    numTest = 1000,
    subtractMean = true,
    dtype = 'float64',
    channelsFirst = true,
  } = opts;
  for (const [name, v, min] of [['numTraining', numTraining, 1], ['numValidation', numValidation, 0], ['numTest', numTest, 0]] as const) {
    assertArg(Number.isInteger(v) && v >= min, name, `an integer >= ${min}`, v);
  }
  assertArg(dtype === 'float64' || dtype === 'float32', 'dtype', "'float64' or 'float32'", dtype);
  let data = opts.data;
  if (!data) {
    let root = opts.root;
    if (root === undefined) {
      const found = resolveDataset('cifar10');
      if (!found) throw new Error('root: no CIFAR-10 found (pass root, set CS231N_DATA, or run `cs231n data download cifar10`)');
      root = found.dir;
    }
    data = loadCifar10(root);
  }
  const split = planCifarSplit(data.Xtr.shape[0], data.Xte.shape[0], { numTraining, numValidation, numTest });
  const nTr = split.numTraining;
  const nVal = split.numValidation;
  const mean = meanOfRows(data.Xtr, nTr);
  const sub = subtractMean ? mean : null;
  const [, H, W, C] = data.Xtr.shape;
  return {
    XTrain: toFloatRows(data.Xtr, 0, nTr, sub, dtype, channelsFirst),
    yTrain: rows(data.ytr, 0, nTr),
    XVal: toFloatRows(data.Xtr, nTr, nTr + nVal, sub, dtype, channelsFirst),
    yVal: rows(data.ytr, nTr, nTr + nVal),
    XTest: toFloatRows(data.Xte, 0, split.numTest, sub, dtype, channelsFirst),
    yTest: rows(data.yte, 0, split.numTest),
    meanImage: meanAsImage(mean, H, W, C, dtype, channelsFirst),
    classNames: data.classNames.slice(),
    split,
  };
}

/** The HWC float64 mean laid out like one image of X, in the requested dtype. */
function meanAsImage(mean: Float64Array, H: number, W: number, C: number, dtype: DType, chw: boolean): Tensor {
  const out = allocFloat(dtype, mean.length);
  const hw = H * W;
  for (let p = 0; p < hw; p++) for (let c = 0; c < C; c++) out[chw ? c * hw + p : p * C + c] = mean[p * C + c];
  return ndarray(out, chw ? [C, H, W] : [H, W, C]);
}
