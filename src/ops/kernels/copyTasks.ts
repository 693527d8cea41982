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

/**
 * Runs tasks of a {@link CopyJob} or a {@link ShuffleSplitJob} until none are left (all of
 * them when `ctl` is null). One runner for both, so both use the one block copy below.
 */
export function copyTasks(job: CopyJob | ShuffleSplitJob): void {
  const ctl = job.ctl;
  const worker = job.worker === true;
  // A block of `len` elements from src at s0 to dst at d0. A subarray and a set cost more
  // than copying a short block (a 4×4 map) by hand, four elements a step. Measured (64 × 116
  // rows of shared float32, ns an element, set / loop / loop by fours): 4×4 1.9 / 1.0 / 0.55,
  // 8×8 0.64 / 1.0 / 0.66, 16×16 0.44 / 1.0 / 0.76.
  function block(src: FloatArray, s0: number, dst: FloatArray, d0: number, len: number): void {
    if (len >= 32) {
      dst.set(src.subarray(s0, s0 + len), d0);
      return;
    }
    let s = s0, d = d0;
    for (const e = s0 + (len & ~3); s < e; s += 4, d += 4) {
      dst[d] = src[s]; dst[d + 1] = src[s + 1]; dst[d + 2] = src[s + 2]; dst[d + 3] = src[s + 3];
    }
    for (; s < s0 + len; s++, d++) dst[d] = src[s];
  }
  const split = job.kind === 'shuffleSplit';
  const sj = job as ShuffleSplitJob;
  const cj = job as CopyJob;
  const rows = split ? sj.N * 2 * sj.c : cj.rows;
  const rb = job.rb;
  // The job's fields as locals, read once (rows of 16 floats make per-row loads count).
  const { c, inner: sInner, fwd } = sj;
  const { a, aOff, aRow, b, bOff, bRow, len, shuffle } = cj;
  const g = shuffle === null || shuffle === undefined ? 0 : shuffle[0];
  const gn = shuffle === null || shuffle === undefined ? 0 : shuffle[1];
  const inner = split ? sInner : g > 0 ? len / (g * gn) : len;
  const nTasks = Math.ceil(rows / rb);
  let next = 0;
  for (;;) {
    const t = ctl === null ? next++ : Atomics.add(ctl, 0, 1);
    if (t >= nTasks) break;
    for (let r = t * rb; r < Math.min(rows, (t + 1) * rb); r++) {
      if (split) {
        // Row r = (sample n, channel k of the join): a's channel k/2 or b's (k − 1)/2, the
        // first half's channel k or the second's k − c.
        const n = Math.floor(r / (2 * c));
        const k = r - n * 2 * c;
        const ab = (k & 1) === 0 ? sj.a : sj.b;
        const abOff = (n * c + (k >> 1)) * inner;
        const pq = k < c ? sj.p : sj.q;
        const pqOff = (n * c + (k < c ? k : k - c)) * inner;
        if (fwd) block(ab, abOff, pq, pqOff, inner);
        else block(pq, pqOff, ab, abOff, inner);
        continue;
      }
      const s0 = aOff + r * aRow;
      const d0 = bOff + r * bRow;
      if (g === 0) {
        block(a, s0, b, d0, len);
        continue;
      }
      for (let i = 0; i < g; i++) {
        for (let j = 0; j < gn; j++) block(a, s0 + (i * gn + j) * inner, b, d0 + (j * g + i) * inner, inner);
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

registerWorkerKernel('shuffleSplit', copyTasks as never, (job: ShuffleSplitJob) => Math.ceil((job.N * 2 * job.c) / job.rb));

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
  copyTasks(job);
}
