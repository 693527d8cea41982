import type { IntTensor, Tensor64 } from '../../src/core/tensor';
import { planCifarSplit, type Cifar10Split } from '../../src/data/cifarSplits';
import type { ImageDataset } from '../../src/data/dataset';
import { flattenRows, imageShape, meanImage, takeLabels } from './images';

/*
 * two_layer_net.ipynb's data cell (`get_CIFAR10_data` then a reshape to rows): training,
 * validation and test rows as float64, flattened in HWC order, with the training mean image
 * subtracted and no bias column (the net has its own biases).
 */

/** Requested split sizes (clamped to the data by planCifarSplit's rule). */
export interface NetSplitRequest {
  numTraining: number;
  numValidation: number;
  numTest: number;
}

/** The notebook's 49000 / 1000 / 1000. */
export const NET_NOTEBOOK_SPLIT: NetSplitRequest = { numTraining: 49000, numValidation: 1000, numTest: 1000 };

/** The --quick subset. */
export const NET_QUICK_SPLIT: NetSplitRequest = { numTraining: 2000, numValidation: 500, numTest: 500 };

/** Mean-subtracted rows of the three splits. */
export interface NetData {
  XTrain: Tensor64;
  yTrain: IntTensor;
  XVal: Tensor64;
  yVal: IntTensor;
  XTest: Tensor64;
  yTest: IntTensor;
  /** (H, W, C) of one image. */
  imageShape: [number, number, number];
  split: Cifar10Split;
}

/** Splits `ds` as the notebook does and flattens every split (training mean subtracted). */
export function prepareNetData(ds: ImageDataset, req: NetSplitRequest): NetData {
  const split = planCifarSplit(ds.Xtr.shape[0], ds.Xte.shape[0], req);
  const { numTraining, numValidation, numTest } = split;
  const mean = meanImage(ds.Xtr, numTraining);
  const train = { start: 0, end: numTraining };
  const val = { start: numTraining, end: numTraining + numValidation };
  const test = { start: 0, end: numTest };
  return {
    XTrain: flattenRows(ds.Xtr, train, { mean }),
    yTrain: takeLabels(ds.ytr, train),
    XVal: flattenRows(ds.Xtr, val, { mean }),
    yVal: takeLabels(ds.ytr, val),
    XTest: flattenRows(ds.Xte, test, { mean }),
    yTest: takeLabels(ds.yte, test),
    imageShape: imageShape(ds.Xtr),
    split,
  };
}
