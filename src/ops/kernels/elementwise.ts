import type { FloatArray } from '../../core/dtype';
import { isShared } from '../../core/bufferPool';
import { getArena } from '../../core/gemm/arena';
import { gemmKernel, THREAD_MIN_WORK } from '../../core/gemm/gemm';
import { registerWorkerKernel, threadCount, tryThreaded, workersUsable, type TaskRunner, type WorkerJob } from '../../core/gemm/workers';

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
  /**
   * Float32 with a wasm counterpart (else −1): per-thread scratch in the arena, float32 offsets
   * — slot s at sOff + 3·s·span holds three arrays of `span` floats.
   */
  sOff: number;
  span: number;
}

/** A registered loop, callable on any store (threaded when it pays). */
export type ElementwiseRun = (n: number, a: FloatArray, b: FloatArray, c?: FloatArray) => void;

/**
 * The task runner around `loop`, as the source of an expression: the loop and the helpers are
 * locals of it (not closures over this module), so its text carries them to the workers.
 */
function runnerSource(loop: ElementwiseLoop, wasmName: string | null): string {
  return `(function () {
  const math = (${elementwiseMath.toString()})();
  const loop = (${loop.toString()});
  const wasmName = ${JSON.stringify(wasmName)};
  return function elementwiseTasks(job, F, _b, _bS, _r, _g, ex) {
    const ctl = job.ctl;
    const worker = job.worker === true;
    const n = job.n, chunk = job.chunk;
    const nTasks = Math.ceil(n / chunk);
    // The wasm counterpart: ranges copied into this thread's scratch, span floats at a time.
    const wf = wasmName !== null && job.sOff >= 0 && ex && typeof ex[wasmName] === 'function' ? ex[wasmName] : null;
    const span = job.span;
    let slot = -1;
    let next = 0;
    for (;;) {
      const t = ctl === null ? next++ : Atomics.add(ctl, 0, 1);
      if (t >= nTasks) break;
      const i0 = t * chunk;
      const i1 = Math.min(n, i0 + chunk);
      if (wf !== null) {
        if (slot < 0) slot = job.sOff + 3 * span * (ctl === null ? 0 : Atomics.add(ctl, 7, 1));
        for (let p = i0; p < i1; p += span) {
          const m = Math.min(span, i1 - p);
          F.set(job.a.subarray(p, p + m), slot);
          if (job.c === null) {
            wf(4 * slot, 4 * (slot + span), m);
            job.b.set(F.subarray(slot + span, slot + span + m), p);
          } else {
            F.set(job.b.subarray(p, p + m), slot + span);
            wf(4 * slot, 4 * (slot + span), 4 * (slot + 2 * span), m);
            job.c.set(F.subarray(slot + 2 * span, slot + 2 * span + m), p);
          }
        }
      } else if (job.c === null) loop(job.a, job.b, i0, i1, math);
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

/** Floats of one scratch array of a wasm job (three per thread). */
const SPAN_FLOATS = 1 << 14;

/**
 * Registers `loop` with the worker pool under `name` and returns a function that runs it over
 * [0, n) of its stores: on every thread when they are all shared and the work is large,
 * else on this thread. `cost` is the loop's work per element in multiply-adds (an exp counts
 * about 20), weighed against the pool's per-job overhead. `wasmName` names an export of the
 * GEMM module that computes the same bits for float32 stores (`(a, b, n)` or `(a, b, c, n)`,
 * byte addresses): float32 calls then copy their ranges through the arena into it.
 */
export function registerElementwise(name: string, loop: ElementwiseLoop, cost = 1, wasmName: string | null = null): ElementwiseRun {
  const kind = `elementwise:${name}`;
  const source = runnerSource(loop, wasmName);
  // tsx/esbuild may wrap named functions in __name(); the workers define it the same way.
  const run = new Function('__name', `return ${source}`)((f: unknown) => f) as TaskRunner;
  registerWorkerKernel(kind, run, (job: ElementwiseJob) => Math.ceil(job.n / job.chunk), source);
  return (n, a, b, c) => {
    const job: ElementwiseJob = { kind, n, chunk: Math.max(n, 1), a, b, c: c ?? null, ctl: null, f32: false, fma: false, wasm: false, buf: null, sOff: -1, span: 0 };
    let threads = threadCount();
    if (threads > 1 && (n * cost < THREAD_MIN_WORK || !workersUsable() || !isShared(a) || !isShared(b) || (c !== undefined && !isShared(c)))) threads = 1;
    const viaWasm = wasmName !== null && a instanceof Float32Array && n > 0 && gemmKernel() === 'wasm';
    const wasmArena = viaWasm ? getArena('wasm', Math.ceil((3 * SPAN_FLOATS * threads) / 2)) : null;
    if (wasmArena !== null) {
      Object.assign(job, { f32: true, wasm: true, sOff: 0, span: SPAN_FLOATS });
      if (threads < 2 || !wasmArena.shared) {
        run(job, wasmArena.F32, null, null, null, null as never, wasmArena.exports);
        return;
      }
    }
    const arena = threads > 1 ? wasmArena ?? getArena(gemmKernel(), 1) ?? getArena('js', 1) : null;
    if (arena === null || !arena.shared) {
      run(job, a, null, null, null, null as never, null);
      return;
    }
    job.chunk = chunkOf(n, threads);
    if (tryThreaded(job, threads, arena)) return;
    if (job.wasm && wasmArena !== null) run({ ...job, ctl: null }, wasmArena.F32, null, null, null, null as never, wasmArena.exports);
    else run({ ...job, ctl: null }, a, null, null, null, null as never, null);
  };
}
