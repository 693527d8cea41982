import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import fc from 'fast-check';
import ndarray, { type NdArray } from 'ndarray';
import { DataFormatError } from '../src/data/errors';
import {
  loadSafetensors, MAX_SAFETENSORS_HEADER, parseSafetensors, saveSafetensors, serializeSafetensors,
  type SafetensorsDType, type SafetensorsTensor,
} from '../src/data/safetensors';
import { parseStrictJson, StrictJsonError } from '../src/data/strictJson';
import { Module, Parameter } from '../src/nn';
import { toArray, transpose, type Tensor } from '../src/core/tensor';

const FIX = path.resolve(__dirname, 'fixtures/safetensors');
const fixtureBytes = fs.readFileSync(path.join(FIX, 'tensors.safetensors'));
const expected = JSON.parse(fs.readFileSync(path.join(FIX, 'expected.json'), 'utf8')) as {
  order: string[];
  metadata: Record<string, string>;
  tensors: Record<string, { dtype: SafetensorsDType; shape: number[]; values: Array<number | string> }>;
};

const STORE: Record<SafetensorsDType, string> = { F64: 'Float64Array', F32: 'Float32Array', F16: 'Float32Array', BF16: 'Float32Array', I64: 'Int32Array', I32: 'Int32Array', U8: 'Uint8Array' };

/** The value a reader should hold for element i, in the fixture's encoding (bit patterns for floats). */
function actualValue(dtype: SafetensorsDType, data: SafetensorsTensor['data'], i: number): number | string {
  if (dtype === 'F64') return Buffer.from(new Float64Array([data[i]]).buffer).reverse().toString('hex');
  if (dtype === 'F32' || dtype === 'F16' || dtype === 'BF16') return new Uint32Array(new Float32Array([data[i]]).buffer)[0];
  return data[i];
}

function tmp(): string {
  return fs.mkdtempSync(path.join(os.tmpdir(), 'cs231n-st-'));
}

/** A safetensors file with the given header (object or raw text) and data bytes. */
function forge(header: unknown, data: Uint8Array | number = 0, opts: { length?: bigint } = {}): Uint8Array {
  const text = Buffer.from(typeof header === 'string' ? header : JSON.stringify(header), 'utf8');
  const body = typeof data === 'number' ? new Uint8Array(data) : data;
  const out = new Uint8Array(8 + text.length + body.length);
  new DataView(out.buffer).setBigUint64(0, opts.length ?? BigInt(text.length), true);
  out.set(text, 8);
  out.set(body, 8 + text.length);
  return out;
}

function thrown(f: () => unknown): Error {
  try {
    f();
  } catch (e) {
    return e as Error;
  }
  throw new Error('expected a throw');
}

/** Expects a DataFormatError for `bytes` whose message names the file and matches `re`. */
function expectFormatError(bytes: Uint8Array, re: RegExp): void {
  const err = thrown(() => parseSafetensors(bytes, 'w.safetensors'));
  expect(err).toBeInstanceOf(DataFormatError);
  expect(err.message).toMatch(/^w\.safetensors: /);
  expect(err.message).toMatch(re);
}

describe('safetensors: the PyTorch-written fixture (every dtype, metadata)', () => {
  const st = parseSafetensors(fixtureBytes, 'tensors.safetensors');

  test('keys come back in the file order (dtype alignment descending, then UTF-8 name), with the metadata', () => {
    expect(Object.keys(st.tensors)).toEqual(expected.order);
    expect(st.metadata).toEqual(expected.metadata);
  });

  test('every value of every tensor equals what PyTorch holds, bit for bit, in the documented store', () => {
    for (const [key, want] of Object.entries(expected.tensors)) {
      const t = st.tensors[key];
      expect([key, t.shape]).toEqual([key, want.shape]);
      expect([key, t.data.constructor.name]).toEqual([key, STORE[want.dtype]]);
      const got = Array.from({ length: t.data.length }, (_, i) => actualValue(want.dtype, t.data, i));
      expect([key, got]).toEqual([key, want.values]);
    }
  });

  test('writing what was read (F16/BF16/I64 keys chosen back) reproduces the file byte for byte', () => {
    const dtypes: Record<string, SafetensorsDType> = {};
    for (const [key, want] of Object.entries(expected.tensors)) if (['F16', 'BF16', 'I64'].includes(want.dtype)) dtypes[key] = want.dtype;
    const again = serializeSafetensors(st.tensors, st.metadata, { dtypes });
    expect(Buffer.compare(Buffer.from(again), fixtureBytes)).toBe(0);
  });

  test('loadSafetensors reads the file and names a missing one', () => {
    expect(Object.keys(loadSafetensors(path.join(FIX, 'tensors.safetensors')).tensors)).toEqual(expected.order);
    const missing = path.join(FIX, 'nope.safetensors');
    expect(() => loadSafetensors(missing)).toThrow(new DataFormatError(missing, 'missing file (no such file)'));
  });
});

describe('safetensors: writing', () => {
  test('the empty file and the metadata-only file are the reference bytes', () => {
    // The reference implementation's own expected bytes for these two cases.
    expect(Array.from(serializeSafetensors({}))).toEqual([8, 0, 0, 0, 0, 0, 0, 0, 123, 125, 32, 32, 32, 32, 32, 32]);
    const meta = serializeSafetensors({}, { framework: 'pt' });
    expect(Buffer.from(meta).subarray(8).toString()).toBe('{"__metadata__":{"framework":"pt"}}     ');
    expect(Number(new DataView(meta.buffer).getBigUint64(0, true))).toBe(40);
  });

  test('property: any F64/F32/I32/U8 tensors (strided views too) round-trip through a file bit-exactly', () => {
    const dir = tmp();
    const file = path.join(dir, 'r.safetensors');
    const shapeArb = fc.array(fc.integer({ min: 0, max: 4 }), { minLength: 0, maxLength: 3 });
    const kind = fc.constantFrom('F64', 'F32', 'I32', 'U8') as fc.Arbitrary<'F64' | 'F32' | 'I32' | 'U8'>;
    const tensorArb = fc.tuple(kind, shapeArb, fc.boolean(), fc.integer()).map(([k, shape, tr, seed]) => {
      const n = shape.reduce((p, d) => p * d, 1);
      const C = { F64: Float64Array, F32: Float32Array, I32: Int32Array, U8: Uint8Array }[k];
      const data = new C(n);
      // Raw random bits, so NaN payloads, -0 and subnormals are all exercised.
      const bytes = new Uint8Array(data.buffer);
      let s = seed >>> 0;
      for (let i = 0; i < bytes.length; i++) bytes[i] = (s = (Math.imul(s, 1103515245) + 12345) >>> 0) >>> 24;
      const a = ndarray(data as any, shape) as SafetensorsTensor;
      return tr && shape.length >= 2 ? (transpose(a as NdArray<any>) as SafetensorsTensor) : a;
    });
    fc.assert(
      fc.property(fc.dictionary(fc.string({ minLength: 1, maxLength: 6 }), tensorArb, { maxKeys: 5 }), (tensors) => {
        delete (tensors as Record<string, unknown>).__metadata__;
        saveSafetensors(file, tensors, { seed: 'x' });
        const back = loadSafetensors(file);
        expect(Object.keys(back.tensors).sort()).toEqual(Object.keys(tensors).sort());
        for (const [k, a] of Object.entries(tensors)) {
          const b = back.tensors[k];
          expect(b.shape).toEqual(a.shape);
          expect(b.data.constructor).toBe(a.data.constructor);
          // Compare bytes, not values: NaN payloads must survive too.
          const dense = toArray(a as NdArray<any>);
          const want = new (a.data.constructor as any)(dense);
          expect(Buffer.from(b.data.buffer, b.data.byteOffset, b.data.byteLength)).toEqual(Buffer.from(want.buffer));
        }
        expect(back.metadata).toEqual({ seed: 'x' });
      }),
      { numRuns: 60 },
    );
    fs.rmSync(dir, { recursive: true, force: true });
  });

  test('a module state dict (float params, int64 counter) round-trips through safetensors bit-exactly', () => {
    class Tiny extends Module {
      constructor() {
        super();
        this.addParameter('weight', new Parameter(ndarray(Float64Array.from([0.1, -0, 1e-310, NaN, Infinity, -2.5]), [2, 3]) as Tensor));
        this.addBuffer('running_mean', ndarray(Float32Array.from([1 / 3, -7]), [2]) as Tensor);
        this.addBuffer('num_batches_tracked', ndarray(Int32Array.from([12345]), []));
      }
      forward(x: Tensor): Tensor {
        return x;
      }
      backward(d: Tensor): Tensor {
        return d;
      }
    }
    const sd = new Tiny().stateDict();
    const bytes = serializeSafetensors(sd, undefined, { dtypes: { num_batches_tracked: 'I64' } });
    const text = Buffer.from(bytes).toString('latin1');
    expect(text).toMatch(/"num_batches_tracked":\{"dtype":"I64","shape":\[\],"data_offsets":\[0,8\]\}/);
    const back = parseSafetensors(bytes, 'sd');
    const fresh = new Tiny();
    fresh.loadStateDict(back.tensors as Record<string, Tensor>);
    for (const [k, v] of Object.entries(fresh.stateDict())) {
      expect([k, v.data.constructor.name, Buffer.from(v.data.buffer)]).toEqual([k, sd[k].data.constructor.name, Buffer.from(sd[k].data.buffer)]);
    }
  });

  test('F16/BF16 writing rounds to nearest even and reads back the rounded value', () => {
    const a = ndarray(Float64Array.from([1 + 2 ** -11, 1 + 3 * 2 ** -11, 70000, 2 ** -26]), [4]) as SafetensorsTensor;
    const h = parseSafetensors(serializeSafetensors({ a }, undefined, { dtypes: { a: 'F16' } })).tensors.a;
    expect(Array.from(h.data)).toEqual([1, 1 + 2 * 2 ** -10, Infinity, 0]);
    const b = parseSafetensors(serializeSafetensors({ a }, undefined, { dtypes: { a: 'BF16' } })).tensors.a;
    expect(Array.from(b.data)).toEqual([1, 1, 70144, 2 ** -26]);
  });

  test('bad writer arguments are errors naming the argument', () => {
    const f = ndarray(new Float32Array(2), [2]) as SafetensorsTensor;
    const i = ndarray(new Int32Array(2), [2]) as SafetensorsTensor;
    expect(() => serializeSafetensors({ f }, undefined, { dtypes: { f: 'I64' } })).toThrow(/opts\.dtypes\.f: a Float32Array tensor can be written as F64, F32, F16, BF16, got "I64"/);
    expect(() => serializeSafetensors({ i }, undefined, { dtypes: { i: 'F16' } })).toThrow(/opts\.dtypes\.i: a Int32Array tensor can be written as I32, I64/);
    expect(() => serializeSafetensors({ f }, undefined, { dtypes: { g: 'F16' } })).toThrow(/opts\.dtypes\.g: no tensor of that name/);
    expect(() => serializeSafetensors({ __metadata__: f })).toThrow(/reserved/);
    expect(() => serializeSafetensors({ x: ndarray(new Int16Array(2), [2]) as any })).toThrow(/tensors\.x: expected an ndarray over .* got Int16Array/);
    expect(() => serializeSafetensors({ f }, { a: 1 as any })).toThrow(/metadata\.a: expected a string, got number/);
    expect(() => serializeSafetensors({ '\ud800': f })).toThrow(/lone surrogate/);
  });

  test('saveSafetensors writes atomically: no temporary file is left and an old file is replaced whole', () => {
    const dir = tmp();
    const file = path.join(dir, 'm.safetensors');
    saveSafetensors(file, { a: ndarray(Float64Array.from([1, 2]), [2]) as SafetensorsTensor });
    saveSafetensors(file, { b: ndarray(Uint8Array.from([3]), [1]) as SafetensorsTensor });
    expect(fs.readdirSync(dir)).toEqual(['m.safetensors']);
    expect(Object.keys(loadSafetensors(file).tensors)).toEqual(['b']);
    fs.rmSync(dir, { recursive: true, force: true });
  });
});

describe('safetensors: the header is untrusted', () => {
  const f32 = (shape: number[], offsets: number[]) => ({ dtype: 'F32', shape, data_offsets: offsets });

  test('a valid hand-forged file reads (tensors listed out of data order are fine, as in the reference reader)', () => {
    const st = parseSafetensors(forge({ b: f32([1], [4, 8]), a: f32([1], [0, 4]) }, Uint8Array.from([0, 0, 128, 63, 0, 0, 0, 64])));
    expect(Object.keys(st.tensors)).toEqual(['b', 'a']);
    expect([st.tensors.a.get(0), st.tensors.b.get(0)]).toEqual([1, 2]);
  });

  test('a file shorter than 8 bytes, a header length beyond the file or over 100 MB', () => {
    expectFormatError(new Uint8Array(5), /truncated: 5 bytes, too short for the 8-byte header length/);
    expectFormatError(forge({}, 0, { length: 1000n }), /truncated: the header length says 1000 bytes of JSON after the first 8, the file has 2/);
    expectFormatError(forge({}, 0, { length: BigInt(MAX_SAFETENSORS_HEADER + 1) }), /header length 100000001 is over the 100000000-byte limit/);
    expectFormatError(forge({}, 0, { length: 2n ** 64n - 1n }), /header length 18446744073709551615 is over/);
  });

  test('non-UTF-8, not an object, not JSON, or a key listed twice', () => {
    const bad = forge('{"a":1}');
    bad[10] = 0xff;
    expectFormatError(bad, /header is not valid UTF-8/);
    expectFormatError(forge('[]'), /header does not start with '\{'/);
    expectFormatError(forge('{"a":'), /header is not valid JSON \(unexpected end of input at offset 5\)/);
    expectFormatError(forge('{"a":{"dtype":"U8","shape":[1],"data_offsets":[0,1]},"a":{"dtype":"U8","shape":[1],"data_offsets":[1,2]}}', 2), /header lists key "a" twice/);
    expectFormatError(forge('{"a":{"dtype":"U8","dtype":"F32","shape":[1],"data_offsets":[0,1]}}', 1), /header lists key "dtype" twice/);
    expectFormatError(forge(`{"a":${'['.repeat(100000)}`), /nesting deeper than 8 levels/);
  });

  test('bad dtype, shape, offsets or metadata name the tensor', () => {
    expectFormatError(forge({ w: { dtype: 'U64', shape: [1], data_offsets: [0, 8] } }, 8), /tensor "w": unsupported dtype "U64"/);
    expectFormatError(forge({ w: { dtype: 'Q7', shape: [1], data_offsets: [0, 8] } }, 8), /tensor "w": unknown dtype "Q7"/);
    expectFormatError(forge({ w: { shape: [1], data_offsets: [0, 8] } }, 8), /tensor "w": dtype is missing/);
    expectFormatError(forge({ w: f32([-1], [0, 4]) }, 4), /tensor "w": shape must be an array of non-negative integers, got \[-1\]/);
    expectFormatError(forge({ w: f32([1.5], [0, 4]) }, 4), /tensor "w": shape must be .* got \[1\.5\]/);
    expectFormatError(forge({ w: f32([2 ** 53], [0, 4]) }, 4), /tensor "w": shape must be/);
    expectFormatError(forge({ w: f32([1], [0]) }, 4), /tensor "w": data_offsets must be two non-negative integers/);
    expectFormatError(forge({ w: f32([1], [4, 0]) }, 4), /tensor "w": data_offsets \[4, 0\] end before they begin/);
    expectFormatError(forge({ w: f32([1], [0, 400]) }, 4), /tensor "w": data_offsets \[0, 400\] run past the end of the 4-byte data area/);
    expectFormatError(forge({ w: f32([2], [0, 4]) }, 4), /tensor "w": shape \(2\) of F32 needs 8 bytes, data_offsets \[0, 4\] hold 4/);
    expectFormatError(forge({ w: f32([2 ** 40, 2 ** 40, 0, 2 ** 40], [0, 4]) }, 4), /tensor "w": shape .* needs 0 bytes/);
    expectFormatError(forge({ w: f32([2 ** 50, 2 ** 50], [0, 4]) }, 4), /tensor "w": shape \(1125899906842624, 1125899906842624\) of F32 needs more than 2\^53 bytes/);
    expectFormatError(forge({ w: 3 }), /tensor "w": expected an object/);
    expectFormatError(forge({ __metadata__: { a: 1 } }), /__metadata__ key "a": expected a string value, got a number/);
    expectFormatError(forge({ __metadata__: ['a'] }), /__metadata__ is not an object of strings/);
  });

  test('overlapping, gap-leaving and trailing data are errors naming both tensors', () => {
    expectFormatError(forge({ a: f32([2], [0, 8]), b: f32([1], [4, 8]) }, 8), /tensor "b": data_offsets \[4, 8\] overlap those of tensor "a" \(which end at 8\)/);
    expectFormatError(forge({ a: f32([1], [0, 4]), b: f32([1], [8, 12]) }, 12), /tensor "b": data_offsets \[8, 12\] leave a gap of 4 bytes after tensor "a"/);
    expectFormatError(forge({ a: f32([1], [4, 8]) }, 8), /tensor "a": .* leave a gap of 4 bytes after the header/);
    expectFormatError(forge({ a: f32([1], [0, 4]) }, 6), /2 bytes after the last tensor's data \(tensor "a" ends at 4; data area is 6 bytes\)/);
    expectFormatError(forge({ a: f32([1], [0, 4]), b: f32([1], [0, 4]) }, 4), /overlap/);
  });

  test('an I64 value that does not fit int32 names the tensor and element', () => {
    const data = new Uint8Array(16);
    new DataView(data.buffer).setBigInt64(8, 2n ** 31n, true);
    expectFormatError(forge({ n: { dtype: 'I64', shape: [2], data_offsets: [0, 16] } }, data), /tensor "n": I64 value 2147483648 at element 1 does not fit in int32/);
  });

  test('a "__proto__" key is stored as data, never as a prototype', () => {
    const st = parseSafetensors(forge('{"__metadata__":{"__proto__":"x"},"__proto__":{"dtype":"U8","shape":[1],"data_offsets":[0,1]}}', 1));
    expect(Object.keys(st.tensors)).toEqual(['__proto__']);
    expect(Object.getPrototypeOf(st.tensors)).toBe(Object.prototype);
    expect(st.metadata.__proto__).toBe('x');
  });
});

describe('strict JSON', () => {
  test('reads what JSON.parse reads, keeping key order (integer-like keys too)', () => {
    const text = '{"b":[1,-2.5e3,true,false,null],"0":"\\u00e9\\n\\"","a":{}}';
    const v = parseStrictJson(text) as Map<string, unknown>;
    expect([...v.keys()]).toEqual(['b', '0', 'a']);
    expect(v.get('b')).toEqual(JSON.parse(text).b);
    expect(v.get('0')).toBe('é\n"');
  });

  test('property: agrees with JSON.parse on any JSON without repeated keys', () => {
    const toPlain = (v: unknown): unknown => (v instanceof Map ? Object.fromEntries([...v].map(([k, x]) => [k, toPlain(x)])) : Array.isArray(v) ? v.map(toPlain) : v);
    fc.assert(
      fc.property(fc.jsonValue({ maxDepth: 4 }), (v) => {
        const text = JSON.stringify(v, null, 1);
        expect(toPlain(parseStrictJson(text))).toEqual(JSON.parse(text));
      }),
      { numRuns: 200 },
    );
  });

  test('rejects trailing garbage, bad escapes, control characters and repeated keys', () => {
    for (const bad of ['{} x', '"\\x"', '"a\u0001"', '{"a":1,"a":2}', '01', '[1,]', '{"a" 1}', 'nul']) {
      expect(() => parseStrictJson(bad)).toThrow(StrictJsonError);
    }
  });
});
