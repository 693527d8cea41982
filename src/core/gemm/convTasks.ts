import type { FloatArray } from '../dtype';
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

/**
 * Geometry and arena plumbing common to the fused convolution jobs. Offsets and lengths
 * count elements of the job's type: float64, or float32 when `f32`.
 */
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
  /**
   * Output rows per block: a task unfolds and multiplies its sample block by block, blocks
   * of `rowsPerBlock` output rows (rowsPerBlock·outW positions), so a thread's scratch stays
   * small (about 1 MiB) whatever the image. Chosen from the geometry and dtype only (never
   * from the thread count or the budget): the backward's dW sums its blocks in order, so the
   * block size is part of its rounding.
   */
  rowsPerBlock: number;
  /** Row stride of a block's rows (samplesPerBlock·rowsPerBlock·outW long) in the scratch, padded like ldP. */
  ldB: number;
  /**
   * Samples a forward task takes at once, side by side in its block's columns (1 in
   * backward; > 1 only when a whole sample is one block): small maps (4×4, 2×2, 1×1) give a
   * product of few columns per sample, where the 4×8 tiles run half empty or not at all.
   * Each output is still one dot product in the same order: the bits do not change.
   */
  samplesPerBlock: number;
  /** Samples in this chunk. */
  samples: number;
  /** Chunk's x: samples × dense (C, H, W). */
  xOff: number;
  /** Per-thread scratch: thread t owns sLen elements at sOff + t·sLen. */
  sOff: number;
  sLen: number;
  /** Use the WebAssembly tile loops (the thread's instance) rather than the scalar JS one. */
  wasm: boolean;
  /** Float32 data, products and sums in float32 (the arena viewed as a Float32Array). */
  f32: boolean;
  /** Float32 wasm tiles with relaxed-SIMD FMA (only where the runtime validated them). */
  fma: boolean;
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
 *   W̃_g    at wbOff + g·Fgp·Kp   (Fgp rows of Kp: the group's filters, bias in column K, zero elsewhere;
 *                                 in panels of 4 rows, 4 values a k step: convFused.ts's PANEL_A)
 *   out_n  at oOff  + n·F·P      (dense F rows of P)
 * Thread scratch: a block's unfolded input (Kp rows of ldB; row K all ones) then its product
 * (Fgp rows of ldB).
 */
export interface ConvFwdJob extends ConvJobBase {
  kind: 'convFwd';
  wbOff: number;
  oOff: number;
  /** [lo, hi]: out = min(max(out, lo), hi), in place on the product block before its rows are copied out (the wasm `clampRows32`, or Math.min / Math.max); null: none. */
  clamp: [number, number] | null;
  /** out = silu(out), on the product block before the copy out (the wasm `siluFwd32`; only set for float32 wasm jobs). */
  silu: boolean;
  /**
   * The output tensor itself (dense (N, F, outH, outW), of the job's type), written by the
   * tasks straight from their product blocks — when it is shared with the workers or the job
   * runs on one thread; null: the tasks write out_n into the arena at oOff.
   */
  out: FloatArray | null;
  /** Sample index in `out` of the chunk's first sample. */
  outN0: number;
  /**
   * The input tensor itself (dense (N, C, H, W), sample outN0 first), read by the tasks
   * straight into their unfolded blocks — set only for pointwise convolutions whose blocks are
   * whole samples, one a block (ldB = P), when it is shared with the workers or the job runs on
   * one thread; the chunk's samples are then not copied into the arena at all. Null: they are.
   */
  xIn: FloatArray | null;
}

/**
 * One chunk of samples of a fused convolution backward (see ../convFused.ts). Per sample n
 * (chunk-relative) and channel group g:
 *   dout_n   at dOff  + n·F·ldP               (F rows of P)
 *   Wᵀ_g     at wtOff + g·Kp·Fg               (Kp rows of Fg, in panels as W̃_g; rows ≥ K are zero)
 *   dW part  at pOff  + (n·groups + g)·Fgp·Kp (Fgp rows of Kp; column K holds Σ_p dout = db)
 *   dx_n     at dxOff + n·C·H·W
 * Thread scratch: a block's unfolded input (rowsPerBlock·outW rows of Kp; column K all ones)
 * then its unfolded gradient (Kp rows of ldB).
 */
export interface ConvBwdJob extends ConvJobBase {
  kind: 'convBwd';
  dOff: number;
  wtOff: number;
  pOff: number;
  dxOff: number;
  /** Weight gradient only: dx_n is neither zeroed nor computed (steps 3 and 4 are skipped). */
  noDx: boolean;
  /**
   * Pointwise convolutions whose samples are one block each: step 1 writes the patches of
   * sample n, group g to patchOff + (n·groups + g)·P·Kp (P rows of Kp, column K all ones,
   * columns past it zero) and step 2 is left to one product over the whole chunk afterwards
   * (dW_g (+)= Σ_n dout_n,g · patches_n,g, the samples as k-slices: ../convFused.ts), so no
   * per-sample dW parts are written and summed. pOff is unused then.
   */
  batchDw: boolean;
  patchOff: number;
  /**
   * The dx tensor itself (dense (N, C, H, W)), into which each task copies its sample's group
   * channels once they are whole — when it is shared with the workers or the job runs on one
   * thread; null: dx_n stays in the arena at dxOff for the caller.
   */
  dxOut: FloatArray | null;
  /** Sample index in `dxOut` of the chunk's first sample. */
  dxN0: number;
}

/** Tasks of a job: one per (block of samplesPerBlock samples, group). */
export function convJobTasks(job: ConvJobBase): number {
  return Math.ceil(job.samples / job.samplesPerBlock) * job.groups;
}

/**
 * Runs (sample, group) tasks of a fused convolution job until none are left; every thread
 * (main and workers) calls it with its own wasm loops for the job's type (`block`, `blockS`,
 * `rows`; null for the JS kernel, whose loops give the same bits — float32 FMA jobs aside).
 * A task goes over its sample in blocks of output rows (see rowsPerBlock); per block:
 *
 * forward ({@link ConvFwdJob})
 *   1. unfolds x_n's group channels into Kp rows of the block's positions (row K all ones),
 *   2. multiplies W̃_g (the filters, bias in column K) by them,
 *   3. copies the Fg output rows into out_n;
 * backward ({@link ConvBwdJob}), after zeroing dx_n's group channels
 *   1. unfolds x_n's group channels into the block's positions as rows of Kp (column K all ones),
 *   2. dW part (+)= dout_n,g[:, block] (Fg × Pb) · patches — its column K is the task's db,
 *      blocks added in order,
 *   3. dcols = Wᵀ_g (Kp × Fg) · dout_n,g[:, block] (Kp × Pb),
 *   4. folds dcols back onto dx_n (overlapping windows add up).
 * The products go through `gemmFn` (the GEMM task runner) on strided operands in place, so
 * the tile and its rounding are the matmul's.
 *
 * Shipped to the workers as source text like gemmBlock, so it is self-contained: no imports,
 * no module constants, no inner functions. Each output element is written by one task and
 * the dW parts are per task, so the result does not depend on which thread ran what.
 */
export function convTasks(
  job: ConvFwdJob | ConvBwdJob, F: FloatArray, block: BlockFn | null, blockS: BlockSFn | null, rows: RowsFn | null, gemmFn: typeof gemmBlock,
  ex?: Record<string, unknown> | null,
): void {
  const ctl = job.ctl;
  const fwd = job.kind === 'convFwd';
  const { C, H, W, fh, fw, stride, pad, outH, outW, groups, Cg, Fg, Kp, Fgp, ldP, ldB } = job;
  const eb = job.f32 ? 4 : 8;
  const P = outH * outW;
  const fk = fh * fw;
  const K = Cg * fk;
  const plane = H * W;
  const R = job.rowsPerBlock;
  const S = job.samplesPerBlock;
  const pointwise = fh === 1 && fw === 1 && stride === 1 && pad === 0;
  const PbMax = S * Math.min(outH, R) * outW;
  const nTasks = Math.ceil(job.samples / S) * groups;
  // Scratch: forward, the unfolded block (Kp × ldB) then the product (Fgp × ldB); backward,
  // the patches (PbMax × Kp) then dcols (Kp × ldB).
  const colsOff = job.sOff + Atomics.add(ctl, 7, 1) * job.sLen;
  const secondOff = colsOff + (fwd ? Kp * ldB : PbMax * Kp);
  // Unfolded layout: entry (r, q) (q = a position within the block) at colsOff + r·rStep + q·pStep.
  const rStep = fwd ? ldB : 1;
  const pStep = fwd ? 1 : Kp;
  /**
   * Per unfolded row r = c·fk + ki·fw + kj, the output positions whose input lies inside the
   * image, rows [oh0, oh1) x columns [ow0, ow1) (oh1 = oh0 when there are none), as: the
   * input offset of position (0, ow0) within the sample's channels, oh0, oh1, ow0, ow1.
   */
  let runs: Int32Array | null = null;
  const worker = job.worker === true;
  for (;;) {
    const t = Atomics.add(ctl, 0, 1);
    if (t >= nTasks) break;
    const nb = (t / groups) | 0;
    const g = t - nb * groups;
    // Samples [n, n + ns) of the chunk (one in backward, where S = 1).
    const n = nb * S;
    const ns = Math.min(S, job.samples - n);
    const nLast = n + ns - 1;
    gemmFn.awaitUnits(ctl, nLast + 1);
    if (runs === null) {
      // Once per job, and only once this thread holds a task (a worker that picks up a
      // finished job must not write into the arena): the runs, and the unfolded entries that
      // are the same for every block (zero rows / columns past K, the all-ones row / column K).
      runs = new Int32Array(5 * K);
      for (let r = 0; r < K; r++) {
        const c = (r / fk) | 0;
        const ki = ((r - c * fk) / fw) | 0;
        const kj = r - c * fk - ki * fw;
        const oh0 = Math.max(0, Math.ceil((pad - ki) / stride));
        const oh1 = Math.min(outH, Math.floor((H - 1 + pad - ki) / stride) + 1);
        const ow0 = Math.max(0, Math.ceil((pad - kj) / stride));
        const ow1 = Math.min(outW, Math.floor((W - 1 + pad - kj) / stride) + 1);
        const empty = oh1 <= oh0 || ow1 <= ow0;
        runs[5 * r] = c * plane + (ki - pad) * W + (kj - pad) + ow0 * stride;
        runs[5 * r + 1] = oh0;
        runs[5 * r + 2] = empty ? oh0 : oh1;
        runs[5 * r + 3] = ow0;
        runs[5 * r + 4] = ow1;
      }
      F.fill(0, colsOff, secondOff);
      for (let q = 0, e = colsOff + K * rStep; q < PbMax; q++, e += pStep) F[e] = 1;
    }
    const fj = job as ConvFwdJob;
    const bj = job as ConvBwdJob;
    const dBase = fwd ? 0 : bj.dOff + (n * job.F + g * Fg) * ldP;
    const dxBase = fwd ? 0 : bj.dxOff + (n * C + g * Cg) * plane;
    const wantDx = !fwd && !bj.noDx;
    const pwRows = pointwise && rows !== null;
    // Where this task's unfolded block goes: the thread's scratch, or (batchDw) the sample's patches.
    const batchDw = !fwd && bj.batchDw;
    const uOff = batchDw ? bj.patchOff + (n * groups + g) * P * Kp : colsOff;
    if (batchDw) {
      // The patches' column K (ones: dW's column K is db) and the zero columns after it.
      for (let q = 0, e = uOff + K; q < P; q++, e += Kp) {
        F[e] = 1;
        for (let c = 1; c < Kp - K; c++) F[e + c] = 0;
      }
    }
    // A pointwise fold writes every dx element once (below): nothing to add onto.
    if (wantDx && !pointwise) F.fill(0, dxBase, dxBase + Cg * plane);

    for (let ohA = 0; ohA < outH; ohA += R) {
      const ohB = Math.min(outH, ohA + R);
      // One sample's positions in the block, and the block's (ns samples side by side).
      const Pb1 = (ohB - ohA) * outW;
      const Pb = ns * Pb1;
      const p0 = ohA * outW;
      // Unfold: entry (r, q) = x[c, oh·stride − pad + ki, ow·stride − pad + kj] for position
      // q = i·Pb1 + (oh − ohA)·outW + ow of the block's sample i, r = c·fk + ki·fw + kj; zero
      // where the window is in the padding.
      for (let i = 0; i < ns; i++) {
        const xBase = job.xOff + ((n + i) * C + g * Cg) * plane;
        if (fwd && fj.xIn !== null) {
          // A whole sample, its channel rows as dense in x as in the block (see xIn): one copy.
          const at = ((fj.outN0 + n) * C + g * Cg) * plane;
          F.set(fj.xIn.subarray(at, at + Cg * plane), colsOff);
          continue;
        }
        if (pwRows) {
          // A 1×1 stride-1 unpadded block is the sample's Cg channel rows as they are (forward),
          // or their transpose, one position a row (backward): one strided copy, not a call per channel.
          if (fwd) rows((colsOff + i * Pb1) * eb, (xBase + p0) * eb, Pb1, Cg, eb, eb, ldB * eb, plane * eb, 0);
          else rows(uOff * eb, (xBase + p0) * eb, Cg, Pb1, eb, plane * eb, Kp * eb, eb, 0);
          continue;
        }
        for (let r = 0; r < K; r++) {
          const ohS = Math.max(runs[5 * r + 1], ohA);
          const ohE = Math.min(runs[5 * r + 2], ohB);
          const ow0 = runs[5 * r + 3];
          const ow1 = runs[5 * r + 4];
          const rowBase = uOff + r * rStep + i * Pb1 * pStep;
          // Padding entries: block rows outside the run, where another block may have left
          // data (top and bottom blocks differ from the middle ones), are zeroed every time.
          // Columns outside [ow0, ow1) are the same for every block and never written: they
          // keep the zeros of the job's first fill.
          for (let oh = ohA; oh < ohB; oh++) {
            if (oh >= ohS && oh < ohE) continue;
            for (let ow = 0, e = rowBase + (oh - ohA) * outW * pStep; ow < outW; ow++, e += pStep) F[e] = 0;
          }
          if (ohE <= ohS) continue;
          const len = ow1 - ow0;
          const count = ohE - ohS;
          const src = xBase + runs[5 * r] + ohS * stride * W;
          const dst = rowBase + ((ohS - ohA) * outW + ow0) * pStep;
          if (rows !== null) {
            rows(dst * eb, src * eb, len, count, pStep * eb, stride * eb, outW * pStep * eb, stride * W * eb, 0);
            continue;
          }
          for (let h = 0, d0 = dst, s0 = src; h < count; h++, d0 += outW * pStep, s0 += stride * W) {
            for (let j = 0, d = d0, s = s0; j < len; j++, d += pStep, s += stride) F[d] = F[s];
          }
        }
      }

      if (fwd) {
        // Product (Fgp × ldB) = W̃_g · unfolded block; columns past Pb are never read.
        gemmFn({
          aOff: fj.wbOff + g * Fgp * Kp, ars: 1, acs: 4, aSlice: 0, aPanelK: 0, aPanel0: 4 * Kp,
          bOff: colsOff, brs: ldB, bSlice: 0, bPanelK: 0, bPanel0: 4,
          packed: false, slices: 1, kc: Kp, kcLast: Kp,
          cOff: secondOff, cStep: 0, ldc: ldB, mp: Fgp >> 2, np: (Pb + 3) >> 2, mcP: Fgp >> 2, ncP: (Pb + 3) >> 2,
          split: false, acc: false, stream: 0, unit: 1, colMajor: false,
          wasm: job.wasm, f32: job.f32, fma: job.fma, buf: job.buf, ctl: null,
        }, F, block, blockS);
        const cl = fj.clamp;
        // SiLU over the whole product block at once: ldB is a multiple of 4, so siluFwd32's ⌈n/4⌉·4 stays inside it.
        if (fj.silu) (ex!.siluFwd32 as (...a: number[]) => void)(secondOff * 4, secondOff * 4, Fg * ldB);
        // The clamp in place on the product block (still in cache), then the rows copied out.
        if (cl !== null && job.f32 && ex && ex.clampRows32) (ex.clampRows32 as (...a: number[]) => void)(secondOff * 4, secondOff * 4, Pb, Fg, ldB * 4, ldB * 4, cl[0], cl[1]);
        else if (cl !== null) {
          for (let f = 0; f < Fg; f++) {
            for (let q = secondOff + f * ldB, e = q + Pb; q < e; q++) F[q] = Math.min(Math.max(F[q], cl[0]), cl[1]);
          }
        }
        const dst = fj.out;
        for (let i = 0; i < ns; i++) {
          const src = secondOff + i * Pb1;
          if (dst !== null) {
            // Straight into the output tensor: no arena region, no serial copy after the job.
            const oBase = ((fj.outN0 + n + i) * job.F + g * Fg) * P + p0;
            if (ldB === P && Pb1 === P) {
              // The whole sample's rows, as dense in the product as in the output: one copy (a
              // set a row was a third of an 8×8 pointwise forward).
              dst.set(F.subarray(src, src + Fg * P), oBase);
              continue;
            }
            for (let f = 0; f < Fg; f++) {
              const o = oBase + f * P;
              const r = src + f * ldB;
              // A typed-array set costs more than a loop over a short row (small maps).
              if (Pb1 >= 64) dst.set(F.subarray(r, r + Pb1), o);
              else for (let q = 0; q < Pb1; q++) dst[o + q] = F[r + q];
            }
            continue;
          }
          const oBase = fj.oOff + ((n + i) * job.F + g * Fg) * P + p0;
          if (ns > 1 && rows !== null) {
            // Short rows (a small map) one call for all Fg of them, not a copyWithin each.
            rows(oBase * eb, src * eb, Pb1, Fg, eb, eb, P * eb, ldB * eb, 0);
          } else {
            for (let f = 0; f < Fg; f++) F.copyWithin(oBase + f * P, src + f * ldB, src + f * ldB + Pb1);
          }
        }
        continue;
      }
      // dW part (Fgp × Kp) (+)= dout_n,g[:, block] · patches; rows past Fg read the next rows (ignored).
      if (!batchDw) gemmFn({
        aOff: dBase + p0, ars: ldP, acs: 1, aSlice: 0, aPanelK: 0, aPanel0: 4 * ldP,
        bOff: colsOff, brs: Kp, bSlice: 0, bPanelK: 0, bPanel0: 4,
        packed: false, slices: 1, kc: Pb, kcLast: Pb,
        cOff: bj.pOff + t * Fgp * Kp, cStep: 0, ldc: Kp, mp: Fgp >> 2, np: Kp >> 2, mcP: Fgp >> 2, ncP: Kp >> 2,
        split: false, acc: ohA > 0, stream: 0, unit: 1, colMajor: false,
        wasm: job.wasm, f32: job.f32, fma: job.fma, buf: job.buf, ctl: null,
      }, F, block, blockS);
      if (!wantDx) continue;
      // dcols (Kp × ldB) = Wᵀ_g · dout_n,g[:, block]; columns past Pb are never read.
      gemmFn({
        aOff: bj.wtOff + g * Kp * Fg, ars: 1, acs: 4, aSlice: 0, aPanelK: 0, aPanel0: 4 * Fg,
        bOff: dBase + p0, brs: ldP, bSlice: 0, bPanelK: 0, bPanel0: 4,
        packed: false, slices: 1, kc: Fg, kcLast: Fg,
        cOff: secondOff, cStep: 0, ldc: ldB, mp: Kp >> 2, np: (Pb + 3) >> 2, mcP: Kp >> 2, ncP: (Pb + 3) >> 2,
        split: false, acc: false, stream: 0, unit: 1, colMajor: false,
        wasm: job.wasm, f32: job.f32, fma: job.fma, buf: job.buf, ctl: null,
      }, F, block, blockS);
      if (pointwise) {
        // The block's dcols rows are dx's, position for position (the tiles never give −0, so
        // a copy has the bits of an add onto zeros).
        if (rows !== null) rows((dxBase + p0) * eb, secondOff * eb, Pb1, Cg, eb, eb, plane * eb, ldB * eb, 0);
        else for (let c = 0; c < Cg; c++) F.copyWithin(dxBase + c * plane + p0, secondOff + c * ldB, secondOff + c * ldB + Pb1);
        continue;
      }
      // Fold: the adjoint of the unfold, from dcols (k-major) onto dx_n's group channels.
      for (let r = 0; r < K; r++) {
        const ohS = Math.max(runs[5 * r + 1], ohA);
        const ohE = Math.min(runs[5 * r + 2], ohB);
        if (ohE <= ohS) continue;
        const ow0 = runs[5 * r + 3];
        const len = runs[5 * r + 4] - ow0;
        const count = ohE - ohS;
        const dst = dxBase + runs[5 * r] + ohS * stride * W;
        const src = secondOff + r * ldB + (ohS - ohA) * outW + ow0;
        if (rows !== null) {
          rows(dst * eb, src * eb, len, count, stride * eb, eb, stride * W * eb, outW * eb, 1);
          continue;
        }
        for (let i = 0, d0 = dst, s0 = src; i < count; i++, d0 += stride * W, s0 += outW) {
          for (let j = 0, d = d0, s = s0; j < len; j++, d += stride, s++) F[d] += F[s];
        }
      }
    }

    // This task's dx channels are whole now: straight into the tensor when the job has it.
    if (wantDx && bj.dxOut !== null) bj.dxOut.set(F.subarray(dxBase, dxBase + Cg * plane), ((bj.dxN0 + n) * C + g * Cg) * plane);

    if (worker) Atomics.add(ctl, 3, 1);
    Atomics.add(ctl, 1, 1);
    if (Atomics.load(ctl, 6) !== 0) Atomics.notify(ctl, 1);
  }
}
