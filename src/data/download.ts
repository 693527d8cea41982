import * as fs from 'fs';
import * as path from 'path';
import * as tar from 'tar';
import type { ReadEntry } from 'tar';
import { progressBar } from '../util/progress';
import { loadCifar10 } from './cifar';
import { loadMnistLike } from './idx';
import { userCacheDir } from './resolve';
import { fetchToFile, type FetchProgress } from './httpFetch';

/** What `cs231n data download` can fetch. */
export type DownloadName = 'cifar10' | 'cifar10-bin' | 'mnist' | 'fashion-mnist';

/** How one dataset is published. */
export interface DownloadSpec {
  /** `archive`: one .tar.gz holding `installDir/`; `files`: separate files under a base URL. */
  kind: 'archive' | 'files';
  /** Archive URL, or base URL (ending in `/`) of the files. */
  url: string;
  /** Published MD5 of the archive, or of each file by name. */
  md5: string | Record<string, string>;
  /** Directory created under the destination (resolve.ts looks for these names). */
  installDir: string;
  /** Files of a `files` download. */
  files?: string[];
}

const MNIST_FILES = ['train-images-idx3-ubyte.gz', 'train-labels-idx1-ubyte.gz', 't10k-images-idx3-ubyte.gz', 't10k-labels-idx1-ubyte.gz'];

/**
 * The official sources. CIFAR-10 MD5s are the ones published on the CIFAR page; MNIST's are
 * those of the original files (served today from the PyTorch S3 mirror, as yann.lecun.com
 * often refuses downloads); Fashion-MNIST's are from the dataset's README.
 */
export const DOWNLOADS: Readonly<Record<DownloadName, DownloadSpec>> = {
  cifar10: {
    kind: 'archive',
    url: 'https://www.cs.toronto.edu/~kriz/cifar-10-python.tar.gz',
    md5: 'c58f30108f718f92721af3b95e74349a',
    installDir: 'cifar-10-batches-py',
  },
  'cifar10-bin': {
    kind: 'archive',
    url: 'https://www.cs.toronto.edu/~kriz/cifar-10-binary.tar.gz',
    md5: 'c32a1d4ab5d03f1284b67883e8d87530',
    installDir: 'cifar-10-batches-bin',
  },
  mnist: {
    kind: 'files',
    url: 'https://ossci-datasets.s3.amazonaws.com/mnist/',
    md5: {
      'train-images-idx3-ubyte.gz': 'f68b3c2dcbeaaa9fbdd348bbdeb94873',
      'train-labels-idx1-ubyte.gz': 'd53e105ee54ea40749a09fcbcd1e9432',
      't10k-images-idx3-ubyte.gz': '9fb629c4189551a2d022fa330f9573f3',
      't10k-labels-idx1-ubyte.gz': 'ec29112dd5afa0611ce80d1b7f02629c',
    },
    installDir: 'mnist',
    files: MNIST_FILES,
  },
  'fashion-mnist': {
    kind: 'files',
    url: 'http://fashion-mnist.s3-website.eu-central-1.amazonaws.com/',
    md5: {
      'train-images-idx3-ubyte.gz': '8d4fb7e6c68d591d4c3dfef9ec88bf0d',
      'train-labels-idx1-ubyte.gz': '25c81989df183df01b3e8a0aad5dffbe',
      't10k-images-idx3-ubyte.gz': 'bef4ecab320f06d8554ea6380940ec79',
      't10k-labels-idx1-ubyte.gz': 'bb300cfdad3c16e7a12a480ee83cd310',
    },
    installDir: 'fashion-mnist',
    files: MNIST_FILES,
  },
};

/** Options of {@link downloadDataset}. */
export interface DownloadOptions {
  /** Directory to install into (default {@link defaultDownloadDir}). */
  dest?: string;
  /** Another archive URL / base URL (a mirror, or a local server in tests). */
  url?: string;
  /** Expected MD5 (archive) or MD5 per file; default the official ones; `null` skips the check. */
  md5?: string | Record<string, string> | null;
  /** Replace an existing copy (the old one is removed only after the new one is in place). */
  force?: boolean;
  /** Called as bytes arrive; default: a progress bar on stderr (silent off a TTY). */
  onProgress?: (p: FetchProgress) => void;
}

/** What {@link downloadDataset} did. */
export interface DownloadResult {
  /** The installed dataset directory. */
  dir: string;
  /** True when it was already there and nothing was fetched. */
  alreadyPresent: boolean;
  /** Bytes fetched. */
  bytes: number;
}

/** Where downloads go by default: `$CS231N_DATA` when set, else the user cache. */
export function defaultDownloadDir(env: Record<string, string | undefined> = process.env): string {
  return env.CS231N_DATA ? path.resolve(env.CS231N_DATA) : userCacheDir({ env });
}

function barProgress(label: string): { onProgress: (p: FetchProgress) => void; stop: () => void } {
  let bar: ReturnType<typeof progressBar> | null = null;
  let last = 0;
  return {
    onProgress(p) {
      if (!bar) bar = progressBar(Math.max(1, p.total ?? 0), { label: `${label} ${p.file}`, enabled: p.total === undefined ? false : undefined });
      bar.tick(p.received - last, `${(p.received / 1e6).toFixed(1)} MB`);
      last = p.received;
      if (p.total !== undefined && p.received >= p.total) {
        bar.stop();
        bar = null;
        last = 0;
      }
    },
    stop() {
      bar?.stop();
    },
  };
}

/** Throws unless the unpacked directory loads; a cut or corrupt archive must never be installed. */
function validateUnpacked(name: DownloadName, dir: string): void {
  if (name === 'cifar10' || name === 'cifar10-bin') {
    loadCifar10(dir);
  } else {
    loadMnistLike(dir, { kind: 'train' });
    loadMnistLike(dir, { kind: 't10k' });
  }
}

function checkMd5(what: string, expected: string | undefined | null, actual: string): void {
  if (expected && expected.toLowerCase() !== actual) {
    throw new Error(`${what}: MD5 mismatch: expected ${expected.toLowerCase()}, got ${actual} (corrupt or incomplete download)`);
  }
}

/**
 * Fetches a dataset from its official source (or `opts.url`) and installs it atomically as
 * `dest/<installDir>` (`cifar-10-batches-py`, `cifar-10-batches-bin`, `mnist`,
 * `fashion-mnist`). Everything is streamed into a temporary directory beside the
 * destination, MD5-checked, unpacked with `tar`, and loaded once as a check; only then is it
 * renamed into place. On any failure (HTTP error, cut connection, checksum, bad archive,
 * unloadable data) the temporary directory is removed, nothing is left at the destination,
 * and the error says what failed.
 */
export async function downloadDataset(name: DownloadName, opts: DownloadOptions = {}): Promise<DownloadResult> {
  const spec = DOWNLOADS[name];
  if (!spec) throw new RangeError(`name: expected one of ${Object.keys(DOWNLOADS).join(', ')}, got ${String(name)}`);
  const dest = path.resolve(opts.dest ?? defaultDownloadDir());
  const target = path.join(dest, spec.installDir);
  if (fs.existsSync(target) && !opts.force) return { dir: target, alreadyPresent: true, bytes: 0 };
  fs.mkdirSync(dest, { recursive: true });
  removeStalePartials(dest, spec.installDir);
  // Beside the destination, so the final rename stays on one filesystem (atomic). The pid in
  // the name lets a later run remove it if this process is killed before `finally` runs.
  const tmp = fs.mkdtempSync(path.join(dest, `.${spec.installDir}.partial-${process.pid}-`));
  const bar = opts.onProgress ? null : barProgress(`download ${name}`);
  const onProgress = opts.onProgress ?? bar!.onProgress;
  const md5 = opts.md5 === undefined ? spec.md5 : opts.md5;
  let bytes = 0;
  try {
    const staged = path.join(tmp, 'unpacked');
    fs.mkdirSync(staged);
    let newDir: string;
    if (spec.kind === 'archive') {
      const url = opts.url ?? spec.url;
      const archive = path.join(tmp, 'archive.tar.gz');
      const got = await fetchToFile(url, archive, { onProgress, file: path.basename(new URL(url).pathname) || 'archive' });
      bytes += got.bytes;
      checkMd5(url, typeof md5 === 'string' ? md5 : null, got.md5);
      await extractArchive(archive, staged, url);
      newDir = path.join(staged, spec.installDir);
      if (!fs.existsSync(newDir)) {
        const found = fs.readdirSync(staged).join(', ') || 'nothing';
        throw new Error(`${url}: archive has no ${spec.installDir}/ directory (found: ${found})`);
      }
    } else {
      const base = opts.url ?? spec.url;
      newDir = path.join(staged, spec.installDir);
      fs.mkdirSync(newDir);
      for (const f of spec.files ?? []) {
        const url = new URL(f, base.endsWith('/') ? base : `${base}/`).toString();
        const got = await fetchToFile(url, path.join(newDir, f), { onProgress, file: f });
        bytes += got.bytes;
        const want = md5 === null ? null : typeof md5 === 'string' ? md5 : md5[f];
        checkMd5(url, want, got.md5);
      }
    }
    try {
      validateUnpacked(name, newDir);
    } catch (e) {
      throw new Error(`downloaded ${name} does not load: ${(e as Error).message}`);
    }
    if (fs.existsSync(target)) {
      // --force: swap the old copy out first so the target never holds a mix of both.
      const old = path.join(tmp, 'old');
      fs.renameSync(target, old);
      try {
        fs.renameSync(newDir, target);
      } catch (e) {
        fs.renameSync(old, target);
        throw e;
      }
    } else {
      fs.renameSync(newDir, target);
    }
    return { dir: target, alreadyPresent: false, bytes };
  } finally {
    bar?.stop();
    fs.rmSync(tmp, { recursive: true, force: true });
  }
}

function processAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/** Removes `.<installDir>.partial-<pid>-*` directories left by downloads whose process is gone (killed mid-download). */
export function removeStalePartials(dest: string, installDir: string): string[] {
  const removed: string[] = [];
  for (const name of fs.readdirSync(dest)) {
    const m = /^\.(.+)\.partial-(\d+)-/.exec(name);
    if (!m || m[1] !== installDir) continue;
    const pid = Number(m[2]);
    if (pid === process.pid || processAlive(pid)) continue;
    fs.rmSync(path.join(dest, name), { recursive: true, force: true });
    removed.push(name);
  }
  return removed;
}

/** Unpacks a (gzipped) tar into `cwd`: regular files and directories only, no links, no paths outside `cwd`. */
async function extractArchive(file: string, cwd: string, label: string): Promise<void> {
  try {
    await tar.x({
      file,
      cwd,
      strict: true,
      filter: (_p: string, entry: unknown) => {
        const t = (entry as ReadEntry).type;
        return t === 'File' || t === 'OldFile' || t === 'Directory';
      },
    });
  } catch (e) {
    throw new Error(`${label}: bad archive (${(e as Error).message})`);
  }
}
