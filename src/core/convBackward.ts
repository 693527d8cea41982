import type { FloatArray } from './dtype';
import { getArena } from './gemm/arena';
import { convBackwardTasks, type ConvBwdJob } from './gemm/convTasks';
import { gemmKernel, THREAD_MIN_WORK } from './gemm/gemm';
import { CTL_LEN, gemmBlock } from './gemm/kernel';
import { abandon, finishThreaded, PoolFailure, poolUsable, publish, startThreaded, threadCount, type ThreadedRun } from './gemm/pool';

/** Shape of a convolution as the kernel needs it (the layers' WindowGeometry fits). */
export interface ConvGeometry {
  N: number;
  C: number;
  H: number;
  W: number;
  fh: number;
  fw: number;
  stride: number;
  pad: number;
  outH: number;
  outW: number;
}

/**
 * Float64 elements of the arena one call may use (48 MiB): the batch is processed in chunks
 * of samples that fit, so the arena stays within its 64 MiB limit whatever N is.
 */
const BUDGET = 6 << 20;

const ceil4 = (v: number): number => (v + 3) & ~3;
/** Row stride of dout copies: whole 4-column panels, and rows not a multiple of 512 B apart (L1 set aliasing). */
const padLd = (v: number): number => (ceil4(v) % 64 === 0 ? ceil4(v) + 4 : ceil4(v));

/**
 * Fused convolution backward: dx, dw, db of a (grouped) convolution from the dense input x
 * `(N, C, H, W)`, filters w `(F, C/groups, fh, fw)` and upstream gradient dout
 * `(N, F, outH, outW)`, written into the dense outputs `dx`, `dw`, `db` (any float dtype).
 *
 * Samples are independent tasks (see convTasks.ts) run on the worker pool with the matmul's
 * tile loops; the main thread copies inputs into the shared arena sample by sample while the
 * workers already compute, then takes tasks itself. dW and db are summed over samples in
 * sample order, so the result is the same whatever the thread count.
 *
 * Returns false, touching nothing, when a single sample's working set does not fit the arena
 * budget (very large images); the caller then uses the unfused im2col path. `budget` (float64
 * elements, default 6 Mi) exists for tests of the chunking and of that fallback.
 */
export function convBackwardFused(
  x: FloatArray, w: FloatArray, dout: FloatArray, g: ConvGeometry, F: number, groups: number,
  dx: FloatArray, dw: FloatArray, db: FloatArray, budget = BUDGET,
): boolean {
  const { N, C, H, W, fh, fw, outH, outW } = g;
  const Cg = C / groups;
  const Fg = F / groups;
  const P = outH * outW;
  const K = Cg * fh * fw;
  const Kp = ceil4(K + 1);
  const Fgp = ceil4(Fg);
  const ldP = padLd(P);
  const plane = C * H * W;
  let threads = threadCount();
  if (threads > 1 && (N * groups < 2 || 2 * N * F * K * P < THREAD_MIN_WORK || !poolUsable())) threads = 1;
  const sLen = P * Kp + Kp * ldP;
  const wtLen = groups * Kp * Fg;
  // Rows past the last filter of the last sample are read (and ignored) by the dW product.
  const fixed = wtLen + threads * sLen + 4 * ldP;
  const perSample = 2 * plane + groups * Fgp * Kp + F * ldP;
  if (fixed + perSample > budget) return false;
  const chunk = Math.min(N, Math.floor((budget - fixed) / perSample));
  const need = fixed + chunk * perSample;
  const arena = getArena(gemmKernel(), need) ?? getArena('js', need);
  if (arena === null) return false;
  if (threads > 1 && !arena.shared) threads = 1;
  const A = arena.F;

  const wtOff = 0;
  const sOff = wtLen;
  const xOff = sOff + threads * sLen;
  const dxOff = xOff + chunk * plane;
  const pOff = dxOff + chunk * plane;
  const dOff = pOff + chunk * groups * Fgp * Kp;

  // Wᵀ per group, rows past K zero (they become dcols rows nobody reads).
  A.fill(0, wtOff, wtOff + wtLen);
  for (let gi = 0; gi < groups; gi++) {
    for (let f = 0; f < Fg; f++) {
      const src = (gi * Fg + f) * K;
      const dst = wtOff + gi * Kp * Fg + f;
      for (let kk = 0; kk < K; kk++) A[dst + kk * Fg] = w[src + kk];
    }
  }

  const dwAcc = new Float64Array(F * K);
  const dbAcc = new Float64Array(F);
  for (let n0 = 0; n0 < N; n0 += chunk) {
    const samples = Math.min(chunk, N - n0);
    const job: ConvBwdJob = {
      kind: 'convBwd', C, H, W, fh, fw, stride: g.stride, pad: g.pad, outH, outW, F, groups, Cg, Fg, Kp, Fgp, ldP,
      samples, xOff, dOff, wtOff, pOff, dxOff, sOff, sLen,
      wasm: arena.kind === 'wasm', buf: arena.kind === 'wasm' ? null : A.buffer,
      ctl: new Int32Array(typeof SharedArrayBuffer === 'function' ? new SharedArrayBuffer(4 * CTL_LEN) : new ArrayBuffer(4 * CTL_LEN)),
    };
    let done = false;
    if (threads > 1) {
      let run: ThreadedRun | null = null;
      try {
        run = startThreaded(job, threads, arena);
        fillSamples(run, x, dout, A, job, n0, P);
        finishThreaded(run);
        done = true;
      } catch (e) {
        if (run !== null) abandon(run);
        if (!(e instanceof PoolFailure)) throw e;
        // The pool is retired; this chunk (and the rest) is done on this thread.
        threads = 1;
      }
    }
    if (!done) {
      job.ctl = new Int32Array(job.ctl.length);
      fillSamples(null, x, dout, A, job, n0, P);
      convBackwardTasks(job, A, arena.block, arena.blockS, gemmBlock);
    }
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

/** Copies the chunk's samples of x and dout into the arena, publishing each to the workers. */
function fillSamples(run: ThreadedRun | null, x: FloatArray, dout: FloatArray, A: Float64Array, job: ConvBwdJob, n0: number, P: number): void {
  const { C, H, W, F, ldP, samples } = job;
  const plane = C * H * W;
  for (let n = 0; n < samples; n++) {
    const sn = n0 + n;
    A.set(x.subarray(sn * plane, (sn + 1) * plane), job.xOff + n * plane);
    for (let f = 0; f < F; f++) {
      const src = (sn * F + f) * P;
      A.set(dout.subarray(src, src + P), job.dOff + (n * F + f) * ldP);
    }
    if (run !== null) publish(run, n + 1);
  }
  if (run === null) job.ctl[4] = samples;
}
