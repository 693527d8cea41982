import * as fs from 'fs';
import * as path from 'path';
import { loadCifar10, loadCifarBatch } from '../src/data/cifar';
import { getCifar10Data, planCifarSplit } from '../src/data/cifarSplits';
import { DataFormatError } from '../src/data/errors';
import { SHARED_MINI, cifarBin, cifarPickle, syntheticRows, tmpDir, writeTinyCifar } from './dataFixtures';

const PY = path.join(SHARED_MINI, 'cifar-10-batches-py');
const BIN = path.join(SHARED_MINI, 'cifar-10-batches-bin');

describe('loadCifar10 on the real CIFAR-10 subset (acceptance)', () => {
  const py = loadCifar10(PY);
  const bin = loadCifar10(BIN);

  test('sizes: 4660 train, 932 test, uint8 (N,32,32,3) and int32 labels', () => {
    expect(py.Xtr.shape).toEqual([4660, 32, 32, 3]);
    expect(py.Xte.shape).toEqual([932, 32, 32, 3]);
    expect(py.ytr.shape).toEqual([4660]);
    expect(py.yte.shape).toEqual([932]);
    expect(py.Xtr.data).toBeInstanceOf(Uint8Array);
    expect(py.ytr.data).toBeInstanceOf(Int32Array);
  });

  test('first labels, first pixels, test label counts', () => {
    expect(Array.from(py.ytr.data.slice(0, 10))).toEqual([6, 9, 9, 4, 1, 1, 2, 7, 8, 3]);
    expect([0, 1, 2].map((c) => py.Xtr.get(0, 0, 0, c))).toEqual([59, 62, 63]);
    expect([0, 1, 2].map((c) => py.Xte.get(0, 0, 0, c))).toEqual([158, 112, 49]);
    const counts = new Array(10).fill(0);
    for (const v of py.yte.data) counts[v]++;
    expect(counts).toEqual([97, 78, 94, 95, 85, 84, 105, 96, 98, 100]);
  });

  test('python and binary layouts give identical arrays and class names', () => {
    expect(Buffer.compare(Buffer.from(py.Xtr.data), Buffer.from(bin.Xtr.data))).toBe(0);
    expect(Buffer.compare(Buffer.from(py.Xte.data), Buffer.from(bin.Xte.data))).toBe(0);
    expect(Array.from(py.ytr.data)).toEqual(Array.from(bin.ytr.data));
    expect(Array.from(py.yte.data)).toEqual(Array.from(bin.yte.data));
    expect(py.classNames).toEqual(bin.classNames);
    expect(py.classNames[6]).toBe('frog');
    expect(py.layout).toBe('cifar-10-batches-py');
    expect(bin.layout).toBe('cifar-10-batches-bin');
  });

  test('HWC layout: pixel (y, x) channel c is planar byte c*1024 + y*32 + x', () => {
    const raw = fs.readFileSync(path.join(BIN, 'data_batch_1.bin'));
    const rec = 17;
    for (const [y, x] of [[0, 0], [5, 31], [31, 7], [16, 16]]) {
      for (let c = 0; c < 3; c++) {
        expect(py.Xtr.get(rec, y, x, c)).toBe(raw[rec * 3073 + 1 + c * 1024 + y * 32 + x]);
      }
    }
  });

  test('the parent directory resolves to the python layout', () => {
    const r = loadCifar10(SHARED_MINI);
    expect(r.dir).toBe(PY);
    expect(r.Xtr.shape[0]).toBe(4660);
  });
});

describe('CIFAR loaders on synthetic batches', () => {
  let t: ReturnType<typeof tmpDir>;
  beforeEach(() => {
    t = tmpDir();
  });
  afterEach(() => t.cleanup());

  test('pickle and bin batches decode to the same HWC pixels', () => {
    const rows = syntheticRows(4);
    const labels = [3, 0, 9, 5];
    const fp = path.join(t.dir, 'b');
    const fb = path.join(t.dir, 'b.bin');
    fs.writeFileSync(fp, cifarPickle(labels, rows));
    fs.writeFileSync(fb, cifarBin(labels, rows));
    const a = loadCifarBatch(fp);
    const b = loadCifarBatch(fb);
    expect(Array.from(a.y.data)).toEqual(labels);
    expect(Array.from(b.y.data)).toEqual(labels);
    expect(Buffer.compare(Buffer.from(a.X.data), Buffer.from(b.X.data))).toBe(0);
    // image 2, pixel 37: R = (2*7 + 37) & 255 = 51, G = 51 ^ 0x55, B = 255 - 51
    const y = Math.floor(37 / 32);
    const x = 37 % 32;
    expect([a.X.get(2, y, x, 0), a.X.get(2, y, x, 1), a.X.get(2, y, x, 2)]).toEqual([51, 51 ^ 0x55, 204]);
  });

  test('a truncated .bin names the file and the record size', () => {
    const f = path.join(t.dir, 'data_batch_1.bin');
    fs.writeFileSync(f, cifarBin([1, 2], syntheticRows(2)).subarray(0, 3073 + 100));
    expect(() => loadCifarBatch(f)).toThrow(DataFormatError);
    expect(() => loadCifarBatch(f)).toThrow(new RegExp(`${f}: size 3173 bytes is not a multiple of the 3073-byte record.*1 whole records, 100 bytes left over`));
  });

  test('a truncated pickle names the file and the offset', () => {
    const f = path.join(t.dir, 'data_batch_1');
    const full = cifarPickle([1, 2], syntheticRows(2));
    fs.writeFileSync(f, full.subarray(0, full.length - 500));
    expect(() => loadCifarBatch(f)).toThrow(new RegExp(`^${f}: truncated at offset ${full.length - 500}`));
  });

  test('labels out of range are reported for both layouts', () => {
    const fb = path.join(t.dir, 'x.bin');
    fs.writeFileSync(fb, cifarBin([1, 10], syntheticRows(2)));
    expect(() => loadCifarBatch(fb)).toThrow(new RegExp(`${fb}: label 1 is 10, expected an integer in \\[0, 9\\]`));
    const fp = path.join(t.dir, 'x');
    fs.writeFileSync(fp, cifarPickle([1, 2, 12], syntheticRows(3)));
    expect(() => loadCifarBatch(fp)).toThrow(new RegExp(`${fp}: label 2 is 12`));
  });

  test('data rows not matching the labels: wrong data length', () => {
    const fp = path.join(t.dir, 'x');
    fs.writeFileSync(fp, cifarPickle([1, 2, 3], syntheticRows(2), { dataRows: 2 }));
    expect(() => loadCifarBatch(fp)).toThrow(new RegExp(`${fp}: wrong data length: 'data' has 2 rows but 'labels' has 3`));
  });

  test('a missing batch file is named', () => {
    writeTinyCifar(t.dir, 3, ['py', 'bin']);
    fs.rmSync(path.join(t.dir, 'cifar-10-batches-py', 'data_batch_4'));
    fs.rmSync(path.join(t.dir, 'cifar-10-batches-bin', 'test_batch.bin'));
    expect(() => loadCifar10(path.join(t.dir, 'cifar-10-batches-py'))).toThrow(/cifar-10-batches-py\/data_batch_4: missing batch file/);
    expect(() => loadCifar10(path.join(t.dir, 'cifar-10-batches-bin'))).toThrow(/cifar-10-batches-bin\/test_batch\.bin: missing batch file/);
  });

  test('a directory without batches is an error naming it', () => {
    expect(() => loadCifar10(t.dir)).toThrow(new RegExp(`${t.dir}: no CIFAR-10 batches found`));
  });

  test('any number of records per batch; class names from both meta files', () => {
    writeTinyCifar(t.dir, 7, ['py', 'bin']);
    const a = loadCifar10(t.dir);
    const b = loadCifar10(path.join(t.dir, 'cifar-10-batches-bin'));
    expect(a.Xtr.shape).toEqual([35, 32, 32, 3]);
    expect(a.Xte.shape).toEqual([7, 32, 32, 3]);
    expect(b.classNames).toEqual(a.classNames);
    expect(a.classNames[9]).toBe('truck');
    // batch k labels start at k: (i + k) % 10
    expect(a.ytr.get(7)).toBe(1);
    expect(a.yte.get(0)).toBe(5);
  });
});

describe('getCifar10Data', () => {
  const data = loadCifar10(PY);

  test('clamps to the mini set without overlapping train and val', () => {
    const d = getCifar10Data({ data });
    expect(d.split.clamped).toBe(true);
    expect(d.split.numTraining).toBe(4194);
    expect(d.split.numValidation).toBe(466);
    expect(d.split.numTest).toBe(932);
    expect(d.split.note).toMatch(/clamped/);
    expect(d.XTrain.shape).toEqual([4194, 3, 32, 32]);
    expect(d.XVal.shape).toEqual([466, 3, 32, 32]);
    expect(d.XTest.shape).toEqual([932, 3, 32, 32]);
    // val row 0 is training row 4194 (as cs231n takes val right after train)
    expect(d.yVal.get(0)).toBe(data.ytr.get(4194));
    expect(d.yTrain.get(4193)).toBe(data.ytr.get(4193));
  });

  test('an exact cs231n split when it fits: NCHW, mean subtracted, float64', () => {
    const d = getCifar10Data({ data, numTraining: 1000, numValidation: 100, numTest: 50 });
    expect(d.split.clamped).toBe(false);
    expect(d.XTrain.data).toBeInstanceOf(Float64Array);
    expect(d.meanImage.shape).toEqual([3, 32, 32]);
    // mean of channel 1 at pixel (2, 5) over the first 1000 training rows
    let s = 0;
    for (let i = 0; i < 1000; i++) s += data.Xtr.get(i, 2, 5, 1);
    const m = s / 1000;
    expect(d.meanImage.get(1, 2, 5)).toBe(m);
    expect(d.XTrain.get(0, 1, 2, 5)).toBe(data.Xtr.get(0, 2, 5, 1) - m);
    expect(d.XVal.get(3, 2, 31, 0)).toBe(data.Xtr.get(1003, 31, 0, 2) - d.meanImage.get(2, 31, 0));
    expect(d.XTest.get(49, 0, 0, 0)).toBe(data.Xte.get(49, 0, 0, 0) - d.meanImage.get(0, 0, 0));
    expect(d.yTest.shape).toEqual([50]);
    expect(d.classNames[0]).toBe('airplane');
    // the train mean is subtracted, so each training pixel column sums to ~0
    let col = 0;
    for (let i = 0; i < 1000; i++) col += d.XTrain.get(i, 0, 10, 10);
    expect(Math.abs(col)).toBeLessThan(1e-8);
  });

  test('float32, channels last, no mean subtraction', () => {
    const d = getCifar10Data({ data, numTraining: 10, numValidation: 2, numTest: 3, dtype: 'float32', channelsFirst: false, subtractMean: false });
    expect(d.XTrain.data).toBeInstanceOf(Float32Array);
    expect(d.XTrain.shape).toEqual([10, 32, 32, 3]);
    expect(d.XTrain.get(0, 0, 0, 2)).toBe(63);
    expect(d.meanImage.shape).toEqual([32, 32, 3]);
  });

  test('reads from root when no data is given, and rejects bad options', () => {
    const d = getCifar10Data({ root: BIN, numTraining: 5, numValidation: 5, numTest: 5 });
    expect(Array.from(d.yTrain.data)).toEqual([6, 9, 9, 4, 1]);
    expect(() => getCifar10Data({ data, numTraining: 0 })).toThrow(/numTraining: expected an integer >= 1, got 0/);
    expect(() => getCifar10Data({ data, numValidation: -1 })).toThrow(/numValidation/);
    expect(() => getCifar10Data({ data, dtype: 'int8' as any })).toThrow(/dtype/);
  });

  test('planCifarSplit: never overlaps and never exceeds the rows that exist', () => {
    for (const n of [1, 9, 10, 11, 100, 4660, 50000]) {
      for (const [tr, va] of [[49000, 1000], [n, 1], [1, n], [n - 1, 1]]) {
        if (tr < 1) continue;
        const s = planCifarSplit(n, 10, { numTraining: tr, numValidation: va, numTest: 20 });
        expect(s.numTraining + s.numValidation).toBeLessThanOrEqual(n);
        expect(s.numTraining).toBeGreaterThanOrEqual(1);
        expect(s.numTest).toBe(10);
      }
    }
    expect(planCifarSplit(50000, 10000, { numTraining: 49000, numValidation: 1000, numTest: 1000 })).toMatchObject({
      numTraining: 49000,
      numValidation: 1000,
      numTest: 1000,
      clamped: false,
    });
  });
});
