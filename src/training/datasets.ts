import type { DatasetName, ImageDataset } from '../data/dataset';
import { loadEmbeddedMnist } from '../data/mnistEmbedded';
import { DATASET_NAMES, findDatasetLocations, loadDataset, type ResolveOptions } from '../data/resolve';
import { compose, normalize, pad, randomCrop, randomHorizontalFlip, repeatChannels, type Transform } from './transforms';

/** A dataset chosen for training, and one line saying which copy and why. */
export interface TrainingData {
  name: DatasetName;
  dataset: ImageDataset;
  description: string;
}

/**
 * Per-channel mean and std of the training images after /255: kuangliu's CIFAR-10 values (the
 * recipe the CIFAR re-implementations use), Fashion-MNIST's and MNIST's measured ones.
 */
export const DATASET_STATS: Readonly<Record<DatasetName, { mean: number[]; std: number[] }>> = {
  cifar10: { mean: [0.4914, 0.4822, 0.4465], std: [0.2023, 0.1994, 0.201] },
  'fashion-mnist': { mean: [0.2860406], std: [0.3530242] },
  mnist: { mean: [0.1307], std: [0.3081] },
};

/** Checks a `--dataset` value. */
export function datasetName(v: unknown, flag = '--dataset'): DatasetName {
  if (typeof v !== 'string' || !(DATASET_NAMES as readonly string[]).includes(v)) {
    throw new RangeError(`${flag}: expected one of ${DATASET_NAMES.join(', ')}, got ${JSON.stringify(v)}`);
  }
  return v as DatasetName;
}

/**
 * Loads `name` for training: the first copy in the search order (`data` is searched first and
 * must then hold it); CIFAR-10 prefers a full copy to a subset (such as the mini CIFAR); MNIST
 * falls back to the embedded 10,000 digits. A dataset that is not found is an error naming
 * `--dataset` (or `--data`) and how to get it.
 */
export function loadTrainingData(name: DatasetName, opts: { data?: string; resolve?: Omit<ResolveOptions, 'path'> } = {}): TrainingData {
  const ro: ResolveOptions = { ...opts.resolve, path: opts.data };
  let locs = findDatasetLocations(name, ro);
  if (opts.data) {
    const given = locs.filter((l) => l.origin === 'path');
    if (!given.length) throw new Error(`--data: ${opts.data} holds no ${name} dataset (for --dataset ${name})`);
    locs = given;
  }
  // CIFAR-10: a full copy anywhere in the order beats a subset (such as the mini CIFAR) before it.
  let loc = locs[0] ?? null;
  let ds: ImageDataset | null = null;
  for (const l of name === 'cifar10' ? locs : locs.slice(0, 1)) {
    const d = loadDataset(l);
    if (!ds) [ds, loc] = [d, l];
    if (d.Xtr.shape[0] === 50000) {
      [ds, loc] = [d, l];
      break;
    }
  }
  if (!loc || !ds) {
    if (name === 'mnist') {
      const e = loadEmbeddedMnist();
      return { name, dataset: e, description: `MNIST: the embedded digits (${e.Xtr.shape[0]} train / ${e.Xte.shape[0]} test, ${e.source}); no MNIST files found` };
    }
    const how = name === 'cifar10' ? 'run `cs231n data download cifar10` or give --data DIR' : 'run `cs231n data download fashion-mnist`, `apt-get install dataset-fashion-mnist`, or give --data DIR';
    throw new Error(`--dataset ${name}: not found in the search path; ${how}`);
  }
  const full = name !== 'cifar10' || ds.Xtr.shape[0] === 50000;
  return { name, dataset: ds, description: `${ds.name} (${ds.Xtr.shape[0]} train / ${ds.Xte.shape[0]} test${full ? '' : ', a subset'}) from ${loc.dir}` };
}

/** How a dataset's images are fed to a model: the transforms before augmentation, and what they do in words. */
export interface InputAdapter {
  /** The model's input (C, H, W). */
  input: [number, number, number];
  /** Fresh padding / channel-repetition transforms (possibly none); each call makes new ones, so loaders do not share buffers. */
  transforms: () => Transform[];
  /** One line per change, for the run's output (empty when the images go in as they are). */
  notes: string[];
}

/**
 * Fits images of (C, H, W) `data` to a model that expects `model` (its registry input): 28×28
 * images go to 32×32 models zero-padded by 2 on each side; one-channel images go to
 * three-channel models with the channel repeated; ImageNet models (input ≥ 64) take the images
 * at their own size (their global average pool allows it). Anything else — more channels than
 * the model has, images larger than a small model's input — is an error naming both shapes.
 */
export function inputAdapter(data: readonly number[], model: readonly number[], modelName: string): InputAdapter {
  const [c, h, w] = data;
  const [mc, mh, mw] = model;
  const steps: Array<() => Transform> = [];
  const notes: string[] = [];
  const bad = (): never => {
    throw new RangeError(`--model ${modelName}: takes ${mc}×${mh}×${mw} images, --dataset gives ${c}×${h}×${w}; choose a model sized for this dataset`);
  };
  let outH = h;
  let outW = w;
  if (mh >= 64 && mw >= 64) {
    notes.push(`${modelName} is an ImageNet model (${mh}×${mw}); the ${h}×${w} images go in at their own size (global average pooling)`);
  } else if (h === mh && w === mw) {
    // as they are
  } else if (h === 28 && w === 28 && mh === 32 && mw === 32) {
    steps.push(() => pad(2));
    outH = 32;
    outW = 32;
    notes.push(`28×28 images zero-padded to 32×32 for the CIFAR-sized ${modelName}`);
  } else bad();
  if (c === mc) {
    // as they are
  } else if (c === 1 && mc === 3) {
    steps.push(() => repeatChannels(3));
    notes.push(`one-channel images repeated into the 3 channels ${modelName} takes`);
  } else bad();
  return { input: [mc, outH, outW], transforms: () => steps.map((f) => f()), notes };
}

/** The `--augment` choices. */
export const AUGMENTS = ['none', 'crop-flip'] as const;
/** One `--augment` choice. */
export type Augment = (typeof AUGMENTS)[number];

/**
 * The training and test transforms of a run: the adapter's, then (training only, `crop-flip`)
 * `randomCrop(size, size / 8)` and `randomHorizontalFlip()` as the kuangliu recipe, then
 * `normalize` with the dataset's statistics (repeated over repeated channels).
 */
export function runTransforms(name: DatasetName, adapter: InputAdapter, augment: Augment): { train: Transform; test: Transform } {
  const { mean, std } = DATASET_STATS[name];
  const C = adapter.input[0];
  const norm = normalize(mean.length === C ? mean : Array(C).fill(mean[0]), std.length === C ? std : Array(C).fill(std[0]));
  const aug: Transform[] = augment === 'crop-flip' ? [randomCrop(adapter.input[1], Math.round(adapter.input[1] / 8)), randomHorizontalFlip()] : [];
  return { train: compose([...adapter.transforms(), ...aug, norm]), test: compose([...adapter.transforms(), norm]) };
}
