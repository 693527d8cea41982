import type { FloatArray } from '../../core/dtype';
import { registerWorkerKernel, type WorkerJob } from '../../core/gemm/workers';
import type { Pool2dGeometry } from '../poolArgs';
import { tryTensorJob } from './tensorJobs';

/*
 * avg_pool2d forward and backward (any window, stride, padding, ceil mode, divisor rule) as
 * tasks of blocks of planes: every window lies inside one plane, so a block of planes is an
 * independent task any thread may run. Each window is summed row by row from 0, and a
 * backward spreads the windows in output order, so the bits do not depend on the thread count.
 *
 * WHY: a per-window callback on the main thread was a sixth of ShuffleNet V1's eval forward
 * (53 ms of 305 on 2 threads, 3 pools of 3×3 stride 2).
 *
 * WHY self-contained: the runner is shipped to the worker threads as source (see TaskRunner in
 * core/gemm/workers.ts), so it cannot call imported functions.
 */

/** A pool of `planes` planes of H×W into outH×outW (the op's window geometry), `pb` planes a task. */
export interface AvgPoolJob extends WorkerJob, Omit<Pool2dGeometry, 'N' | 'C'> {
  kind: 'avgPool';
  backward: boolean;
  planes: number;
  /** Divide by the window clipped to the padded input (PyTorch's count_include_pad), else by its real positions. */
  countIncludePad: boolean;
  pb: number;
  /** Forward: x → out. Backward: dout → dx (dx zero on entry). */
  src: FloatArray;
  dst: FloatArray;
}

/** Runs tasks of an {@link AvgPoolJob} until none are left (all of them when `ctl` is null). */
export function avgPoolTasks(job: AvgPoolJob): void {
  const ctl = job.ctl;
  const worker = job.worker === true;
  const { planes, H, W, outH, outW, kh, kw, sh, sw, ph, pw, countIncludePad, pb, src, dst } = job;
  const back = job.backward;
  const nTasks = Math.ceil(planes / pb);
  let next = 0;
  for (;;) {
    const t = ctl === null ? next++ : Atomics.add(ctl, 0, 1);
    if (t >= nTasks) break;
    const p1 = Math.min(planes, (t + 1) * pb);
    for (let p = t * pb; p < p1; p++) {
      const plane = p * H * W;
      let q = p * outH * outW;
      for (let oh = 0; oh < outH; oh++) {
        const hs = oh * sh - ph;
        const he = Math.min(hs + kh, H + ph);
        const h0 = Math.max(hs, 0);
        const h1 = Math.min(he, H);
        for (let ow = 0; ow < outW; ow++, q++) {
          const ws = ow * sw - pw;
          const we = Math.min(ws + kw, W + pw);
          const w0 = Math.max(ws, 0);
          const w1 = Math.min(we, W);
          const div = countIncludePad ? (he - hs) * (we - ws) : (h1 - h0) * (w1 - w0);
          if (back) {
            const v = src[q] / div;
            for (let i = h0; i < h1; i++) for (let j = plane + i * W + w0, e = plane + i * W + w1; j < e; j++) dst[j] += v;
          } else if (h1 - h0 === 3 && w1 - w0 === 3) {
            // A whole 3×3 window (most of them, in ShuffleNet's and GoogLeNet's pools) unrolled, in
            // the same order: the general loop's three-trip inner loops cost ~20 ns a window.
            const r0 = plane + h0 * W + w0;
            const r1 = r0 + W;
            const r2 = r1 + W;
            const s = 0 + src[r0] + src[r0 + 1] + src[r0 + 2] + src[r1] + src[r1 + 1] + src[r1 + 2] + src[r2] + src[r2 + 1] + src[r2 + 2];
            dst[q] = s / div;
          } else {
            let s = 0;
            for (let i = h0; i < h1; i++) for (let j = plane + i * W + w0, e = plane + i * W + w1; j < e; j++) s += src[j];
            dst[q] = s / div;
          }
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

registerWorkerKernel('avgPool', avgPoolTasks as never, (job: AvgPoolJob) => Math.ceil(job.planes / job.pb));

const calls = { threaded: 0, here: 0 };
/** Pools so far that ran on the worker pool and on this thread alone (for tests). */
export function avgPoolCalls(): { threaded: number; here: number } {
  return { ...calls };
}

/**
 * Runs an average pool (forward, or backward into a zeroed dx) over dense planes: on every
 * thread when the stores are shared and the work is large, else here.
 */
export function runAvgPool(job: Omit<AvgPoolJob, 'kind' | 'pb' | 'ctl' | 'f32' | 'fma' | 'wasm' | 'buf'>): void {
  // A batch of zero (summary's shape-only pass) has no planes: no tasks (and no 0/0 of them).
  if (job.planes === 0) return;
  const full: AvgPoolJob = { ...job, kind: 'avgPool', pb: job.planes, ctl: null, f32: false, fma: false, wasm: false, buf: null };
  const work = job.planes * job.outH * job.outW * job.kh * job.kw;
  // Enough tasks per thread to even out a core that is busy elsewhere.
  if (tryTensorJob(job.planes, work, [job.src, job.dst], (threads) => ({ ...full, pb: Math.max(1, Math.ceil(job.planes / (8 * threads))) }))) {
    calls.threaded++;
    return;
  }
  calls.here++;
  avgPoolTasks(full);
}
