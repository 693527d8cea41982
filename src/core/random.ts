/**
 * numpy-compatible seeded randomness: `RandomState` reproduces numpy's legacy generator
 * (`np.random.RandomState(seed)` / `np.random.seed(seed)`) draw for draw, so every seeded
 * cs231n notebook check gives the same numbers here.
 *
 * What "compatible" means, per method (all verified against numpy in test/random.test.ts):
 * - The bit stream is MT19937. An integer seed goes through `init_genrand` (numpy's
 *   `_legacy_seeding` calls `mt19937_seed`, not `init_by_array`); an array seed goes through
 *   `init_by_array`, as numpy does for a list seed.
 * - Uniform doubles use 53 bits from two words, `((a >>> 5) * 2^26 + (b >>> 6)) / 2^53`:
 *   bit-exact.
 * - Integers use numpy's masked rejection sampling (`randint`, `choice`, `shuffle`): bit-exact,
 *   including that a range of one value consumes no words.
 * - Normals use the Marsaglia polar method with one cached value, exactly like numpy's
 *   `legacy_gauss`. The accept/reject decision uses no transcendental function, so the number
 *   of words consumed always equals numpy's; only the accepted pair goes through `Math.log`,
 *   which in V8 may differ from glibc's `log` by one ulp. A normal can therefore be one or two
 *   ulps off numpy's, never a different draw, and the stream position never shifts.
 *
 * Arrays come back as ndarrays: Float64 for real values, Int32 for integers; a call without
 * `size` returns a plain number.
 *
 * @module
 */
import { randomBytes } from 'crypto';
import type { NdArray } from 'ndarray';
import { fromData, isContiguous, sizeOf, takeRows, type IntTensor, type NumStore, type Tensor64 } from './tensor';
import { shapeStr } from './check';

/** An output size: a length, or a shape (numpy's `size=n` / `size=(m, n)`). */
export type Size = number | readonly number[];

/** A 1-D population or probability vector: plain array, typed array or 1-D ndarray. */
export type Vector = readonly number[] | NumStore | NdArray<NumStore>;

/** Output storage of `randint`: Int32 (default) or Float64 for values beyond int32. */
export type IntDType = 'int32' | 'float64';

/**
 * The full generator state, mirroring numpy's `get_state()` tuple
 * `('MT19937', key, pos, has_gauss, cached_gaussian)`.
 */
export interface RandomStateSnapshot {
  /** The 624 MT19937 state words. */
  key: Uint32Array;
  /** Index of the next word to temper, 0..624 (624 = regenerate before the next draw). */
  pos: number;
  /** Whether a second polar-method normal is cached. */
  hasGauss: boolean;
  /** The cached normal (0 when none). */
  gauss: number;
}

const N = 624;
const M = 397;
const MATRIX_A = 0x9908b0df;
const UPPER = 0x80000000;
const LOWER = 0x7fffffff;
const TWO32 = 4294967296;
const UINT32_MAX = 0xffffffff;
const INT32_MIN = -2147483648;
const INT32_MAX = 2147483647;
/** sqrt(float64 eps): numpy's tolerance on `sum(p) - 1` in `choice`. */
const P_ATOL_F64 = Math.sqrt(2 ** -52);
/** sqrt(float32 eps): numpy widens the tolerance when `p` is stored in float32. */
const P_ATOL_F32 = Math.sqrt(2 ** -23);

/** Regenerates all 624 state words in place (the MT19937 twist). */
function twist(key: Uint32Array): void {
  let i = 0;
  let y: number;
  for (; i < N - M; i++) {
    y = (key[i] & UPPER) | (key[i + 1] & LOWER);
    key[i] = key[i + M] ^ (y >>> 1) ^ (-(y & 1) & MATRIX_A);
  }
  for (; i < N - 1; i++) {
    y = (key[i] & UPPER) | (key[i + 1] & LOWER);
    key[i] = key[i + M - N] ^ (y >>> 1) ^ (-(y & 1) & MATRIX_A);
  }
  y = (key[N - 1] & UPPER) | (key[0] & LOWER);
  key[N - 1] = key[M - 1] ^ (y >>> 1) ^ (-(y & 1) & MATRIX_A);
}

/** MT19937 output tempering of one state word; returns an unsigned 32-bit number. */
function temper(y: number): number {
  y ^= y >>> 11;
  y ^= (y << 7) & 0x9d2c5680;
  y ^= (y << 15) & 0xefc60000;
  y ^= y >>> 18;
  return y >>> 0;
}

/** Smallest 2^k - 1 that is >= v, for 0 <= v < 2^32 (numpy's `gen_mask`). */
function mask32(v: number): number {
  let m = v >>> 0;
  m |= m >>> 1;
  m |= m >>> 2;
  m |= m >>> 4;
  m |= m >>> 8;
  m |= m >>> 16;
  return m >>> 0;
}

function describe(v: unknown): string {
  if (typeof v === 'number' || typeof v === 'boolean' || v === null || v === undefined) return String(v);
  if (Array.isArray(v)) return `[${v.slice(0, 8).join(', ')}${v.length > 8 ? ', ...' : ''}]`;
  return (v as { constructor?: { name?: string } })?.constructor?.name ?? typeof v;
}

/** Validates a numpy-style `size` and returns the shape. */
function toShape(size: Size, name = 'size'): number[] {
  const shape = typeof size === 'number' ? [size] : Array.isArray(size) ? size.slice() : null;
  if (shape === null || shape.some((d) => !Number.isInteger(d) || d < 0)) {
    throw new RangeError(`${name}: expected a non-negative integer or an array of them, got ${describe(size)}`);
  }
  return shape;
}

function isNdarray(x: unknown): x is NdArray<NumStore> {
  return typeof x === 'object' && x !== null && !ArrayBuffer.isView(x) && !Array.isArray(x) &&
    Array.isArray((x as NdArray<NumStore>).shape) && ArrayBuffer.isView((x as NdArray<NumStore>).data);
}

/** A dense 1-D copy of a vector as float64, for probabilities (numpy's `PyArray_FROM_OTF(p, double)`). */
function vectorToFloat64(name: string, v: Vector): Float64Array {
  if (isNdarray(v)) {
    if (v.shape.length !== 1) throw new RangeError(`${name}: expected a 1-D array, got shape ${shapeStr(v.shape)}`);
    const out = new Float64Array(v.shape[0]);
    for (let i = 0; i < out.length; i++) out[i] = v.get(i);
    return out;
  }
  if (Array.isArray(v) || ArrayBuffer.isView(v)) return Float64Array.from(v as ArrayLike<number>);
  throw new TypeError(`${name}: expected a 1-D array of numbers, got ${describe(v)}`);
}

/** A 1-D population as an ndarray; plain arrays become Float64 (as documented on `choice`). */
function vectorToNdarray(name: string, v: Vector): NdArray<NumStore> {
  if (isNdarray(v)) return v;
  if (Array.isArray(v)) {
    const data = Float64Array.from(v as readonly number[]);
    return fromData(data, [data.length]);
  }
  if (ArrayBuffer.isView(v)) return fromData(v as NumStore, [(v as NumStore).length]);
  throw new TypeError(`${name}: expected an integer or a 1-D array, got ${describe(v)}`);
}

/** numpy's `kahan_sum`, used to check that probabilities sum to one. */
function kahanSum(a: Float64Array): number {
  if (a.length === 0) return 0;
  let sum = a[0];
  let c = 0;
  for (let i = 1; i < a.length; i++) {
    const y = a[i] - c;
    const t = sum + y;
    c = t - sum - y;
    sum = t;
  }
  return sum;
}

/** Normalised running sum, computed left to right as numpy's `cumsum` then `/= cdf[-1]`. */
function normalisedCdf(p: Float64Array): Float64Array {
  const cdf = new Float64Array(p.length);
  let s = 0;
  for (let i = 0; i < p.length; i++) {
    s += p[i];
    cdf[i] = s;
  }
  const last = cdf[cdf.length - 1];
  for (let i = 0; i < cdf.length; i++) cdf[i] /= last;
  return cdf;
}

/** numpy's `searchsorted(cdf, x, side='right')`: the number of entries <= x. */
function searchRight(cdf: Float64Array, x: number): number {
  let lo = 0;
  let hi = cdf.length;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if (cdf[mid] <= x) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}

/**
 * numpy's legacy `RandomState` (MT19937) in TypeScript, bit-compatible for the same seed and the
 * same call order. Arguments are positional in numpy's order; `size` is a number or a shape.
 *
 * ```ts
 * const rng = new RandomState(231);
 * const x = rng.randn(10, 2, 3);          // np.random.RandomState(231).randn(10, 2, 3)
 * const idx = rng.choice(500, 10, false); // rng.choice(500, 10, replace=False)
 * ```
 */
export class RandomState {
  private readonly key = new Uint32Array(N);
  private pos = N;
  private hasGauss = false;
  private gauss = 0;

  /**
   * @param seed an integer in [0, 2^32 - 1], or an array of such integers (numpy's
   *   `init_by_array` seeding); omitted: seeded from the OS entropy source, like numpy.
   */
  constructor(seed?: number | ArrayLike<number>) {
    this.seed(seed);
  }

  /** Re-seeds in place (numpy's `RandomState.seed` / `np.random.seed`); clears the cached normal. */
  seed(seed?: number | ArrayLike<number>): void {
    if (seed === undefined || seed === null) {
      // Small Buffers share a pool, so read the words out rather than viewing `.buffer`.
      const bytes = randomBytes(4 * 8);
      this.initByArray(Uint32Array.from({ length: 8 }, (_, i) => bytes.readUInt32LE(4 * i)));
    } else if (typeof seed === 'number') {
      if (!Number.isInteger(seed) || seed < 0 || seed > UINT32_MAX) {
        throw new RangeError(`seed: expected an integer in [0, 2**32 - 1], got ${seed}`);
      }
      this.initGenrand(seed);
    } else if (typeof seed === 'object' && typeof (seed as ArrayLike<number>).length === 'number') {
      const arr = Array.from(seed as ArrayLike<number>);
      if (arr.length === 0) throw new RangeError('seed: expected a non-empty array of integers, got an empty array');
      arr.forEach((v, i) => {
        if (!Number.isInteger(v) || v < 0 || v > UINT32_MAX) {
          throw new RangeError(`seed[${i}]: expected an integer in [0, 2**32 - 1], got ${v}`);
        }
      });
      this.initByArray(Uint32Array.from(arr));
    } else {
      throw new TypeError(`seed: expected an integer in [0, 2**32 - 1] or an array of them, got ${describe(seed)}`);
    }
    this.hasGauss = false;
    this.gauss = 0;
  }

  /** A copy of the full state (numpy's `get_state()`). */
  getState(): RandomStateSnapshot {
    return { key: this.key.slice(), pos: this.pos, hasGauss: this.hasGauss, gauss: this.gauss };
  }

  /** Restores a state from `getState()` (numpy's `set_state`). */
  setState(state: RandomStateSnapshot): void {
    if (!state || !state.key || state.key.length !== N) {
      throw new RangeError(`state.key: expected ${N} uint32 words, got ${describe(state?.key)}`);
    }
    if (!Number.isInteger(state.pos) || state.pos < 0 || state.pos > N) {
      throw new RangeError(`state.pos: expected an integer in [0, ${N}], got ${state.pos}`);
    }
    let allZero = (Number(state.key[0]) & 0x80000000) === 0;
    for (let i = 0; i < N; i++) {
      const w = Number(state.key[i]);
      if (!Number.isInteger(w) || w < 0 || w > 0xffffffff) throw new RangeError(`state.key[${i}]: expected a uint32 word, got ${w}`);
      if (i > 0 && w !== 0) allZero = false;
    }
    // MT19937 only ever uses the top bit of word 0; with that bit and every other word zero the
    // generator is stuck at 0 forever, which is never a state a seed produces.
    if (allZero) throw new RangeError('state.key: expected a valid MT19937 state, got one whose words are all zero (the generator would only return 0)');
    if (state.hasGauss && !Number.isFinite(state.gauss)) throw new RangeError(`state.gauss: expected a finite cached normal when hasGauss is set, got ${state.gauss}`);
    for (let i = 0; i < N; i++) this.key[i] = state.key[i];
    this.pos = state.pos;
    this.hasGauss = Boolean(state.hasGauss);
    this.gauss = this.hasGauss ? state.gauss : 0;
  }

  // ---------------------------------------------------------------- floats

  /** Uniform doubles in [0, 1): `rand()` -> number, `rand(2, 3)` -> (2, 3) Float64 ndarray. */
  rand(): number;
  rand(...shape: number[]): Tensor64;
  rand(...shape: number[]): number | Tensor64 {
    if (shape.length === 0) return this.nextDouble();
    return this.randomSample(toShape(shape, 'shape'));
  }

  /** Standard normals: `randn()` -> number, `randn(2, 3)` -> (2, 3) Float64 ndarray. */
  randn(): number;
  randn(...shape: number[]): Tensor64;
  randn(...shape: number[]): number | Tensor64 {
    if (shape.length === 0) return this.nextGauss();
    const s = toShape(shape, 'shape');
    const out = new Float64Array(sizeOf(s));
    this.fillGauss(out, 0, 1);
    return fromData(out, s);
  }

  /** Uniform doubles in [0, 1) (numpy's `random_sample(size)` / `random(size)`). */
  randomSample(size?: null): number;
  randomSample(size: Size): Tensor64;
  randomSample(size?: Size | null): number | Tensor64 {
    if (size === undefined || size === null) return this.nextDouble();
    const s = toShape(size);
    const out = new Float64Array(sizeOf(s));
    this.fillUniform(out, 0, 1);
    return fromData(out, s);
  }

  /**
   * Uniform doubles in [low, high), computed as numpy's `low + (high - low) * u`; `high < low`
   * is accepted as numpy does (values then lie in (high, low]).
   */
  uniform(low?: number, high?: number, size?: null): number;
  uniform(low: number, high: number, size: Size): Tensor64;
  uniform(low = 0, high = 1, size?: Size | null): number | Tensor64 {
    if (typeof low !== 'number' || Number.isNaN(low)) throw new RangeError(`low: expected a number, got ${describe(low)}`);
    if (typeof high !== 'number' || Number.isNaN(high)) throw new RangeError(`high: expected a number, got ${describe(high)}`);
    const range = high - low;
    if (!Number.isFinite(range)) {
      throw new RangeError(`high - low: expected a finite range, got ${high} - ${low} = ${range}`);
    }
    if (size === undefined || size === null) return low + range * this.nextDouble();
    const s = toShape(size);
    const out = new Float64Array(sizeOf(s));
    this.fillUniform(out, low, range);
    return fromData(out, s);
  }

  /** Normals with mean `loc` and standard deviation `scale` (>= 0), as `loc + scale * z`. */
  normal(loc?: number, scale?: number, size?: null): number;
  normal(loc: number, scale: number, size: Size): Tensor64;
  normal(loc = 0, scale = 1, size?: Size | null): number | Tensor64 {
    if (typeof loc !== 'number' || Number.isNaN(loc)) throw new RangeError(`loc: expected a number, got ${describe(loc)}`);
    if (typeof scale !== 'number' || !(scale >= 0)) {
      throw new RangeError(`scale: expected a non-negative number, got ${describe(scale)}`);
    }
    if (size === undefined || size === null) return loc + scale * this.nextGauss();
    const s = toShape(size);
    const out = new Float64Array(sizeOf(s));
    this.fillGauss(out, loc, scale);
    return fromData(out, s);
  }

  // -------------------------------------------------------------- integers

  /**
   * Integers in [low, high) — or [0, low) when `high` is omitted — drawn as numpy's default
   * (int64) `randint` draws them, word for word. `dtype` only picks the output storage:
   * 'int32' (default; the range must fit in int32) or 'float64' (exact for any safe integers,
   * e.g. ranges beyond 2^32). Without `size`, returns a number for any safe-integer range.
   */
  randint(low: number, high?: number | null, size?: null, dtype?: IntDType): number;
  randint(low: number, high: number | null | undefined, size: Size, dtype?: 'int32'): IntTensor;
  randint(low: number, high: number | null | undefined, size: Size, dtype: 'float64'): Tensor64;
  randint(low: number, high?: number | null, size?: Size | null, dtype: IntDType = 'int32'): number | IntTensor | Tensor64 {
    if (high === undefined || high === null) {
      high = low;
      low = 0;
    }
    if (!Number.isSafeInteger(low)) throw new RangeError(`low: expected a safe integer, got ${describe(low)}`);
    if (!Number.isSafeInteger(high)) throw new RangeError(`high: expected a safe integer, got ${describe(high)}`);
    if (low >= high) throw new RangeError(`low, high: expected low < high, got low=${low}, high=${high}`);
    const rng = high - 1 - low;
    if (!(rng <= Number.MAX_SAFE_INTEGER)) {
      throw new RangeError(`high - low: expected at most 2**53 values, got high=${high}, low=${low}`);
    }
    if (dtype !== 'int32' && dtype !== 'float64') {
      throw new RangeError(`dtype: expected 'int32' or 'float64', got ${describe(dtype)}`);
    }
    if (size === undefined || size === null) return low + this.boundedOne(rng);
    const s = toShape(size);
    if (dtype === 'int32') {
      if (low < INT32_MIN || high - 1 > INT32_MAX) {
        throw new RangeError(
          `low, high: int32 output needs [low, high) inside [-2**31, 2**31), got [${low}, ${high}); pass dtype 'float64'`,
        );
      }
      const out = new Int32Array(sizeOf(s));
      this.fillBounded(out, low, rng);
      return fromData(out, s);
    }
    const out = new Float64Array(sizeOf(s));
    this.fillBounded(out, low, rng);
    return fromData(out, s);
  }

  /**
   * A random sample from `a` (an integer population size, or a 1-D array of values), following
   * numpy's legacy `choice` step for step: with replacement and no `p` it draws
   * `randint(0, n)`; with `p` it searches uniforms in the normalised cdf; without replacement
   * and no `p` it takes the first `size` of `permutation(n)`; without replacement with `p` it
   * runs numpy's draw-and-deduplicate loop. `p` must be non-negative and sum to 1 within
   * sqrt(eps). Integers `a` give Int32 indices; array `a` gives its own values and storage
   * (plain arrays are read as Float64).
   */
  choice(a: number | Vector, size?: null, replace?: boolean, p?: Vector | null): number;
  choice(a: number, size: Size, replace?: boolean, p?: Vector | null): IntTensor;
  choice<T extends NumStore>(a: NdArray<T> | T, size: Size, replace?: boolean, p?: Vector | null): NdArray<T>;
  choice(a: readonly number[], size: Size, replace?: boolean, p?: Vector | null): Tensor64;
  choice(a: number | Vector, size?: Size | null, replace = true, p?: Vector | null): number | NdArray<NumStore> {
    const isScalar = size === undefined || size === null;
    const shape = isScalar ? [] : toShape(size);
    const count = sizeOf(shape);
    let pool: NdArray<NumStore> | null = null;
    let pop: number;
    if (typeof a === 'number') {
      if (!Number.isInteger(a)) throw new RangeError(`a: expected an integer or a 1-D array, got ${a}`);
      if (a <= 0 && count !== 0) throw new RangeError(`a: expected a population size > 0 unless no samples are taken, got ${a}`);
      if (a > INT32_MAX) throw new RangeError(`a: expected a population size at most 2**31 - 1, got ${a}`);
      pop = a;
    } else {
      pool = vectorToNdarray('a', a);
      if (pool.shape.length !== 1) throw new RangeError(`a: expected a 1-D array, got shape ${shapeStr(pool.shape)}`);
      pop = pool.shape[0];
      if (pop === 0 && count !== 0) throw new RangeError(`a: expected a non-empty array unless no samples are taken, got length 0`);
    }

    let probs: Float64Array | null = null;
    if (p !== undefined && p !== null) {
      probs = vectorToFloat64('p', p);
      const storedF32 = p instanceof Float32Array || (isNdarray(p) && p.data instanceof Float32Array);
      const atol = storedF32 ? P_ATOL_F32 : P_ATOL_F64;
      if (probs.length !== pop) throw new RangeError(`p: expected ${pop} probabilities (same size as a), got ${probs.length}`);
      const pSum = kahanSum(probs);
      if (Number.isNaN(pSum)) throw new RangeError('p: expected probabilities, got NaN entries');
      const neg = probs.findIndex((v) => v < 0);
      if (neg >= 0) throw new RangeError(`p: expected non-negative probabilities, got p[${neg}] = ${probs[neg]}`);
      if (Math.abs(pSum - 1) > atol) throw new RangeError(`p: expected probabilities summing to 1, got a sum of ${pSum}`);
    }

    const idx = new Int32Array(count);
    if (replace) {
      if (probs) {
        const cdf = normalisedCdf(probs);
        for (let i = 0; i < count; i++) idx[i] = searchRight(cdf, this.nextDouble());
      } else {
        this.fillBounded(idx, 0, pop - 1);
      }
    } else {
      if (count > pop) {
        throw new RangeError(`size: expected at most ${pop} samples without replacement (the population), got ${count}`);
      }
      if (probs) {
        this.choiceWeightedNoReplace(probs, idx);
      } else {
        const perm = this.permutationIndices(pop);
        idx.set(perm.subarray(0, count));
      }
    }

    if (isScalar) return pool ? pool.get(idx[0]) : idx[0];
    if (!pool) return fromData(idx, shape);
    const picked = takeRows(pool, idx);
    return fromData(picked.data, shape);
  }

  /**
   * A shuffled copy: `permutation(n)` shuffles `0..n-1` (Int32); an array or ndarray is copied
   * and its rows (first axis) permuted. Consumes exactly what numpy's `permutation` does.
   */
  permutation(n: number): IntTensor;
  permutation<T extends NumStore>(x: NdArray<T> | T): NdArray<T>;
  permutation(x: readonly number[]): Tensor64;
  permutation(x: number | Vector | NdArray<NumStore>): NdArray<NumStore> {
    if (typeof x === 'number') {
      if (!Number.isInteger(x) || x < 0 || x > INT32_MAX) {
        throw new RangeError(`x: expected a non-negative integer at most 2**31 - 1 or an array, got ${x}`);
      }
      return fromData(this.permutationIndices(x), [x]);
    }
    if (isNdarray(x)) {
      if (x.shape.length < 1) throw new RangeError(`x: expected an integer or an array with at least 1 dimension, got a 0-d array`);
      const order = this.permutationIndices(x.shape[0]);
      return takeRows(x, order);
    }
    if (Array.isArray(x)) {
      const out = Float64Array.from(x as readonly number[]);
      this.shuffleFlat(out);
      return fromData(out, [out.length]);
    }
    if (ArrayBuffer.isView(x)) {
      const out = (x as NumStore).slice() as NumStore;
      this.shuffleFlat(out);
      return fromData(out, [out.length]);
    }
    throw new TypeError(`x: expected an integer, an array or an ndarray, got ${describe(x)}`);
  }

  /**
   * Shuffles in place with numpy's legacy Fisher-Yates: for i from n-1 down to 1 swap item i
   * with item `j = interval(i)` (masked rejection in [0, i]). An ndarray has its rows (first
   * axis) shuffled, whatever its strides; plain and typed arrays have their items shuffled.
   */
  shuffle<T>(x: T[] | NumStore | NdArray<NumStore>): void {
    if (Array.isArray(x) || ArrayBuffer.isView(x)) {
      this.shuffleFlat(x as T[] | NumStore);
      return;
    }
    if (!isNdarray(x)) throw new TypeError(`x: expected an array, a typed array or an ndarray, got ${describe(x)}`);
    if (x.shape.length < 1) throw new RangeError('x: expected an array with at least 1 dimension, got a 0-d array');
    const n = x.shape[0];
    const data = x.data;
    const stride0 = x.stride[0];
    // Element offsets within one row, computed once so any strided view swaps correctly.
    const inner = x.shape.slice(1);
    const rowSize = sizeOf(inner);
    const rel = new Int32Array(rowSize);
    if (rowSize > 0) {
      const counter = new Array<number>(inner.length).fill(0);
      for (let k = 0; k < rowSize; k++) {
        let off = 0;
        for (let d = 0; d < inner.length; d++) off += counter[d] * x.stride[d + 1];
        rel[k] = off;
        for (let d = inner.length - 1; d >= 0; d--) {
          if (++counter[d] < inner[d]) break;
          counter[d] = 0;
        }
      }
    }
    const dense = isContiguous(x as NdArray<any>) && rowSize > 0;
    const tmp = dense ? new (data.constructor as new (n: number) => NumStore)(rowSize) : null;
    for (let i = n - 1; i >= 1; i--) {
      const j = this.boundedOne(i);
      if (j === i) continue;
      if (tmp) {
        const ri = i * rowSize;
        const rj = j * rowSize;
        tmp.set(data.subarray(rj, rj + rowSize) as any);
        data.copyWithin(rj, ri, ri + rowSize);
        data.set(tmp as any, ri);
      } else {
        const bi = x.offset + i * stride0;
        const bj = x.offset + j * stride0;
        for (let k = 0; k < rowSize; k++) {
          const t = data[bj + rel[k]];
          data[bj + rel[k]] = data[bi + rel[k]];
          data[bi + rel[k]] = t;
        }
      }
    }
  }

  // -------------------------------------------------------------- internals

  /** Knuth's linear seeding (numpy's `mt19937_seed` for an integer seed). */
  private initGenrand(seed: number): void {
    const key = this.key;
    let s = seed >>> 0;
    for (let i = 0; i < N; i++) {
      key[i] = s;
      s = (Math.imul(1812433253, s ^ (s >>> 30)) + i + 1) >>> 0;
    }
    this.pos = N;
  }

  /** The reference `init_by_array` (numpy's seeding for an array seed). */
  private initByArray(initKey: Uint32Array): void {
    this.initGenrand(19650218);
    const mt = this.key;
    const len = initKey.length;
    let i = 1;
    let j = 0;
    for (let k = Math.max(N, len); k > 0; k--) {
      const prev = mt[i - 1] ^ (mt[i - 1] >>> 30);
      mt[i] = ((mt[i] ^ Math.imul(prev, 1664525)) + initKey[j] + j) >>> 0;
      i++;
      j++;
      if (i >= N) {
        mt[0] = mt[N - 1];
        i = 1;
      }
      if (j >= len) j = 0;
    }
    for (let k = N - 1; k > 0; k--) {
      const prev = mt[i - 1] ^ (mt[i - 1] >>> 30);
      mt[i] = ((mt[i] ^ Math.imul(prev, 1566083941)) - i) >>> 0;
      i++;
      if (i >= N) {
        mt[0] = mt[N - 1];
        i = 1;
      }
    }
    mt[0] = UPPER;
    this.pos = N;
  }

  /** The next tempered 32-bit word, as an unsigned number. */
  private next32(): number {
    if (this.pos >= N) {
      twist(this.key);
      this.pos = 0;
    }
    return temper(this.key[this.pos++]);
  }

  /** A 53-bit double in [0, 1) from two words (numpy's `mt19937_next_double`). */
  private nextDouble(): number {
    const a = this.next32() >>> 5;
    const b = this.next32() >>> 6;
    return (a * 67108864 + b) / 9007199254740992;
  }

  /** One standard normal: numpy's `legacy_gauss` (polar method, second value cached). */
  private nextGauss(): number {
    if (this.hasGauss) {
      this.hasGauss = false;
      const g = this.gauss;
      this.gauss = 0;
      return g;
    }
    let x1: number;
    let x2: number;
    let r2: number;
    do {
      x1 = 2 * this.nextDouble() - 1;
      x2 = 2 * this.nextDouble() - 1;
      r2 = x1 * x1 + x2 * x2;
    } while (r2 >= 1 || r2 === 0);
    const f = Math.sqrt((-2 * Math.log(r2)) / r2);
    this.gauss = f * x1;
    this.hasGauss = true;
    return f * x2;
  }

  /**
   * Fills `out` with `low + range * u`. The hot loops keep the state position in a local and
   * inline the word fetch: several times faster than going through `nextDouble` per value.
   */
  private fillUniform(out: Float64Array, low: number, range: number): void {
    const key = this.key;
    let pos = this.pos;
    for (let i = 0; i < out.length; i++) {
      if (pos >= N) {
        twist(key);
        pos = 0;
      }
      const a = temper(key[pos++]) >>> 5;
      if (pos >= N) {
        twist(key);
        pos = 0;
      }
      const b = temper(key[pos++]) >>> 6;
      out[i] = low + range * ((a * 67108864 + b) / 9007199254740992);
    }
    this.pos = pos;
  }

  /** Fills `out` with `loc + scale * z`, pairs at a time, keeping numpy's cache semantics. */
  private fillGauss(out: Float64Array, loc: number, scale: number): void {
    const n = out.length;
    let i = 0;
    if (n > 0 && this.hasGauss) out[i++] = loc + scale * this.nextGauss();
    // Whole pairs need no cache: same draws as legacy_gauss, the state position in a local.
    const key = this.key;
    let pos = this.pos;
    for (; i + 1 < n; i += 2) {
      let x1: number;
      let x2: number;
      let r2: number;
      do {
        if (pos > N - 4) {
          // Fewer than four words left: fetch one at a time across the twist.
          this.pos = pos;
          x1 = 2 * this.nextDouble() - 1;
          x2 = 2 * this.nextDouble() - 1;
          pos = this.pos;
        } else {
          const a1 = temper(key[pos]) >>> 5;
          const b1 = temper(key[pos + 1]) >>> 6;
          const a2 = temper(key[pos + 2]) >>> 5;
          const b2 = temper(key[pos + 3]) >>> 6;
          pos += 4;
          x1 = 2 * ((a1 * 67108864 + b1) / 9007199254740992) - 1;
          x2 = 2 * ((a2 * 67108864 + b2) / 9007199254740992) - 1;
        }
        r2 = x1 * x1 + x2 * x2;
      } while (r2 >= 1 || r2 === 0);
      const f = Math.sqrt((-2 * Math.log(r2)) / r2);
      out[i] = loc + scale * (f * x2);
      out[i + 1] = loc + scale * (f * x1);
    }
    this.pos = pos;
    if (i < n) out[i] = loc + scale * this.nextGauss();
  }

  /**
   * One integer in [0, rng] by masked rejection: 32-bit words when rng < 2^32, otherwise
   * 64-bit words (high word first), and no draw at all when rng = 0 — numpy's
   * `random_bounded_uint64` with `use_masked`, which is also its `random_interval`.
   */
  private boundedOne(rng: number): number {
    if (rng === 0) return 0;
    if (rng <= UINT32_MAX) {
      const mask = mask32(rng);
      let v: number;
      do v = (this.next32() & mask) >>> 0;
      while (v > rng);
      return v;
    }
    const maskHi = mask32(Math.floor(rng / TWO32));
    let v: number;
    do {
      const hi = (this.next32() & maskHi) >>> 0;
      const lo = this.next32();
      v = hi * TWO32 + lo;
    } while (v > rng);
    return v;
  }

  /** Fills `out[k] = off + boundedOne(rng)`, hoisting the mask out of the loop. */
  private fillBounded(out: Int32Array | Float64Array, off: number, rng: number): void {
    const n = out.length;
    if (rng === 0) {
      out.fill(off);
    } else if (rng <= UINT32_MAX) {
      const mask = mask32(rng);
      for (let i = 0; i < n; i++) {
        let v: number;
        do v = (this.next32() & mask) >>> 0;
        while (v > rng);
        out[i] = off + v;
      }
    } else {
      for (let i = 0; i < n; i++) out[i] = off + this.boundedOne(rng);
    }
  }

  /** `arange(n)` shuffled (numpy's `permutation(n)`). */
  private permutationIndices(n: number): Int32Array {
    const out = new Int32Array(n);
    for (let i = 0; i < n; i++) out[i] = i;
    this.shuffleFlat(out);
    return out;
  }

  private shuffleFlat<T>(x: T[] | NumStore): void {
    const a = x as unknown as T[];
    for (let i = a.length - 1; i >= 1; i--) {
      const j = this.boundedOne(i);
      const t = a[i];
      a[i] = a[j];
      a[j] = t;
    }
  }

  /** numpy's loop for `choice(replace=False, p)`: draw, drop repeats, zero the found, repeat. */
  private choiceWeightedNoReplace(probs: Float64Array, found: Int32Array): void {
    const size = found.length;
    let nonzero = 0;
    for (let i = 0; i < probs.length; i++) if (probs[i] > 0) nonzero++;
    if (nonzero < size) throw new RangeError(`p: expected at least ${size} non-zero probabilities (size), got ${nonzero}`);
    const p = probs.slice();
    // stamp[k] === round: index k was already taken in this round (numpy's np.unique dedupes
    // within a round only; found indices cannot recur because their probability is zeroed).
    const stamp = new Int32Array(p.length + 1);
    let round = 0;
    let nUniq = 0;
    while (nUniq < size) {
      round++;
      const m = size - nUniq;
      const x = new Float64Array(m);
      for (let i = 0; i < m; i++) x[i] = this.nextDouble();
      for (let i = 0; i < nUniq; i++) p[found[i]] = 0;
      const cdf = normalisedCdf(p);
      for (let i = 0; i < m; i++) {
        const k = searchRight(cdf, x[i]);
        if (stamp[k] === round) continue;
        stamp[k] = round;
        found[nUniq++] = k;
      }
    }
  }
}

/** The process-wide generator behind the `random` functions (numpy's hidden global state). */
const globalState = new RandomState();

/**
 * The process-wide `RandomState` that `random.*` draws from — numpy's `np.random` global.
 * Code that mirrors cs231n's bare `np.random.randn(...)` calls should draw from this one so a
 * notebook-style `random.seed(0)` reproduces numpy.
 */
export function defaultRandomState(): RandomState {
  return globalState;
}

function delegate<K extends keyof RandomState>(name: K): RandomState[K] {
  return ((...args: unknown[]) => (globalState[name] as (...a: unknown[]) => unknown).apply(globalState, args)) as RandomState[K];
}

/**
 * numpy's module-level `np.random.*`, all drawing from `defaultRandomState()`:
 * `random.seed(231); const x = random.randn(10, 2, 3);` equals
 * `np.random.seed(231); x = np.random.randn(10, 2, 3)`. Unseeded, it starts from OS entropy.
 */
export const random = {
  /** Re-seeds the global generator (`np.random.seed`). */
  seed: delegate('seed'),
  /** `np.random.rand`. */
  rand: delegate('rand'),
  /** `np.random.randn`. */
  randn: delegate('randn'),
  /** `np.random.random_sample` / `np.random.random`. */
  randomSample: delegate('randomSample'),
  /** `np.random.randint`. */
  randint: delegate('randint'),
  /** `np.random.choice`. */
  choice: delegate('choice'),
  /** `np.random.permutation`. */
  permutation: delegate('permutation'),
  /** `np.random.shuffle`. */
  shuffle: delegate('shuffle'),
  /** `np.random.uniform`. */
  uniform: delegate('uniform'),
  /** `np.random.normal`. */
  normal: delegate('normal'),
  /** `np.random.get_state`. */
  getState: delegate('getState'),
  /** `np.random.set_state`. */
  setState: delegate('setState'),
};
