import { isShared } from '../../core/bufferPool';
import type { FloatArray } from '../../core/dtype';
import { registerWorkerKernel, type WorkerJob } from '../../core/gemm/workers';
import { tryTensorJob } from './tensorJobs';

/*
 * Loops over whole planes of T elements with one value per plane — a squeeze-and-excitation
 * block's global average pool and its channel gate, forward and backward — as tasks of blocks
 * of planes that any thread may run. Each plane is summed or scaled in one fixed order by
 * whichever thread takes it, so the bits do not depend on the thread count.
 *
 * WHY: these were single-threaded loops, memory-bound, and in EfficientNet-B0 they cost a
 * fifth of an eval forward (44 ms of 222 at batch 64 on 2 threads) beside convolutions that
 * use every core.
 *
 * WHY self-contained: the runner is shipped to the worker threads as source (see TaskRunner in
 * core/gemm/workers.ts), so it cannot call imported functions.
 */

/** What a {@link PlaneJob} computes, plane p covering [p·T, (p + 1)·T). */
export type PlaneOp =
  /** out[p] = (Σ x over plane p) / T, in four interleaved partial sums (`a` x, `b` out). */
  | 'mean'
  /** out = x · s[p] (`a` x, `b` s, `c` out). */
  | 'scale'
  /** dx = g · s[p], ds[p] = Σ g·x in order (`a` g, `b` x, `c` s, `d` dx, `e` ds). */
  | 'scaleBwd'
  /** dx = d[p] / T over plane p (`a` d, `b` dx): the global mean's backward. */
  | 'spread';

/** One pass of a {@link PlaneOp} over `planes` planes, `pb` planes a task. */
export interface PlaneJob extends WorkerJob {
  kind: 'planes';
  op: PlaneOp;
  planes: number;
  T: number;
  pb: number;
  a: FloatArray;
  b: FloatArray;
  c: FloatArray | null;
  d: FloatArray | null;
  e: FloatArray | null;
}

/** Runs tasks of a {@link PlaneJob} until none are left (all of them when `ctl` is null). */
export function planeTasks(job: PlaneJob): void {
  const ctl = job.ctl;
  const worker = job.worker === true;
  const { op, planes, T, pb, a, b } = job;
  const c = job.c as FloatArray;
  const d = job.d as FloatArray;
  const e = job.e as FloatArray;
  const nTasks = Math.ceil(planes / pb);
  let next = 0;
  for (;;) {
    const t = ctl === null ? next++ : Atomics.add(ctl, 0, 1);
    if (t >= nTasks) break;
    const p0 = t * pb;
    const p1 = Math.min(planes, p0 + pb);
    if (op === 'mean') {
      for (let p = p0; p < p1; p++) {
        // Four partial sums, not one chain of dependent adds (bound by the add latency).
        let s0 = 0, s1 = 0, s2 = 0, s3 = 0;
        const end = (p + 1) * T;
        let i = p * T;
        for (; i + 4 <= end; i += 4) {
          s0 += a[i];
          s1 += a[i + 1];
          s2 += a[i + 2];
          s3 += a[i + 3];
        }
        for (; i < end; i++) s0 += a[i];
        b[p] = (s0 + s1 + (s2 + s3)) / T;
      }
    } else if (op === 'scale') {
      for (let p = p0; p < p1; p++) {
        const v = b[p];
        for (let i = p * T; i < (p + 1) * T; i++) c[i] = a[i] * v;
      }
    } else if (op === 'scaleBwd') {
      for (let p = p0; p < p1; p++) {
        const v = c[p];
        let acc = 0;
        for (let i = p * T; i < (p + 1) * T; i++) {
          d[i] = a[i] * v;
          acc += a[i] * b[i];
        }
        e[p] = acc;
      }
    } else {
      for (let p = p0; p < p1; p++) b.fill(a[p] / T, p * T, (p + 1) * T);
    }
    if (ctl !== null) {
      if (worker) Atomics.add(ctl, 3, 1);
      Atomics.add(ctl, 1, 1);
      if (Atomics.load(ctl, 6) !== 0) Atomics.notify(ctl, 1);
    }
  }
}

registerWorkerKernel('planes', planeTasks as never, (job: PlaneJob) => Math.ceil(job.planes / job.pb));

const calls = { threaded: 0, here: 0 };
/** Calls so far that ran on the worker pool and on this thread alone (for tests). */
export function planeCalls(): { threaded: number; here: number } {
  return { ...calls };
}

/** Per-plane stores are small (N·C): ones not in shared memory are copied to and from one. */
function sharedCopy(s: FloatArray): FloatArray {
  if (isShared(s)) return s;
  const C = s instanceof Float32Array ? Float32Array : Float64Array;
  const t = new C(new SharedArrayBuffer(s.length * C.BYTES_PER_ELEMENT) as unknown as ArrayBuffer);
  t.set(s);
  return t;
}

/** Which of a, b, c, d, e are per-plane stores (the rest hold whole planes). */
const PER_PLANE: Record<PlaneOp, readonly boolean[]> = {
  mean: [false, true],
  scale: [false, true, false],
  scaleBwd: [false, false, true, false, true],
  spread: [true, false],
};

/**
 * Runs `op` over `planes` planes of `T` elements of dense stores (see {@link PlaneOp} for which
 * store is which): on every thread when the planes' stores are shared and the work is large
 * (per-plane stores are copied into shared memory when they are not), else on this thread.
 */
export function runPlanes(op: PlaneOp, planes: number, T: number, a: FloatArray, b: FloatArray, c: FloatArray | null = null, d: FloatArray | null = null, e: FloatArray | null = null): void {
  // A batch of zero (summary's shape-only pass) has no planes: no tasks (and no 0/0 of them).
  if (planes === 0) return;
  const job: PlaneJob = {
    kind: 'planes', op, planes, T, pb: planes, a, b, c, d, e,
    ctl: null, f32: false, fma: false, wasm: false, buf: null,
  };
  const stores = [a, b, c, d, e];
  const big = stores.filter((s, i): s is FloatArray => s !== null && !PER_PLANE[op][i]);
  let shared: (FloatArray | null)[] = stores;
  const ran = tryTensorJob(planes, planes * T, big, (threads) => {
    shared = stores.map((s, i) => (s !== null && PER_PLANE[op][i] ? sharedCopy(s) : s));
    const [sa, sb, sc, sd, se] = shared;
    // Enough tasks per thread to even out a core that is busy elsewhere.
    return { ...job, pb: Math.max(1, Math.ceil(planes / (8 * threads))), a: sa as FloatArray, b: sb as FloatArray, c: sc, d: sd, e: se };
  });
  if (ran) {
    // The per-plane outputs back from their shared copies.
    if (op === 'mean' && shared[1] !== b) b.set(shared[1] as FloatArray);
    if (op === 'scaleBwd' && shared[4] !== e) (e as FloatArray).set(shared[4] as FloatArray);
    calls.threaded++;
    return;
  }
  calls.here++;
  planeTasks(job);
}
