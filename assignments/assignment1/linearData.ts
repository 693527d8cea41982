import type { RandomState } from '../../src/core/random';
import type { IntTensor, Tensor64 } from '../../src/core/tensor';
import { planCifarSplit, type Cifar10Split } from '../../src/data/cifarSplits';
import type { ImageDataset } from '../../src/data/dataset';
import { flattenRows, imageShape, meanImage, takeLabels } from './images';

/*
 * The svm/softmax notebooks' preprocessing (svm.ipynb cells 5–7): train / validation / test
 * rows as `get_CIFAR10_data` takes them, a random dev subset of the training rows, rows
 * flattened (HWC), the training mean image subtracted from every split, and a column of ones
 * appended so the bias lives in W (D + 1 rows).
 */

/** How many rows each split should get (clamped to the data by planCifarSplit's rule). */
export interface LinearSplitRequest {
  numTraining: number;
  numValidation: number;
  numTest: number;
  numDev: number;
}

/** The notebook's sizes: 49000 / 1000 / 1000 and a dev set of 500. */
export const NOTEBOOK_SPLIT: LinearSplitRequest = { numTraining: 49000, numValidation: 1000, numTest: 1000, numDev: 500 };

/** The preprocessed splits. Every X is (n, D + 1) float64 with the mean subtracted and a trailing 1. */
export interface LinearData {
  XTrain: Tensor64;
  yTrain: IntTensor;
  XVal: Tensor64;
  yVal: IntTensor;
  XTest: Tensor64;
  yTest: IntTensor;
  XDev: Tensor64;
  yDev: IntTensor;
  /** Training mean image, HWC order, length H·W·C. */
  mean: Float64Array;
  /** (H, W, C) of one image. */
  imageShape: [number, number, number];
  split: Cifar10Split;
  numDev: number;
}

/**
 * Splits and preprocesses `ds`. The dev rows are `rng.choice(numTraining, numDev, false)`,
 * the notebook's `np.random.choice(num_training, num_dev, replace=False)`.
 */
export function prepareLinearData(ds: ImageDataset, req: LinearSplitRequest, rng: RandomState): LinearData {
  const split = planCifarSplit(ds.Xtr.shape[0], ds.Xte.shape[0], req);
  const { numTraining, numValidation, numTest } = split;
  const numDev = Math.min(req.numDev, numTraining);
  const devRows = rng.choice(numTraining, numDev, false).data;
  const train = { start: 0, end: numTraining };
  const val = { start: numTraining, end: numTraining + numValidation };
  const test = { start: 0, end: numTest };
  const mean = meanImage(ds.Xtr, numTraining);
  const prep = { mean, bias: true };
  return {
    XTrain: flattenRows(ds.Xtr, train, prep),
    yTrain: takeLabels(ds.ytr, train),
    XVal: flattenRows(ds.Xtr, val, prep),
    yVal: takeLabels(ds.ytr, val),
    XTest: flattenRows(ds.Xte, test, prep),
    yTest: takeLabels(ds.yte, test),
    XDev: flattenRows(ds.Xtr, devRows, prep),
    yDev: takeLabels(ds.ytr, devRows),
    mean,
    imageShape: imageShape(ds.Xtr),
    split,
    numDev,
  };
}
