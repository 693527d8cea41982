import type { FloatArray } from '../../core/dtype';
import { registerWorkerKernel, type WorkerJob } from '../../core/gemm/workers';
import { tryTensorJob } from './tensorJobs';

/*
 * The channel ops' block copies (ops/channels.ts: shuffle, concatenation, slicing) as tasks of
 * rows on every thread. A copy has no arithmetic, so any split gives the same bits.
 *
 * WHY: ShuffleNet V2 moves every activation through a split, a concatenation and a shuffle in
 * each block; on one thread they were a fifth of its eval forward (34 ms of 167 at batch 64).
 *
 * Self-contained (shipped to the workers as source; see TaskRunner in core/gemm/workers.ts).
 */

/**
 * `rows` rows of `len` elements: row r goes from a[aOff + r·aRow] to b[bOff + r·bRow]; with
 * `shuffle` = [g, n], a row is one sample of C = g·n channels of `len / C` elements each, input
 * channel i·n + j landing on output channel j·g + i.
 */
export interface CopyJob extends WorkerJob {
  kind: 'copyRows';
  rows: number;
  len: number;
  a: FloatArray;
  aOff: number;
  aRow: number;
  b: FloatArray;
  bOff: number;
  bRow: number;
  shuffle: [number, number] | null;
  /** Rows per task. */
  rb: number;
}

/** Runs tasks of a {@link CopyJob} until none are left (all of them when `ctl` is null). */
export function copyTasks(job: CopyJob): void {
  const ctl = job.ctl;
  const worker = job.worker === true;
  const { rows, len, a, aOff, aRow, b, bOff, bRow, shuffle, rb } = job;
  const nTasks = Math.ceil(rows / rb);
  let next = 0;
  for (;;) {
    const t = ctl === null ? next++ : Atomics.add(ctl, 0, 1);
    if (t >= nTasks) break;
    for (let r = t * rb; r < Math.min(rows, (t + 1) * rb); r++) {
      const s0 = aOff + r * aRow;
      const d0 = bOff + r * bRow;
      // A subarray and a set cost more than copying a short block (a 4×4 map) by hand, four
      // elements a step. Measured (64 × 116 rows of shared float32, ns an element, set / loop /
      // loop by fours): 4×4 1.9 / 1.0 / 0.55, 8×8 0.64 / 1.0 / 0.66, 16×16 0.44 / 1.0 / 0.76.
      if (shuffle === null) {
        if (len < 32) {
          let s = s0, d = d0;
          for (const e = s0 + (len & ~3); s < e; s += 4, d += 4) {
            b[d] = a[s]; b[d + 1] = a[s + 1]; b[d + 2] = a[s + 2]; b[d + 3] = a[s + 3];
          }
          for (; s < s0 + len; s++, d++) b[d] = a[s];
        } else b.set(a.subarray(s0, s0 + len), d0);
        continue;
      }
      const g = shuffle[0], n = shuffle[1];
      const inner = len / (g * n);
      const short = inner < 32;
      const quads = inner & ~3;
      for (let i = 0; i < g; i++) {
        for (let j = 0; j < n; j++) {
          const from = s0 + (i * n + j) * inner;
          const to = d0 + (j * g + i) * inner;
          if (!short) {
            b.set(a.subarray(from, from + inner), to);
            continue;
          }
          let s = from, d = to;
          for (const e = from + quads; s < e; s += 4, d += 4) {
            b[d] = a[s]; b[d + 1] = a[s + 1]; b[d + 2] = a[s + 2]; b[d + 3] = a[s + 3];
          }
          for (; s < from + inner; s++, d++) b[d] = a[s];
        }
      }
    }
    if (ctl !== null) {
      if (worker) Atomics.add(ctl, 3, 1);
      Atomics.add(ctl, 1, 1);
      if (Atomics.load(ctl, 6) !== 0) Atomics.notify(ctl, 1);
    }
  }
}

registerWorkerKernel('copyRows', copyTasks as never, (job: CopyJob) => Math.ceil(job.rows / job.rb));

const calls = { threaded: 0, here: 0, shuffleSplit: 0 };
/** Copies so far that ran on the worker pool and on this thread alone, and of those the shuffle-splits (for tests). */
export function copyCalls(): { threaded: number; here: number; shuffleSplit: number } {
  return { ...calls };
}

/**
 * Copies `rows` rows of `len` elements from `a` (row r at aOff + r·aRow) to `b` (at bOff +
 * r·bRow), each row shuffled as a sample of g·n channels when `shuffle` = [g, n]: on every
 * thread when both stores are shared and the copy is large, else here.
 */
export function copyRows(
  rows: number, len: number, a: FloatArray, aOff: number, aRow: number, b: FloatArray, bOff: number, bRow: number, shuffle: [number, number] | null = null,
): void {
  if (rows === 0 || len === 0) return;
  const job: CopyJob = {
    kind: 'copyRows', rows, len, a, aOff, aRow, b, bOff, bRow, shuffle, rb: rows,
    ctl: null, f32: false, fma: false, wasm: false, buf: null,
  };
  // Enough tasks per thread to even out a core that is busy elsewhere.
  if (tryTensorJob(rows, rows * len, [a, b], (threads) => ({ ...job, rb: Math.max(1, Math.ceil(rows / (4 * threads))) }))) {
    calls.threaded++;
    return;
  }
  calls.here++;
  copyTasks(job);
}

/**
 * ShuffleNet V2's join and the next unit's split as one pass over two pairs of (N, c, inner)
 * stores: (p, q) are the halves [0, c) and [c, 2c) of channel_shuffle(cat(a, b), 2), whose
 * channel k is a's channel k/2 (k even) or b's (k − 1)/2 (k odd). Forward copies a, b into p,
 * q; backward (`fwd` false) copies p, q back into a, b. A task is `rb` rows (n, k) of `inner`.
 */
export interface ShuffleSplitJob extends WorkerJob {
  kind: 'shuffleSplit';
  fwd: boolean;
  N: number;
  c: number;
  inner: number;
  a: FloatArray;
  b: FloatArray;
  p: FloatArray;
  q: FloatArray;
  rb: number;
}

/** Runs tasks of a {@link ShuffleSplitJob} until none are left (all of them when `ctl` is null). */
export function shuffleSplitTasks(job: ShuffleSplitJob): void {
  const ctl = job.ctl;
  const worker = job.worker === true;
  const { fwd, c, inner, rb } = job;
  const rows = job.N * 2 * c;
  const nTasks = Math.ceil(rows / rb);
  const short = inner < 32;
  let next = 0;
  for (;;) {
    const t = ctl === null ? next++ : Atomics.add(ctl, 0, 1);
    if (t >= nTasks) break;
    for (let r = t * rb; r < Math.min(rows, (t + 1) * rb); r++) {
      const n = Math.floor(r / (2 * c));
      const k = r - n * 2 * c;
      const ab = (k & 1) === 0 ? job.a : job.b;
      const abOff = (n * c + (k >> 1)) * inner;
      const pq = k < c ? job.p : job.q;
      const pqOff = (n * c + (k < c ? k : k - c)) * inner;
      const src = fwd ? ab : pq, s0 = fwd ? abOff : pqOff;
      const dst = fwd ? pq : ab, d0 = fwd ? pqOff : abOff;
      if (!short) {
        dst.set(src.subarray(s0, s0 + inner), d0);
        continue;
      }
      // Short planes four floats a step (see copyTasks).
      let s = s0, d = d0;
      for (const e = s0 + (inner & ~3); s < e; s += 4, d += 4) {
        dst[d] = src[s]; dst[d + 1] = src[s + 1]; dst[d + 2] = src[s + 2]; dst[d + 3] = src[s + 3];
      }
      for (; s < s0 + inner; s++, d++) dst[d] = src[s];
    }
    if (ctl !== null) {
      if (worker) Atomics.add(ctl, 3, 1);
      Atomics.add(ctl, 1, 1);
      if (Atomics.load(ctl, 6) !== 0) Atomics.notify(ctl, 1);
    }
  }
}

registerWorkerKernel('shuffleSplit', shuffleSplitTasks as never, (job: ShuffleSplitJob) => Math.ceil((job.N * 2 * job.c) / job.rb));

/**
 * The copies of a {@link ShuffleSplitJob}: on every thread when the four stores are shared and
 * the copy is large, else here.
 */
export function shuffleSplitRows(fwd: boolean, N: number, c: number, inner: number, a: FloatArray, b: FloatArray, p: FloatArray, q: FloatArray): void {
  const rows = N * 2 * c;
  if (rows === 0 || inner === 0) return;
  calls.shuffleSplit++;
  const job: ShuffleSplitJob = { kind: 'shuffleSplit', fwd, N, c, inner, a, b, p, q, rb: rows, ctl: null, f32: false, fma: false, wasm: false, buf: null };
  if (tryTensorJob(rows, rows * inner, [a, b, p, q], (threads) => ({ ...job, rb: Math.max(1, Math.ceil(rows / (4 * threads))) }))) {
    calls.threaded++;
    return;
  }
  calls.here++;
  shuffleSplitTasks(job);
}
