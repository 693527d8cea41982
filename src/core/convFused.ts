import { isShared } from './bufferPool';
import type { FloatArray } from './dtype';
import { arenaTiles, getArena, type Arena } from './gemm/arena';
import { accRowsOnThreads } from './gemm/accRowsTasks';
import { convTasks, type ConvBwdJob, type ConvFwdJob, type ConvJobBase, type WindowShape } from './gemm/convTasks';
import { gemmFma, gemmKernel, THREAD_MIN_WORK } from './gemm/gemm';
import { CTL_LEN, gemmBlock, jobTasks, STREAM_NONE, type GemmJob } from './gemm/kernel';
import { abandon, finishThreaded, WorkerFailure, workersUsable, publish, startThreaded, threadCount, tryThreaded, type TaskRunner, type ThreadedRun, type WorkerJob } from './gemm/workers';

/*
 * Fused convolution kernels: the batch is cut into (sample, group) tasks that unfold one
 * sample into a thread's scratch, run the matmul's tile loops on it in place and fold or copy
 * the result back, all inside the shared arena, on the worker pool.
 *
 * WHY not im2col over the whole batch plus one big GEMM: for the small channel counts of
 * these networks (3×3×3 patches, 25–64 filters) the arithmetic is small next to the traffic
 * of that formulation — an unfolded batch 9× the size of x written and read back, dout
 * reshaped, both copied into the arena for the GEMM, dcols written out and read again to fold.
 * One sample's patches, dout and dcols (~0.7 MB at 32×32×32; larger images go in blocks of
 * output rows) stay in L2 between the steps; only x, dout, out and dx cross memory, once.
 * Float32 calls run in float32 (the arena's float32 view and the float32 tiles), float64
 * ones in float64.
 *
 * Results do not depend on the thread count: each element is computed by one task, and the
 * per-task dW / db parts are added in sample order.
 */

/**
 * conv2d's inference epilogue for {@link convForwardFused}: a clamp, or SiLU (float32 jobs on
 * the wasm tiles only). `applied` is set to whether the call applied it.
 */
export interface FusedEpilogue {
  clamp?: readonly [number, number];
  silu?: boolean;
  applied: boolean;
}

/** A sliding window over a batch of N (C, H, W) samples (the layers' WindowGeometry). */
export interface ConvGeometry extends WindowShape {
  N: number;
}

/**
 * Bytes of the arena one call may use (48 MiB): the batch is processed in chunks of samples
 * that fit, so the arena stays within its 64 MiB limit whatever N is.
 */
const BUDGET_BYTES = 48 << 20;
/**
 * Bytes of one thread's scratch a block of output rows aims at: a block's unfolded input and
 * product (or patches and dcols) stay in L2 between the steps, and any thread count fits the
 * budget — where one sample's whole unfolding would not (a 64-channel 56×56 layer unfolds to
 * 580 × 3136 elements: 14.5 MB in float64, per thread).
 */
const SCRATCH_BYTES = 1 << 20;

const ceil4 = (v: number): number => (v + 3) & ~3;
/**
 * Row stride of P-long rows of `eb`-byte elements: whole 4-column panels, plus one more panel
 * when the rows would be a multiple of 4 KiB apart, where the tile's B sliver (one cache line
 * per row) would all fall in one L1 set: measured 40% slower at P = 1024, no difference at P = 256.
 */
const padLd = (v: number, eb: number): number => ((ceil4(v) * eb) % 4096 === 0 ? ceil4(v) + 4 : ceil4(v));

/** The common part of a job, the thread count and the arena layout of one call. */
interface ConvPlan {
  base: Omit<ConvJobBase, 'samples' | 'xOff' | 'ctl'>;
  threads: number;
  arena: Arena;
  /** The arena as the job's element type. */
  A: FloatArray;
  chunk: number;
  /** First element of the per-sample regions (after the fixed ones). */
  free: number;
  /** Elements in use, and the budget they fit. */
  elements: number;
  limit: number;
}

/** Sizes of a call's arena regions, from the padded dimensions (elements of the job's type). */
interface Sizes {
  /** Weights, before the per-thread scratch. */
  weights(d: Dims): number;
  /** Elements of one thread's scratch per output position of a block. */
  scratchPerPosition(d: Dims): number;
  /** One thread's scratch for blocks of Pb positions, rows ldB apart. */
  scratch(d: Dims, Pb: number, ldB: number): number;
  /** One sample's inputs and outputs. */
  perSample(d: Dims): number;
  /** Slack after the last sample (padding rows a product reads past its operand). */
  tail(d: Dims): number;
  /** Forward: small maps may put several samples in one block (samplesPerBlock). */
  sideBySide: boolean;
}
interface Dims { Kp: number; Fgp: number; ldP: number; P: number; Fg: number }

/**
 * Plans a call: element type, block size, thread count, arena, samples per chunk. Threads
 * are dropped (never below one) until their scratch fits the budget next to one sample; null
 * when even one thread does not fit. `budget` counts elements of the job's type.
 */
function plan(g: ConvGeometry, F: number, groups: number, f32: boolean, budget: number | undefined, sizes: Sizes): ConvPlan | null {
  const { N, C, H, W, fh, fw, outH, outW } = g;
  const eb = f32 ? 4 : 8;
  const limit = budget ?? BUDGET_BYTES / eb;
  const Cg = C / groups;
  const Fg = F / groups;
  const P = outH * outW;
  const K = Cg * fh * fw;
  const d: Dims = { Kp: ceil4(K + 1), Fgp: ceil4(Fg), ldP: padLd(P, eb), P, Fg };
  // From the geometry and the element size only: the backward's rounding depends on it.
  const rowsPerBlock = Math.max(1, Math.min(outH, Math.floor(SCRATCH_BYTES / eb / (sizes.scratchPerPosition(d) * outW))));
  let threads = threadCount();
  // Forward over small maps: several whole samples per block, up to 64 columns, while the
  // scratch stays within SCRATCH_BYTES and every thread still gets two tasks (see samplesPerBlock).
  const samplesPerBlock = sizes.sideBySide && rowsPerBlock >= outH && P < 64
    ? Math.max(1, Math.min(Math.ceil(64 / P), Math.floor(SCRATCH_BYTES / eb / (sizes.scratchPerPosition(d) * P)), Math.floor(N / (2 * threads))))
    : 1;
  const ldB = padLd(samplesPerBlock * rowsPerBlock * outW, eb);
  if (threads > 1 && (N * groups < 2 || 2 * N * F * K * P < THREAD_MIN_WORK || !workersUsable())) threads = 1;
  const sLen = sizes.scratch(d, samplesPerBlock * rowsPerBlock * outW, ldB);
  const sOff = sizes.weights(d);
  const perSample = sizes.perSample(d);
  const tail = sizes.tail(d);
  while (threads > 1 && sOff + threads * sLen + perSample + tail > limit) threads--;
  const free = sOff + threads * sLen;
  if (free + perSample + tail > limit) return null;
  const chunk = Math.min(N, Math.floor((limit - free - tail) / perSample));
  const need = free + chunk * perSample + tail;
  // getArena counts float64 elements.
  const need64 = f32 ? Math.ceil(need / 2) : need;
  const arena = getArena(gemmKernel(), need64) ?? getArena('js', need64);
  if (arena === null) return null;
  // Scratch slots were sized for `threads`; fewer threads use fewer of them.
  if (threads > 1 && !arena.shared) threads = 1;
  return {
    base: {
      C, H, W, fh, fw, stride: g.stride, pad: g.pad, outH, outW, F, groups, Cg, Fg, Kp: d.Kp, Fgp: d.Fgp, ldP: d.ldP,
      rowsPerBlock, ldB, samplesPerBlock, sOff, sLen, wasm: arena.kind === 'wasm', f32, fma: f32 && arena.kind === 'wasm' && gemmFma(),
      buf: arena.kind === 'wasm' ? null : arena.F.buffer,
    },
    threads, arena, A: f32 ? arena.F32 : arena.F, chunk, free, elements: need, limit,
  };
}

/**
 * Runs one chunk: posts it to the workers, lets `fill(n)` copy sample n in (publishing each
 * so the workers start at once), then takes tasks on this thread and joins. Falls back to this
 * thread alone if the pool fails; returns the thread count to use from then on.
 */
export function runSampleChunk<J extends WorkerJob & { samples: number }>(
  job: J, threads: number, arena: Arena, fill: (n: number) => void, runner: TaskRunner,
): number {
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
  const { block, blockS, rows } = arenaTiles(arena, job.f32, job.fma);
  runner(alone, job.f32 ? arena.F32 : arena.F, block, blockS, rows, gemmBlock, job.wasm ? arena.exports : null);
  return 1;
}

/** Arena regions of a forward call (see {@link ConvFwdJob}). */
const forwardSizes = (plane: number, F: number, groups: number): Sizes => ({
  weights: (d) => groups * d.Fgp * d.Kp,
  scratchPerPosition: (d) => d.Kp + d.Fgp,
  scratch: (d, _Pb, ldB) => d.Kp * ldB + d.Fgp * ldB,
  perSample: (d) => plane + F * d.P,
  tail: () => 0,
  sideBySide: true,
});

/** First element of the backward's float64 dW / db sums in its arena (after Wᵀ, 8-byte aligned). */
const dwSumsOff = (groups: number, Kp: number, Fg: number): number => (groups * Kp * Fg + 1) & ~1;

/**
 * Arena regions of a backward call (see {@link ConvBwdJob}); `batchDw`: its dW product over
 * the chunk (per group Fgp rows of Kp, the job's type) where the float64 sums were, and each
 * sample's patches (groups × P × Kp) where its dW parts were.
 */
const backwardSizes = (plane: number, F: number, groups: number, batchDw = false): Sizes => ({
  // Wᵀ, then (rounded to a float64 boundary) F rows of Kp float64: the dW / db sums (accRows32).
  weights: (d) => dwSumsOff(groups, d.Kp, d.Fg) + (batchDw ? groups * d.Fgp * d.Kp : 2 * F * d.Kp),
  scratchPerPosition: (d) => 2 * d.Kp,
  scratch: (d, Pb, ldB) => Pb * d.Kp + d.Kp * ldB,
  perSample: (d) => 2 * plane + groups * (batchDw ? d.P : d.Fgp) * d.Kp + F * d.ldP,
  // dout is last: the dW product reads up to 3 rows past the last sample's filters (ignored).
  tail: (d) => 4 * d.ldP,
  sideBySide: false,
});

/** A backward's plan, with the batch-wide dW (ConvBwdJob.batchDw) where a pointwise sample is one small block. */
function backwardPlan(g: ConvGeometry, F: number, groups: number, f32: boolean, budget: number | undefined): { pl: ConvPlan | null; batchDw: boolean } {
  const plane = g.C * g.H * g.W;
  const pointwise = g.fh === 1 && g.fw === 1 && g.stride === 1 && g.pad === 0;
  if (pointwise && batchDwWins(g.outH * g.outW)) {
    const pl = plan(g, F, groups, f32, budget, backwardSizes(plane, F, groups, true));
    if (pl !== null && pl.base.rowsPerBlock >= g.outH) return { pl, batchDw: true };
  }
  return { pl: plan(g, F, groups, f32, budget, backwardSizes(plane, F, groups)), batchDw: false };
}

/** What {@link convFusedPlan} reports. */
export interface ConvFusedPlan {
  /** Threads (main included) the call runs on: CS231N_THREADS or the cores, fewer only if their scratch would not fit. */
  threads: number;
  /** Output rows per block (outH when a sample goes in one block). */
  rowsPerBlock: number;
  /** Samples side by side in a forward block (1 in backward); never changes a result. */
  samplesPerBlock: number;
  /** Samples per chunk. */
  chunk: number;
  /** Backward: dW as one product over each chunk (small pointwise maps), not per-sample parts. */
  batchDw: boolean;
  /** Elements of the computing type the call uses in the arena, of `budget`. */
  elements: number;
  budget: number;
}

/**
 * The plan a fused forward or backward would use for this geometry and dtype now, or null
 * when it would decline (the caller's im2col fallback). For tests and benches: like
 * gemmPlan, it never changes a result — except that rowsPerBlock is part of the backward's
 * rounding, which is why it comes from the geometry and dtype alone.
 */
export function convFusedPlan(g: ConvGeometry, F: number, groups: number, dtype: 'float32' | 'float64', pass: 'forward' | 'backward', budget?: number): ConvFusedPlan | null {
  const f32 = dtype === 'float32';
  const { pl, batchDw } = pass === 'forward'
    ? { pl: plan(g, F, groups, f32, budget, forwardSizes(g.C * g.H * g.W, F, groups)), batchDw: false }
    : backwardPlan(g, F, groups, f32, budget);
  if (pl === null) return null;
  return { threads: pl.threads, rowsPerBlock: pl.base.rowsPerBlock, samplesPerBlock: pl.base.samplesPerBlock, chunk: pl.chunk, batchDw, elements: pl.elements, budget: pl.limit };
}

const newCtl = (): Int32Array =>
  new Int32Array(typeof SharedArrayBuffer === 'function' ? new SharedArrayBuffer(4 * CTL_LEN) : new ArrayBuffer(4 * CTL_LEN));

const allF32 = (...arrays: FloatArray[]): boolean => arrays.every((a) => a instanceof Float32Array);

/**
 * Filters as the fused forward's tile operand: F rows of Kp at `at` — a filter's K weights,
 * its bias in column K, zeros after — and zero rows up to Fgp, in panels of 4 rows (PANEL_A
 * below). Also the fused inverted-residual block's layout (ops/kernels/invertedResidual.ts),
 * which must give these products' bits.
 */
export function packFiltersWithBias(A: FloatArray, at: number, w: FloatArray, b: FloatArray, F: number, K: number, Fgp: number, Kp: number): void {
  A.fill(0, at, at + Fgp * Kp);
  // Four filters at a time, their values side by side: writes in order (a loop per filter, with
  // its strided writes, took twice as long).
  for (let f0 = 0; f0 < F; f0 += 4) {
    const dst = at + f0 * Kp;
    if (f0 + 4 <= F) {
      const o0 = f0 * K, o1 = o0 + K, o2 = o1 + K, o3 = o2 + K;
      for (let kk = 0, d = dst; kk < K; kk++, d += 4) {
        A[d] = w[o0 + kk];
        A[d + 1] = w[o1 + kk];
        A[d + 2] = w[o2 + kk];
        A[d + 3] = w[o3 + kk];
      }
    } else {
      for (let f = f0; f < F; f++) for (let kk = 0; kk < K; kk++) A[dst + 4 * kk + f - f0] = w[f * K + kk];
    }
    for (let f = f0; f < Math.min(F, f0 + 4); f++) A[dst + 4 * K + f - f0] = b[f];
  }
}

/*
 * PANEL_A: filters packed by packFiltersWithBias (and Wᵀ by the backward) are the A operand of
 * products over kc = their row length in panels of 4 rows, 4 values a k step — GEMM strides
 * ars 1, acs 4, aPanel0 4·kc (written out in the task runners, which run as source). WHY
 * panels: the native tiles read panel-packed A in place, where row-major A was packed again
 * by every call — once per sample, a third of a 4×4 pointwise backward's time.
 */

/**
 * Fused convolution forward: out `(N, F, outH, outW)` = conv(x `(N, C, H, W)`, w
 * `(F, C/groups, fh, fw)`) + b, written into the dense `out`. All float32: computed in float32
 * (float32 tiles; each output is one dot product over K = C/groups·fh·fw plus the bias, so
 * |out − exact| ≤ (K + 2)·2⁻²⁴·(Σ|w||x| + |b|)). Otherwise in float64 (float32 inputs widened,
 * the result rounded once). Returns false, touching nothing, when one sample's working set
 * does not fit the arena budget (`budget`, in elements of the computing type, exists for
 * tests); the caller then uses the unfused im2col path.
 */
export function convForwardFused(
  x: FloatArray, w: FloatArray, b: FloatArray, g: ConvGeometry, F: number, groups: number, out: FloatArray, budget?: number,
  epilogue?: FusedEpilogue,
): boolean {
  const { N, C, H, W, outH, outW } = g;
  const plane = C * H * W;
  const Fg = F / groups;
  const pl = plan(g, F, groups, allF32(x, w, b, out), budget, forwardSizes(plane, F, groups));
  if (pl === null) return false;
  const { base, arena, chunk, A } = pl;
  const { Kp, Fgp } = base;
  const K = (C / groups) * g.fh * g.fw;
  const wbOff = 0;
  const xOff = pl.free;
  const oOff = xOff + chunk * plane;
  for (let gi = 0; gi < groups; gi++) packFiltersWithBias(A, wbOff + gi * Fgp * Kp, w.subarray(gi * Fg * K), b.subarray(gi * Fg), Fg, K, Fgp, Kp);
  const P = outH * outW;
  const wholeSamples = g.fh === 1 && g.fw === 1 && g.stride === 1 && g.pad === 0 && base.samplesPerBlock === 1 && base.rowsPerBlock >= outH && base.ldB === P;
  let threads = pl.threads;
  // The clamp runs in any job; SiLU needs the wasm exports (its bits are siluFwd32's).
  const clamp: [number, number] | null = epilogue?.clamp ? [epilogue.clamp[0], epilogue.clamp[1]] : null;
  const silu = epilogue?.silu === true && base.f32 && base.wasm;
  if (epilogue) epilogue.applied = clamp !== null || silu;
  for (let n0 = 0; n0 < N; n0 += chunk) {
    const samples = Math.min(chunk, N - n0);
    // WHY the tasks write the output themselves: a copy of the whole output out of the arena
    // after the job ran on the main thread alone, while the workers waited — 6–15 % of the
    // fused forward (MobileNet V2, ResNet-18, cs231n's convnet at batch 64).
    const direct = threads === 1 || isShared(out);
    // Whole-sample pointwise blocks read x themselves (ConvFwdJob.xIn): the main thread's copy of
    // each sample into the arena was the serial part of a small-map pointwise forward.
    const xIn = wholeSamples && (threads === 1 || isShared(x)) ? x : null;
    const job: ConvFwdJob = { ...base, kind: 'convFwd', samples, xOff, wbOff, oOff, ctl: newCtl(), clamp, silu, out: direct ? out : null, outN0: n0, xIn };
    threads = runSampleChunk(job, threads, arena, (n) => {
      if (xIn === null) A.set(x.subarray((n0 + n) * plane, (n0 + n + 1) * plane), xOff + n * plane);
    }, convTasks);
    if (!direct) out.set(A.subarray(oOff, oOff + samples * F * P), n0 * F * P);
  }
  return true;
}

/**
 * Fused convolution backward: dx, dw, db of {@link convForwardFused}'s convolution from x, w
 * and the upstream gradient dout `(N, F, outH, outW)`, written into the dense outputs `dx`,
 * `dw`, `db`. All float32: the products in float32 — dx sums Fg products then the up to
 * fh·fw overlapping windows, each sample's dW / db sums its P positions (blocks of output
 * rows added in order) — and the per-sample dW / db parts added in float64, rounded once.
 * So, with u = 2⁻²⁴ and to first order,
 *   |dx − exact| ≤ (Fg + fh·fw + 1)·u·Σ|w||dout|,  |dw − exact| ≤ (P + 2)·u·Σ|dout||x|,
 *   |db − exact| ≤ (P + 2)·u·Σ|dout|   (P = outH·outW);
 * except on small pointwise maps (see batchDwWins), whose dW and db sum the batch's N·P
 * positions in float32, sample after sample: there (N·P + 2) replaces (P + 2).
 * Otherwise float64 throughout. `dx` null computes dw and db only. Returns false, touching
 * nothing, when one sample's working set does not fit the arena budget; the caller then uses
 * the unfused im2col path.
 */
export function convBackwardFused(
  x: FloatArray, w: FloatArray, dout: FloatArray, g: ConvGeometry, F: number, groups: number,
  dx: FloatArray | null, dw: FloatArray, db: FloatArray, budget?: number,
): boolean {
  const { N, C, H, W, fh, fw } = g;
  const plane = C * H * W;
  const Fg = F / groups;
  const K = (C / groups) * fh * fw;
  const f32 = allF32(x, w, dout, dw, db) && (dx === null || dx instanceof Float32Array);
  const P = g.outH * g.outW;
  const { pl, batchDw } = backwardPlan(g, F, groups, f32, budget);
  if (pl === null) return false;
  const { base, arena, chunk, A } = pl;
  const { Kp, Fgp, ldP } = base;
  const wtOff = 0;
  const xOff = pl.free;
  const dxOff = xOff + chunk * plane;
  const pOff = dxOff + chunk * plane;
  const dOff = pOff + chunk * groups * (batchDw ? P : Fgp) * Kp;
  // Wᵀ per group in panels of 4 rows (see PANEL_A), rows past K zero (they become dcols rows nobody reads).
  A.fill(0, wtOff, wtOff + groups * Kp * Fg);
  for (let gi = 0; gi < groups; gi++) {
    for (let f = 0; f < Fg; f++) {
      const src = (gi * Fg + f) * K;
      const dst = wtOff + gi * Kp * Fg + 4 * f;
      for (let kk = 0; kk < K; kk++) A[dst + (kk >> 2) * 4 * Fg + (kk & 3)] = w[src + kk];
    }
  }
  // The per-sample dW / db partials are summed in float64 in sample order (then group), so the
  // sum does not depend on the schedule: float32 wasm jobs with accRows32 into the arena's
  // float64 rows (row fo: K dW values, then db at column K), others in a JS loop. With batchDw
  // there are no partials: each chunk's dW product adds onto the last (batchDwProducts).
  const accRows = !batchDw && base.f32 && base.wasm && arena.exports !== null;
  const acc64 = base.f32 ? dwSumsOff(groups, Kp, Fg) / 2 : 0;
  if (accRows) arena.F.fill(0, acc64, acc64 + F * Kp);
  const dwAcc = !accRows && !batchDw ? new Float64Array(F * K) : null;
  const dbAcc = !accRows && !batchDw ? new Float64Array(F) : null;
  let threads = pl.threads;
  for (let n0 = 0; n0 < N; n0 += chunk) {
    const samples = Math.min(chunk, N - n0);
    // As in the forward, the tasks write dx themselves where they can (no serial copy after the job).
    const direct = dx !== null && (threads === 1 || isShared(dx));
    const job: ConvBwdJob = {
      ...base, kind: 'convBwd', samples, xOff, dOff, wtOff, pOff, dxOff, noDx: dx === null, ctl: newCtl(), dxOut: direct ? dx : null, dxN0: n0,
      batchDw, patchOff: pOff,
    };
    threads = runSampleChunk(job, threads, arena, backwardFill(A, x, dout, plane, F, P, ldP, n0, xOff, dOff), convTasks);
    if (dx !== null && !direct) dx.set(A.subarray(dxOff, dxOff + samples * plane), n0 * plane);
    if (batchDw) {
      if (!batchDwProducts(pl, threads, samples, n0 > 0, groups, F, P, dOff, pOff)) {
        // The pool failed with this chunk's dW tiles half added (and is retired): again from the start, on this thread.
        return convBackwardFused(x, w, dout, g, F, groups, dx, dw, db, budget);
      }
      continue;
    }
    if (accRows) {
      for (let gi = 0; gi < groups; gi++) {
        if (!accRowsOnThreads(arena, threads, 8 * (acc64 + gi * Fg * Kp), 4 * (pOff + gi * Fgp * Kp), K + 1, samples, 4 * groups * Fgp * Kp, Fg, 8 * Kp, 4 * Kp)) {
          // The pool failed with the sums half added (and is retired): again from the start, on this thread.
          return convBackwardFused(x, w, dout, g, F, groups, dx, dw, db, budget);
        }
      }
      continue;
    }
    for (let t = 0; t < samples * groups; t++) {
      const gi = t % groups;
      for (let f = 0; f < Fg; f++) {
        const src = pOff + t * Fgp * Kp + f * Kp;
        const fo = gi * Fg + f;
        const dst = fo * K;
        for (let kk = 0; kk < K; kk++) dwAcc![dst + kk] += A[src + kk];
        dbAcc![fo] += A[src + K];
      }
    }
  }
  if (batchDw) {
    // dW_g's rows, db in column K (the float32 products, after Wᵀ).
    const cOff = dwSumsOff(groups, Kp, Fg);
    for (let gi = 0; gi < groups; gi++) {
      for (let f = 0; f < Fg; f++) {
        const src = cOff + (gi * Fgp + f) * Kp;
        dw.set(A.subarray(src, src + K), (gi * Fg + f) * K);
        db[gi * Fg + f] = A[src + K];
      }
    }
    return true;
  }
  if (accRows) {
    const S = arena.F;
    for (let fo = 0; fo < F; fo++) {
      for (let kk = 0; kk < K; kk++) dw[fo * K + kk] = S[acc64 + fo * Kp + kk];
      db[fo] = S[acc64 + fo * Kp + K];
    }
    return true;
  }
  dw.set(dwAcc!);
  db.set(dbAcc!);
  return true;
}

/** Copies sample n0 + n of x and dout into the arena (dout's rows ldP apart). */
function backwardFill(A: FloatArray, x: FloatArray, dout: FloatArray, plane: number, F: number, P: number, ldP: number, n0: number, xOff: number, dOff: number) {
  return (n: number): void => {
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
  };
}

/**
 * WHY a batch-wide dW for small pointwise maps: the per-sample backward writes one Fg × Kp dW
 * part per sample from only P products per entry, and the main thread then adds the parts up
 * alone — at 4×4 (the deepest stages of ShuffleNet V2, MobileNet V2 and EfficientNet on CIFAR)
 * that traffic and the serial sum rival the sample's own arithmetic. One product with the
 * chunk's samples as its k-slices keeps each tile of dW in registers and cache across the
 * whole batch, on every thread. Smaller maps give k-slices too short for it (see BATCH_DW_P).
 */
export function batchDwWins(P: number): boolean {
  return P >= BATCH_DW_P[0] && P <= BATCH_DW_P[1];
}
/**
 * The maps (outH·outW positions) the batch-wide dW takes. Measured (batch 64, float32, 2
 * threads, backward ms, per-sample parts or the unfused path → batch-wide): at 4×4 232→232
 * 4.5–5.3 → 3.6, 160→960 9.5 → 8.7, 480→80 4.7–4.9 → 3.1–3.3, 80→480 3.7 → 2.8; at 8×8 no
 * change (116→116 3.4, 96→576 12.3–12.8 → 12.1–12.8); at 16×16 slower (58→58 3.9 → 5.2);
 * below, with few positions a k-slice, mixed to slower (3×3: 480→80 3.3–3.4 → 2.7, 80→480
 * 2.4 → 3.0; 2×2: 192→1152 4.4 → 6.3; 1×1: 48→1152 0.9–1.3 → 4.4–4.9).
 */
const BATCH_DW_P = [12, 16];

/**
 * The batch-wide dW of one chunk (ConvBwdJob.batchDw), after its sample tasks have written
 * each sample's patches and computed dx: per group one GEMM job, dW_g (+)= Σ_n dout_n,g (Fg × P)
 * · patches_n,g (P × Kp), the chunk's samples in order as k-slices, each tile of dW computed by
 * one task over all of them — so the sum's order, and the bits, do not depend on the thread
 * count (nor on the chunks: each slice is added to the tile as the slices of one chunk are).
 * Column K of the patches is all ones: dW's column K is db. The products go after Wᵀ (the
 * backward sizes' weights region). False when the pool failed halfway (the caller starts over).
 */
function batchDwProducts(pl: ConvPlan, threads: number, samples: number, acc: boolean, groups: number, F: number, P: number, dOff: number, pOff: number): boolean {
  const { base, arena } = pl;
  const { Kp, Fgp, Fg, ldP } = base;
  const cOff = dwSumsOff(groups, Kp, Fg);
  const mp = Fgp >> 2;
  const np = Kp >> 2;
  for (let gi = 0; gi < groups; gi++) {
    const gj: GemmJob = {
      aOff: dOff + gi * Fg * ldP, ars: ldP, acs: 1, aSlice: F * ldP, aPanelK: 0, aPanel0: 4 * ldP,
      bOff: pOff + gi * P * Kp, brs: Kp, bSlice: groups * P * Kp, bPanelK: 0, bPanel0: 4,
      packed: false, slices: samples, kc: P, kcLast: P,
      // Tiles of up to 64 × 64: few calls per slice, and still several tasks a thread.
      cOff: cOff + gi * Fgp * Kp, cStep: 0, ldc: Kp, mp, np, mcP: Math.min(mp, 16), ncP: Math.min(np, 16),
      split: false, acc, stream: STREAM_NONE, unit: 1, colMajor: false,
      wasm: base.wasm, f32: base.f32, fma: base.fma, buf: base.buf, ctl: null,
    };
    if (threads > 1 && jobTasks(gj) > 1) {
      if (!tryThreaded(gj, threads, arena)) return false;
      continue;
    }
    const { block, blockS } = arenaTiles(arena, base.f32, base.fma);
    gemmBlock(gj, pl.A, block, blockS);
  }
  return true;
}
