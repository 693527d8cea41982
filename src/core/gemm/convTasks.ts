import type { BlockFn, BlockSFn, RowsFn } from './wasm';
import type { gemmBlock } from './kernel';

/** A window of fh × fw sliding with stride over one zero-padded (C, H, W) sample: outH × outW positions. */
export interface WindowShape {
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

/** Geometry and arena plumbing common to the fused convolution jobs (float64 element counts). */
export interface ConvJobBase extends WindowShape {
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
  /** Row stride of a P = outH·outW long row in the arena: ≥ ⌈P⌉₄, and rows not a multiple of 4 KiB apart. */
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
 * Runs (sample, group) tasks of a fused convolution job until none are left; every thread
 * (main and workers) calls it with its own wasm loops (`block`, `blockS`, `rows`; null for the
 * JS kernel, whose loops give the same bits). A task:
 *
 * forward ({@link ConvFwdJob})
 *   1. unfolds x_n's group channels into Kp rows of P (row K all ones),
 *   2. multiplies W̃_g (the filters, bias in column K) by them,
 *   3. copies the Fg output rows into out_n;
 * backward ({@link ConvBwdJob})
 *   1. unfolds x_n's group channels into P rows of Kp (column K all ones),
 *   2. dW part = dout_n,g (Fg × P) · patches — its column K is the task's db,
 *   3. dcols = Wᵀ_g (Kp × Fg) · dout_n,g (Kp × P),
 *   4. folds dcols back onto dx_n (overlapping windows add up).
 * The products go through `gemmFn` (the GEMM task runner) on strided operands in place, so
 * the tile and its rounding are the matmul's.
 *
 * Shipped to the workers as source text like gemmBlock, so it is self-contained: no imports,
 * no module constants, no inner functions. Each output element is written by one task and
 * the dW parts are per task, so the result does not depend on which thread ran what.
 */
export function convTasks(
  job: ConvFwdJob | ConvBwdJob, F: Float64Array, block: BlockFn | null, blockS: BlockSFn | null, rows: RowsFn | null, gemmFn: typeof gemmBlock,
): void {
  const ctl = job.ctl;
  const fwd = job.kind === 'convFwd';
  const { C, H, W, fh, fw, stride, pad, outH, outW, groups, Cg, Fg, Kp, Fgp, ldP } = job;
  const P = outH * outW;
  const fk = fh * fw;
  const K = Cg * fk;
  const plane = H * W;
  // Scratch: forward, the unfolded input (Kp × ldP) then the product (Fgp × ldP); backward,
  // the patches (P × Kp) then dcols (Kp × ldP).
  const colsOff = job.sOff + Atomics.add(ctl, 7, 1) * job.sLen;
  const secondOff = colsOff + (fwd ? Kp * ldP : P * Kp);
  // Unfolded layout: entry (r, oh, ow) at colsOff + r·rStep + (oh·outW + ow)·pStep.
  const rStep = fwd ? ldP : 1;
  const pStep = fwd ? 1 : Kp;
  /**
   * Per unfolded row r = c·fk + ki·fw + kj, the block of output positions whose input lies
   * inside the image — rows [oh0, oh1), columns [ow0, ow1) — as: the offset of its first input
   * element within the sample's channels, the position index oh0·outW + ow0, the run length
   * ow1 − ow0 and the run count oh1 − oh0 (0 when the block is empty).
   */
  let runs: Int32Array | null = null;
  const worker = job.worker === true;
  for (;;) {
    const t = Atomics.add(ctl, 0, 1);
    if (t >= job.samples * groups) break;
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
    if (runs === null) {
      // Once per job, and only once this thread holds a task (a worker that picks up a
      // finished job must not write into the arena): the runs, and the unfolded entries that
      // are the same for every task (zero padding, the all-ones row / column K).
      runs = new Int32Array(4 * K);
      for (let r = 0; r < K; r++) {
        const c = (r / fk) | 0;
        const ki = ((r - c * fk) / fw) | 0;
        const kj = r - c * fk - ki * fw;
        const oh0 = Math.max(0, Math.ceil((pad - ki) / stride));
        const oh1 = Math.min(outH, Math.floor((H - 1 + pad - ki) / stride) + 1);
        const ow0 = Math.max(0, Math.ceil((pad - kj) / stride));
        const ow1 = Math.min(outW, Math.floor((W - 1 + pad - kj) / stride) + 1);
        const empty = oh1 <= oh0 || ow1 <= ow0;
        runs[4 * r] = c * plane + (oh0 * stride - pad + ki) * W + (kj - pad) + ow0 * stride;
        runs[4 * r + 1] = oh0 * outW + ow0;
        runs[4 * r + 2] = empty ? 0 : ow1 - ow0;
        runs[4 * r + 3] = empty ? 0 : oh1 - oh0;
      }
      F.fill(0, colsOff, secondOff);
      for (let p = 0, e = colsOff + K * rStep; p < P; p++, e += pStep) F[e] = 1;
    }
    const xBase = job.xOff + (n * C + g * Cg) * plane;

    // Unfold: entry (r, oh, ow) = x[c, oh·stride − pad + ki, ow·stride − pad + kj], r = c·fk + ki·fw + kj.
    for (let r = 0; r < K; r++) {
      const len = runs[4 * r + 2];
      const count = runs[4 * r + 3];
      const src = xBase + runs[4 * r];
      const dst = colsOff + r * rStep + runs[4 * r + 1] * pStep;
      if (rows !== null) {
        rows(dst * 8, src * 8, len, count, pStep * 8, stride * 8, outW * pStep * 8, stride * W * 8, 0);
        continue;
      }
      for (let i = 0, d0 = dst, s0 = src; i < count; i++, d0 += outW * pStep, s0 += stride * W) {
        for (let j = 0, d = d0, s = s0; j < len; j++, d += pStep, s += stride) F[d] = F[s];
      }
    }

    if (fwd) {
      const fj = job as ConvFwdJob;
      // Product (Fgp × ldP) = W̃_g · unfolded; columns past P are never read.
      gemmFn({
        aOff: fj.wbOff + g * Fgp * Kp, ars: Kp, acs: 1, aSlice: 0, aPanelK: 0, aPanel0: 4 * Kp,
        bOff: colsOff, brs: ldP, bSlice: 0, bPanelK: 0, bPanel0: 4,
        packed: false, slices: 1, kc: Kp, kcLast: Kp,
        cOff: secondOff, cStep: 0, ldc: ldP, mp: Fgp >> 2, np: (P + 3) >> 2, mcP: Fgp >> 2, ncP: (P + 3) >> 2,
        split: false, acc: false, stream: 0, unit: 1, colMajor: false,
        wasm: job.wasm, buf: job.buf, ctl: null,
      }, F, block, blockS);
      const oBase = fj.oOff + (n * job.F + g * Fg) * P;
      for (let f = 0; f < Fg; f++) F.copyWithin(oBase + f * P, secondOff + f * ldP, secondOff + f * ldP + P);
    } else {
      const bj = job as ConvBwdJob;
      const dBase = bj.dOff + (n * job.F + g * Fg) * ldP;
      // dW part (Fgp × Kp) = dout_n,g · patches; rows past Fg read the next rows (ignored).
      gemmFn({
        aOff: dBase, ars: ldP, acs: 1, aSlice: 0, aPanelK: 0, aPanel0: 4 * ldP,
        bOff: colsOff, brs: Kp, bSlice: 0, bPanelK: 0, bPanel0: 4,
        packed: false, slices: 1, kc: P, kcLast: P,
        cOff: bj.pOff + t * Fgp * Kp, cStep: 0, ldc: Kp, mp: Fgp >> 2, np: Kp >> 2, mcP: Fgp >> 2, ncP: Kp >> 2,
        split: false, acc: false, stream: 0, unit: 1, colMajor: false,
        wasm: job.wasm, buf: job.buf, ctl: null,
      }, F, block, blockS);
      // dcols (Kp × ldP) = Wᵀ_g · dout_n,g; columns past P are never read.
      gemmFn({
        aOff: bj.wtOff + g * Kp * Fg, ars: Fg, acs: 1, aSlice: 0, aPanelK: 0, aPanel0: 4 * Fg,
        bOff: dBase, brs: ldP, bSlice: 0, bPanelK: 0, bPanel0: 4,
        packed: false, slices: 1, kc: Fg, kcLast: Fg,
        cOff: secondOff, cStep: 0, ldc: ldP, mp: Kp >> 2, np: (P + 3) >> 2, mcP: Kp >> 2, ncP: (P + 3) >> 2,
        split: false, acc: false, stream: 0, unit: 1, colMajor: false,
        wasm: job.wasm, buf: job.buf, ctl: null,
      }, F, block, blockS);
      // Fold: the adjoint of the unfold, from dcols (k-major) onto dx_n's group channels.
      const dxBase = bj.dxOff + (n * C + g * Cg) * plane;
      F.fill(0, dxBase, dxBase + Cg * plane);
      for (let r = 0; r < K; r++) {
        const len = runs[4 * r + 2];
        const count = runs[4 * r + 3];
        const dst = dxBase + runs[4 * r];
        const src = secondOff + r * ldP + runs[4 * r + 1];
        if (rows !== null) {
          rows(dst * 8, src * 8, len, count, stride * 8, 8, stride * W * 8, outW * 8, 1);
          continue;
        }
        for (let i = 0, d0 = dst, s0 = src; i < count; i++, d0 += stride * W, s0 += outW) {
          for (let j = 0, d = d0, s = s0; j < len; j++, d += stride, s++) F[d] += F[s];
        }
      }
    }

    if (worker) Atomics.add(ctl, 3, 1);
    Atomics.add(ctl, 1, 1);
    if (Atomics.load(ctl, 6) !== 0) Atomics.notify(ctl, 1);
  }
}
