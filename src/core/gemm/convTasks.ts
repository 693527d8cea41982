import type { BlockFn, BlockSFn, RowsFn } from './wasm';
import type { gemmBlock } from './kernel';

/** Geometry and arena plumbing common to the fused convolution jobs (float64 element counts). */
export interface ConvJobBase {
  C: number;
  H: number;
  W: number;
  fh: number;
  fw: number;
  stride: number;
  pad: number;
  outH: number;
  outW: number;
  /** Filters in all (w's first dimension). */
  F: number;
  groups: number;
  /** Channels and filters per group. */
  Cg: number;
  Fg: number;
  /** Cg·fh·fw, rounded up past one more entry (the all-ones row / column) to whole 4-wide panels. */
  Kp: number;
  /** Fg rounded up to whole 4-row panels. */
  Fgp: number;
  /** Row stride of a P = outH·outW long row in the arena: ≥ ⌈P⌉₄, and not a multiple of 64. */
  ldP: number;
  /** Samples in this chunk. */
  samples: number;
  /** Chunk's x: samples × dense (C, H, W). */
  xOff: number;
  /** Per-thread scratch: thread t owns sLen elements at sOff + t·sLen. */
  sOff: number;
  sLen: number;
  /** Use the WebAssembly tile loops (the thread's instance) rather than the scalar JS one. */
  wasm: boolean;
  /** Arena of the JS kernel (a SharedArrayBuffer when threaded); null for wasm jobs. */
  buf: ArrayBufferLike | null;
  /**
   * Shared counters, the same slots as a GemmJob's: [0] next task, [1] tasks finished,
   * [2] a worker failed, [3] tasks done by workers, [4] samples copied in (published by the
   * main thread), [5] workers sleeping on [4], [6] main thread sleeping on [1]; plus [7], the
   * next free scratch slot (thread id).
   */
  ctl: Int32Array;
  worker?: boolean;
}

/**
 * One chunk of samples of a fused convolution forward (see ../convFused.ts). Per sample n
 * (chunk-relative) and channel group g:
 *   W̃_g    at wbOff + g·Fgp·Kp   (Fgp rows of Kp: the group's filters, bias in column K, zero elsewhere)
 *   out_n  at oOff  + n·F·P      (dense F rows of P)
 * Thread scratch: the unfolded input (Kp rows of ldP; row K all ones) then the product (Fgp rows of ldP).
 */
export interface ConvFwdJob extends ConvJobBase {
  kind: 'convFwd';
  wbOff: number;
  oOff: number;
}

/**
 * One chunk of samples of a fused convolution backward (see ../convFused.ts). Per sample n
 * (chunk-relative) and channel group g:
 *   dout_n   at dOff  + n·F·ldP               (F rows of P)
 *   Wᵀ_g     at wtOff + g·Kp·Fg               (Kp rows of Fg; rows ≥ K are zero)
 *   dW part  at pOff  + (n·groups + g)·Fgp·Kp (Fgp rows of Kp; column K holds Σ_p dout = db)
 *   dx_n     at dxOff + n·C·H·W
 * Thread scratch: the unfolded input (P rows of Kp; column K all ones) then the unfolded
 * gradient (Kp rows of ldP).
 */
export interface ConvBwdJob extends ConvJobBase {
  kind: 'convBwd';
  dOff: number;
  wtOff: number;
  pOff: number;
  dxOff: number;
}

/** Tasks of a job: one per (sample, group). */
export function convJobTasks(job: ConvJobBase): number {
  return job.samples * job.groups;
}

/**
 * Runs (sample, group) tasks of a {@link ConvFwdJob} until none are left; every thread (main
 * and workers) calls it with its own wasm tile loops. A task unfolds x_n's group channels
 * into Kp rows of P (row K all ones), multiplies W̃_g (filters with the bias as column K) by
 * them through `gemmFn`, and copies the Fg output rows into out_n. Shipped to the workers as
 * source text (see {@link convBackwardTasks} for the rules that follow from that).
 */
export function convForwardTasks(
  job: ConvFwdJob, F: Float64Array, block: BlockFn | null, blockS: BlockSFn | null, rows: RowsFn | null, gemmFn: typeof gemmBlock,
): void {
  const ctl = job.ctl;
  const C = job.C;
  const H = job.H;
  const W = job.W;
  const fh = job.fh;
  const fw = job.fw;
  const stride = job.stride;
  const pad = job.pad;
  const outH = job.outH;
  const outW = job.outW;
  const groups = job.groups;
  const Cg = job.Cg;
  const Fg = job.Fg;
  const Kp = job.Kp;
  const Fgp = job.Fgp;
  const ldP = job.ldP;
  const P = outH * outW;
  const K = Cg * fh * fw;
  const plane = H * W;
  const colsOff = job.sOff + Atomics.add(ctl, 7, 1) * job.sLen;
  const prodOff = colsOff + Kp * ldP;
  const nTasks = job.samples * groups;
  const worker = job.worker === true;
  let fresh = true;
  for (;;) {
    const t = Atomics.add(ctl, 0, 1);
    if (t >= nTasks) break;
    const n = (t / groups) | 0;
    const g = t - n * groups;
    if (Atomics.load(ctl, 4) <= n) {
      Atomics.add(ctl, 5, 1);
      for (;;) {
        const ready = Atomics.load(ctl, 4);
        if (ready > n) break;
        Atomics.wait(ctl, 4, ready, 20);
      }
      Atomics.sub(ctl, 5, 1);
    }
    if (fresh) {
      // Padding entries and the ones row are the same for every task: set once per job, and
      // only once this thread holds a task (a late worker must not write into the arena).
      F.fill(0, colsOff, colsOff + Kp * ldP);
      F.fill(1, colsOff + K * ldP, colsOff + (K + 1) * ldP);
      fresh = false;
    }
    const xBase = job.xOff + (n * C + g * Cg) * plane;
    // Unfold: row r = (c·fh + ki)·fw + kj, column p = oh·outW + ow; only in-image entries.
    for (let c = 0; c < Cg; c++) {
      for (let ki = 0; ki < fh; ki++) {
        const oh0 = Math.max(0, Math.ceil((pad - ki) / stride));
        const oh1 = Math.min(outH, Math.floor((H - 1 + pad - ki) / stride) + 1);
        for (let kj = 0; kj < fw; kj++) {
          const ow0 = Math.max(0, Math.ceil((pad - kj) / stride));
          const ow1 = Math.min(outW, Math.floor((W - 1 + pad - kj) / stride) + 1);
          if (oh1 <= oh0 || ow1 <= ow0) continue;
          const dst = colsOff + ((c * fh + ki) * fw + kj) * ldP + oh0 * outW + ow0;
          const src = xBase + c * plane + (oh0 * stride - pad + ki) * W + (kj - pad) + ow0 * stride;
          if (rows !== null) {
            rows(dst * 8, src * 8, ow1 - ow0, oh1 - oh0, 8, stride * 8, outW * 8, stride * W * 8, 0);
            continue;
          }
          for (let oh = oh0, d0 = dst, s0 = src; oh < oh1; oh++, d0 += outW, s0 += stride * W) {
            for (let ow = ow0, d = d0, s = s0; ow < ow1; ow++, d++, s += stride) F[d] = F[s];
          }
        }
      }
    }
    gemmFn({
      aOff: job.wbOff + g * Fgp * Kp, ars: Kp, acs: 1, aSlice: 0, aPanelK: 0, aPanel0: 4 * Kp,
      bOff: colsOff, brs: ldP, bSlice: 0, bPanelK: 0, bPanel0: 4,
      packed: false, slices: 1, kc: Kp, kcLast: Kp,
      cOff: prodOff, cStep: 0, ldc: ldP, mp: Fgp >> 2, np: (P + 3) >> 2, mcP: Fgp >> 2, ncP: (P + 3) >> 2,
      split: false, acc: false, stream: 0, unit: 1, colMajor: false,
      wasm: job.wasm, buf: job.buf, ctl: null,
    }, F, block, blockS);
    const oBase = job.oOff + (n * job.F + g * Fg) * P;
    for (let f = 0; f < Fg; f++) F.copyWithin(oBase + f * P, prodOff + f * ldP, prodOff + f * ldP + P);

    if (worker) Atomics.add(ctl, 3, 1);
    Atomics.add(ctl, 1, 1);
    if (Atomics.load(ctl, 6) !== 0) Atomics.notify(ctl, 1);
  }
}

/**
 * Runs (sample, group) tasks of a {@link ConvBwdJob} until none are left; every thread (main
 * and workers) calls it with its own wasm tile loops. A task:
 *   1. unfolds x_n's group channels into patches (P × Kp, one row per output position; column
 *      K is all ones),
 *   2. dW part = dout_n,g (Fg × P) · patches — its column K is the task's db,
 *   3. dcols = Wᵀ_g (Kp × Fg) · dout_n,g (Kp × P),
 *   4. folds dcols back onto dx_n (overlapping windows add up).
 * Both products go through `gemmFn` (the GEMM task runner) on strided operands in place, so
 * the wasm / JS tile choice and its rounding are the matmul's.
 *
 * WHY fused and per sample: the im2col formulation over the whole batch moves every operand
 * through memory several times (reshape dout, copy it and the columns into the arena, write
 * dcols out, read it back to fold), and for a 3×3 convolution that traffic, not arithmetic,
 * is most of the time. One sample's patches, dout and dcols (~0.7 MB for 32×32×32) stay in
 * L2 between the four steps.
 *
 * Shipped to the workers as source text like gemmBlock, so it is self-contained: no imports,
 * no module constants, no inner functions. The partial blocks are per task, so the result
 * does not depend on which thread ran what: the driver adds them in sample order.
 */
export function convBackwardTasks(
  job: ConvBwdJob, F: Float64Array, block: BlockFn | null, blockS: BlockSFn | null, rows: RowsFn | null, gemmFn: typeof gemmBlock,
): void {
  const ctl = job.ctl;
  const C = job.C;
  const H = job.H;
  const W = job.W;
  const fh = job.fh;
  const fw = job.fw;
  const stride = job.stride;
  const pad = job.pad;
  const outH = job.outH;
  const outW = job.outW;
  const groups = job.groups;
  const Cg = job.Cg;
  const Fg = job.Fg;
  const Kp = job.Kp;
  const Fgp = job.Fgp;
  const ldP = job.ldP;
  const P = outH * outW;
  const K = Cg * fh * fw;
  const plane = H * W;
  const colsOff = job.sOff + Atomics.add(ctl, 7, 1) * job.sLen;
  const dcolsOff = colsOff + P * Kp;
  const nTasks = job.samples * groups;
  const worker = job.worker === true;
  let fresh = true;
  for (;;) {
    const t = Atomics.add(ctl, 0, 1);
    if (t >= nTasks) break;
    const n = (t / groups) | 0;
    const g = t - n * groups;
    if (Atomics.load(ctl, 4) <= n) {
      Atomics.add(ctl, 5, 1);
      for (;;) {
        const ready = Atomics.load(ctl, 4);
        if (ready > n) break;
        Atomics.wait(ctl, 4, ready, 20);
      }
      Atomics.sub(ctl, 5, 1);
    }
    if (fresh) {
      // Set up this thread's patches once per job, and only once it holds a task: a worker
      // that picks up the job after it is finished must not write into the arena.
      F.fill(0, colsOff, colsOff + P * Kp);
      for (let p = 0, e = colsOff + K; p < P; p++, e += Kp) F[e] = 1;
      fresh = false;
    }
    const xBase = job.xOff + (n * C + g * Cg) * plane;
    const dBase = job.dOff + (n * job.F + g * Fg) * ldP;
    const pBase = job.pOff + t * Fgp * Kp;

    // 1. Patches: row p = (oh, ow), column r = (c·fh + ki)·fw + kj. Only in-image entries
    //    are written: padding, the ones column and the pad columns are the same for every
    //    task of the job and were set on this thread's first task.
    for (let c = 0; c < Cg; c++) {
      for (let ki = 0; ki < fh; ki++) {
        const oh0 = Math.max(0, Math.ceil((pad - ki) / stride));
        const oh1 = Math.min(outH, Math.floor((H - 1 + pad - ki) / stride) + 1);
        for (let kj = 0; kj < fw; kj++) {
          const ow0 = Math.max(0, Math.ceil((pad - kj) / stride));
          const ow1 = Math.min(outW, Math.floor((W - 1 + pad - kj) / stride) + 1);
          if (oh1 <= oh0 || ow1 <= ow0) continue;
          const dst = colsOff + (oh0 * outW + ow0) * Kp + (c * fh + ki) * fw + kj;
          const src = xBase + c * plane + (oh0 * stride - pad + ki) * W + (kj - pad) + ow0 * stride;
          if (rows !== null) {
            rows(dst * 8, src * 8, ow1 - ow0, oh1 - oh0, Kp * 8, stride * 8, outW * Kp * 8, stride * W * 8, 0);
            continue;
          }
          for (let oh = oh0, d0 = dst, s0 = src; oh < oh1; oh++, d0 += outW * Kp, s0 += stride * W) {
            for (let ow = ow0, d = d0, s = s0; ow < ow1; ow++, d += Kp, s += stride) F[d] = F[s];
          }
        }
      }
    }

    // 2. dW part (Fgp × Kp) = dout_n,g · patches; rows past Fg read the next rows (ignored).
    gemmFn({
      aOff: dBase, ars: ldP, acs: 1, aSlice: 0, aPanelK: 0, aPanel0: 4 * ldP,
      bOff: colsOff, brs: Kp, bSlice: 0, bPanelK: 0, bPanel0: 4,
      packed: false, slices: 1, kc: P, kcLast: P,
      cOff: pBase, cStep: 0, ldc: Kp, mp: Fgp >> 2, np: Kp >> 2, mcP: Fgp >> 2, ncP: Kp >> 2,
      split: false, acc: false, stream: 0, unit: 1, colMajor: false,
      wasm: job.wasm, buf: job.buf, ctl: null,
    }, F, block, blockS);

    // 3. dcols (Kp × ldP) = Wᵀ_g · dout_n,g; columns past P are never read.
    gemmFn({
      aOff: job.wtOff + g * Kp * Fg, ars: Fg, acs: 1, aSlice: 0, aPanelK: 0, aPanel0: 4 * Fg,
      bOff: dBase, brs: ldP, bSlice: 0, bPanelK: 0, bPanel0: 4,
      packed: false, slices: 1, kc: Fg, kcLast: Fg,
      cOff: dcolsOff, cStep: 0, ldc: ldP, mp: Kp >> 2, np: (P + 3) >> 2, mcP: Kp >> 2, ncP: (P + 3) >> 2,
      split: false, acc: false, stream: 0, unit: 1, colMajor: false,
      wasm: job.wasm, buf: job.buf, ctl: null,
    }, F, block, blockS);

    // 4. Fold dcols onto dx_n's group channels.
    const dxBase = job.dxOff + (n * C + g * Cg) * plane;
    F.fill(0, dxBase, dxBase + Cg * plane);
    for (let c = 0; c < Cg; c++) {
      for (let ki = 0; ki < fh; ki++) {
        const oh0 = Math.max(0, Math.ceil((pad - ki) / stride));
        const oh1 = Math.min(outH, Math.floor((H - 1 + pad - ki) / stride) + 1);
        for (let kj = 0; kj < fw; kj++) {
          const ow0 = Math.max(0, Math.ceil((pad - kj) / stride));
          const ow1 = Math.min(outW, Math.floor((W - 1 + pad - kj) / stride) + 1);
          if (oh1 <= oh0 || ow1 <= ow0) continue;
          const src = dcolsOff + ((c * fh + ki) * fw + kj) * ldP + oh0 * outW + ow0;
          const dst = dxBase + c * plane + (oh0 * stride - pad + ki) * W + (kj - pad) + ow0 * stride;
          if (rows !== null) {
            rows(dst * 8, src * 8, ow1 - ow0, oh1 - oh0, stride * 8, 8, stride * W * 8, outW * 8, 1);
            continue;
          }
          for (let oh = oh0, d0 = dst, s0 = src; oh < oh1; oh++, d0 += stride * W, s0 += outW) {
            for (let ow = ow0, d = d0, s = s0; ow < ow1; ow++, d += stride, s++) F[d] += F[s];
          }
        }
      }
    }

    if (worker) Atomics.add(ctl, 3, 1);
    Atomics.add(ctl, 1, 1);
    if (Atomics.load(ctl, 6) !== 0) Atomics.notify(ctl, 1);
  }
}
