import { isShared } from '../../core/bufferPool';
import type { FloatArray } from '../../core/dtype';
import { getArena } from '../../core/gemm/arena';
import { gemmKernel, THREAD_MIN_WORK } from '../../core/gemm/gemm';
import { threadCount, tryThreaded, workersUsable, type WorkerJob } from '../../core/gemm/workers';

/**
 * Runs a job whose runner works on the tensors themselves (no arena view; the arena only lends
 * the pool its shared control block) on every thread, when there is more than one, the job has
 * at least two units of work and `elements` worth a job (a quarter of THREAD_MIN_WORK: these
 * loops are memory-bound), and every store in `stores` is shared. `make(threads)` builds the
 * job for that many threads. False: nothing ran, the caller runs the job on this thread.
 */
export function tryTensorJob<J extends WorkerJob>(units: number, elements: number, stores: FloatArray[], make: (threads: number) => J): boolean {
  const threads = threadCount();
  if (threads < 2 || units < 2 || elements < THREAD_MIN_WORK / 4 || !workersUsable() || !stores.every(isShared)) return false;
  const arena = getArena(gemmKernel(), 1) ?? getArena('js', 1);
  return arena !== null && arena.shared && tryThreaded(make(threads), threads, arena);
}
