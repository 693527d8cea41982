import * as fs from 'fs';
import * as path from 'path';
import fc from 'fast-check';
import type { NdArray } from 'ndarray';
import { loadPickle, readPickle, PickleError, type PickleValue } from '../src/data/pickle';
import { PickleWriter, SHARED_MINI, cifarPickle, syntheticRows, tmpDir } from './dataFixtures';

const FIX = path.resolve(__dirname, 'fixtures/pickle');
const expected = JSON.parse(fs.readFileSync(path.join(FIX, 'expected.json'), 'utf8'));

type Arr = NdArray<any>;

/** Row-major values of an ndarray (strided or not). */
function cOrder(a: Arr): number[] {
  const out: number[] = [];
  const rec = (idx: number[]) => {
    if (idx.length === a.shape.length) out.push(Number(a.get(...idx)));
    else for (let i = 0; i < a.shape[idx.length]; i++) rec([...idx, i]);
  };
  rec([]);
  return out;
}

function toPlain(v: PickleValue): unknown {
  if (v instanceof Map) return Object.fromEntries([...v].map(([k, x]) => [String(k), toPlain(x)]));
  if (Array.isArray(v)) return v.map(toPlain);
  if (v instanceof Uint8Array) return { bytes: Array.from(v) };
  if (typeof v === 'bigint') return { bigint: v.toString() };
  if (v && typeof v === 'object' && 'shape' in v) return { shape: (v as Arr).shape, data: cOrder(v as Arr) };
  return v;
}

describe('pickle reader on python3-written fixtures (protocols 2 and 4)', () => {
  for (const proto of [2, 4]) {
    test(`scalars, strings, bytes, lists, tuples (protocol ${proto})`, () => {
      const v = loadPickle(path.join(FIX, `scalars.p${proto}.pkl`));
      expect(toPlain(v)).toEqual(expected.scalars);
    });

    test(`numpy arrays of several dtypes, fortran order, big-endian (protocol ${proto})`, () => {
      const v = loadPickle(path.join(FIX, `arrays.p${proto}.pkl`)) as Map<string, PickleValue>;
      for (const [k, want] of Object.entries(expected.arrays as Record<string, any>)) {
        const got = v.get(k);
        if (typeof want === 'number') {
          expect(got).toBe(want);
          continue;
        }
        const a = got as Arr;
        expect(a.shape).toEqual(want.shape);
        expect(cOrder(a)).toEqual(want.data.map(Number));
      }
      expect((v.get('f32_fortran') as Arr).data).toBeInstanceOf(Float32Array);
      expect((v.get('u8') as Arr).data).toBeInstanceOf(Uint8Array);
      expect((v.get('i64') as Arr).data).toBeInstanceOf(Int32Array);
    });
  }
});

describe('pickle reader on the real CIFAR-10 subset', () => {
  test('data_batch_1 is a dict with 932 labels and a (932, 3072) uint8 array', () => {
    const d = loadPickle(path.join(SHARED_MINI, 'cifar-10-batches-py/data_batch_1')) as Map<string, PickleValue>;
    expect([...d.keys()].sort()).toEqual(['batch_label', 'data', 'labels']);
    expect(d.get('batch_label')).toBe('training batch 1 of 5');
    expect((d.get('labels') as number[]).slice(0, 10)).toEqual([6, 9, 9, 4, 1, 1, 2, 7, 8, 3]);
    const data = d.get('data') as Arr;
    expect(data.shape).toEqual([932, 3072]);
    expect(data.data).toBeInstanceOf(Uint8Array);
    // first pixel of image 0: R, G, B planes
    expect([data.get(0, 0), data.get(0, 1024), data.get(0, 2048)]).toEqual([59, 62, 63]);
  });

  test('batches.meta holds the ten class names', () => {
    const d = loadPickle(path.join(SHARED_MINI, 'cifar-10-batches-py/batches.meta')) as Map<string, PickleValue>;
    expect(d.get('label_names')).toEqual(['airplane', 'automobile', 'bird', 'cat', 'deer', 'dog', 'frog', 'horse', 'ship', 'truck']);
    expect(d.get('num_vis')).toBe(3072);
  });

  test('every truncation of the real batch header fails naming the file and the offset', () => {
    const file = path.join(SHARED_MINI, 'cifar-10-batches-py/data_batch_1');
    const buf = fs.readFileSync(file);
    for (const cut of [1, 2, 50, 1000, 2060, 2070, 2865000, buf.length - 1]) {
      expect(() => readPickle(buf.subarray(0, cut), { file })).toThrow(new RegExp(`${file.replace(/[/.]/g, '\\$&')}: truncated at offset ${cut}`));
    }
  });
});

describe('pickle reader on synthetic input', () => {
  test('a synthetic CIFAR batch round-trips labels and bytes', () => {
    const rows = syntheticRows(3);
    const d = readPickle(cifarPickle([1, 2, 3], rows)) as Map<string, PickleValue>;
    expect(d.get('labels')).toEqual([1, 2, 3]);
    const a = d.get('data') as Arr;
    expect(a.shape).toEqual([3, 3072]);
    expect(Buffer.compare(Buffer.from(a.data), Buffer.from(rows))).toBe(0);
  });

  test('memoized values are shared (BINPUT/BINGET)', () => {
    // [x, x] where x = [] stored at memo 0 then fetched again
    const w = new PickleWriter();
    w.emptyList().put().mark().emptyList().put();
    const b = w.bytes();
    const full = Buffer.concat([b, Buffer.from([0x68, 1, 0x65, 0x2e])]); // BINGET 1, APPENDS, STOP
    const v = readPickle(full) as PickleValue[][];
    expect(v.length).toBe(2);
    expect(v[0]).toBe(v[1]);
  });

  test('an unsupported opcode names the opcode (hex and name), its offset and the file', () => {
    // PROTO 2, PERSID-style opcode 'Q' (BINPERSID) at offset 2
    const buf = Buffer.from([0x80, 0x02, 0x4e, 0x51, 0x2e]);
    expect(() => readPickle(buf, { file: 'x.pkl' })).toThrow(PickleError);
    expect(() => readPickle(buf, { file: 'x.pkl' })).toThrow(/x\.pkl: unsupported opcode 0x51 \(BINPERSID\) at offset 3/);
    const unknown = Buffer.from([0x80, 0x02, 0xff]);
    expect(() => readPickle(unknown, { file: 'y.pkl' })).toThrow(/y\.pkl: unsupported opcode 0xff at offset 2/);
  });

  test('an unsupported callable is named', () => {
    const w = new PickleWriter();
    w.global('os', 'system').str8('echo hi').tupleN(1).reduce().stop();
    expect(() => readPickle(w.bytes(), { file: 'evil.pkl' })).toThrow(/evil\.pkl: unsupported callable os\.system/);
  });

  test('a missing STOP is a truncation at the end of the file', () => {
    const w = new PickleWriter();
    w.emptyDict();
    expect(() => readPickle(w.bytes(), { file: 'f' })).toThrow(/f: truncated at offset 3/);
  });

  test('ndarray data of the wrong length is reported', () => {
    const w = new PickleWriter();
    w.ndarrayU8([2, 3072], new Uint8Array(3072)).stop();
    expect(() => readPickle(w.bytes(), { file: 'short.pkl' })).toThrow(/short\.pkl: ndarray data has 3072 bytes, expected 6144/);
  });

  test('property: any prefix of a valid pickle throws a PickleError naming the file, never returns', () => {
    const full = cifarPickle([0, 1, 2, 3, 4], syntheticRows(5));
    fc.assert(
      fc.property(fc.integer({ min: 0, max: full.length - 1 }), (cut) => {
        let err: unknown = null;
        try {
          readPickle(full.subarray(0, cut), { file: 'cut.pkl' });
        } catch (e) {
          err = e;
        }
        expect(err).toBeInstanceOf(PickleError);
        expect((err as Error).message).toMatch(/^pickle cut\.pkl: /);
      }),
      { numRuns: 200 },
    );
  });

  test('property: random int/str/list/dict structures written with the test writer read back equal', () => {
    type V = number | string | V[];
    const value: fc.Arbitrary<V> = fc.letrec<{ v: V }>((tie) => ({
      v: fc.oneof(
        { depthSize: 'small' },
        fc.integer({ min: -(2 ** 31), max: 2 ** 31 - 1 }),
        fc.string({ maxLength: 20 }).map((s) => s.replace(/[^\x20-\x7e]/g, 'a')),
        fc.array(tie('v'), { maxLength: 4 }),
      ),
    })).v;
    const write = (w: PickleWriter, v: V): void => {
      if (typeof v === 'number') w.int(v);
      else if (typeof v === 'string') w.str8(v);
      else {
        w.emptyList().mark();
        for (const x of v) write(w, x);
        w.appends();
      }
    };
    fc.assert(
      fc.property(fc.dictionary(fc.string({ minLength: 1, maxLength: 8 }).map((s) => s.replace(/[^a-z]/gi, 'k')), value, { maxKeys: 5 }), (obj) => {
        const w = new PickleWriter();
        w.emptyDict().mark();
        const entries = Object.entries(obj);
        for (const [k, v] of entries) {
          w.str8(k);
          write(w, v);
        }
        w.setitems().stop();
        const back = readPickle(w.bytes()) as Map<string, PickleValue>;
        expect(Object.fromEntries(back)).toEqual(obj);
      }),
      { numRuns: 100 },
    );
  });

  test('loadPickle reads from disk', () => {
    const t = tmpDir();
    try {
      const f = path.join(t.dir, 'a.pkl');
      fs.writeFileSync(f, cifarPickle([9], syntheticRows(1)));
      expect((loadPickle(f) as Map<string, PickleValue>).get('labels')).toEqual([9]);
    } finally {
      t.cleanup();
    }
  });
});
