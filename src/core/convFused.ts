import type { FloatArray } from './dtype';
import { getArena, type Arena } from './gemm/arena';
import { convTasks, type ConvBwdJob, type ConvFwdJob, type ConvJobBase, type WindowShape } from './gemm/convTasks';
import { gemmKernel, THREAD_MIN_WORK } from './gemm/gemm';
import { CTL_LEN, gemmBlock } from './gemm/kernel';
import { abandon, finishThreaded, WorkerFailure, workersUsable, publish, startThreaded, threadCount, type ThreadedRun } from './gemm/workers';

/*
 * Fused convolution kernels: the batch is cut into (sample, group) tasks that unfold one
 * sample into a thread's scratch, run the matmul's tile loops on it in place and fold or copy
 * the result back, all inside the shared arena, on the worker pool.
 *
 * WHY not im2col over the whole batch plus one big GEMM: for the small channel counts of
 * these networks (3×3×3 patches, 25–64 filters) the arithmetic is small next to the traffic
 * of that formulation — an unfolded batch 9× the size of x written and read back, dout
 * reshaped, both copied into the arena for the GEMM, dcols written out and read again to fold.
 * One sample's patches, dout and dcols (~0.7 MB at 32×32×32) stay in L2 between the steps;
 * only x, dout, out and dx cross memory, once.
 *
 * Results do not depend on the thread count: each element is computed by one task, and the
 * per-task dW / db parts are added in sample order.
 */

/** A sliding window over a batch of N (C, H, W) samples (the layers' WindowGeometry). */
export interface ConvGeometry extends WindowShape {
  N: number;
}

/**
 * Float64 elements of the arena one call may use (48 MiB): the batch is processed in chunks
 * of samples that fit, so the arena stays within its 64 MiB limit whatever N is.
 */
const BUDGET = 6 << 20;

const ceil4 = (v: number): number => (v + 3) & ~3;
/**
 * Row stride of P-long rows: whole 4-column panels, plus one more panel when the rows would
 * be a multiple of 4 KiB apart, where the tile's B sliver (one cache line per row) would all
 * fall in one L1 set: measured 40% slower at P = 1024, no difference at P = 256.
 */
const padLd = (v: number): number => (ceil4(v) % 512 === 0 ? ceil4(v) + 4 : ceil4(v));

/** The common part of a job, the thread count and the arena layout of one call. */
interface ConvPlan {
  base: Omit<ConvJobBase, 'samples' | 'xOff' | 'ctl'>;
  threads: number;
  arena: Arena;
  chunk: number;
  /** First element of the per-sample regions (after the fixed ones). */
  free: number;
}

/** Sizes of a call's arena regions, from the padded dimensions (float64 elements). */
interface Sizes {
  /** Weights, before the per-thread scratch. */
  weights(d: Dims): number;
  /** One thread's scratch. */
  scratch(d: Dims): number;
  /** One sample's inputs and outputs. */
  perSample(d: Dims): number;
  /** Slack after the last sample (padding rows a product reads past its operand). */
  tail(d: Dims): number;
}
interface Dims { Kp: number; Fgp: number; ldP: number; P: number; Fg: number }

/** Plans a call: thread count, arena, samples per chunk. Null when one sample does not fit the budget. */
function plan(g: ConvGeometry, F: number, groups: number, budget: number, sizes: Sizes): ConvPlan | null {
  const { N, C, H, W, fh, fw, outH, outW } = g;
  const Cg = C / groups;
  const Fg = F / groups;
  const P = outH * outW;
  const K = Cg * fh * fw;
  const d: Dims = { Kp: ceil4(K + 1), Fgp: ceil4(Fg), ldP: padLd(P), P, Fg };
  let threads = threadCount();
  if (threads > 1 && (N * groups < 2 || 2 * N * F * K * P < THREAD_MIN_WORK || !workersUsable())) threads = 1;
  const sLen = sizes.scratch(d);
  const sOff = sizes.weights(d);
  const free = sOff + threads * sLen;
  const perSample = sizes.perSample(d);
  const tail = sizes.tail(d);
  if (free + perSample + tail > budget) return null;
  const chunk = Math.min(N, Math.floor((budget - free - tail) / perSample));
  const need = free + chunk * perSample + tail;
  const arena = getArena(gemmKernel(), need) ?? getArena('js', need);
  if (arena === null) return null;
  // Scratch slots were sized for `threads`; fewer threads use fewer of them.
  if (threads > 1 && !arena.shared) threads = 1;
  return {
    base: {
      C, H, W, fh, fw, stride: g.stride, pad: g.pad, outH, outW, F, groups, Cg, Fg, Kp: d.Kp, Fgp: d.Fgp, ldP: d.ldP,
      sOff, sLen, wasm: arena.kind === 'wasm', buf: arena.kind === 'wasm' ? null : arena.F.buffer,
    },
    threads, arena, chunk, free,
  };
}

/**
 * Runs one chunk: posts it to the workers, lets `fill(n)` copy sample n in (publishing each
 * so the workers start at once), then takes tasks on this thread and joins. Falls back to this
 * thread alone if the pool fails; returns the thread count to use from then on.
 */
function runChunk<J extends ConvFwdJob | ConvBwdJob>(job: J, threads: number, arena: Arena, fill: (n: number) => void): number {
  if (threads > 1) {
    let run: ThreadedRun | null = null;
    try {
      run = startThreaded(job, threads, arena);
      for (let n = 0; n < job.samples; n++) {
        fill(n);
        publish(run, n + 1);
      }
      finishThreaded(run);
      return threads;
    } catch (e) {
      if (run !== null) abandon(run);
      if (!(e instanceof WorkerFailure)) throw e;
      // The pool is retired: this chunk (and the rest) runs on this thread.
    }
  }
  const ctl = new Int32Array(CTL_LEN);
  ctl[4] = job.samples;
  const alone = { ...job, ctl };
  for (let n = 0; n < job.samples; n++) fill(n);
  convTasks(alone, arena.F, arena.block, arena.blockS, arena.rows, gemmBlock);
  return 1;
}

const newCtl = (): Int32Array =>
  new Int32Array(typeof SharedArrayBuffer === 'function' ? new SharedArrayBuffer(4 * CTL_LEN) : new ArrayBuffer(4 * CTL_LEN));

/**
 * Fused convolution forward: out `(N, F, outH, outW)` = conv(x `(N, C, H, W)`, w
 * `(F, C/groups, fh, fw)`) + b, written into the dense `out` (any float dtype; inputs are
 * widened to float64 and the result rounded once). Returns false, touching nothing, when one
 * sample's working set does not fit the arena budget (`budget`, float64 elements, exists for
 * tests); the caller then uses the unfused im2col path.
 */
export function convForwardFused(
  x: FloatArray, w: FloatArray, b: FloatArray, g: ConvGeometry, F: number, groups: number, out: FloatArray, budget = BUDGET,
): boolean {
  const { N, C, H, W, outH, outW } = g;
  const plane = C * H * W;
  const Fg = F / groups;
  const pl = plan(g, F, groups, budget, {
    weights: (d) => groups * d.Fgp * d.Kp,
    scratch: (d) => d.Kp * d.ldP + d.Fgp * d.ldP,
    perSample: (d) => plane + F * d.P,
    tail: () => 0,
  });
  if (pl === null) return false;
  const { base, arena, chunk } = pl;
  const { Kp, Fgp } = base;
  const K = (C / groups) * g.fh * g.fw;
  const A = arena.F;
  const wbOff = 0;
  const xOff = pl.free;
  const oOff = xOff + chunk * plane;
  // Filters of each group as rows of Kp with the bias in column K; padding rows and columns zero.
  A.fill(0, wbOff, wbOff + groups * Fgp * Kp);
  for (let gi = 0; gi < groups; gi++) {
    for (let f = 0; f < Fg; f++) {
      const fo = gi * Fg + f;
      const dst = wbOff + (gi * Fgp + f) * Kp;
      for (let kk = 0; kk < K; kk++) A[dst + kk] = w[fo * K + kk];
      A[dst + K] = b[fo];
    }
  }
  const P = outH * outW;
  let threads = pl.threads;
  for (let n0 = 0; n0 < N; n0 += chunk) {
    const samples = Math.min(chunk, N - n0);
    const job: ConvFwdJob = { ...base, kind: 'convFwd', samples, xOff, wbOff, oOff, ctl: newCtl() };
    threads = runChunk(job, threads, arena, (n) => {
      A.set(x.subarray((n0 + n) * plane, (n0 + n + 1) * plane), xOff + n * plane);
    });
    out.set(A.subarray(oOff, oOff + samples * F * P), n0 * F * P);
  }
  return true;
}

/**
 * Fused convolution backward: dx, dw, db of {@link convForwardFused}'s convolution from x, w
 * and the upstream gradient dout `(N, F, outH, outW)`, written into the dense outputs `dx`,
 * `dw`, `db` (any float dtype). Returns false, touching nothing, when one sample's working set
 * does not fit the arena budget; the caller then uses the unfused im2col path.
 */
export function convBackwardFused(
  x: FloatArray, w: FloatArray, dout: FloatArray, g: ConvGeometry, F: number, groups: number,
  dx: FloatArray, dw: FloatArray, db: FloatArray, budget = BUDGET,
): boolean {
  const { N, C, H, W, fh, fw } = g;
  const plane = C * H * W;
  const Fg = F / groups;
  const K = (C / groups) * fh * fw;
  const pl = plan(g, F, groups, budget, {
    weights: (d) => groups * d.Kp * d.Fg,
    scratch: (d) => d.P * d.Kp + d.Kp * d.ldP,
    perSample: (d) => 2 * plane + groups * d.Fgp * d.Kp + F * d.ldP,
    // dout is last: the dW product reads up to 3 rows past the last sample's filters (ignored).
    tail: (d) => 4 * d.ldP,
  });
  if (pl === null) return false;
  const { base, arena, chunk } = pl;
  const { Kp, Fgp, ldP } = base;
  const P = base.outH * base.outW;
  const A = arena.F;
  const wtOff = 0;
  const xOff = pl.free;
  const dxOff = xOff + chunk * plane;
  const pOff = dxOff + chunk * plane;
  const dOff = pOff + chunk * groups * Fgp * Kp;
  // Wᵀ per group, rows past K zero (they become dcols rows nobody reads).
  A.fill(0, wtOff, wtOff + groups * Kp * Fg);
  for (let gi = 0; gi < groups; gi++) {
    for (let f = 0; f < Fg; f++) {
      const src = (gi * Fg + f) * K;
      const dst = wtOff + gi * Kp * Fg + f;
      for (let kk = 0; kk < K; kk++) A[dst + kk * Fg] = w[src + kk];
    }
  }
  const dwAcc = new Float64Array(F * K);
  const dbAcc = new Float64Array(F);
  let threads = pl.threads;
  for (let n0 = 0; n0 < N; n0 += chunk) {
    const samples = Math.min(chunk, N - n0);
    const job: ConvBwdJob = { ...base, kind: 'convBwd', samples, xOff, dOff, wtOff, pOff, dxOff, ctl: newCtl() };
    threads = runChunk(job, threads, arena, (n) => {
      const sn = n0 + n;
      A.set(x.subarray(sn * plane, (sn + 1) * plane), xOff + n * plane);
      if (ldP === P) {
        A.set(dout.subarray(sn * F * P, (sn + 1) * F * P), dOff + n * F * P);
        return;
      }
      for (let f = 0; f < F; f++) {
        const src = (sn * F + f) * P;
        A.set(dout.subarray(src, src + P), dOff + (n * F + f) * ldP);
      }
    });
    dx.set(A.subarray(dxOff, dxOff + samples * plane), n0 * plane);
    // Partial blocks in sample order (then group): the sum does not depend on the schedule.
    for (let t = 0; t < samples * groups; t++) {
      const gi = t % groups;
      for (let f = 0; f < Fg; f++) {
        const src = pOff + t * Fgp * Kp + f * Kp;
        const fo = gi * Fg + f;
        const dst = fo * K;
        for (let kk = 0; kk < K; kk++) dwAcc[dst + kk] += A[src + kk];
        dbAcc[fo] += A[src + K];
      }
    }
  }
  dw.set(dwAcc);
  db.set(dbAcc);
  return true;
}
