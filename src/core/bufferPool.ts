import os from 'os';
import type { DType, FloatArray } from './dtype';

/*
 * A free list of float stores, so a training step reuses the previous step's activation and
 * gradient buffers instead of asking the system for new memory every time.
 *
 * WHY: a fresh typed array is fresh pages, and first-touching them is a page fault per 4 KiB.
 * On the VMs this package is developed on, a new 25 MB Float32Array cost 60–100 ms of system
 * time before the ReLU that filled it (9 ms into a reused one), and BatchNorm over a model's
 * shapes ran at 13–18 ns an element against 6.4 into reused memory. A MobileNet V2 step that
 * recycled its buffers took 9.5 s instead of 12.3 (one thread, bench/RESULTS.md).
 *
 * Who gives buffers back: only code that knows a buffer is dead — the `nn` containers
 * (Sequential, the tape of a Block) after their backward for the activations and gradients
 * they created between their children, and after a forward under noGrad; `OpModule` for an op's
 * private scratch and the parameter gradients it has added into `.grad`. Nothing that reaches
 * the caller (the model's input and output, the gradient passed to backward and the one
 * returned) is ever given back, and containers stop recycling while forward hooks are
 * registered (a hook may keep an activation). The pool only ever holds whole, unshared stores.
 */

/** Stores below this many elements are left to the garbage collector (allocation is cheap there). */
const MIN_ELEMS = 1024;
/**
 * New stores of at least this many elements are made in SharedArrayBuffers (where the runtime
 * has them), so worker kernels can read and write tensors in place instead of copying them
 * into the arena (ops/kernels/batchNormTasks.ts). Reads and writes are as fast either way.
 */
const SHARED_MIN = 1 << 16;
/** Stores this pool made over SharedArrayBuffers (the only shared ones it takes back). */
const madeShared = new WeakSet<FloatArray>();

/** A new zeroed store (shared when large, see SHARED_MIN). */
export function freshFloat(dtype: DType, n: number): FloatArray {
  const C = dtype === 'float32' ? Float32Array : Float64Array;
  if (n < SHARED_MIN || typeof SharedArrayBuffer !== 'function') return new C(n);
  const a = new C(new SharedArrayBuffer(n * C.BYTES_PER_ELEMENT) as unknown as ArrayBuffer);
  madeShared.add(a);
  return a;
}

/** True when `a` lives in a SharedArrayBuffer (a worker can be handed it without a copy). */
export function isShared(a: FloatArray | Int32Array): boolean {
  return Object.prototype.toString.call(a.buffer) === '[object SharedArrayBuffer]';
}

const free = new Map<string, FloatArray[]>();
/** Stores now on a free list (guards against giving one back twice). */
let pooled = new WeakSet<FloatArray>();
let pooledBytes = 0;
let enabled = process.env.CS231N_POOL === undefined || !/^(0|off|false|no)$/i.test(process.env.CS231N_POOL.trim());
let poison = false;
let capBytes = Math.min(4 * 1024 ** 3, Math.floor(os.totalmem() / 4));
let stats = { taken: 0, fresh: 0, given: 0, dropped: 0 };

const keyOf = (dtype: DType, n: number): string => (dtype === 'float32' ? 's' : 'd') + n;

/**
 * A store of `n` elements: a recycled one of the same dtype and length when the pool has one,
 * else a new one (`allocFloat` calls this). Zero-filled unless `zero` is false (then a
 * recycled store keeps its old values: `allocFloatUninit`).
 */
export function takeFloat(dtype: DType, n: number, fresh: () => FloatArray, zero = true): FloatArray {
  if (enabled && n >= MIN_ELEMS) {
    const list = free.get(keyOf(dtype, n));
    const a = list?.pop();
    if (a !== undefined) {
      pooled.delete(a);
      pooledBytes -= a.byteLength;
      stats.taken++;
      if (zero) a.fill(0);
      return a;
    }
  }
  stats.fresh++;
  return fresh();
}

/**
 * Gives a dead store back for reuse. The caller promises nothing reads or writes `a` again;
 * stores that are views into a larger buffer, shared, small or already given back are
 * ignored, so giving back is always allowed where the caller owns the buffer.
 */
export function recycleFloat(a: FloatArray | null | undefined): void {
  if (!enabled || a == null || a.length < MIN_ELEMS || pooled.has(a)) return;
  if (!(a instanceof Float32Array || a instanceof Float64Array)) return;
  // (By tag, not instanceof: test runners may give typed arrays another realm's ArrayBuffer.)
  if (a.byteOffset !== 0 || a.byteLength !== a.buffer.byteLength) return;
  if (Object.prototype.toString.call(a.buffer) !== '[object ArrayBuffer]' && !madeShared.has(a)) return;
  if (pooledBytes + a.byteLength > capBytes) {
    stats.dropped++;
    return;
  }
  if (poison) a.fill(NaN);
  const key = keyOf(a instanceof Float32Array ? 'float32' : 'float64', a.length);
  let list = free.get(key);
  if (list === undefined) free.set(key, (list = []));
  list.push(a);
  pooled.add(a);
  pooledBytes += a.byteLength;
  stats.given++;
}

/** Options of the buffer pool (see {@link configureBufferPool}). */
export interface BufferPoolOptions {
  /** Recycle buffers (default on; `CS231N_POOL=0` turns it off at start). */
  enabled?: boolean;
  /** Fill stores with NaN as they are given back, so a use after recycling shows (tests). */
  poison?: boolean;
  /** Most bytes kept on the free lists (default: a quarter of the RAM, at most 4 GiB). */
  capBytes?: number;
}

/** Changes the pool's settings; turning it off or changing the cap empties it. Returns the previous settings. */
export function configureBufferPool(opts: BufferPoolOptions): Required<BufferPoolOptions> {
  const prev = { enabled, poison, capBytes };
  if (opts.capBytes !== undefined) {
    if (!(Number.isFinite(opts.capBytes) && opts.capBytes >= 0)) throw new RangeError(`capBytes: expected a finite number ≥ 0, got ${opts.capBytes}`);
    capBytes = opts.capBytes;
  }
  if (opts.enabled !== undefined) enabled = opts.enabled;
  if (opts.poison !== undefined) poison = opts.poison;
  if (!enabled || opts.capBytes !== undefined) clearBufferPool();
  return prev;
}

/** Drops every pooled store (the garbage collector takes them). */
export function clearBufferPool(): void {
  free.clear();
  pooled = new WeakSet();
  pooledBytes = 0;
}

/** Counters since the process started: stores reused, allocated new, given back, dropped at the cap; bytes pooled now. */
export function bufferPoolStats(): { taken: number; fresh: number; given: number; dropped: number; pooledBytes: number } {
  return { ...stats, pooledBytes };
}
