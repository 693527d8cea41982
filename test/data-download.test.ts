import * as crypto from 'crypto';
import * as fs from 'fs';
import * as http from 'http';
import type { AddressInfo } from 'net';
import * as path from 'path';
import * as tar from 'tar';
import { loadCifar10 } from '../src/data/cifar';
import { downloadDataset, defaultDownloadDir, removeStalePartials } from '../src/data/download';
import { spawnSync } from 'child_process';
import { loadMnistLike } from '../src/data/idx';
import { tmpDir, writeMnistLike, writeTinyCifar } from './dataFixtures';

const md5 = (b: Buffer) => crypto.createHash('md5').update(b).digest('hex');

/** A local HTTP server (127.0.0.1, ephemeral port) serving archives the test builds. */
describe('downloadDataset against a local HTTP server', () => {
  let work: ReturnType<typeof tmpDir>;
  let server: http.Server;
  let base = '';
  let archive: Buffer;
  let archiveMd5 = '';
  const mnistFiles = new Map<string, Buffer>();

  beforeAll(async () => {
    work = tmpDir('cs231n-dl-');
    const src = path.join(work.dir, 'src');
    writeTinyCifar(src, 3, ['py']);
    const file = path.join(work.dir, 'cifar.tar.gz');
    await tar.c({ gzip: true, cwd: src, file }, ['cifar-10-batches-py']);
    archive = fs.readFileSync(file);
    archiveMd5 = md5(archive);
    const m = path.join(work.dir, 'mnist-src');
    writeMnistLike(m, 6, 3, true);
    for (const f of fs.readdirSync(m)) mnistFiles.set(f, fs.readFileSync(path.join(m, f)));

    server = http.createServer((req, res) => {
      const url = req.url ?? '';
      if (url === '/ok.tar.gz') {
        res.writeHead(200, { 'content-length': archive.length });
        res.end(archive);
      } else if (url === '/cut.tar.gz') {
        // Promise the whole archive, send half, then drop the connection.
        res.writeHead(200, { 'content-length': archive.length });
        res.write(archive.subarray(0, archive.length >> 1), () => setTimeout(() => req.socket.destroy(), 20));
      } else if (url === '/redirect.tar.gz') {
        res.writeHead(302, { location: '/ok.tar.gz' });
        res.end();
      } else if (url === '/garbage.tar.gz') {
        const junk = Buffer.alloc(4096, 7);
        res.writeHead(200, { 'content-length': junk.length });
        res.end(junk);
      } else if (url.startsWith('/mnist/') && mnistFiles.has(url.slice(7))) {
        const b = mnistFiles.get(url.slice(7))!;
        res.writeHead(200, { 'content-length': b.length });
        res.end(b);
      } else {
        res.writeHead(404);
        res.end('not here');
      }
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });

  afterAll(async () => {
    await new Promise<void>((resolve) => server.close(() => resolve()));
    work.cleanup();
  });

  let dest: string;
  let n = 0;
  beforeEach(() => {
    dest = path.join(work.dir, `dest-${n++}`);
  });
  const leftovers = () => (fs.existsSync(dest) ? fs.readdirSync(dest) : []);

  test('success: streamed, MD5-checked, unpacked and renamed into place', async () => {
    const seen: number[] = [];
    const res = await downloadDataset('cifar10', { dest, url: `${base}/ok.tar.gz`, md5: archiveMd5, onProgress: (p) => seen.push(p.received) });
    expect(res).toEqual({ dir: path.join(dest, 'cifar-10-batches-py'), alreadyPresent: false, bytes: archive.length });
    expect(seen[seen.length - 1]).toBe(archive.length);
    expect(leftovers()).toEqual(['cifar-10-batches-py']);
    const c = loadCifar10(res.dir);
    expect(c.Xtr.shape).toEqual([15, 32, 32, 3]);
    expect(c.classNames[0]).toBe('airplane');
  });

  test('redirects are followed', async () => {
    const res = await downloadDataset('cifar10', { dest, url: `${base}/redirect.tar.gz`, md5: archiveMd5, onProgress: () => undefined });
    expect(fs.existsSync(path.join(res.dir, 'data_batch_5'))).toBe(true);
  });

  test('wrong checksum: rejected, nothing left behind', async () => {
    await expect(
      downloadDataset('cifar10', { dest, url: `${base}/ok.tar.gz`, md5: '0123456789abcdef0123456789abcdef', onProgress: () => undefined }),
    ).rejects.toThrow(new RegExp(`ok\\.tar\\.gz: MD5 mismatch: expected 0123456789abcdef0123456789abcdef, got ${archiveMd5}`));
    expect(leftovers()).toEqual([]);
  });

  test('connection cut mid-file: rejected, no partial dataset left behind', async () => {
    await expect(downloadDataset('cifar10', { dest, url: `${base}/cut.tar.gz`, md5: archiveMd5, onProgress: () => undefined })).rejects.toThrow(
      /cut\.tar\.gz: connection (closed|failed) after \d+/,
    );
    expect(leftovers()).toEqual([]);
    // even without a checksum, a cut archive is never installed
    await expect(downloadDataset('cifar10', { dest, url: `${base}/cut.tar.gz`, md5: null, onProgress: () => undefined })).rejects.toThrow(/cut\.tar\.gz/);
    expect(leftovers()).toEqual([]);
  });

  test('a bad archive and an HTTP error leave nothing behind', async () => {
    await expect(downloadDataset('cifar10', { dest, url: `${base}/garbage.tar.gz`, md5: null, onProgress: () => undefined })).rejects.toThrow(
      /garbage\.tar\.gz: (bad archive|archive has no cifar-10-batches-py)/,
    );
    expect(leftovers()).toEqual([]);
    await expect(downloadDataset('cifar10', { dest, url: `${base}/missing.tar.gz`, onProgress: () => undefined })).rejects.toThrow(/missing\.tar\.gz: HTTP 404/);
    expect(leftovers()).toEqual([]);
  });

  test('an existing copy is kept unless forced; a failed forced download keeps the old copy', async () => {
    const target = path.join(dest, 'cifar-10-batches-py');
    fs.mkdirSync(target, { recursive: true });
    fs.writeFileSync(path.join(target, 'marker'), 'old');
    const again = await downloadDataset('cifar10', { dest, url: `${base}/ok.tar.gz`, md5: archiveMd5, onProgress: () => undefined });
    expect(again).toMatchObject({ alreadyPresent: true, bytes: 0 });
    await expect(downloadDataset('cifar10', { dest, url: `${base}/cut.tar.gz`, md5: archiveMd5, force: true, onProgress: () => undefined })).rejects.toThrow();
    expect(fs.readFileSync(path.join(target, 'marker'), 'utf8')).toBe('old');
    expect(leftovers()).toEqual(['cifar-10-batches-py']);
    await downloadDataset('cifar10', { dest, url: `${base}/ok.tar.gz`, md5: archiveMd5, force: true, onProgress: () => undefined });
    expect(fs.existsSync(path.join(target, 'marker'))).toBe(false);
    expect(fs.existsSync(path.join(target, 'test_batch'))).toBe(true);
    expect(leftovers()).toEqual(['cifar-10-batches-py']);
  });

  test('MNIST-format datasets: four files, MD5 per file, installed as dest/mnist', async () => {
    const sums = Object.fromEntries([...mnistFiles].map(([f, b]) => [f, md5(b)]));
    const res = await downloadDataset('mnist', { dest, url: `${base}/mnist/`, md5: sums, onProgress: () => undefined });
    expect(res.dir).toBe(path.join(dest, 'mnist'));
    expect(loadMnistLike(res.dir, { kind: 'train' }).X.shape).toEqual([6, 28, 28, 1]);
    const bad = { ...sums, 't10k-labels-idx1-ubyte.gz': 'ffffffffffffffffffffffffffffffff' };
    const dest2 = path.join(dest, 'other');
    await expect(downloadDataset('fashion-mnist', { dest: dest2, url: `${base}/mnist/`, md5: bad, onProgress: () => undefined })).rejects.toThrow(
      /t10k-labels-idx1-ubyte\.gz: MD5 mismatch/,
    );
    expect(fs.readdirSync(dest2)).toEqual([]);
  });

  test('temp directories of killed downloads are removed, those of live processes kept', async () => {
    const deadPid = spawnSync(process.execPath, ['-e', '0']).pid;
    fs.mkdirSync(path.join(dest, `.cifar-10-batches-py.partial-${deadPid}-abc`, 'unpacked'), { recursive: true });
    fs.mkdirSync(path.join(dest, `.cifar-10-batches-py.partial-${process.pid}-live`));
    fs.mkdirSync(path.join(dest, `.mnist.partial-${deadPid}-xyz`));
    expect(removeStalePartials(dest, 'cifar-10-batches-py')).toEqual([`.cifar-10-batches-py.partial-${deadPid}-abc`]);
    fs.rmSync(path.join(dest, `.cifar-10-batches-py.partial-${process.pid}-live`), { recursive: true });
    await downloadDataset('mnist', { dest, url: `${base}/mnist/`, md5: null, onProgress: () => undefined });
    expect(leftovers().sort()).toEqual(['mnist']);
  });

  test('unknown names and the default destination', async () => {
    await expect(downloadDataset('imagenet' as any, { dest })).rejects.toThrow(/name: expected one of cifar10, cifar10-bin, mnist, fashion-mnist, got imagenet/);
    expect(defaultDownloadDir({ CS231N_DATA: '/data/x' })).toBe('/data/x');
    expect(defaultDownloadDir({ XDG_CACHE_HOME: '/c' })).toBe('/c/cs231n-ts');
  });
});
