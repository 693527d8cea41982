import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { cifarBatchFiles, findCifarDir, loadCifar10 } from './cifar';
import { FASHION_MNIST_CLASSES, MNIST_CLASSES, type DatasetName, type ImageDataset } from './dataset';
import { findIdxFiles, loadMnistLike } from './idx';
import { loadEmbeddedMnist } from './mnistEmbedded';

/** On-disk format of a found dataset. */
export type DatasetKind = 'cifar-py' | 'cifar-bin' | 'idx';

/** Which rule of the search order found a dataset. */
export type DatasetOrigin = 'path' | 'env' | 'cwd' | 'cache' | 'system';

/** A dataset found on disk. */
export interface DatasetLocation {
  name: DatasetName;
  /** The directory holding the data files themselves. */
  dir: string;
  kind: DatasetKind;
  origin: DatasetOrigin;
  /** The search root it was found under. */
  root: string;
}

/** Where to look; every field defaults to the real environment (tests pass their own). */
export interface ResolveOptions {
  /** An explicit directory (`--data`), searched first; it must exist. */
  path?: string;
  /** Environment to read `CS231N_DATA`, `XDG_CACHE_HOME` from (default `process.env`). */
  env?: Record<string, string | undefined>;
  /** Working directory whose `./datasets` is searched (default `process.cwd()`). */
  cwd?: string;
  /** Home directory for `~/.cache` (default `os.homedir()`). */
  home?: string;
  /** Where the Debian package `dataset-fashion-mnist` puts its files; null to skip. */
  systemFashionDir?: string | null;
}

/** Where `dataset-fashion-mnist` installs Fashion-MNIST. */
export const SYSTEM_FASHION_MNIST_DIR = '/usr/share/datasets/fashion-mnist';

/** All dataset names, in the order `data info` lists them. */
export const DATASET_NAMES: readonly DatasetName[] = ['cifar10', 'fashion-mnist', 'mnist'];

/** Human names of the datasets. */
export const DATASET_TITLES: Readonly<Record<DatasetName, string>> = {
  cifar10: 'CIFAR-10',
  mnist: 'MNIST',
  'fashion-mnist': 'Fashion-MNIST',
};

const ORIGIN_TEXT: Record<DatasetOrigin, string> = {
  path: 'given by --data/path',
  env: 'found via $CS231N_DATA',
  cwd: 'found in ./datasets',
  cache: 'found in the user cache',
  system: 'installed by the dataset-fashion-mnist package',
};

/** The per-user download cache: `$XDG_CACHE_HOME/cs231n-ts`, else `~/.cache/cs231n-ts`. */
export function userCacheDir(opts: Pick<ResolveOptions, 'env' | 'home'> = {}): string {
  const env = opts.env ?? process.env;
  const xdg = env.XDG_CACHE_HOME;
  if (xdg && path.isAbsolute(xdg)) return path.join(xdg, 'cs231n-ts');
  return path.join(opts.home ?? os.homedir(), '.cache', 'cs231n-ts');
}

/**
 * The search roots in SPEC §5 order: the explicit path, `$CS231N_DATA`, `./datasets`, the
 * user cache. Missing directories are left out, except an explicit path, which is an error
 * (a mistyped `--data` must not silently fall through to other data).
 */
export function searchRoots(opts: ResolveOptions = {}): Array<{ dir: string; origin: DatasetOrigin }> {
  const env = opts.env ?? process.env;
  const out: Array<{ dir: string; origin: DatasetOrigin }> = [];
  if (opts.path !== undefined) {
    const p = path.resolve(opts.cwd ?? process.cwd(), opts.path);
    if (!isDir(p)) throw new Error(`path: expected an existing directory, got ${opts.path}`);
    out.push({ dir: p, origin: 'path' });
  }
  if (env.CS231N_DATA) out.push({ dir: path.resolve(opts.cwd ?? process.cwd(), env.CS231N_DATA), origin: 'env' });
  out.push({ dir: path.resolve(opts.cwd ?? process.cwd(), 'datasets'), origin: 'cwd' });
  out.push({ dir: userCacheDir(opts), origin: 'cache' });
  return out.filter((r) => isDir(r.dir));
}

function isDir(p: string): boolean {
  try {
    return fs.statSync(p).isDirectory();
  } catch {
    return false;
  }
}

function hasIdxPair(dir: string): boolean {
  return findIdxFiles(dir, 'train') !== null && findIdxFiles(dir, 't10k') !== null;
}

/** Sub-directories (of a root) where each MNIST-format dataset may sit; '' is the root itself. */
const IDX_SUBDIRS: Record<'mnist' | 'fashion-mnist', string[]> = {
  mnist: ['mnist', 'MNIST/raw', 'MNIST'],
  'fashion-mnist': ['fashion-mnist', 'FashionMNIST/raw', 'fashion_mnist', 'fashion'],
};

/**
 * Finds `name` under one root. CIFAR-10: the root itself or its `cifar-10-batches-py|bin`
 * (python preferred). MNIST-format: the sub-directories above; and, for an explicit path
 * only, the root itself — taken as Fashion-MNIST when its path mentions "fashion", else MNIST.
 */
export function locateIn(name: DatasetName, root: string, origin: DatasetOrigin): DatasetLocation | null {
  if (name === 'cifar10') {
    const f = findCifarDir(root);
    if (!f) return null;
    return { name, dir: f.dir, kind: f.layout === 'cifar-10-batches-py' ? 'cifar-py' : 'cifar-bin', origin, root };
  }
  for (const sub of IDX_SUBDIRS[name]) {
    const dir = path.join(root, sub);
    if (hasIdxPair(dir)) return { name, dir, kind: 'idx', origin, root };
  }
  if (origin === 'path' || origin === 'system') {
    const isFashion = /fashion/i.test(root);
    if ((name === 'fashion-mnist') === isFashion && hasIdxPair(root)) return { name, dir: root, kind: 'idx', origin, root };
  }
  return null;
}

/** Every place `name` is found, in search order (Fashion-MNIST also in the system directory). */
export function findDatasetLocations(name: DatasetName, opts: ResolveOptions = {}): DatasetLocation[] {
  const out: DatasetLocation[] = [];
  for (const r of searchRoots(opts)) {
    const loc = locateIn(name, r.dir, r.origin);
    if (loc && !out.some((o) => o.dir === loc.dir)) out.push(loc);
  }
  const sys = opts.systemFashionDir === undefined ? SYSTEM_FASHION_MNIST_DIR : opts.systemFashionDir;
  if (name === 'fashion-mnist' && sys && isDir(sys)) {
    const loc = locateIn(name, sys, 'system');
    if (loc && !out.some((o) => o.dir === loc.dir)) out.push(loc);
  }
  return out;
}

/** The first place `name` is found in the SPEC §5 order, or null. */
export function resolveDataset(name: DatasetName, opts: ResolveOptions = {}): DatasetLocation | null {
  return findDatasetLocations(name, opts)[0] ?? null;
}

/** Every dataset found, all names, in search order. */
export function findAllDatasets(opts: ResolveOptions = {}): DatasetLocation[] {
  return DATASET_NAMES.flatMap((n) => findDatasetLocations(n, opts));
}

/** Loads a found dataset into the common {@link ImageDataset} form. */
export function loadDataset(loc: DatasetLocation): ImageDataset {
  if (loc.name === 'cifar10') {
    const c = loadCifar10(loc.dir);
    return { name: 'CIFAR-10', Xtr: c.Xtr, ytr: c.ytr, Xte: c.Xte, yte: c.yte, classNames: c.classNames, shape: 'HWC', source: c.dir };
  }
  const tr = loadMnistLike(loc.dir, { kind: 'train' });
  const te = loadMnistLike(loc.dir, { kind: 't10k' });
  return {
    name: DATASET_TITLES[loc.name],
    Xtr: tr.X,
    ytr: tr.y,
    Xte: te.X,
    yte: te.y,
    classNames: (loc.name === 'mnist' ? MNIST_CLASSES : FASHION_MNIST_CLASSES).slice(),
    shape: 'HWC',
    source: loc.dir,
  };
}

/** True when every batch file is big enough for the official 10000 records (file sizes only, no parsing). */
function cifarLooksFull(loc: DatasetLocation): boolean {
  const files = cifarBatchFiles(loc.dir, loc.kind === 'cifar-bin' ? 'cifar-10-batches-bin' : 'cifar-10-batches-py');
  const minBytes = loc.kind === 'cifar-bin' ? 10000 * 3073 : 10000 * 3072;
  return [...files.train, files.test].every((f) => {
    try {
      return fs.statSync(f).size >= minBytes;
    } catch {
      return false;
    }
  });
}

/** What {@link loadBestDataset} chose. */
export interface BestDataset {
  dataset: ImageDataset;
  /** Null for the embedded default. */
  location: DatasetLocation | null;
  /** One line: what is used, from where, and why. */
  description: string;
}

/**
 * The data the main job should run on: the full CIFAR-10 (50000/10000) if it is found
 * anywhere in the search order; else any smaller CIFAR-10 found (e.g. `cifar-10-mini`
 * given by `--data` or `$CS231N_DATA`); else the embedded MNIST digits. A CIFAR-10 copy that
 * fails to load (truncated download, …) is skipped, and the description says so.
 */
export function loadBestDataset(opts: ResolveOptions & { dataset?: DatasetName } = {}): BestDataset {
  if (opts.dataset !== undefined) return loadNamedDataset(opts.dataset, opts);
  const cifars = findDatasetLocations('cifar10', opts);
  const ordered = [...cifars.filter(cifarLooksFull), ...cifars.filter((c) => !cifarLooksFull(c))];
  const skipped: string[] = [];
  for (const loc of ordered) {
    try {
      const dataset = loadDataset(loc);
      const full = dataset.Xtr.shape[0] === 50000 && dataset.Xte.shape[0] === 10000;
      const size = `${dataset.Xtr.shape[0]} train / ${dataset.Xte.shape[0]} test${full ? '' : ', a subset of the full 50000/10000'}`;
      const why = full ? 'the full dataset' : 'no full CIFAR-10 found';
      const skip = skipped.length ? `; skipped ${skipped.join('; ')}` : '';
      return {
        dataset,
        location: loc,
        description: `Using CIFAR-10 (${size}) from ${loc.dir} (${ORIGIN_TEXT[loc.origin]}; ${why})${skip}`,
      };
    } catch (e) {
      skipped.push(`${loc.dir}: ${(e as Error).message}`);
    }
  }
  // --data pointing at an MNIST-format directory (no CIFAR-10 in it) means that dataset.
  if (opts.path !== undefined) {
    for (const name of ['fashion-mnist', 'mnist'] as const) {
      const loc = findDatasetLocations(name, { ...opts, systemFashionDir: null }).find((l) => l.origin === 'path');
      if (loc) return loadNamedDataset(name, opts, `no CIFAR-10 in --data ${opts.path}, which holds ${DATASET_TITLES[name]}`);
    }
  }
  const dataset = loadEmbeddedMnist();
  const roots = searchRoots(opts).map((r) => r.dir);
  const why = skipped.length
    ? `every CIFAR-10 copy found failed to load (${skipped.join('; ')})`
    : `no CIFAR-10 found in ${roots.length ? roots.join(', ') : 'any search directory (none of --data, $CS231N_DATA, ./datasets, the user cache exists)'}; run \`cs231n data download cifar10\``;
  return {
    dataset,
    location: null,
    description: `Using the embedded MNIST digits (${dataset.Xtr.shape[0]} train / ${dataset.Xte.shape[0]} test, ${dataset.source}): ${why}`,
  };
}

/**
 * The dataset asked for by name (`--dataset`): its first copy in the search order (Fashion-MNIST
 * also in the Debian package's directory); MNIST falls back to the embedded digits. When none
 * is found, or a copy fails to load, the error says where it looked and how to get it.
 */
function loadNamedDataset(name: DatasetName, opts: ResolveOptions, why = `asked for with --dataset ${name}`): BestDataset {
  const title = DATASET_TITLES[name];
  const locs = findDatasetLocations(name, opts);
  const failed: string[] = [];
  for (const loc of locs) {
    try {
      const dataset = loadDataset(loc);
      return {
        dataset,
        location: loc,
        description: `Using ${title} (${dataset.Xtr.shape[0]} train / ${dataset.Xte.shape[0]} test) from ${loc.dir} (${ORIGIN_TEXT[loc.origin]}; ${why})`,
      };
    } catch (e) {
      failed.push(`${loc.dir}: ${(e as Error).message}`);
    }
  }
  if (name === 'mnist') {
    const dataset = loadEmbeddedMnist();
    const note = failed.length ? `; skipped ${failed.join('; ')}` : '';
    return { dataset, location: null, description: `Using the embedded MNIST digits (${dataset.Xtr.shape[0]} train / ${dataset.Xte.shape[0]} test, ${dataset.source}): no MNIST files found on disk (${why})${note}` };
  }
  const roots = searchRoots(opts).map((r) => r.dir);
  const where = [...roots, ...(name === 'fashion-mnist' && opts.systemFashionDir !== null ? [opts.systemFashionDir ?? SYSTEM_FASHION_MNIST_DIR] : [])];
  const hint = name === 'fashion-mnist' ? '`cs231n data download fashion-mnist` (or, on Debian, `apt-get install dataset-fashion-mnist`)' : '`cs231n data download cifar10`';
  if (failed.length) throw new Error(`dataset: every ${title} copy found failed to load (${failed.join('; ')})`);
  throw new Error(`dataset: no ${title} found in ${where.length ? where.join(', ') : 'any search directory'}; get it with ${hint}`);
}
