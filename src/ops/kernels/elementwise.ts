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
   * e^−|x| for a float32 x, in float32 steps (each rounded by Math.fround): the steps and
   * constants of the wasm sigmoid family (core/gemm/wasmActivations.ts, `EXP32`), so the JS and
   * wasm loops give the same bits. Within a few float32 ulps of the true value
   * (test/elementwiseMath.test.ts), subnormals included; 0 below ≈ −103.9 (and for ±Inf); NaN
   * stays NaN.
   */
  expNegAbs32(x: number): number;
}

/**
 * Builds {@link ElementwiseMath}. Self-contained: its source is evaluated on every thread.
 *
 * WHY not Math.exp: it is a call into V8's fdlibm port, about 14–17 ns an element here, most of
 * a SiLU, and its float64 result is not what the float32 lanes compute. The clamp is a select,
 * not an early return: with branches out of the middle V8 left the call un-inlined, 2× slower.
 */
export function elementwiseMath(): ElementwiseMath {
  const f = Math.fround;
  const L = f(Math.LOG2E);
  const C1 = 0.693359375;
  const C2 = f(Math.LN2 - 0.693359375);
  const [a7, a6, a5, a4, a3, a2] = [1 / 5040, 1 / 720, 1 / 120, 1 / 24, 1 / 6, 1 / 2].map(f);
  // 2^j for j in [−126, 24], exact: 2^(k + 24) for k in [−150, 0].
  const pow2 = new Float64Array(151);
  for (let j = 0; j < 151; j++) pow2[j] = Math.pow(2, j - 126);
  const down = Math.pow(2, -24);
  return {
    expNegAbs32(x: number): number {
      const a = -Math.abs(x);
      const t = a < -104 ? -104 : a;
      // t·log₂e rounded to an integer, ties to even, as float32's addition of 1.5·2²³ does it.
      const k = f(f(f(t * L) + 12582912) - 12582912);
      const r = f(f(t - f(k * C1)) - f(k * C2));
      let p = f(f(a7 * r) + a6);
      p = f(f(p * r) + a5);
      p = f(f(p * r) + a4);
      p = f(f(p * r) + a3);
      p = f(f(p * r) + a2);
      p = f(f(p * r) + 1);
      p = f(f(p * r) + 1);
      return f(f(p * pow2[(k | 0) + 150]) * down);
    },
  };
}

/**
 * A loop over [i0, i1) of two stores (`o[i] = f(x[i])`) or three (`dx[i] = f(g[i], s[i])`),
 * with the helpers, then the call's scalars (an optimizer's rates), last.
 */
export type ElementwiseLoop =
  | ((a: FloatArray, b: FloatArray, i0: number, i1: number, math: ElementwiseMath, scalars: readonly number[]) => void)
  | ((a: FloatArray, b: FloatArray, c: FloatArray, i0: number, i1: number, math: ElementwiseMath, scalars: readonly number[]) => void);

/** One pass of a registered loop over `n` elements in ranges of `chunk`. */
interface ElementwiseJob extends WorkerJob {
  kind: string;
  n: number;
  chunk: number;
  a: FloatArray;
  b: FloatArray;
  c: FloatArray | null;
  /** The call's scalars, handed to the loop after the helpers. */
  s: number[];
  /**
   * Float32 with a wasm counterpart (else −1): per-thread scratch in the arena, float32 offsets
   * — slot s at sOff + 3·s·span holds three arrays of `span` floats.
   */
  sOff: number;
  span: number;
}

/** A registered loop, callable on any store (threaded when it pays), with optional scalars for the loop. */
export type ElementwiseRun = (n: number, a: FloatArray, b: FloatArray, c?: FloatArray, scalars?: readonly number[]) => void;

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
      } else if (job.c === null) loop(job.a, job.b, i0, i1, math, job.s);
      else loop(job.a, job.b, job.c, i0, i1, math, job.s);
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

const callCounts = new Map<string, { wasm: number; js: number }>();
/** Calls so far of the loop registered as `name` that ran its wasm counterpart and its JS loop (for tests). */
export function elementwiseCalls(name: string): { wasm: number; js: number } {
  return { ...(callCounts.get(`elementwise:${name}`) ?? { wasm: 0, js: 0 }) };
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
  return (n, a, b, c, scalars) => {
    const job: ElementwiseJob = {
      kind, n, chunk: Math.max(n, 1), a, b, c: c ?? null, s: scalars ? [...scalars] : [], ctl: null, f32: false, fma: false, wasm: false, buf: null, sOff: -1, span: 0,
    };
    let threads = threadCount();
    if (threads > 1 && (n * cost < THREAD_MIN_WORK || !workersUsable() || !isShared(a) || !isShared(b) || (c !== undefined && !isShared(c)))) threads = 1;
    const viaWasm = wasmName !== null && a instanceof Float32Array && n > 0 && gemmKernel() === 'wasm';
    const wasmArena = viaWasm ? getArena('wasm', Math.ceil((3 * SPAN_FLOATS * threads) / 2)) : null;
    const counts = callCounts.get(kind) ?? { wasm: 0, js: 0 };
    callCounts.set(kind, counts);
    if (wasmArena !== null) counts.wasm++;
    else counts.js++;
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
