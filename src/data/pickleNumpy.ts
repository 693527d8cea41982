import ndarray, { type NdArray } from 'ndarray';
import type { NumStore } from '../core/tensor';

/** Element kinds of the numpy dtypes this reader turns into typed arrays. */
type Kind = 'u' | 'i' | 'f' | 'b';

/** A `numpy.dtype` read from a pickle: kind, item size and byte order. */
export class PickledDtype {
  /** '<' little, '>' big, '|' not applicable, '=' native; set by the dtype's BUILD state. */
  byteorder = '=';
  constructor(
    readonly kind: Kind,
    readonly itemsize: number,
  ) {}
  /** numpy's `dtype.str`, e.g. `|u1`, `<f8`. */
  get str(): string {
    return `${this.byteorder}${this.kind}${this.itemsize}`;
  }
}

/** True for a dtype object made by {@link makeDtype}. */
export function isDtype(v: unknown): v is PickledDtype {
  return v instanceof PickledDtype;
}

const SUPPORTED = new Set(['u1', 'i1', 'b1', 'u2', 'i2', 'u4', 'i4', 'u8', 'i8', 'f4', 'f8']);

/** `numpy.dtype(spec)` for the numeric specs ('u1', 'i4', 'f8', '<f4', 'bool', …). */
export function makeDtype(spec: string): PickledDtype {
  let s = spec;
  let order = '=';
  if (s.length > 0 && '<>|='.includes(s[0])) {
    order = s[0];
    s = s.slice(1);
  }
  const alias: Record<string, string> = { bool: 'b1', '?': 'b1', uint8: 'u1', int8: 'i1', int16: 'i2', uint16: 'u2', int32: 'i4', uint32: 'u4', int64: 'i8', uint64: 'u8', float32: 'f4', float64: 'f8', B: 'u1', b: 'i1', h: 'i2', H: 'u2', l: 'i8', q: 'i8', Q: 'u8', f: 'f4', d: 'f8' };
  s = alias[s] ?? s;
  if (!SUPPORTED.has(s)) throw new Error(`unsupported numpy dtype '${spec}' (supported: ${[...SUPPORTED].join(', ')})`);
  const dt = new PickledDtype(s[0] as Kind, Number(s.slice(1)));
  dt.byteorder = order;
  return dt;
}

/** Applies a dtype's pickled state `(version, byteorder, …)`; only the byte order matters here. */
export function setDtypeState(dt: PickledDtype, state: unknown): void {
  if (!Array.isArray(state) || state.length < 2 || typeof state[1] !== 'string') {
    throw new Error('numpy.dtype state is not a tuple (version, byteorder, ...)');
  }
  const bo = state[1];
  if (!'<>|='.includes(bo) || bo.length !== 1) throw new Error(`numpy.dtype byte order '${bo}' is not one of < > | =`);
  if (state.length >= 4 && state[3] !== null) throw new Error('structured numpy dtypes (with fields) are not supported');
  dt.byteorder = bo;
}

const LITTLE_ENDIAN_HOST = new Uint8Array(new Uint16Array([1]).buffer)[0] === 1;

/**
 * The typed array an ndarray's raw bytes decode to. 1-byte kinds are views of `raw` (no copy);
 * wider kinds are copied into an aligned buffer, byte-swapped when the file's order differs
 * from the host's. int64/uint64 have no ndarray-friendly typed array: they become Int32Array
 * when every value fits (labels, indices), else Float64Array when every value is below 2**53,
 * else an error.
 */
function decode(dt: PickledDtype, raw: Uint8Array, n: number): NumStore {
  const size = dt.itemsize;
  if (size === 1) {
    if (dt.kind === 'i') return new Int8Array(raw.buffer, raw.byteOffset, n);
    return new Uint8Array(raw.buffer, raw.byteOffset, n);
  }
  const fileLittle = dt.byteorder === '<' || ((dt.byteorder === '=' || dt.byteorder === '|') && LITTLE_ENDIAN_HOST);
  const aligned = raw.slice(0, n * size);
  if (fileLittle !== LITTLE_ENDIAN_HOST) {
    for (let i = 0; i < aligned.length; i += size) aligned.subarray(i, i + size).reverse();
  }
  const buf = aligned.buffer;
  const key = `${dt.kind}${size}`;
  switch (key) {
    case 'u2': return new Uint16Array(buf);
    case 'i2': return new Int16Array(buf);
    case 'u4': return new Uint32Array(buf);
    case 'i4': return new Int32Array(buf);
    case 'f4': return new Float32Array(buf);
    case 'f8': return new Float64Array(buf);
    case 'i8':
    case 'u8': {
      const big = dt.kind === 'i' ? new BigInt64Array(buf) : new BigUint64Array(buf);
      let fits32 = true;
      for (let i = 0; i < n; i++) {
        const v = big[i];
        if (v < -2147483648n || v > 2147483647n) {
          fits32 = false;
          break;
        }
      }
      if (fits32) return Int32Array.from(big, (v) => Number(v));
      const out = new Float64Array(n);
      for (let i = 0; i < n; i++) {
        const v = big[i];
        if (v > 9007199254740992n || v < -9007199254740992n) {
          throw new Error(`int64 value ${v} at element ${i} does not fit a double exactly`);
        }
        out[i] = Number(v);
      }
      return out;
    }
    default:
      throw new Error(`unsupported numpy dtype ${dt.str}`);
  }
}

/**
 * The ndarray `ndarray.__setstate__` would rebuild: `shape`, dtype, Fortran flag and raw bytes.
 * A Fortran-ordered array comes back as a column-major strided view over its data.
 */
export function buildNdarray(shape: number[], dt: PickledDtype, fortran: boolean, raw: Uint8Array): NdArray<NumStore> {
  let n = 1;
  for (const d of shape) {
    if (!Number.isInteger(d) || d < 0) throw new Error(`ndarray shape (${shape.join(', ')}) has a bad dimension`);
    n *= d;
  }
  const need = n * dt.itemsize;
  if (raw.length !== need) {
    throw new Error(
      `ndarray data has ${raw.length} bytes, expected ${need} for shape (${shape.join(', ')}) of dtype ${dt.str}`,
    );
  }
  const data = decode(dt, raw, n);
  if (!fortran || shape.length < 2) return ndarray(data as any, shape) as NdArray<NumStore>;
  const stride: number[] = [];
  let s = 1;
  for (const d of shape) {
    stride.push(s);
    s *= d;
  }
  return ndarray(data as any, shape, stride, 0) as NdArray<NumStore>;
}
