import * as fs from 'fs';
import * as path from 'path';
import {
  findAllDatasets,
  loadBestDataset,
  loadDataset,
  resolveDataset,
  searchRoots,
  userCacheDir,
  type ResolveOptions,
} from '../src/data/resolve';
import { SHARED_MINI, tmpDir, writeMnistLike, writeTinyCifar } from './dataFixtures';

describe('dataset resolution (SPEC §5 order)', () => {
  let t: ReturnType<typeof tmpDir>;
  let base: ResolveOptions;
  beforeEach(() => {
    t = tmpDir();
    for (const d of ['cwd', 'home', 'env', 'xdg', 'explicit']) fs.mkdirSync(path.join(t.dir, d));
    // hermetic: nothing from the real machine
    base = { env: {}, cwd: path.join(t.dir, 'cwd'), home: path.join(t.dir, 'home'), systemFashionDir: null };
  });
  afterEach(() => t.cleanup());

  test('user cache: $XDG_CACHE_HOME/cs231n-ts, else ~/.cache/cs231n-ts', () => {
    expect(userCacheDir({ env: { XDG_CACHE_HOME: '/x/y' }, home: '/h' })).toBe('/x/y/cs231n-ts');
    expect(userCacheDir({ env: {}, home: '/h' })).toBe('/h/.cache/cs231n-ts');
    expect(userCacheDir({ env: { XDG_CACHE_HOME: 'relative' }, home: '/h' })).toBe('/h/.cache/cs231n-ts');
  });

  test('nothing anywhere: no location, no roots', () => {
    expect(resolveDataset('cifar10', base)).toBeNull();
    expect(searchRoots(base)).toEqual([]);
    expect(findAllDatasets(base)).toEqual([]);
  });

  test('order: explicit path, $CS231N_DATA, ./datasets, user cache', () => {
    const cache = path.join(t.dir, 'xdg', 'cs231n-ts');
    const cwdData = path.join(t.dir, 'cwd', 'datasets');
    const env = path.join(t.dir, 'env');
    const explicit = path.join(t.dir, 'explicit');
    for (const d of [cache, cwdData, env, explicit]) writeTinyCifar(d, 2, ['bin']);
    const opts = { ...base, env: { CS231N_DATA: env, XDG_CACHE_HOME: path.join(t.dir, 'xdg') } };
    expect(resolveDataset('cifar10', { ...opts, path: explicit })).toMatchObject({ origin: 'path', dir: path.join(explicit, 'cifar-10-batches-bin'), kind: 'cifar-bin' });
    expect(resolveDataset('cifar10', opts)).toMatchObject({ origin: 'env', root: env });
    expect(resolveDataset('cifar10', { ...opts, env: { XDG_CACHE_HOME: path.join(t.dir, 'xdg') } })).toMatchObject({ origin: 'cwd', root: cwdData });
    fs.rmSync(cwdData, { recursive: true });
    expect(resolveDataset('cifar10', { ...opts, env: { XDG_CACHE_HOME: path.join(t.dir, 'xdg') } })).toMatchObject({ origin: 'cache', root: cache });
    expect(searchRoots({ ...opts, path: explicit }).map((r) => r.origin)).toEqual(['path', 'env', 'cache']);
  });

  test('an explicit path that does not exist is an error, one without the dataset falls through', () => {
    expect(() => resolveDataset('cifar10', { ...base, path: path.join(t.dir, 'nope') })).toThrow(/path: expected an existing directory, got .*nope/);
    writeTinyCifar(path.join(t.dir, 'env'), 2, ['py']);
    const loc = resolveDataset('cifar10', { ...base, path: path.join(t.dir, 'explicit'), env: { CS231N_DATA: path.join(t.dir, 'env') } });
    expect(loc).toMatchObject({ origin: 'env', kind: 'cifar-py' });
  });

  test('the shared mini set by explicit path, both layouts, python preferred', () => {
    const loc = resolveDataset('cifar10', { ...base, path: SHARED_MINI });
    expect(loc).toMatchObject({ kind: 'cifar-py', dir: path.join(SHARED_MINI, 'cifar-10-batches-py') });
    const bin = resolveDataset('cifar10', { ...base, path: path.join(SHARED_MINI, 'cifar-10-batches-bin') });
    expect(bin).toMatchObject({ kind: 'cifar-bin' });
  });

  test('MNIST and Fashion-MNIST: sub-directories, explicit dirs, the system directory', () => {
    writeMnistLike(path.join(t.dir, 'env', 'mnist'), 3, 2);
    writeMnistLike(path.join(t.dir, 'env', 'fashion-mnist'), 4, 2);
    const sys = path.join(t.dir, 'usr-share-fashion-mnist');
    writeMnistLike(sys, 5, 2);
    const opts = { ...base, env: { CS231N_DATA: path.join(t.dir, 'env') }, systemFashionDir: sys };
    expect(resolveDataset('mnist', opts)).toMatchObject({ origin: 'env', kind: 'idx', dir: path.join(t.dir, 'env', 'mnist') });
    const all = findAllDatasets(opts);
    expect(all.map((l) => `${l.name}:${l.origin}`)).toEqual(['fashion-mnist:env', 'fashion-mnist:system', 'mnist:env']);
    const ds = loadDataset(all[1]);
    expect(ds.name).toBe('Fashion-MNIST');
    expect(ds.Xtr.shape).toEqual([5, 28, 28, 1]);
    expect(ds.classNames[9]).toBe('Ankle boot');
    // an explicit directory holding the IDX files itself
    const explicitFashion = path.join(t.dir, 'explicit', 'my-fashion');
    writeMnistLike(explicitFashion, 3, 1);
    expect(resolveDataset('fashion-mnist', { ...base, path: explicitFashion })).toMatchObject({ origin: 'path', dir: explicitFashion });
    expect(resolveDataset('mnist', { ...base, path: explicitFashion })).toBeNull();
  });

  test('loadBestDataset: embedded MNIST when no CIFAR-10 exists, saying so in one line', () => {
    const best = loadBestDataset(base);
    expect(best.location).toBeNull();
    expect(best.dataset.name).toBe('MNIST (embedded)');
    expect(best.dataset.Xtr.shape).toEqual([8000, 28, 28, 1]);
    expect(best.description).toMatch(/^Using the embedded MNIST digits .*no CIFAR-10 found/);
    expect(best.description).not.toMatch(/\n/);
  });

  test('loadBestDataset: a small CIFAR given by path is used and described as a subset', () => {
    const best = loadBestDataset({ ...base, path: SHARED_MINI });
    expect(best.dataset.name).toBe('CIFAR-10');
    expect(best.dataset.Xtr.shape[0]).toBe(4660);
    expect(best.description).toMatch(/^Using CIFAR-10 \(4660 train \/ 932 test, a subset .*\) from .*cifar-10-batches-py \(given by --data/);
  });

  test('loadBestDataset: a corrupt copy is skipped and named', () => {
    const env = path.join(t.dir, 'env');
    writeTinyCifar(env, 2, ['bin']);
    const f = path.join(env, 'cifar-10-batches-bin', 'data_batch_3.bin');
    fs.truncateSync(f, 3073 + 5);
    const best = loadBestDataset({ ...base, env: { CS231N_DATA: env } });
    expect(best.location).toBeNull();
    expect(best.description).toMatch(/every CIFAR-10 copy found failed to load .*data_batch_3\.bin: size 3078 bytes/);
  });

  test('loadBestDataset: a full CIFAR-10 later in the order beats a small one earlier', () => {
    // A full-size binary layout of sparse files: 50000/10000 records of zeros (label 0).
    const cacheRoot = path.join(t.dir, 'xdg');
    const full = path.join(cacheRoot, 'cs231n-ts', 'cifar-10-batches-bin');
    fs.mkdirSync(full, { recursive: true });
    for (const b of ['data_batch_1', 'data_batch_2', 'data_batch_3', 'data_batch_4', 'data_batch_5', 'test_batch']) {
      const f = path.join(full, `${b}.bin`);
      fs.writeFileSync(f, '');
      fs.truncateSync(f, 10000 * 3073);
    }
    const best = loadBestDataset({ ...base, path: SHARED_MINI, env: { XDG_CACHE_HOME: cacheRoot } });
    expect(best.location).toMatchObject({ origin: 'cache', dir: full });
    expect(best.dataset.Xtr.shape).toEqual([50000, 32, 32, 3]);
    expect(best.description).toMatch(/^Using CIFAR-10 \(50000 train \/ 10000 test\) from .* \(found in the user cache; the full dataset\)/);
  });

  test('--dataset fashion-mnist uses Fashion-MNIST even when CIFAR-10 is found, or says why not', () => {
    writeTinyCifar(path.join(t.dir, 'cwd', 'datasets'), 20);
    expect(() => loadBestDataset({ ...base, dataset: 'fashion-mnist' })).toThrow(/dataset: no Fashion-MNIST found in .*cwd\/datasets; get it with `cs231n data download fashion-mnist`/);
    writeMnistLike(path.join(t.dir, 'cwd', 'datasets', 'fashion-mnist'), 30, 10);
    const best = loadBestDataset({ ...base, dataset: 'fashion-mnist' });
    expect(best.dataset.name).toBe('Fashion-MNIST');
    expect(best.dataset.Xtr.shape).toEqual([30, 28, 28, 1]);
    expect(best.dataset.classNames[9]).toBe('Ankle boot');
    expect(best.description).toMatch(/^Using Fashion-MNIST \(30 train \/ 10 test\) from .*fashion-mnist \(found in \.\/datasets; asked for with --dataset fashion-mnist\)/);
    expect(loadBestDataset(base).dataset.name).toBe('CIFAR-10');
  });

  test('--dataset mnist falls back to the embedded digits; --dataset cifar10 without CIFAR-10 is an error', () => {
    expect(loadBestDataset({ ...base, dataset: 'mnist' }).description).toMatch(/^Using the embedded MNIST digits .*no MNIST files found on disk/);
    expect(() => loadBestDataset({ ...base, dataset: 'cifar10' })).toThrow(/dataset: no CIFAR-10 found/);
  });

  test('--data pointing at an MNIST-format directory uses it instead of the embedded digits', () => {
    const dir = path.join(t.dir, 'explicit', 'fashion');
    writeMnistLike(dir, 20, 10);
    const best = loadBestDataset({ ...base, path: dir });
    expect(best.dataset.name).toBe('Fashion-MNIST');
    expect(best.description).toMatch(/no CIFAR-10 in --data .*fashion, which holds Fashion-MNIST/);
  });
});
