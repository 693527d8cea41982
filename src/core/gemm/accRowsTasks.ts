import type { Arena } from './arena';
import { registerWorkerKernel, tryThreaded, type WorkerJob } from './workers';

/*
 * accRows32 (wasmPartials.ts: float64 rows accumulating `count` float32 parts in order) as a
 * job of the worker pool, the rows cut into blocks.
 *
 * WHY: the fused convolution's backward sums its per-sample dW / db parts this way after each
 * chunk, and it ran on the main thread alone while the other threads waited — 14 ms of a
 * ShuffleNet V2 training step (~500 ms). Each row is still summed by one call over the parts in
 * order, so the bits are those of the one-thread call whatever the schedule.
 */

/** accRows32's arguments (byte addresses and strides in the arena), and rows per task. */
export interface AccRowsJob extends WorkerJob {
  kind: 'accRows';
  dst: number;
  src: number;
  len: number;
  count: number;
  srcStep: number;
  rows: number;
  dstRowStride: number;
  srcRowStride: number;
  per: number;
}

/** Runs tasks of an {@link AccRowsJob} (a block of `per` rows each) until none are left. */
export function accRowsTasks(job: AccRowsJob, _F: unknown, _b: unknown, _bS: unknown, _r: unknown, _g: unknown, ex: Record<string, unknown> | null): void {
  const ctl = job.ctl as Int32Array;
  const acc = (ex as Record<string, (...a: number[]) => void>).accRows32;
  const nTasks = Math.ceil(job.rows / job.per);
  for (;;) {
    const t = Atomics.add(ctl, 0, 1);
    if (t >= nTasks) break;
    const r0 = t * job.per;
    acc(job.dst + r0 * job.dstRowStride, job.src + r0 * job.srcRowStride, job.len, job.count, job.srcStep, Math.min(job.per, job.rows - r0), job.dstRowStride, job.srcRowStride);
    if (job.worker === true) Atomics.add(ctl, 3, 1);
    Atomics.add(ctl, 1, 1);
    if (Atomics.load(ctl, 6) !== 0) Atomics.notify(ctl, 1);
  }
}

registerWorkerKernel('accRows', accRowsTasks as never, (job: AccRowsJob) => Math.ceil(job.rows / job.per));

let threadedSums = 0;
/** Sums run as pool jobs so far (for tests). */
export function accRowsJobs(): number {
  return threadedSums;
}

/** Parts below this many elements (rows · len · count) are summed on this thread: a job's hand-off costs more. */
const THREAD_MIN_ELEMENTS = 1 << 17;

/**
 * `accRows32(dst, src, len, count, srcStep, rows, dstRowStride, srcRowStride)` on the wasm
 * arena `arena`: on `threads` threads when the sum is large enough, else on this thread.
 * False when the pool failed (it is then retired) with some rows perhaps added: the caller
 * starts its whole sum over.
 */
export function accRowsOnThreads(arena: Arena, threads: number, dst: number, src: number, len: number, count: number, srcStep: number, rows: number, dstRowStride: number, srcRowStride: number): boolean {
  const ex = arena.exports as Record<string, (...a: number[]) => void>;
  if (threads > 1 && arena.shared && rows >= 2 && rows * len * count >= THREAD_MIN_ELEMENTS) {
    const per = Math.max(1, Math.ceil(rows / (4 * threads)));
    const job: AccRowsJob = {
      kind: 'accRows', dst, src, len, count, srcStep, rows, dstRowStride, srcRowStride, per,
      ctl: null, f32: true, fma: false, wasm: true, buf: null,
    };
    threadedSums++;
    return tryThreaded(job, threads, arena);
  }
  ex.accRows32(dst, src, len, count, srcStep, rows, dstRowStride, srcRowStride);
  return true;
}
