import type { FloatArray } from '../../core/dtype';
import { getArena } from '../../core/gemm/arena';
import { gemmKernel, THREAD_MIN_WORK } from '../../core/gemm/gemm';
import { abandon, finishThreaded, registerWorkerKernel, startThreaded, threadCount, WorkerFailure, workersUsable, type ThreadedRun, type WorkerJob } from '../../core/gemm/workers';
import { isShared } from '../../core/bufferPool';

/*
 * The arithmetic of the batch_norm op (ops/batchNorm.ts), as tasks of channels: x (N, C, T)
 * is normalised per channel, so a block of channels — its moments, its normalised rows, its
 * gradient sums and its dx rows — is one independent task, and the blocks can go to any thread
 * in any order with the bits of one thread.
 *
 * WHY here and self-contained: the runner is shipped to the worker threads as source (see
 * TaskRunner in core/gemm/workers.ts), so it cannot call imported functions. The ReLU of the
 * fused BatchNorm + ReLU is therefore written out again beside ../reluMath.ts's (the same
 * branch-free formula with the finiteness flag); test/batchNormRelu.test.ts holds the two to
 * the same bits. The per-row loops are inner functions: a row function called thousands of
 * times is optimised once, whole, where the same loops inline in a long body kept being
 * deoptimised (measured 19 → 5 ns an element, see git history of ops/batchNorm.ts).
 *
 * Workers see the tensors themselves, not copies: large stores from allocFloat live in
 * SharedArrayBuffers (core/bufferPool.ts), and a typed array over one is shared, not copied,
 * when the job is posted. A call whose stores are not all shared runs on this thread.
 */

/** One pass of batch norm over x (N, C, T); `cb` channels per task. */
export interface BatchNormJob extends WorkerJob {
  kind: 'batchNorm';
  fwd: boolean;
  N: number;
  C: number;
  T: number;
  cb: number;
  relu: boolean;
  /** Statistics from the batch (forward: computed here; backward: their gradient flows into dx). */
  batchStats: boolean;
  eps: number;
  /**
   * Forward: x in; xhat (null: not kept, no backward will follow) and out written. Backward:
   * dout, xhat (and out when relu) in; dx written.
   */
  x: FloatArray | null;
  xhat: FloatArray | null;
  out: FloatArray | null;
  g: FloatArray | null;
  dx: FloatArray | null;
  gamma: FloatArray | null;
  beta: FloatArray | null;
  /**
   * Per channel, float64: forward [mean, variance, std] blocks of C (read when not batchStats:
   * the running mean and sqrt(running var + eps); written otherwise); backward [dbeta, dgamma]
   * written, then std read from [2C, 3C).
   */
  stats: Float64Array;
}

/** Runs tasks of a {@link BatchNormJob} until none are left (all of them when `ctl` is null). */
export function batchNormTasks(job: BatchNormJob): void {
  const ctl = job.ctl;
  const worker = job.worker === true;
  const { N, C, T, cb, relu, batchStats, eps, stats } = job;
  const M = N * T;
  const nTasks = Math.ceil(C / cb);

  // Span functions: channels [0, nc) of one sample, rows of T, channel j's row at base + j·T.
  // WHY spans, not a call per row: deep layers have rows of 4–16 values (2×2, 4×4 maps), where
  // a call per row cost more than its arithmetic (eval BatchNorm measured 7 ns an element).
  function sumSpan(x: FloatArray, base: number, nc: number, acc: Float64Array): void {
    for (let j = 0, r = base; j < nc; j++, r += T) {
      let s = 0;
      for (let t = r; t < r + T; t++) s += x[t];
      acc[j] += s;
    }
  }
  function squaredDeviationSpan(x: FloatArray, base: number, nc: number, mu: Float64Array, acc: Float64Array): void {
    for (let j = 0, r = base; j < nc; j++, r += T) {
      const m = mu[j];
      let s = 0;
      for (let t = r; t < r + T; t++) {
        const d = x[t] - m;
        s += d * d;
      }
      acc[j] += s;
    }
  }
  function normalizeSpan(xs: FloatArray, xhat: FloatArray | null, out: FloatArray, base: number, nc: number, mu: Float64Array, inv: Float64Array, ga: Float64Array, be: Float64Array): void {
    for (let j = 0, r = base; j < nc; j++, r += T) {
      const m = mu[j], iv = inv[j], g = ga[j], b = be[j];
      if (xhat === null) {
        for (let t = r; t < r + T; t++) out[t] = g * ((xs[t] - m) * iv) + b;
        continue;
      }
      for (let t = r; t < r + T; t++) {
        const h = (xs[t] - m) * iv;
        xhat[t] = h;
        out[t] = g * h + b;
      }
    }
  }
  // max(0, v) in place: (v + |v|)/2, exact where finite; a span with a non-finite value is redone branchy.
  function reluRow(o: FloatArray, t0: number, t1: number): void {
    let bad = 0;
    for (let t = t0; t < t1; t++) {
      const v = o[t];
      const r = (v + Math.abs(v)) * 0.5;
      o[t] = r;
      bad += r - r;
    }
    if (bad !== 0) {
      for (let t = t0; t < t1; t++) {
        const v = o[t];
        o[t] = v <= 0 ? 0 : v;
      }
    }
  }
  // dout·[out > 0], never NaN where the ReLU blocks (as PyTorch's threshold_backward).
  function reluGrad(g: number, o: number): number {
    const d = g * +(o > 0);
    return d - d === 0 ? d + 0 : o > 0 ? g : 0;
  }
  function gradSumsSpan(gd: FloatArray, xhat: FloatArray, base: number, nc: number, s1: Float64Array, s2: Float64Array): void {
    for (let j = 0, r = base; j < nc; j++, r += T) {
      let a = 0;
      let b = 0;
      for (let t = r; t < r + T; t++) {
        const v = gd[t];
        a += v;
        b += v * xhat[t];
      }
      s1[j] += a;
      s2[j] += b;
    }
  }
  function gradSumsReluSpan(gd: FloatArray, xhat: FloatArray, out: FloatArray, base: number, nc: number, s1: Float64Array, s2: Float64Array): void {
    for (let j = 0, r = base; j < nc; j++, r += T) {
      let a = 0;
      let b = 0;
      for (let t = r; t < r + T; t++) {
        const v = gd[t] * +(out[t] > 0);
        a += v;
        b += v * xhat[t];
      }
      // g·0 is NaN for an infinite or NaN g where the ReLU blocks it: then the exact masked sums.
      if (a - a !== 0 || b - b !== 0) {
        a = 0;
        b = 0;
        for (let t = r; t < r + T; t++) {
          const v = reluGrad(gd[t], out[t]);
          a += v;
          b += v * xhat[t];
        }
      }
      s1[j] += a;
      s2[j] += b;
    }
  }
  function dxSpan(gd: FloatArray, xhat: FloatArray, dx: FloatArray, base: number, nc: number, ga: Float64Array, ca: Float64Array, cb2: Float64Array, inv: Float64Array): void {
    for (let j = 0, r = base; j < nc; j++, r += T) {
      const g = ga[j], a = ca[j], b = cb2[j], iv = inv[j];
      for (let t = r; t < r + T; t++) dx[t] = (g * gd[t] - a - xhat[t] * b) * iv;
    }
  }
  function dxReluSpan(gd: FloatArray, xhat: FloatArray, out: FloatArray, dx: FloatArray, base: number, nc: number, ga: Float64Array, ca: Float64Array, cb2: Float64Array, inv: Float64Array): void {
    for (let j = 0, r = base; j < nc; j++, r += T) {
      const g = ga[j], a = ca[j], b = cb2[j], iv = inv[j];
      let bad = 0;
      for (let t = r; t < r + T; t++) {
        const m = gd[t] * +(out[t] > 0);
        dx[t] = (g * (m + 0) - a - xhat[t] * b) * iv;
        bad += m - m;
      }
      if (bad !== 0) for (let t = r; t < r + T; t++) dx[t] = (g * reluGrad(gd[t], out[t]) - a - xhat[t] * b) * iv;
    }
  }

  // Per-channel values of a task's block (index j = c − c0).
  const v1 = new Float64Array(cb);
  const v2 = new Float64Array(cb);
  const v3 = new Float64Array(cb);
  const v4 = new Float64Array(cb);
  const v5 = new Float64Array(cb);
  let next = 0;
  for (;;) {
    const task = ctl === null ? next++ : Atomics.add(ctl, 0, 1);
    if (task >= nTasks) break;
    const c0 = task * cb;
    const c1 = Math.min(C, c0 + cb);
    const nc = c1 - c0;
    const ga = v3;
    for (let j = 0; j < nc; j++) ga[j] = job.gamma ? job.gamma[c0 + j] : 1;
    if (job.fwd) {
      const x = job.x as FloatArray;
      const out = job.out as FloatArray;
      const mu = v1;
      const inv = v2;
      const be = v4;
      if (batchStats) {
        // Sums over samples in order, then the biased variance, as layers/normCore.groupMoments.
        mu.fill(0, 0, nc);
        for (let n = 0; n < N; n++) sumSpan(x, (n * C + c0) * T, nc, mu);
        for (let j = 0; j < nc; j++) mu[j] /= M;
        const vr = v5;
        vr.fill(0, 0, nc);
        for (let n = 0; n < N; n++) squaredDeviationSpan(x, (n * C + c0) * T, nc, mu, vr);
        for (let j = 0; j < nc; j++) {
          const variance = vr[j] / M;
          stats[c0 + j] = mu[j];
          stats[C + c0 + j] = variance;
          stats[2 * C + c0 + j] = Math.sqrt(variance + eps);
        }
      }
      for (let j = 0; j < nc; j++) {
        mu[j] = stats[c0 + j];
        // PyTorch multiplies by invstd too; a division per element costs several multiplies.
        inv[j] = 1 / stats[2 * C + c0 + j];
        be[j] = job.beta ? job.beta[c0 + j] : 0;
      }
      for (let n = 0; n < N; n++) {
        const base = (n * C + c0) * T;
        normalizeSpan(x, job.xhat, out, base, nc, mu, inv, ga, be);
        if (relu) reluRow(out, base, base + nc * T);
      }
    } else {
      // S1 = Σ g and S2 = Σ g·xhat (g masked by a fused ReLU) are dbeta and dgamma; with
      // dxhat = γ·g the batch-statistics gradient is dx = (γ·g − γ·S1/M − xhat·γ·S2/M) / std.
      const gd = job.g as FloatArray;
      const dx = job.dx as FloatArray;
      const xhat = job.xhat as FloatArray;
      const s1 = v1;
      const s2 = v2;
      s1.fill(0, 0, nc);
      s2.fill(0, 0, nc);
      for (let n = 0; n < N; n++) {
        const base = (n * C + c0) * T;
        if (relu) gradSumsReluSpan(gd, xhat, job.out as FloatArray, base, nc, s1, s2);
        else gradSumsSpan(gd, xhat, base, nc, s1, s2);
      }
      const ca = v4;
      const cb2 = v5;
      for (let j = 0; j < nc; j++) {
        const c = c0 + j;
        stats[c] = s1[j];
        stats[C + c] = s2[j];
        ca[j] = batchStats ? (ga[j] * s1[j]) / M : 0;
        cb2[j] = batchStats ? (ga[j] * s2[j]) / M : 0;
      }
      // s1 is free again: the inverse standard deviations.
      for (let j = 0; j < nc; j++) s1[j] = 1 / stats[2 * C + c0 + j];
      for (let n = 0; n < N; n++) {
        const base = (n * C + c0) * T;
        if (relu) dxReluSpan(gd, xhat, job.out as FloatArray, dx, base, nc, ga, ca, cb2, s1);
        else dxSpan(gd, xhat, dx, base, nc, ga, ca, cb2, s1);
      }
    }
    if (ctl !== null) {
      if (worker) Atomics.add(ctl, 3, 1);
      Atomics.add(ctl, 1, 1);
      if (Atomics.load(ctl, 6) !== 0) Atomics.notify(ctl, 1);
    }
  }
}

registerWorkerKernel('batchNorm', batchNormTasks as never, (job: BatchNormJob) => Math.ceil(job.C / job.cb));

/**
 * Runs `job` — on every thread when its stores are shared and it is big enough, else here.
 * `stats` must then be shared too (see {@link batchNormStats}).
 */
export function runBatchNorm(job: Omit<BatchNormJob, 'kind' | 'cb' | 'ctl' | 'f32' | 'fma' | 'wasm' | 'buf'>): void {
  const full: BatchNormJob = { ...job, kind: 'batchNorm', cb: 1, ctl: null, f32: (job.out ?? job.dx) instanceof Float32Array, fma: false, wasm: false, buf: null };
  let threads = threadCount();
  const stores = [job.x, job.xhat, job.out, job.g, job.dx, job.stats];
  if (threads > 1 && (job.C < 2 || job.N * job.C * job.T * 4 < THREAD_MIN_WORK || !workersUsable() || !stores.every((s) => s === null || isShared(s)))) threads = 1;
  const arena = threads > 1 ? getArena(gemmKernel(), 1) ?? getArena('js', 1) : null;
  if (arena === null || !arena.shared) {
    batchNormTasks(full);
    return;
  }
  // Enough tasks per thread to even out a core that is busy elsewhere.
  full.cb = Math.max(1, Math.floor(job.C / (8 * threads)));
  let run: ThreadedRun | null = null;
  try {
    run = startThreaded(full, threads, arena);
    finishThreaded(run);
    return;
  } catch (e) {
    if (run !== null) abandon(run);
    if (!(e instanceof WorkerFailure)) throw e;
  }
  batchNormTasks({ ...full, ctl: null });
}

/** A float64 store for a job's per-channel statistics, shared with the workers when they exist. */
export function batchNormStats(C: number): Float64Array {
  return typeof SharedArrayBuffer === 'function' ? new Float64Array(new SharedArrayBuffer(3 * C * 8)) : new Float64Array(3 * C);
}
