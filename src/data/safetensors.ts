import * as fs from 'fs';
import ndarray, { type NdArray } from 'ndarray';
import ops from 'ndarray-ops';
import { bfloat16Bits, bfloat16FromBits, float16Bits, float16FromBits } from '../core/float16';
import { isContiguous, sizeOf } from '../core/tensor';
import { writeFileAtomic } from '../util/atomicWrite';
import { DataFormatError } from './errors';
import { parseStrictJson, StrictJsonError, type StrictJson } from './strictJson';

/*
 * The safetensors format (Hugging Face): an 8-byte little-endian uint64 N, then N bytes of
 * UTF-8 JSON, then the tensors' bytes. The JSON maps each tensor name to
 * `{"dtype", "shape", "data_offsets": [begin, end]}` (offsets relative to the first data byte),
 * plus an optional `"__metadata__"` map of strings to strings. Data is little-endian, row-major.
 *
 * The reference writer orders tensors by dtype, widest alignment first (its dtype list
 * below, read backwards), then by name as UTF-8 bytes; lays their bytes out back to back in that
 * order; writes `__metadata__` first and the tensors in data order, compact JSON; and pads the
 * JSON with spaces to a multiple of 8 bytes so every tensor starts 8-byte aligned.
 *
 * The reference reader accepts tensors listed in any order as long as, sorted by offset, they
 * tile the data area exactly (no gap, no overlap, nothing after the last one); so does this one.
 */

/** Element types this reader and writer handle. */
export type SafetensorsDType = 'F64' | 'F32' | 'F16' | 'BF16' | 'I64' | 'I32' | 'U8';
/** A tensor as read or written: F16/BF16 come back as Float32Array, I64 as Int32Array. */
export type SafetensorsTensor = NdArray<Float64Array | Float32Array | Int32Array | Uint8Array>;

/** A file's contents. Tensors are listed in the header's order (for the reference writer: its data order). */
export interface Safetensors {
  tensors: Record<string, SafetensorsTensor>;
  /** `__metadata__` (empty when the file has none). */
  metadata: Record<string, string>;
}

/** Options of {@link serializeSafetensors} / {@link saveSafetensors}. */
export interface SaveSafetensorsOptions {
  /**
   * The dtype to store chosen tensors in, instead of their store's own (Float64Array → F64,
   * Float32Array → F32, Int32Array → I32, Uint8Array → U8): float tensors may be written as
   * F64, F32, F16 or BF16 (rounded to nearest even), Int32 tensors as I32 or I64 (PyTorch keeps
   * `num_batches_tracked` as int64).
   */
  dtypes?: Record<string, SafetensorsDType>;
}

/** The largest header read (the reference implementation's limit too). */
export const MAX_SAFETENSORS_HEADER = 100_000_000;

/**
 * Every dtype name the reference implementation knows, in its order (increasing alignment, the
 * writer sorts by it descending). Only {@link SafetensorsDType} can be read; the others are
 * named as unsupported rather than unknown.
 */
const REFERENCE_DTYPES = ['BOOL', 'F4', 'F6_E2M3', 'F6_E3M2', 'U8', 'I8', 'F8_E5M2', 'F8_E4M3', 'F8_E8M0', 'I16', 'U16', 'F16', 'BF16', 'I32', 'U32', 'F32', 'C64', 'F64', 'I64', 'U64'];
const RANK = new Map(REFERENCE_DTYPES.map((d, i) => [d, i]));
const SIZE: Record<SafetensorsDType, number> = { F64: 8, F32: 4, F16: 2, BF16: 2, I64: 8, I32: 4, U8: 1 };
const isSupported = (d: string): d is SafetensorsDType => Object.prototype.hasOwnProperty.call(SIZE, d);

const LITTLE_ENDIAN_HOST = new Uint8Array(new Uint16Array([1]).buffer)[0] === 1;
const utf8Strict = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true });

/** Sets an own property, so a key such as `__proto__` is stored as data, not as the prototype. */
function setOwn<T>(obj: Record<string, T>, key: string, value: T): void {
  Object.defineProperty(obj, key, { value, enumerable: true, writable: true, configurable: true });
}

interface Entry {
  key: string;
  dtype: SafetensorsDType;
  shape: number[];
  begin: number;
  end: number;
}

/** Reads a safetensors file (see {@link parseSafetensors}). */
export function loadSafetensors(file: string): Safetensors {
  let buf: Buffer;
  try {
    buf = fs.readFileSync(file);
  } catch (e) {
    const err = e as NodeJS.ErrnoException;
    throw new DataFormatError(file, err.code === 'ENOENT' ? 'missing file (no such file)' : `cannot read (${err.code ?? err.message})`);
  }
  return parseSafetensors(buf, file);
}

/**
 * Decodes safetensors bytes (`file` names the source in errors). The header is untrusted: its
 * length, UTF-8, JSON (a repeated key is an error, not "last one wins"), every dtype, shape and
 * offset pair, and the tiling of the data area are checked before any tensor is allocated, so a
 * hostile file costs at most about its own size in memory. Every problem is a
 * {@link DataFormatError} naming the file and, when there is one, the tensor.
 */
export function parseSafetensors(bytes: Uint8Array, file = '<buffer>'): Safetensors {
  const fail = (problem: string): never => {
    throw new DataFormatError(file, problem);
  };
  if (bytes.length < 8) fail(`truncated: ${bytes.length} bytes, too short for the 8-byte header length`);
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const n = view.getBigUint64(0, true);
  if (n > BigInt(MAX_SAFETENSORS_HEADER)) fail(`header length ${n} is over the ${MAX_SAFETENSORS_HEADER}-byte limit`);
  const headerLength = Number(n);
  if (8 + headerLength > bytes.length) {
    fail(`truncated: the header length says ${headerLength} bytes of JSON after the first 8, the file has ${bytes.length - 8}`);
  }
  let text: string;
  try {
    text = utf8Strict.decode(bytes.subarray(8, 8 + headerLength));
  } catch {
    return fail('header is not valid UTF-8');
  }
  if (text[0] !== '{') fail(`header does not start with '{' (got ${text.length ? JSON.stringify(text[0]) : 'nothing'})`);
  let header: StrictJson;
  try {
    header = parseStrictJson(text, { maxDepth: 8 });
  } catch (e) {
    if (!(e instanceof StrictJsonError)) throw e;
    if (e.duplicateKey !== undefined) fail(`header lists key ${JSON.stringify(e.duplicateKey)} twice`);
    return fail(`header is not valid JSON (${e.message})`);
  }
  const start = 8 + headerLength;
  const dataLength = bytes.length - start;
  const metadata: Record<string, string> = {};
  const entries: Entry[] = [];
  for (const [key, v] of header as Map<string, StrictJson>) {
    if (key === '__metadata__') {
      if (!(v instanceof Map)) fail(`__metadata__ is not an object of strings`);
      for (const [mk, mv] of v as Map<string, StrictJson>) {
        if (typeof mv !== 'string') fail(`__metadata__ key ${JSON.stringify(mk)}: expected a string value, got ${jsonKind(mv)}`);
        setOwn(metadata, mk, mv as string);
      }
      continue;
    }
    entries.push(checkEntry(key, v, dataLength, fail));
  }
  checkTiling(entries, dataLength, fail);
  const tensors: Record<string, SafetensorsTensor> = {};
  for (const e of entries) setOwn(tensors, e.key, decodeTensor(e, bytes.subarray(start + e.begin, start + e.end), fail));
  return { tensors, metadata };
}

function jsonKind(v: StrictJson): string {
  if (v === null) return 'null';
  if (Array.isArray(v)) return 'an array';
  if (v instanceof Map) return 'an object';
  return `a ${typeof v}`;
}

/** Validates one tensor's header entry; sizes are compared as numbers below 2^53, never allocated. */
function checkEntry(key: string, v: StrictJson, dataLength: number, fail: (p: string) => never): Entry {
  const name = `tensor ${JSON.stringify(key)}`;
  if (!(v instanceof Map)) return fail(`${name}: expected an object with dtype, shape and data_offsets, got ${jsonKind(v)}`);
  const dtype = v.get('dtype');
  if (typeof dtype !== 'string') return fail(`${name}: dtype is ${dtype === undefined ? 'missing' : jsonKind(dtype)}, expected a string`);
  if (!isSupported(dtype)) {
    return fail(`${name}: ${RANK.has(dtype) ? 'unsupported' : 'unknown'} dtype ${JSON.stringify(dtype)} (supported: ${Object.keys(SIZE).join(', ')})`);
  }
  const shape = v.get('shape');
  if (!Array.isArray(shape) || !shape.every((d) => typeof d === 'number' && Number.isSafeInteger(d) && d >= 0)) {
    return fail(`${name}: shape must be an array of non-negative integers, got ${shape === undefined ? 'nothing' : JSON.stringify(toPlain(shape))}`);
  }
  const offsets = v.get('data_offsets');
  if (!Array.isArray(offsets) || offsets.length !== 2 || !offsets.every((d) => typeof d === 'number' && Number.isSafeInteger(d) && d >= 0)) {
    return fail(`${name}: data_offsets must be two non-negative integers [begin, end], got ${offsets === undefined ? 'nothing' : JSON.stringify(toPlain(offsets))}`);
  }
  const [begin, end] = offsets as number[];
  if (end < begin) fail(`${name}: data_offsets [${begin}, ${end}] end before they begin`);
  if (end > dataLength) fail(`${name}: data_offsets [${begin}, ${end}] run past the end of the ${dataLength}-byte data area`);
  // Counted with an early exit: a forged shape such as [2^40, 2^40] must not round into a match.
  let count = shape.some((d) => d === 0) ? 0 : 1;
  for (const d of shape as number[]) {
    if (count * d * SIZE[dtype] > Number.MAX_SAFE_INTEGER) {
      count = Infinity;
      break;
    }
    count *= d;
  }
  const need = count * SIZE[dtype];
  if (need !== end - begin) {
    const sh = `(${(shape as number[]).join(', ')})`;
    fail(`${name}: shape ${sh} of ${dtype} needs ${need === Infinity ? `more than 2^53` : need} bytes, data_offsets [${begin}, ${end}] hold ${end - begin}`);
  }
  return { key, dtype, shape: (shape as number[]).slice(), begin, end };
}

/** Sorted by offset, the tensors must cover the data area exactly once. */
function checkTiling(entries: Entry[], dataLength: number, fail: (p: string) => never): void {
  const sorted = entries.slice().sort((a, b) => a.begin - b.begin || a.end - b.end);
  let at = 0;
  let prev = '';
  for (const e of sorted) {
    const name = `tensor ${JSON.stringify(e.key)}`;
    if (e.begin < at) fail(`${name}: data_offsets [${e.begin}, ${e.end}] overlap those of tensor ${JSON.stringify(prev)} (which end at ${at})`);
    if (e.begin > at) fail(`${name}: data_offsets [${e.begin}, ${e.end}] leave a gap of ${e.begin - at} bytes after ${prev ? `tensor ${JSON.stringify(prev)}` : 'the header'}`);
    at = e.end;
    prev = e.key;
  }
  if (at !== dataLength) {
    fail(`${dataLength - at} bytes after the last tensor's data (${prev ? `tensor ${JSON.stringify(prev)} ends at ${at}` : 'no tensors'}; data area is ${dataLength} bytes)`);
  }
}

function toPlain(v: StrictJson): unknown {
  if (v instanceof Map) return Object.fromEntries([...v].map(([k, x]) => [k, toPlain(x)]));
  if (Array.isArray(v)) return v.map(toPlain);
  return v;
}

/** One tensor's bytes (already checked to be exactly shape × dtype long) as a fresh typed array. */
function decodeTensor(e: Entry, raw: Uint8Array, fail: (p: string) => never): SafetensorsTensor {
  const n = sizeOf(e.shape);
  const dv = new DataView(raw.buffer, raw.byteOffset, raw.byteLength);
  const shape = e.shape;
  switch (e.dtype) {
    case 'U8': {
      const out = new Uint8Array(n);
      out.set(raw);
      return ndarray(out, shape);
    }
    case 'F64': {
      const out = new Float64Array(n);
      if (LITTLE_ENDIAN_HOST) new Uint8Array(out.buffer).set(raw);
      else for (let i = 0; i < n; i++) out[i] = dv.getFloat64(8 * i, true);
      return ndarray(out, shape);
    }
    case 'F32': {
      const out = new Float32Array(n);
      if (LITTLE_ENDIAN_HOST) new Uint8Array(out.buffer).set(raw);
      else for (let i = 0; i < n; i++) out[i] = dv.getFloat32(4 * i, true);
      return ndarray(out, shape);
    }
    case 'I32': {
      const out = new Int32Array(n);
      if (LITTLE_ENDIAN_HOST) new Uint8Array(out.buffer).set(raw);
      else for (let i = 0; i < n; i++) out[i] = dv.getInt32(4 * i, true);
      return ndarray(out, shape);
    }
    case 'F16':
    case 'BF16': {
      const out = new Float32Array(n);
      const fromBits = e.dtype === 'F16' ? float16FromBits : bfloat16FromBits;
      for (let i = 0; i < n; i++) out[i] = fromBits(dv.getUint16(2 * i, true));
      return ndarray(out, shape);
    }
    case 'I64': {
      const out = new Int32Array(n);
      for (let i = 0; i < n; i++) {
        const lo = dv.getInt32(8 * i, true);
        // An int64 fits in int32 exactly when its high word is the sign extension of the low one.
        if (dv.getInt32(8 * i + 4, true) !== lo >> 31) {
          fail(`tensor ${JSON.stringify(e.key)}: I64 value ${dv.getBigInt64(8 * i, true)} at element ${i} does not fit in int32 (I64 tensors are read as Int32Array)`);
        }
        out[i] = lo;
      }
      return ndarray(out, shape);
    }
  }
}

type Store = Float64Array | Float32Array | Int32Array | Uint8Array;

function ownDtype(key: string, data: unknown): SafetensorsDType {
  if (data instanceof Float64Array) return 'F64';
  if (data instanceof Float32Array) return 'F32';
  if (data instanceof Int32Array) return 'I32';
  if (data instanceof Uint8Array) return 'U8';
  const got = (data as { constructor?: { name?: string } })?.constructor?.name ?? typeof data;
  throw new TypeError(`tensors.${key}: expected an ndarray over a Float64Array, Float32Array, Int32Array or Uint8Array, got ${got}`);
}

/** The dtypes a store of each kind may be written as. */
const WRITABLE: Record<'F64' | 'F32' | 'I32' | 'U8', readonly SafetensorsDType[]> = {
  F64: ['F64', 'F32', 'F16', 'BF16'],
  F32: ['F64', 'F32', 'F16', 'BF16'],
  I32: ['I32', 'I64'],
  U8: ['U8'],
};

/** The elements of `a` in row-major order: its own store when that is already dense. */
function denseData(a: SafetensorsTensor): Store {
  if (isContiguous(a as NdArray<any>)) return a.data;
  const n = sizeOf(a.shape);
  const C = (a.data as Store).constructor as new (n: number) => Store;
  const out = new C(n);
  if (a.shape.length === 0) out[0] = a.get();
  else if (n > 0) ops.assign(ndarray(out as any, a.shape.slice()), a as NdArray<any>);
  return out;
}

/** Writes `src` (row-major elements) as `dtype` into `dst` (exactly the right length), little-endian. */
function encodeInto(dst: Uint8Array, src: Store, dtype: SafetensorsDType): void {
  const own = ownDtype('', src);
  if (own === dtype && (LITTLE_ENDIAN_HOST || dtype === 'U8')) {
    dst.set(new Uint8Array(src.buffer, src.byteOffset, src.byteLength));
    return;
  }
  const dv = new DataView(dst.buffer, dst.byteOffset, dst.byteLength);
  const n = src.length;
  switch (dtype) {
    case 'F64': for (let i = 0; i < n; i++) dv.setFloat64(8 * i, src[i], true); break;
    case 'F32': for (let i = 0; i < n; i++) dv.setFloat32(4 * i, src[i], true); break;
    case 'F16': for (let i = 0; i < n; i++) dv.setUint16(2 * i, float16Bits(src[i]), true); break;
    case 'BF16': for (let i = 0; i < n; i++) dv.setUint16(2 * i, bfloat16Bits(src[i]), true); break;
    case 'I32': for (let i = 0; i < n; i++) dv.setInt32(4 * i, src[i], true); break;
    case 'I64':
      for (let i = 0; i < n; i++) {
        dv.setInt32(8 * i, src[i], true);
        dv.setInt32(8 * i + 4, src[i] >> 31, true);
      }
      break;
    case 'U8': dst.set(src); break;
  }
}

const utf8 = (s: string): Buffer => Buffer.from(s, 'utf8');
const isWellFormed = (s: string): boolean => !/[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/.test(s);

/**
 * The safetensors bytes for `tensors` (any ndarray views: strided ones are written row-major)
 * and optional string `metadata`, laid out exactly as the reference writer does (see the top of
 * this file), so a file written here and one written by Python's `safetensors` from the same
 * tensors are byte-identical (metadata keys in the order given).
 */
export function serializeSafetensors(
  tensors: Record<string, SafetensorsTensor>,
  metadata?: Record<string, string>,
  opts: SaveSafetensorsOptions = {},
): Uint8Array {
  const dtypes = opts.dtypes ?? {};
  for (const k of Object.keys(dtypes)) {
    if (!Object.prototype.hasOwnProperty.call(tensors, k)) throw new RangeError(`opts.dtypes.${k}: no tensor of that name (tensors: ${Object.keys(tensors).join(', ')})`);
  }
  const items = Object.keys(tensors).map((key) => {
    const a = tensors[key];
    if (key === '__metadata__') throw new RangeError(`tensors: the name "__metadata__" is reserved for the metadata`);
    if (!isWellFormed(key)) throw new RangeError(`tensors: name ${JSON.stringify(key)} is not valid Unicode (a lone surrogate)`);
    const own = ownDtype(key, a?.data) as 'F64' | 'F32' | 'I32' | 'U8';
    const dtype = Object.prototype.hasOwnProperty.call(dtypes, key) ? dtypes[key] : own;
    if (!WRITABLE[own].includes(dtype)) {
      throw new RangeError(`opts.dtypes.${key}: a ${a.data.constructor.name} tensor can be written as ${WRITABLE[own].join(', ')}, got ${JSON.stringify(dtype)}`);
    }
    if (!Array.isArray(a.shape) || !a.shape.every((d) => Number.isSafeInteger(d) && d >= 0)) {
      throw new RangeError(`tensors.${key}: expected non-negative integer dimensions, got (${a.shape})`);
    }
    return { key, a, dtype, name: utf8(key), bytes: sizeOf(a.shape) * SIZE[dtype] };
  });
  items.sort((x, y) => (RANK.get(y.dtype) as number) - (RANK.get(x.dtype) as number) || Buffer.compare(x.name, y.name));

  const parts: string[] = [];
  if (metadata !== undefined) {
    if (metadata === null || typeof metadata !== 'object') throw new TypeError(`metadata: expected an object of strings, got ${metadata}`);
    const fields = Object.keys(metadata).map((k) => {
      const v = metadata[k];
      if (typeof v !== 'string') throw new TypeError(`metadata.${k}: expected a string, got ${typeof v}`);
      if (!isWellFormed(k) || !isWellFormed(v)) throw new RangeError(`metadata.${k}: not valid Unicode (a lone surrogate)`);
      return `${JSON.stringify(k)}:${JSON.stringify(v)}`;
    });
    parts.push(`"__metadata__":{${fields.join(',')}}`);
  }
  let offset = 0;
  for (const it of items) {
    parts.push(`${JSON.stringify(it.key)}:{"dtype":"${it.dtype}","shape":[${it.a.shape.join(',')}],"data_offsets":[${offset},${offset + it.bytes}]}`);
    offset += it.bytes;
  }
  const json = utf8(`{${parts.join(',')}}`);
  const headerLength = json.length + ((8 - (json.length % 8)) % 8);
  const out = new Uint8Array(8 + headerLength + offset);
  new DataView(out.buffer).setBigUint64(0, BigInt(headerLength), true);
  out.set(json, 8);
  out.fill(0x20, 8 + json.length, 8 + headerLength);
  let at = 8 + headerLength;
  for (const it of items) {
    encodeInto(out.subarray(at, at + it.bytes), denseData(it.a), it.dtype);
    at += it.bytes;
  }
  return out;
}

/** Writes {@link serializeSafetensors}'s bytes to `file` atomically (temporary file, then rename). */
export function saveSafetensors(
  file: string,
  tensors: Record<string, SafetensorsTensor>,
  metadata?: Record<string, string>,
  opts?: SaveSafetensorsOptions,
): void {
  writeFileAtomic(file, serializeSafetensors(tensors, metadata, opts));
}
