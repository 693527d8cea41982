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
  /** Forward: x in; xhat and out written. Backward: dout, xhat (and out when relu) in; dx written. */
  x: FloatArray | null;
  xhat: FloatArray;
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

  function rowSum(x: FloatArray, t0: number, t1: number): number {
    let acc = 0;
    for (let t = t0; t < t1; t++) acc += x[t];
    return acc;
  }
  function rowSquaredDeviation(x: FloatArray, t0: number, t1: number, mu: number): number {
    let acc = 0;
    for (let t = t0; t < t1; t++) {
      const d = x[t] - mu;
      acc += d * d;
    }
    return acc;
  }
  function normalizeRow(xs: FloatArray, xhat: FloatArray, out: FloatArray, t0: number, t1: number, mu: number, inv: number, ga: number, be: number): void {
    for (let t = t0; t < t1; t++) {
      const h = (xs[t] - mu) * inv;
      xhat[t] = h;
      out[t] = ga * h + be;
    }
  }
  // max(0, v) in place: (v + |v|)/2, exact where finite; a row with a non-finite value is redone branchy.
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
  function gradSums(gd: FloatArray, xhat: FloatArray, t0: number, t1: number, sums: Float64Array): void {
    let s1 = 0;
    let s2 = 0;
    for (let t = t0; t < t1; t++) {
      const v = gd[t];
      s1 += v;
      s2 += v * xhat[t];
    }
    sums[0] = s1;
    sums[1] = s2;
  }
  function gradSumsRelu(gd: FloatArray, xhat: FloatArray, out: FloatArray, t0: number, t1: number, sums: Float64Array): void {
    let s1 = 0;
    let s2 = 0;
    for (let t = t0; t < t1; t++) {
      const v = gd[t] * +(out[t] > 0);
      s1 += v;
      s2 += v * xhat[t];
    }
    // g·0 is NaN for an infinite or NaN g where the ReLU blocks it: then the exact masked sums.
    if (s1 - s1 !== 0 || s2 - s2 !== 0) {
      s1 = 0;
      s2 = 0;
      for (let t = t0; t < t1; t++) {
        const v = reluGrad(gd[t], out[t]);
        s1 += v;
        s2 += v * xhat[t];
      }
    }
    sums[0] = s1;
    sums[1] = s2;
  }
  function dxRow(gd: FloatArray, xhat: FloatArray, dx: FloatArray, t0: number, t1: number, ga: number, a: number, b: number, inv: number): void {
    for (let t = t0; t < t1; t++) dx[t] = (ga * gd[t] - a - xhat[t] * b) * inv;
  }
  function dxReluRow(gd: FloatArray, xhat: FloatArray, out: FloatArray, dx: FloatArray, t0: number, t1: number, ga: number, a: number, b: number, inv: number): void {
    let bad = 0;
    for (let t = t0; t < t1; t++) {
      const m = gd[t] * +(out[t] > 0);
      dx[t] = (ga * (m + 0) - a - xhat[t] * b) * inv;
      bad += m - m;
    }
    if (bad !== 0) for (let t = t0; t < t1; t++) dx[t] = (ga * reluGrad(gd[t], out[t]) - a - xhat[t] * b) * inv;
  }

  const sums = new Float64Array(2);
  let next = 0;
  for (;;) {
    const task = ctl === null ? next++ : Atomics.add(ctl, 0, 1);
    if (task >= nTasks) break;
    const c1 = Math.min(C, (task + 1) * cb);
    for (let c = task * cb; c < c1; c++) {
      const ga = job.gamma ? job.gamma[c] : 1;
      if (job.fwd) {
        const x = job.x as FloatArray;
        const out = job.out as FloatArray;
        if (batchStats) {
          // Sums over samples in order, then the biased variance, as layers/normCore.groupMoments.
          let mean = 0;
          for (let n = 0; n < N; n++) mean += rowSum(x, (n * C + c) * T, (n * C + c + 1) * T);
          mean /= M;
          let variance = 0;
          for (let n = 0; n < N; n++) variance += rowSquaredDeviation(x, (n * C + c) * T, (n * C + c + 1) * T, mean);
          variance /= M;
          stats[c] = mean;
          stats[C + c] = variance;
          stats[2 * C + c] = Math.sqrt(variance + eps);
        }
        const mu = stats[c];
        // PyTorch multiplies by invstd too; a division per element costs several multiplies.
        const inv = 1 / stats[2 * C + c];
        const be = job.beta ? job.beta[c] : 0;
        for (let n = 0; n < N; n++) {
          const t0 = (n * C + c) * T;
          normalizeRow(x, job.xhat, out, t0, t0 + T, mu, inv, ga, be);
          if (relu) reluRow(out, t0, t0 + T);
        }
      } else {
        // S1 = Σ g and S2 = Σ g·xhat (g masked by a fused ReLU) are dbeta and dgamma; with
        // dxhat = γ·g the batch-statistics gradient is dx = (γ·g − γ·S1/M − xhat·γ·S2/M) / std.
        const gd = job.g as FloatArray;
        const dx = job.dx as FloatArray;
        let dbeta = 0;
        let dgamma = 0;
        for (let n = 0; n < N; n++) {
          const t0 = (n * C + c) * T;
          if (relu) gradSumsRelu(gd, job.xhat, job.out as FloatArray, t0, t0 + T, sums);
          else gradSums(gd, job.xhat, t0, t0 + T, sums);
          dbeta += sums[0];
          dgamma += sums[1];
        }
        stats[c] = dbeta;
        stats[C + c] = dgamma;
        const a = batchStats ? (ga * dbeta) / M : 0;
        const b = batchStats ? (ga * dgamma) / M : 0;
        const inv = 1 / stats[2 * C + c];
        for (let n = 0; n < N; n++) {
          const t0 = (n * C + c) * T;
          if (relu) dxReluRow(gd, job.xhat, job.out as FloatArray, dx, t0, t0 + T, ga, a, b, inv);
          else dxRow(gd, job.xhat, dx, t0, t0 + T, ga, a, b, inv);
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

registerWorkerKernel('batchNorm', batchNormTasks as never, (job: BatchNormJob) => Math.ceil(job.C / job.cb));

/**
 * Runs `job` — on every thread when its stores are shared and it is big enough, else here.
 * `stats` must then be shared too (see {@link batchNormStats}).
 */
export function runBatchNorm(job: Omit<BatchNormJob, 'kind' | 'cb' | 'ctl' | 'f32' | 'fma' | 'wasm' | 'buf'>): void {
  const full: BatchNormJob = { ...job, kind: 'batchNorm', cb: 1, ctl: null, f32: job.xhat instanceof Float32Array, fma: false, wasm: false, buf: null };
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
