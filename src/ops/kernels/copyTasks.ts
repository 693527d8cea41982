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
      // A subarray and a set cost more than copying a short block (a 4×4 map) by hand.
      // Measured (64 samples, float32, ns an element, set / loop): 4×4 2.7 / 1.5, 6×6 1.2 / 1.5, 8×8 0.7 / 1.4.
      if (shuffle === null) {
        if (len < 32) for (let k = 0; k < len; k++) b[d0 + k] = a[s0 + k];
        else b.set(a.subarray(s0, s0 + len), d0);
        continue;
      }
      const g = shuffle[0], n = shuffle[1];
      const inner = len / (g * n);
      const short = inner < 32;
      for (let i = 0; i < g; i++) {
        for (let j = 0; j < n; j++) {
          const from = s0 + (i * n + j) * inner;
          const to = d0 + (j * g + i) * inner;
          if (short) for (let k = 0; k < inner; k++) b[to + k] = a[from + k];
          else b.set(a.subarray(from, from + inner), to);
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

const calls = { threaded: 0, here: 0 };
/** Copies so far that ran on the worker pool and on this thread alone (for tests). */
export function copyCalls(): { threaded: number; here: number } {
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
