/*
 * One test per fix the reader audit (and the fuzzing in fuzzReaders.test.ts) led to: every
 * reader's errors are DataFormatErrors, and hostile input that used to crash or stall a reader
 * now gives a clear error or the right value.
 */
import { createHash } from 'crypto';
import * as fs from 'fs';
import * as path from 'path';
import ndarray from 'ndarray';
import { loadCifarBatch } from '../src/data/cifar';
import { DataFormatError } from '../src/data/errors';
import { loadPickle, PickleError, readPickle, type PickleValue } from '../src/data/pickle';
import { CheckpointError, decodeArrayFile, encodeArrayFile } from '../src/solver/arrayFile';
import { tmpDir } from './dataFixtures';

function thrown(f: () => unknown): Error {
  try {
    f();
  } catch (e) {
    return e as Error;
  }
  throw new Error('expected a throw');
}

describe('pickle reader', () => {
  test('PickleError is a DataFormatError and keeps its "pickle <file>: " message', () => {
    const err = thrown(() => readPickle(Buffer.from([0x80, 0x02]), { file: 'a.pkl' }));
    expect(err).toBeInstanceOf(PickleError);
    expect(err).toBeInstanceOf(DataFormatError);
    expect(err.message).toBe('pickle a.pkl: truncated at offset 2 (no STOP opcode; file has 2 bytes)');
    expect((err as DataFormatError).file).toBe('a.pkl');
  });

  test('a missing file is a PickleError naming it (was a bare ENOENT)', () => {
    const f = path.join(__dirname, 'no-such.pkl');
    expect(() => loadPickle(f)).toThrow(new PickleError(f, 'missing file (no such file)'));
  });

  test('a CIFAR batch still reports pickle problems as "<file>: …" (not "pickle <file>: …")', () => {
    const t = tmpDir();
    const f = path.join(t.dir, 'data_batch_1');
    fs.writeFileSync(f, Buffer.from([0x80, 0x02, 0x7d]));
    const err = thrown(() => loadCifarBatch(f));
    expect(err.constructor).toBe(DataFormatError);
    expect(err.message).toBe(`${f}: truncated at offset 3 (no STOP opcode; file has 3 bytes)`);
    t.cleanup();
  });

  test('lists nested 100,000 deep around a long Python 2 str read back (the lazy-string pass was recursive: stack overflow)', () => {
    const depth = 100000;
    const h = Buffer.alloc(5);
    h[0] = 0x54; // BINSTRING of 5000 bytes: kept lazily, decoded in a final pass over the result
    h.writeInt32LE(5000, 1);
    const buf = Buffer.concat([Buffer.from([0x80, 2]), Buffer.alloc(depth, 0x28), h, Buffer.alloc(5000, 0x41), Buffer.alloc(depth, 0x6c), Buffer.from([0x2e])]);
    let v = readPickle(buf);
    let levels = 0;
    let singletons = 0;
    while (Array.isArray(v)) {
      if (v.length === 1) singletons++;
      v = v[0] as PickleValue;
      levels++;
    }
    expect([levels, singletons]).toEqual([depth, depth]);
    expect(v).toBe('A'.repeat(5000));
  });

  test('LONG1/LONG4 integers of any length decode exactly, positive and negative (now parsed in linear time)', () => {
    for (const n of [1, 2, 7, 8, 9, 255, 256, 3000]) {
      for (const fill of [0x00, 0x5a, 0x80, 0xff]) {
        const b = Buffer.alloc(n, fill);
        b[0] = 0x37;
        const head = n < 256 ? Buffer.from([0x8a, n]) : Buffer.from([0x8b, n & 0xff, (n >> 8) & 0xff, 0, 0]);
        const v = readPickle(Buffer.concat([Buffer.from([0x80, 2]), head, b, Buffer.from([0x2e])]));
        // Oracle: two's complement of the little-endian bytes, via BigInt.asIntN.
        const want = BigInt.asIntN(8 * n, BigInt(`0x${Buffer.from(b).reverse().toString('hex')}`));
        const safe = want >= BigInt(Number.MIN_SAFE_INTEGER) && want <= BigInt(Number.MAX_SAFE_INTEGER);
        expect([n, fill, v]).toEqual([n, fill, safe ? Number(want) : want]);
      }
    }
  });
});

describe('array files (Solver checkpoints)', () => {
  const good = new Uint8Array(encodeArrayFile({ k: 1 }, { a: ndarray(Float64Array.from([1, 2]), [2]) }));

  /** The file with its JSON header replaced by `header` (lengths and checksum made consistent). */
  function withHeader(header: unknown): Uint8Array {
    const b = Buffer.from(good);
    const h = b.readUInt32LE(12);
    const payloadLength = Number(b.readBigUInt64LE(16));
    const start = (24 + h + 7) & ~7;
    const text = Buffer.from(JSON.stringify(header));
    const newStart = (24 + text.length + 7) & ~7;
    const out = Buffer.alloc(newStart + payloadLength + 32);
    b.copy(out, 0, 0, 24);
    out.writeUInt32LE(text.length, 12);
    text.copy(out, 24);
    b.copy(out, newStart, start, start + payloadLength);
    createHash('sha256').update(out.subarray(0, out.length - 32)).digest().copy(out, out.length - 32);
    return out;
  }
  const entry = { name: 'a', dtype: 'float64', shape: [2], offset: 0, byteLength: 16 };

  test('CheckpointError is a DataFormatError with the same message as before', () => {
    const err = thrown(() => decodeArrayFile(good.subarray(0, 10), 'c.ckpt'));
    expect(err).toBeInstanceOf(CheckpointError);
    expect(err).toBeInstanceOf(DataFormatError);
    expect(err.message).toMatch(/^c\.ckpt: checkpoint is truncated: 10 bytes/);
  });

  test('a correctly signed file with a forged array table is a CheckpointError, never a TypeError', () => {
    const cases: Array<[unknown, RegExp]> = [
      [{ arrays: [null] }, /array table holds null, expected an entry object/],
      [{ arrays: [{ ...entry, name: 7 }] }, /entry named 7, expected a string/],
      [{ arrays: [entry, entry] }, /array "a" is listed twice/],
      [{ arrays: [{ ...entry, dtype: 'constructor' }] }, /array "a": bad dtype or shape/],
      [{ arrays: [{ ...entry, shape: [-2, -1] }] }, /array "a": bad dtype or shape/],
      [{ arrays: [{ ...entry, offset: 0.5 }] }, /array "a": offset 0\.5 and byteLength 16 must be non-negative integers/],
      [{ arrays: [{ ...entry, byteLength: '16' }] }, /must be non-negative integers/],
    ];
    for (const [header, re] of cases) {
      const err = thrown(() => decodeArrayFile(withHeader(header), 'f.ckpt'));
      expect(err).toBeInstanceOf(CheckpointError);
      expect(err.message).toMatch(re);
    }
    expect(decodeArrayFile(withHeader({ arrays: [entry] }), 'f.ckpt').arrays.a.data).toEqual(Float64Array.from([1, 2]));
  });

  test('an array named "__proto__" is an entry, not the prototype of the result', () => {
    const { arrays } = decodeArrayFile(withHeader({ arrays: [{ ...entry, name: '__proto__' }] }), 'p.ckpt');
    expect(Object.getPrototypeOf(arrays)).toBe(Object.prototype);
    expect(Object.keys(arrays)).toEqual(['__proto__']);
  });
});
