import { createHash } from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import ndarray, { type NdArray } from 'ndarray';
import { shapeStr } from '../core/check';
import { ascontiguous, sizeOf, type Tensor } from '../core/tensor';
import { DataFormatError } from '../data/errors';
import { writeFileAtomic } from '../util/atomicWrite';

/**
 * A small binary container for named arrays plus JSON metadata — the checkpoint format.
 *
 * Layout (all integers little-endian):
 *
 * | offset    | bytes | content |
 * |-----------|-------|---------|
 * | 0         | 8     | magic, ASCII `CS231NCK` |
 * | 8         | 4     | format version (uint32), currently 1 |
 * | 12        | 4     | header length H in bytes (uint32) |
 * | 16        | 8     | payload length P in bytes (uint64) |
 * | 24        | H     | header, UTF-8 JSON: `{ "meta": {…}, "arrays": [{ "name", "dtype", "shape", "offset", "byteLength" }, …] }` |
 * | 24+H      | 0–7   | zero padding to a multiple of 8 (A = start of payload) |
 * | A         | P     | payload: each array's elements, row-major, little-endian, starting at `A + offset` (offsets are multiples of 8) |
 * | A+P       | 32    | SHA-256 of bytes [0, A+P) |
 *
 * `dtype` is one of `float64`, `float32`, `int32`, `uint32`. The fixed 24-byte prefix gives the
 * file's exact size before anything else is parsed, so a file cut short (an interrupted copy,
 * a full disk) is reported as truncated with both sizes; any flipped byte fails the SHA-256.
 * Files are written with {@link writeFileAtomic}: a crash while writing leaves the previous
 * file untouched.
 */

/** Magic bytes at the start of every array file. */
export const ARRAY_FILE_MAGIC = 'CS231NCK';
/** The format version this code writes and reads. */
export const ARRAY_FILE_VERSION = 1;
const PREFIX = 24;
const DIGEST = 32;

/** The element types an array file can hold. */
export type ArrayFileDType = 'float64' | 'float32' | 'int32' | 'uint32';
/** Arrays an array file holds. */
export type StoredArray = NdArray<Float64Array | Float32Array | Int32Array | Uint32Array>;

/**
 * Thrown when a checkpoint (array file) cannot be read; the message names the file and what is
 * wrong. A {@link DataFormatError}, so one `catch` handles every bad data file.
 */
export class CheckpointError extends DataFormatError {
  constructor(file: string, message: string) {
    super(file, message);
    this.name = 'CheckpointError';
  }
}

interface ArrayEntry {
  name: string;
  dtype: ArrayFileDType;
  shape: number[];
  offset: number;
  byteLength: number;
}

const CTORS = { float64: Float64Array, float32: Float32Array, int32: Int32Array, uint32: Uint32Array } as const;

function dtypeOfStore(name: string, d: unknown): ArrayFileDType {
  if (d instanceof Float64Array) return 'float64';
  if (d instanceof Float32Array) return 'float32';
  if (d instanceof Int32Array) return 'int32';
  if (d instanceof Uint32Array) return 'uint32';
  throw new TypeError(`arrays.${name}: expected a Float64/Float32/Int32/Uint32 ndarray, got ${Object.prototype.toString.call(d)}`);
}

const bigEndian = os.endianness() === 'BE';

/** Bytes of a typed array in little-endian order (a copy when the machine is big-endian). */
function leBytes(a: Float64Array | Float32Array | Int32Array | Uint32Array): Uint8Array {
  const b = new Uint8Array(a.buffer, a.byteOffset, a.byteLength);
  if (!bigEndian) return b;
  const out = new Uint8Array(b.length);
  const w = a.BYTES_PER_ELEMENT;
  for (let i = 0; i < b.length; i += w) for (let k = 0; k < w; k++) out[i + k] = b[i + w - 1 - k];
  return out;
}

const align8 = (n: number): number => (n + 7) & ~7;

/** Serialises `meta` (JSON-compatible) and `arrays` into the format described above. */
export function encodeArrayFile(meta: unknown, arrays: Record<string, StoredArray>): Uint8Array {
  const entries: ArrayEntry[] = [];
  const chunks: Uint8Array[] = [];
  let offset = 0;
  for (const [name, a] of Object.entries(arrays)) {
    const dtype = dtypeOfStore(name, a?.data);
    const dense = (dtype === 'float64' || dtype === 'float32' ? ascontiguous(a as Tensor) : denseInt(a)) as StoredArray;
    const bytes = leBytes(dense.data);
    entries.push({ name, dtype, shape: a.shape.slice(), offset, byteLength: bytes.length });
    chunks.push(bytes);
    offset = align8(offset + bytes.length);
  }
  const payloadLength = offset;
  const header = Buffer.from(JSON.stringify({ meta, arrays: entries }), 'utf8');
  const start = align8(PREFIX + header.length);
  const total = start + payloadLength + DIGEST;
  const buf = Buffer.alloc(total);
  buf.write(ARRAY_FILE_MAGIC, 0, 'latin1');
  buf.writeUInt32LE(ARRAY_FILE_VERSION, 8);
  buf.writeUInt32LE(header.length, 12);
  buf.writeBigUInt64LE(BigInt(payloadLength), 16);
  header.copy(buf, PREFIX);
  entries.forEach((e, i) => buf.set(chunks[i], start + e.offset));
  createHash('sha256').update(buf.subarray(0, total - DIGEST)).digest().copy(buf, total - DIGEST);
  return buf;
}

function denseInt(a: StoredArray): StoredArray {
  const n = sizeOf(a.shape);
  if (a.offset === 0 && a.data.length === n && isRowMajor(a)) return a;
  const C = (a.data as Int32Array).constructor as Int32ArrayConstructor;
  const out = ndarray(new C(n), a.shape.slice());
  const idx = new Array<number>(a.shape.length).fill(0);
  for (let k = 0; k < n; k++) {
    out.data[k] = a.get(...idx);
    for (let d = idx.length - 1; d >= 0; d--) {
      if (++idx[d] < a.shape[d]) break;
      idx[d] = 0;
    }
  }
  return out as StoredArray;
}

function isRowMajor(a: StoredArray): boolean {
  let expected = 1;
  for (let i = a.shape.length - 1; i >= 0; i--) {
    if (a.shape[i] !== 1 && a.stride[i] !== expected) return false;
    expected *= a.shape[i];
  }
  return true;
}

/** Writes an array file atomically (temporary file + rename). */
export function writeArrayFile(file: string, meta: unknown, arrays: Record<string, StoredArray>): void {
  writeFileAtomic(file, encodeArrayFile(meta, arrays));
}

/** Parses the bytes of an array file; `file` is only used in error messages. */
export function decodeArrayFile(buf: Uint8Array, file: string): { meta: unknown; arrays: Record<string, StoredArray> } {
  const b = Buffer.from(buf.buffer, buf.byteOffset, buf.byteLength);
  if (b.length < PREFIX) {
    throw new CheckpointError(file, `checkpoint is truncated: ${b.length} bytes, shorter than the ${PREFIX}-byte fixed header (the file was cut short or is not a checkpoint)`);
  }
  const magic = b.toString('latin1', 0, 8);
  if (magic !== ARRAY_FILE_MAGIC) {
    throw new CheckpointError(file, `not a cs231n-ts checkpoint: expected magic ${JSON.stringify(ARRAY_FILE_MAGIC)}, got ${JSON.stringify(magic)}`);
  }
  const version = b.readUInt32LE(8);
  if (version !== ARRAY_FILE_VERSION) {
    throw new CheckpointError(file, `unsupported checkpoint format version ${version} (this version of cs231n-ts reads version ${ARRAY_FILE_VERSION})`);
  }
  const headerLength = b.readUInt32LE(12);
  const payloadLength = Number(b.readBigUInt64LE(16));
  const start = align8(PREFIX + headerLength);
  const total = start + payloadLength + DIGEST;
  if (b.length < total) {
    throw new CheckpointError(file, `checkpoint is truncated: ${b.length} bytes, but its header says ${total} (the write or copy did not finish; an earlier checkpoint, if any, is still usable)`);
  }
  if (b.length > total) {
    throw new CheckpointError(file, `checkpoint has ${b.length - total} unexpected trailing bytes (${b.length} bytes, header says ${total})`);
  }
  const digest = createHash('sha256').update(b.subarray(0, total - DIGEST)).digest();
  if (!digest.equals(b.subarray(total - DIGEST, total))) {
    throw new CheckpointError(file, 'checkpoint is corrupt: SHA-256 checksum mismatch');
  }
  let parsed: { meta: unknown; arrays: ArrayEntry[] };
  try {
    parsed = JSON.parse(b.toString('utf8', PREFIX, PREFIX + headerLength));
  } catch (e) {
    throw new CheckpointError(file, `checkpoint header is not valid JSON (${(e as Error).message})`);
  }
  if (!parsed || !Array.isArray(parsed.arrays)) throw new CheckpointError(file, 'checkpoint header lacks its array table');
  const arrays: Record<string, StoredArray> = {};
  for (const e of parsed.arrays) {
    checkEntry(file, e, arrays);
    const C = CTORS[e.dtype];
    const n = sizeOf(e.shape);
    if (e.byteLength !== n * C.BYTES_PER_ELEMENT || e.offset + e.byteLength > payloadLength) {
      throw new CheckpointError(file, `array ${JSON.stringify(e.name)}: ${e.byteLength} bytes at offset ${e.offset} do not fit shape ${shapeStr(e.shape)} ${e.dtype} inside the ${payloadLength}-byte payload`);
    }
    const bytes = new Uint8Array(n * C.BYTES_PER_ELEMENT);
    bytes.set(b.subarray(start + e.offset, start + e.offset + e.byteLength));
    if (bigEndian) {
      const w = C.BYTES_PER_ELEMENT;
      for (let i = 0; i < bytes.length; i += w) bytes.subarray(i, i + w).reverse();
    }
    // defineProperty: a name such as "__proto__" must become an entry, not the object's prototype.
    Object.defineProperty(arrays, e.name, { value: ndarray(new C(bytes.buffer), e.shape.slice()), enumerable: true, writable: true, configurable: true });
  }
  return { meta: parsed.meta, arrays };
}

const isCount = (v: unknown): v is number => typeof v === 'number' && Number.isSafeInteger(v) && v >= 0;

/**
 * Checks the types in one array-table entry before any of it is used (the header is only
 * checksummed, not trusted: a file can be forged with a valid SHA-256).
 */
function checkEntry(file: string, e: unknown, seen: Record<string, StoredArray>): asserts e is ArrayEntry {
  if (e === null || typeof e !== 'object' || Array.isArray(e)) throw new CheckpointError(file, `checkpoint array table holds ${JSON.stringify(e)}, expected an entry object`);
  const { name, dtype, shape, offset, byteLength } = e as Record<string, unknown>;
  if (typeof name !== 'string') throw new CheckpointError(file, `checkpoint array table holds an entry named ${JSON.stringify(name)}, expected a string`);
  if (Object.prototype.hasOwnProperty.call(seen, name)) throw new CheckpointError(file, `array ${JSON.stringify(name)} is listed twice in the header`);
  if (typeof dtype !== 'string' || !Object.prototype.hasOwnProperty.call(CTORS, dtype) || !Array.isArray(shape) || !shape.every(isCount)) {
    throw new CheckpointError(file, `array ${JSON.stringify(name)}: bad dtype or shape in the header`);
  }
  if (!isCount(offset) || !isCount(byteLength)) {
    throw new CheckpointError(file, `array ${JSON.stringify(name)}: offset ${JSON.stringify(offset)} and byteLength ${JSON.stringify(byteLength)} must be non-negative integers`);
  }
}

/** Reads an array file, failing with a {@link CheckpointError} naming the file when it is missing, truncated or corrupt. */
export function readArrayFile(file: string): { meta: unknown; arrays: Record<string, StoredArray> } {
  let buf: Buffer;
  try {
    buf = fs.readFileSync(file);
  } catch (e) {
    throw new CheckpointError(file, `cannot read checkpoint (${(e as NodeJS.ErrnoException).code ?? (e as Error).message})`);
  }
  return decodeArrayFile(buf, file);
}
