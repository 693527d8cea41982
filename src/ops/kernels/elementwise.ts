import type { FloatArray } from '../../core/dtype';
import { isShared } from '../../core/bufferPool';
import { getArena } from '../../core/gemm/arena';
import { gemmKernel, THREAD_MIN_WORK } from '../../core/gemm/gemm';
import { abandon, finishThreaded, registerWorkerKernel, startThreaded, threadCount, WorkerFailure, workersUsable, type TaskRunner, type ThreadedRun, type WorkerJob } from '../../core/gemm/workers';

/*
 * Elementwise loops on every thread. An elementwise op is a loop over a range of indices,
 * `(a, b, i0, i1)` or `(a, b, c, i0, i1)`, whose elements do not depend on each other, so a
 * tensor can be cut into ranges that any thread computes, with the bits of one thread.
 *
 * WHY loops are registered as source: worker threads cannot call functions of this process,
 * only run source they are sent (see TaskRunner in core/gemm/workers.ts). Each loop is wrapped
 * in a task runner built from its source text, registered under the op's name, and the main
 * thread runs that same built runner — one piece of code on every thread. The price: a loop
 * must be self-contained (its arguments, Math and literals; no imported helper), which
 * `registerElementwise` cannot check and the threaded tests do (a loop that reaches outside
 * itself throws in the workers).
 *
 * WHY the tensors themselves: large allocFloat stores live in SharedArrayBuffers
 * (core/bufferPool.ts), and a typed array over one is shared, not copied, when the job is
 * posted. A call with any store that is not shared (a user's array, a small tensor) runs on
 * this thread.
 */

/**
 * Helpers every loop is handed as its last argument. They are built on each thread from the
 * source of {@link elementwiseMath}, so a loop may use them and stay self-contained.
 */
export interface ElementwiseMath {
  /**
   * e^t within 3e-10 relative error on [−708, 708], for results stored in float32 only (each
   * then within one float32 ulp of the correctly rounded value; float64 loops use Math.exp).
   * Outside it saturates as Math.exp does, to +Inf above ≈ 709.4 (Math.exp: 709.78) and to 0
   * (through a few subnormals) below ≈ −745, which no float32 result built from 1 + e^t can
   * tell apart; ±Inf give +Inf and 0, NaN stays NaN. Measured about 2× Math.exp's speed in a
   * SiLU loop.
   */
  expf(t: number): number;
}

/**
 * Builds {@link ElementwiseMath}. Self-contained: its source is evaluated on every thread.
 *
 * WHY not Math.exp: it is a call into V8's fdlibm port, about 14–17 ns an element here, most of
 * a SiLU. This is the textbook reduction — t = k·ln 2 + r with |r| ≤ ln 2 / 2, e^r by its Taylor
 * series to r⁸ (error ≤ r⁹/9! ≈ 2e-10, evaluated in Estrin's order for shorter dependency
 * chains), 2^k from a table — inlined into the loop. The clamp is a select, not an early
 * return: with branches out of the middle V8 left the call un-inlined, 2× slower.
 */
export function elementwiseMath(): ElementwiseMath {
  // 2^k for k in [−1100, 1100]: 0 and +Inf at the ends, so a clamped t saturates like Math.exp.
  const pow2 = new Float64Array(2201);
  for (let k = 0; k < 2201; k++) pow2[k] = Math.pow(2, k - 1100);
  return {
    expf(t: number): number {
      const u = t > 750 ? 750 : t < -750 ? -750 : t;
      const k = Math.floor(u * 1.4426950408889634 + 0.5);
      const r = u - k * 0.6931471805599453;
      const r2 = r * r;
      const p = 1 + r + r2 * (0.5 + r * (1 / 6) + r2 * (1 / 24 + r * (1 / 120) + r2 * (1 / 720 + r * (1 / 5040) + r2 * (1 / 40320))));
      return p * pow2[(k | 0) + 1100];
    },
  };
}

/**
 * A loop over [i0, i1) of two stores (`o[i] = f(x[i])`) or three (`dx[i] = f(g[i], s[i])`),
 * with the helpers last.
 */
export type ElementwiseLoop =
  | ((a: FloatArray, b: FloatArray, i0: number, i1: number, math: ElementwiseMath) => void)
  | ((a: FloatArray, b: FloatArray, c: FloatArray, i0: number, i1: number, math: ElementwiseMath) => void);

/** One pass of a registered loop over `n` elements in ranges of `chunk`. */
interface ElementwiseJob extends WorkerJob {
  kind: string;
  n: number;
  chunk: number;
  a: FloatArray;
  b: FloatArray;
  c: FloatArray | null;
}

/** A registered loop, callable on any store (threaded when it pays). */
export type ElementwiseRun = (n: number, a: FloatArray, b: FloatArray, c?: FloatArray) => void;

/**
 * The task runner around `loop`, as the source of an expression: the loop and the helpers are
 * locals of it (not closures over this module), so its text carries them to the workers.
 */
function runnerSource(loop: ElementwiseLoop): string {
  return `(function () {
  const math = (${elementwiseMath.toString()})();
  const loop = (${loop.toString()});
  return function elementwiseTasks(job, F) {
    const ctl = job.ctl;
    const worker = job.worker === true;
    const n = job.n, chunk = job.chunk;
    const nTasks = Math.ceil(n / chunk);
    let next = 0;
    for (;;) {
      const t = ctl === null ? next++ : Atomics.add(ctl, 0, 1);
      if (t >= nTasks) break;
      const i0 = t * chunk;
      const i1 = Math.min(n, i0 + chunk);
      if (job.c === null) loop(job.a, job.b, i0, i1, math);
      else loop(job.a, job.b, job.c, i0, i1, math);
      if (ctl !== null) {
        if (worker) Atomics.add(ctl, 3, 1);
        Atomics.add(ctl, 1, 1);
        if (Atomics.load(ctl, 6) !== 0) Atomics.notify(ctl, 1);
      }
    }
  };
})()`;
}

/** Elements per task: several per thread, so a core busy elsewhere does not hold the rest up. */
function chunkOf(n: number, threads: number): number {
  return Math.max(8192, Math.ceil(n / (8 * threads) / 64) * 64);
}

/**
 * Registers `loop` with the worker pool under `name` and returns a function that runs it over
 * [0, n) of its stores: on every thread when they are all shared and the work is large,
 * else on this thread. `cost` is the loop's work per element in multiply-adds (an exp counts
 * about 20), weighed against the pool's per-job overhead.
 */
export function registerElementwise(name: string, loop: ElementwiseLoop, cost = 1): ElementwiseRun {
  const kind = `elementwise:${name}`;
  const source = runnerSource(loop);
  // tsx/esbuild may wrap named functions in __name(); the workers define it the same way.
  const run = new Function('__name', `return ${source}`)((f: unknown) => f) as TaskRunner;
  registerWorkerKernel(kind, run, (job: ElementwiseJob) => Math.ceil(job.n / job.chunk), source);
  return (n, a, b, c) => {
    const job: ElementwiseJob = { kind, n, chunk: Math.max(n, 1), a, b, c: c ?? null, ctl: null, f32: false, fma: false, wasm: false, buf: null };
    let threads = threadCount();
    if (threads > 1 && (n * cost < THREAD_MIN_WORK || !workersUsable() || !isShared(a) || !isShared(b) || (c !== undefined && !isShared(c)))) threads = 1;
    const arena = threads > 1 ? getArena(gemmKernel(), 1) ?? getArena('js', 1) : null;
    if (arena === null || !arena.shared) {
      run(job, a, null, null, null, null as never, null);
      return;
    }
    job.chunk = chunkOf(n, threads);
    let started: ThreadedRun | null = null;
    try {
      started = startThreaded(job, threads, arena);
      finishThreaded(started);
      return;
    } catch (e) {
      if (started !== null) abandon(started);
      if (!(e instanceof WorkerFailure)) throw e;
    }
    run({ ...job, ctl: null }, a, null, null, null, null as never, null);
  };
}
