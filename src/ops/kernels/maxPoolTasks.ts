import { isShared } from '../../core/bufferPool';
import type { FloatArray } from '../../core/dtype';
import { getArena, wasmAvailable } from '../../core/gemm/arena';
import { gemmKernel, THREAD_MIN_WORK } from '../../core/gemm/gemm';
import { registerWorkerKernel, threadCount, tryThreaded, workersUsable, type WorkerJob } from '../../core/gemm/workers';

/*
 * The 2×2 stride-2 max pool without padding — the pool of LeNet, cs231n's nets and VGG — as
 * tasks of whole planes: every window lies inside one plane, so a block of planes is an
 * independent task any thread may run, with the bits of one thread.
 *
 * Float32 runs in WebAssembly (core/gemm/wasmPool.ts): a task copies its planes into its slot
 * of the arena, pools them there and copies the maxima (and argmax) out. Otherwise the JS loop
 * below runs on the tensors themselves. Both visit each window in row-major order and replace
 * the maximum when `v > max || v ≠ v` (PyTorch's CPU rule), so they give the same values and
 * indices (test/maxPoolTasks.test.ts).
 *
 * WHY self-contained: the runner is shipped to the worker threads as source (see TaskRunner in
 * core/gemm/workers.ts), so it cannot call imported functions.
 */

/** One 2×2 pool over `planes` planes of H×W; `pb` planes per task. */
export interface MaxPoolJob extends WorkerJob {
  kind: 'maxPool2x2';
  planes: number;
  H: number;
  W: number;
  pb: number;
  x: FloatArray;
  out: FloatArray;
  /** Flat index into x of each maximum, or null when only the maxima are wanted. */
  argmax: Int32Array | null;
  /** Float32 through wasm (else −1): slot s at sOff + s·sLen floats holds x, out, argmax of pb planes. */
  sOff: number;
  sLen: number;
}

/** Runs tasks of a {@link MaxPoolJob} until none are left (all of them when `ctl` is null). */
export function maxPoolTasks(
  job: MaxPoolJob, F?: FloatArray | null, _b?: unknown, _bS?: unknown, _r?: unknown, _g?: unknown, ex?: Record<string, unknown> | null,
): void {
  const ctl = job.ctl;
  const worker = job.worker === true;
  const { planes, H, W, pb, x, out, argmax } = job;
  const outH = H >> 1;
  const outW = W >> 1;
  const nTasks = Math.ceil(planes / pb);
  const wasm = job.sOff >= 0 && F instanceof Float32Array && ex ? (ex.maxPool2x2f32 as (...a: number[]) => void) : null;
  let slot = -1;
  let I: Int32Array | null = null;

  function poolJs(p0: number, p1: number): void {
    let q = p0 * outH * outW;
    for (let p = p0; p < p1; p++) {
      for (let oh = 0; oh < outH; oh++) {
        const r0 = (p * H + 2 * oh) * W;
        const r1 = r0 + W;
        for (let ow = 0; ow < outW; ow++, q++) {
          const i0 = r0 + 2 * ow;
          const i2 = r1 + 2 * ow;
          let best = x[i0];
          let at = i0;
          const b = x[i0 + 1];
          if (b > best || b !== b) {
            best = b;
            at = i0 + 1;
          }
          const c = x[i2];
          if (c > best || c !== c) {
            best = c;
            at = i2;
          }
          const d = x[i2 + 1];
          if (d > best || d !== d) {
            best = d;
            at = i2 + 1;
          }
          out[q] = best;
          if (argmax !== null) argmax[q] = at;
        }
      }
    }
  }

  let next = 0;
  for (;;) {
    const t = ctl === null ? next++ : Atomics.add(ctl, 0, 1);
    if (t >= nTasks) break;
    const p0 = t * pb;
    const p1 = Math.min(planes, p0 + pb);
    if (wasm === null) poolJs(p0, p1);
    else {
      const Fw = F as Float32Array;
      if (slot < 0) {
        slot = job.sOff + job.sLen * (ctl === null ? 0 : Atomics.add(ctl, 7, 1));
        I = new Int32Array(Fw.buffer, Fw.byteOffset, Fw.length);
      }
      const inLen = (p1 - p0) * H * W;
      const outLen = (p1 - p0) * outH * outW;
      const xo = slot;
      const oo = slot + pb * H * W;
      const ao = oo + pb * outH * outW;
      Fw.set(x.subarray(p0 * H * W, p0 * H * W + inLen), xo);
      wasm(4 * xo, 4 * oo, 4 * ao, p1 - p0, H, W, p0 * H * W, argmax === null ? 0 : 1);
      out.set(Fw.subarray(oo, oo + outLen), p0 * outH * outW);
      if (argmax !== null) argmax.set((I as Int32Array).subarray(ao, ao + outLen), p0 * outH * outW);
    }
    if (ctl !== null) {
      if (worker) Atomics.add(ctl, 3, 1);
      Atomics.add(ctl, 1, 1);
      if (Atomics.load(ctl, 6) !== 0) Atomics.notify(ctl, 1);
    }
  }
}

registerWorkerKernel('maxPool2x2', maxPoolTasks as never, (job: MaxPoolJob) => Math.ceil(job.planes / job.pb));

const calls = { wasm: 0, js: 0 };
/** Calls so far that ran the wasm pool and the JS loop (for tests). */
export function maxPoolCalls(): { wasm: number; js: number } {
  return { ...calls };
}

/** Input floats of one task's slot: 64 KiB of planes, so a block stays in L2. */
const SPAN_FLOATS = 1 << 14;

/**
 * The 2×2 stride-2 pool of `planes` dense H×W planes of `x` into `out` (and `argmax`, flat
 * indices into x): on every thread when the stores are shared and the work is large, float32
 * through the wasm pool where the runtime has it.
 */
export function runMaxPool2x2(x: FloatArray, planes: number, H: number, W: number, out: FloatArray, argmax: Int32Array | null): void {
  const plane = H * W;
  const job: MaxPoolJob = {
    kind: 'maxPool2x2', planes, H, W, pb: planes, x, out, argmax, sOff: -1, sLen: 0,
    ctl: null, f32: x instanceof Float32Array, fma: false, wasm: false, buf: null,
  };
  let threads = threadCount();
  const shared = isShared(x) && isShared(out) && (argmax === null || isShared(argmax));
  if (threads > 1 && (planes < 2 || planes * plane < THREAD_MIN_WORK || !workersUsable() || !shared)) threads = 1;
  // Enough tasks per thread to even out a core that is busy elsewhere.
  job.pb = Math.max(1, Math.ceil(planes / (8 * threads)));
  const viaWasm = x instanceof Float32Array && out instanceof Float32Array && gemmKernel() === 'wasm' && wasmAvailable();
  let arena = null;
  if (viaWasm) {
    job.pb = Math.max(1, Math.min(job.pb, Math.floor(SPAN_FLOATS / plane)));
    // x, out and argmax of pb planes, rounded up to whole vectors.
    job.sLen = (job.pb * plane + 2 * job.pb * (H >> 1) * (W >> 1) + 3) & ~3;
    arena = getArena('wasm', Math.ceil((threads * job.sLen) / 2));
    if (arena !== null) Object.assign(job, { wasm: true, sOff: 0 });
  }
  if (job.wasm) calls.wasm++;
  else calls.js++;
  if (arena === null && threads > 1) arena = getArena(gemmKernel(), 1) ?? getArena('js', 1);
  if (threads > 1 && arena !== null && arena.shared && tryThreaded(job, threads, arena)) return;
  if (job.wasm && arena !== null) maxPoolTasks({ ...job, ctl: null }, arena.F32, null, null, null, null, arena.exports);
  else maxPoolTasks({ ...job, ctl: null, sOff: -1 });
}
