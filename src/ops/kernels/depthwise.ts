import { allocFloat, allocFloatUninit, type FloatArray } from '../../core/dtype';
import { isShared, recycleFloat } from '../../core/bufferPool';
import { getArena, wasmAvailable, type Arena } from '../../core/gemm/arena';
import { gemmKernel, THREAD_MIN_WORK } from '../../core/gemm/gemm';
import { registerWorkerKernel, threadCount, tryThreaded, workersUsable, type WorkerJob } from '../../core/gemm/workers';
import type { ConvProblem } from './convProblem';

/*
 * Depthwise convolution (groups = C = F: one k×k filter per channel) computed directly, one
 * (sample, channel) plane at a time. WHY not the GEMM path: a depthwise filter is a 1×9 or
 * 1×25 row, so im2col + GEMM would unfold the whole plane 9–25× to multiply it by one row —
 * all traffic, no reuse. Here each plane stays in L1/L2 and nothing is unfolded.
 *
 * Float64 — forward: each output element is one sum in double — bias, then the taps in
 * (ki, kj) order, the reference direct kernel's order — stored once, so results are
 * bit-identical to it. Backward: per plane, dx accumulates tap by tap in (ki, kj, oh, ow)
 * order; dW and db of each (sample, channel) are summed in double into a partial, and the
 * partials are added over samples in order.
 * Float32 — the planes run in WebAssembly f32x4 lanes (core/gemm/wasmDepthwise.ts: `dw32`
 * for the output and for dx as a correlation of dout with the flipped filter, `dwGrad32` for
 * dW), with float32 products and sums as PyTorch's; JS replicas with Math.fround give the same
 * bits where wasm is missing (except dx at stride 2, which JS scatters tap by tap). db, and the
 * sum of the per-sample dW partials, stay in double.
 * Planes are independent, so they can be split over threads in any way and the bits stay
 * those of one thread.
 *
 * WHY threads through the arena: workers can only see shared memory, and tensors are ordinary
 * arrays, so a threaded call copies its chunk of samples (and the filters) into the GEMM
 * arena, lets every thread take (sample, channel block) tasks from a shared counter, and
 * copies the result out. One copy in and out is a small part of nine or 25 multiply-adds per
 * element. On one thread the same task loop runs on the tensors themselves, without copies —
 * except float32 with wasm, which must go through the arena (the wasm memory) anyway.
 */

/** True when `p` is a depthwise convolution this kernel computes. */
export function isDepthwise(p: ConvProblem): boolean {
  return p.groups === p.C && p.F === p.C;
}

/**
 * One depthwise pass over `samples` samples. Offsets count elements of the job's type in
 * `F` — or in the arrays X, Wt, B, O, DX given on the main thread instead of the arena —
 * except `pOff`, which counts float64 elements (per (sample, channel): its K dW partials, then
 * its db partial).
 */
export interface DepthwiseJob extends WorkerJob {
  kind: 'depthwise';
  fwd: boolean;
  C: number; H: number; W: number; kh: number; kw: number;
  stride: number; pad: number; dilation: number; outH: number; outW: number;
  samples: number;
  /** Channels per task. */
  cb: number;
  xOff: number;
  wOff: number;
  /** Bias (forward), or -1. */
  bOff: number;
  /** Output (forward) or dout (backward). */
  oOff: number;
  dxOff: number;
  pOff: number;
  /**
   * Float32 jobs over the arena with the wasm planes (see below): the filters flipped (for
   * the stride-1 dx), the tap table of dwGrad32 (five int32 per tap) and per-(sample,
   * channel) float32 dW results, as float32-element offsets; -1 when absent.
   */
  wfOff: number;
  tOff: number;
  gOff: number;
  /** Stride 2 with the wasm planes: per-(sample, channel) dout spread onto the input grid (see dxStride2). */
  dgOff: number;
  /**
   * Small planes with the wasm planes: per-thread zero-padded copies of one plane (padLen
   * floats each, slot from ctl[7]), so every output column is an interior one (see padPlanes);
   * −1 when unused.
   */
  padOff: number;
  padLen: number;
  /** 3×3 / 5×5 at dilation 1 with the wasm planes: the unrolled functions of wasmDepthwiseK.ts (padLen a multiple of 4). */
  unrolled: boolean;
  /** Forward with the unrolled planes: conv2d's inference clamp [lo, hi], applied per task (clampRows32); else null. */
  clamp: [number, number] | null;
  /** Forward with the unrolled planes: conv2d's inference SiLU, per task (siluFwd32; planes of P a multiple of 4). */
  silu: boolean;
  X?: FloatArray; Wt?: FloatArray; B?: FloatArray | null; O?: FloatArray; DX?: FloatArray; P64?: Float64Array;
  /**
   * Unrolled arena jobs: the tensors themselves (shared with the workers, or the job on one
   * thread), each task copying its block of channels in (x; dout in backward) and its results
   * out (out; dx) — else null, and the caller copies whole chunks. `n0`: the chunk's first sample.
   */
  inX: FloatArray | null;
  inD: FloatArray | null;
  outT: FloatArray | null;
  n0: number;
}

/**
 * Runs tasks of a {@link DepthwiseJob} until none are left (all of them when `ctl` is null).
 * Shipped to the workers as source (see TaskRunner in core/gemm/workers.ts): self-contained.
 */
export function depthwiseTasks(
  job: DepthwiseJob, F: FloatArray, _b?: unknown, _bS?: unknown, _r?: unknown, _g?: unknown, ex?: Record<string, unknown> | null,
): void {
  const ctl = job.ctl;
  const worker = job.worker === true;
  const X = job.X || F;
  const Wt = job.Wt || F;
  const O = job.O || F;
  const DX = job.DX || F;
  // Partials only in backward (a forward F may be a float32 tensor of odd length).
  const P64 = job.P64 || (job.fwd ? new Float64Array(0) : new Float64Array(F.buffer));
  const hasB = job.B ? true : job.bOff >= 0;
  const B = job.B || F;
  const { C, H, W, kh, kw, stride, pad, dilation, outH, outW, cb } = job;
  const HW = H * W;
  const P = outH * outW;
  const K = kh * kw;
  const cBlocks = Math.ceil(C / cb);
  const nTasks = job.samples * cBlocks;
  const rowOff = new Int32Array(kh);
  const rowW = new Float64Array(K);
  const k3 = kw === 3 && dilation === 1;
  // Output columns whose taps all fall inside the row: no bounds checks there.
  const inLo = Math.max(0, Math.ceil(pad / stride));
  const inHi = Math.max(inLo, Math.min(outW, Math.floor((W - 1 + pad - (kw - 1) * dilation) / stride) + 1));
  const f32 = job.f32;
  // The wasm planes (float32, arena jobs, strides 1 and 2); else their exact scalar replicas.
  const dw32 = f32 && ex && !job.X && stride <= 2 ? (ex.dw32 as (...a: number[]) => void) : null;
  const dwGrad32 = f32 && ex && !job.X && stride <= 2 && job.tOff >= 0 ? (ex.dwGrad32 as (...a: number[]) => void) : null;
  const fr = Math.fround;
  // dx of a stride-1 square filter is a stride-1 correlation of dout with the flipped filter.
  // At stride 2 it is the same correlation of dout spread onto a grid twice as fine (zeros
  // between): 4× the taps, but in wasm lanes rather than a scalar scatter (dxStride2).
  const dxStride2 = f32 && stride === 2 && kh === kw && dw32 !== null && job.dgOff >= 0;
  const convDx = f32 && kh === kw && (stride === 1 || dxStride2);
  const padT = (kh - 1) * dilation - pad;
  const Hd = stride === 2 ? H + 2 * pad - (kh - 1) * dilation : outH;
  const Wd = stride === 2 ? W + 2 * pad - (kw - 1) * dilation : outW;
  const tLo = Math.max(0, padT);
  const tHi = Math.max(tLo, Math.min(W, Wd + padT - (kw - 1) * dilation));
  // Small planes: a plane copied into a zero-padded scratch, so dw32 runs every output column
  // as an interior one (four at a time) instead of checking taps column by column — at 4×4 and
  // 8×8 most columns are boundary ones. Forward: x padded by `pad`; stride-1 dx: dout by padT.
  const rows32 = dw32 !== null && job.padOff >= 0 ? (ex!.rows32 as (...a: number[]) => void) : null;
  // 3×3 and 5×5 at dilation 1: the unrolled multi-plane functions (wasmDepthwiseK.ts), a
  // block of channels per call on this thread's padded scratch planes (two in backward).
  const unrolled = job.unrolled && dw32 !== null && job.padOff >= 0;
  const kf = unrolled ? (ex![`dw${kh}f32`] as (...a: number[]) => void) : null;
  const kg = unrolled ? (ex![`dw${kh}g32`] as (...a: number[]) => void) : null;
  const Ws = W + kw - 1;
  // unrolledPlanes(p), inline (this function ships to the workers as source): the dW lane order of the unrolled planes.
  const unrolledShape = kh === kw && (kh === 3 || kh === 5) && dilation === 1 && stride <= 2 && pad <= kh - 1;
  const Hp = H + 2 * pad;
  const Wp = W + 2 * pad;
  const Hq = outH + 2 * padT;
  const Wq = outW + 2 * padT;
  let padBase = -1;

  /**
   * dw32's arithmetic in JS (without wasm, or for tensors outside the arena): output
   * columns [c0, c1) of a plane, bias then + x·w over the taps inside the image in (ki, kj)
   * order, each product and sum rounded to float32. `flip` reads the filter rotated 180°.
   */
  function planeF32(
    Xs: FloatArray, xo: number, Ws: FloatArray, wo: number, Os: FloatArray, oo: number,
    h: number, w: number, oh1: number, ow1: number, c0: number, c1: number, s: number, pd: number, flip: boolean, bias: number,
  ): void {
    for (let oh = 0; oh < oh1; oh++) {
      for (let ow = c0; ow < c1; ow++) {
        let acc = fr(bias);
        for (let ki = 0; ki < kh; ki++) {
          const ih = oh * s - pd + ki * dilation;
          if (ih < 0 || ih >= h) continue;
          for (let kj = 0; kj < kw; kj++) {
            const iw = ow * s - pd + kj * dilation;
            if (iw < 0 || iw >= w) continue;
            const wk = flip ? wo + (kh - 1 - ki) * kw + (kw - 1 - kj) : wo + ki * kw + kj;
            acc = fr(acc + fr(Xs[xo + ih * w + iw] * Ws[wk]));
          }
        }
        Os[oo + oh * ow1 + ow] = acc;
      }
    }
  }

  /** First output index along an axis whose tap at offset `kd` lands inside the input. */
  function tapLo(kd: number): number {
    return Math.max(0, Math.ceil((pad - kd) / stride));
  }
  /** End of the outputs (of `outN`) whose tap at offset `kd` lands inside an input of `size`. */
  function tapHi(kd: number, size: number, outN: number): number {
    return Math.max(tapLo(kd), Math.min(outN, Math.floor((size - 1 + pad - kd) / stride) + 1));
  }

  /** dwGrad32's arithmetic in JS: the K tap sums of one plane into P64[po…], same lanes and order. */
  function gradF32(xo: number, oo: number, po: number): void {
    for (let ki = 0; ki < kh; ki++) {
      const kd = ki * dilation;
      const ohLo = tapLo(kd);
      const ohHi = tapHi(kd, H, outH);
      for (let kj = 0; kj < kw; kj++) {
        const jd = kj * dilation;
        const owLo = tapLo(jd);
        const owHi = tapHi(jd, W, outW);
        let l0 = 0, l1 = 0, l2 = 0, l3 = 0, sc = 0;
        if (unrolledShape) {
          // dw{k}g32's lanes: lane j takes the columns ≡ j (mod 4).
          const l = [0, 0, 0, 0];
          for (let oh = ohLo; oh < ohHi; oh++) {
            const g = oo + oh * outW;
            const x = xo + (oh * stride - pad + kd) * W - pad + jd;
            for (let ow = owLo; ow < owHi; ow++) l[ow & 3] = fr(l[ow & 3] + fr(O[g + ow] * X[x + ow * stride]));
          }
          P64[po + ki * kw + kj] = fr(fr(l[0] + l[1]) + fr(l[2] + l[3]));
          continue;
        }
        for (let oh = ohLo; oh < ohHi; oh++) {
          const g = oo + oh * outW;
          const x = xo + (oh * stride - pad + kd) * W - pad + jd;
          let ow = owLo;
          for (; ow + 4 <= owHi; ow += 4) {
            l0 = fr(l0 + fr(O[g + ow] * X[x + ow * stride]));
            l1 = fr(l1 + fr(O[g + ow + 1] * X[x + (ow + 1) * stride]));
            l2 = fr(l2 + fr(O[g + ow + 2] * X[x + (ow + 2) * stride]));
            l3 = fr(l3 + fr(O[g + ow + 3] * X[x + (ow + 3) * stride]));
          }
          for (; ow < owHi; ow++) sc = fr(sc + fr(O[g + ow] * X[x + ow * stride]));
        }
        P64[po + ki * kw + kj] = fr(fr(fr(l0 + l1) + fr(l2 + l3)) + sc);
      }
    }
  }

  // This thread's padded-plane slot, zeroed once: only the interior is written afterwards.
  function claimPad(): number {
    const slot = ctl === null ? 0 : Atomics.add(ctl, 7, 1);
    // The unrolled backward takes two planes (x for dW, spread dout for dx); they zero themselves.
    const at = job.padOff + slot * job.padLen * (job.unrolled && !job.fwd ? 2 : 1);
    if (!job.unrolled) F.fill(0, at, at + job.padLen);
    return at;
  }

  let next = 0;
  for (;;) {
    const t = ctl === null ? next++ : Atomics.add(ctl, 0, 1);
    if (t >= nTasks) break;
    const n = Math.floor(t / cBlocks);
    const c0 = (t % cBlocks) * cb;
    const c1 = Math.min(C, c0 + cb);
    // Direct jobs: this block's channels in from the tensors (x; dout in backward), and out after.
    const np = c1 - c0;
    const tx = ((job.n0 + n) * C + c0) * HW;
    const to = ((job.n0 + n) * C + c0) * P;
    if (job.inX !== null) F.set(job.inX.subarray(tx, tx + np * HW), job.xOff + (n * C + c0) * HW);
    if (job.inD !== null) F.set(job.inD.subarray(to, to + np * P), job.oOff + (n * C + c0) * P);
    if (kf !== null && kg !== null) {
      if (padBase < 0) padBase = claimPad();
      const xo = job.xOff + (n * C + c0) * HW;
      const oo = job.oOff + (n * C + c0) * P;
      if (job.fwd) {
        kf(4 * xo, 4 * (job.wOff + c0 * K), hasB ? 4 * (job.bOff + c0) : 0, 4 * oo, np, H, W, outH, outW, stride, 1, pad,
          4 * padBase, 4 * (W + 2 * pad), 4 * job.padLen, 4 * HW, 4 * P, hasB ? 1 : 0);
        // The block's planes are still in cache: the clamp costs no extra pass over memory.
        if (job.clamp !== null) (ex!.clampRows32 as (...a: number[]) => void)(4 * oo, 4 * oo, np * P, 1, 0, 0, job.clamp[0], job.clamp[1]);
        if (job.silu) (ex!.siluFwd32 as (...a: number[]) => void)(4 * oo, 4 * oo, np * P);
      } else {
        const dxo = job.dxOff + (n * C + c0) * HW;
        // dx: dout spread by the stride, padded by k − 1 − pad, correlated with the turned filters.
        kf(4 * oo, 4 * (job.wfOff + c0 * K), 0, 4 * dxo, np, outH, outW, H, W, 1, stride, kh - 1 - pad,
          4 * (padBase + job.padLen), 4 * Ws, 4 * job.padLen, 4 * P, 4 * HW, 0);
        // dW and db straight into the float64 partials of (n, c0…c1): K + 1 per plane.
        kg(4 * xo, 4 * oo, 8 * (job.pOff + (n * C + c0) * (K + 1)), np, H, W, outH, outW, stride, pad, 4 * padBase, 4 * (W + 2 * pad), 4 * job.padLen, 4 * HW, 4 * P);
      }
    } else for (let c = c0; c < c1; c++) {
      const xo = job.xOff + (n * C + c) * HW;
      const oo = job.oOff + (n * C + c) * P;
      const wo = job.wOff + c * K;
      if (job.fwd && f32) {
        const bias = hasB ? B[job.bOff + c] : 0;
        if (rows32 !== null) {
          if (padBase < 0) padBase = claimPad();
          rows32(4 * (padBase + pad * Wp + pad), 4 * xo, W, H, 4, 4, 4 * Wp, 4 * W, 0);
          (dw32 as (...a: number[]) => void)(4 * padBase, 4 * wo, 4 * oo, Hp, Wp, outH, outW, 0, outW, kh, kw, stride, 0, dilation, bias);
        } else if (dw32 !== null) {
          dw32(4 * xo, 4 * wo, 4 * oo, H, W, outH, outW, inLo, inHi, kh, kw, stride, pad, dilation, bias);
        } else {
          planeF32(X, xo, Wt, wo, O, oo, H, W, outH, outW, 0, outW, stride, pad, false, bias);
        }
      } else if (job.fwd) {
        const bias = hasB ? B[job.bOff + c] : 0;
        for (let oh = 0; oh < outH; oh++) {
          // The kernel rows that fall inside the image for this output row, with their weights.
          let rows = 0;
          for (let ki = 0; ki < kh; ki++) {
            const ih = oh * stride - pad + ki * dilation;
            if (ih < 0 || ih >= H) continue;
            rowOff[rows] = xo + ih * W - pad;
            for (let kj = 0; kj < kw; kj++) rowW[rows * kw + kj] = Wt[wo + ki * kw + kj];
            rows++;
          }
          const dst = oo + oh * outW;
          const fast = k3 && rows === 3;
          if (fast) {
            // Interior of the 3×3 case: nine taps in registers, the reference's order of additions.
            const w0 = rowW[0], w1 = rowW[1], w2 = rowW[2], w3 = rowW[3], w4 = rowW[4], w5 = rowW[5], w6 = rowW[6], w7 = rowW[7], w8 = rowW[8];
            const r0 = rowOff[0], r1 = rowOff[1], r2 = rowOff[2];
            for (let ow = inLo; ow < inHi; ow++) {
              const x0 = ow * stride;
              let s = bias;
              s += X[r0 + x0] * w0;
              s += X[r0 + x0 + 1] * w1;
              s += X[r0 + x0 + 2] * w2;
              s += X[r1 + x0] * w3;
              s += X[r1 + x0 + 1] * w4;
              s += X[r1 + x0 + 2] * w5;
              s += X[r2 + x0] * w6;
              s += X[r2 + x0 + 1] * w7;
              s += X[r2 + x0 + 2] * w8;
              O[dst + ow] = s;
            }
          }
          for (let ow = 0; ow < outW; ow++) {
            if (fast && ow >= inLo && ow < inHi) {
              ow = inHi - 1;
              continue;
            }
            const x0 = ow * stride;
            let s = bias;
            if (ow >= inLo && ow < inHi) {
              for (let r = 0; r < rows; r++) {
                const base = rowOff[r] + x0;
                const wr = r * kw;
                for (let kj = 0; kj < kw; kj++) s += X[base + kj * dilation] * rowW[wr + kj];
              }
            } else {
              for (let r = 0; r < rows; r++) {
                const base = rowOff[r] + x0;
                const wr = r * kw;
                for (let kj = 0; kj < kw; kj++) {
                  const iw = x0 - pad + kj * dilation;
                  if (iw >= 0 && iw < W) s += X[base + kj * dilation] * rowW[wr + kj];
                }
              }
            }
            O[dst + ow] = s;
          }
        }
      } else {
        const dxo = job.dxOff + (n * C + c) * HW;
        const po = job.pOff + (n * C + c) * (K + 1);
        let sb = 0;
        for (let i = oo; i < oo + P; i++) sb += O[i];
        P64[po + K] = sb;
        if (convDx) {
          if (dxStride2) {
            const d0 = job.dgOff + (n * C + c) * Hd * Wd;
            F.fill(0, d0, d0 + Hd * Wd);
            for (let i = 0; i < outH; i++) for (let j = 0; j < outW; j++) F[d0 + 2 * i * Wd + 2 * j] = O[oo + i * outW + j];
            (dw32 as (...a: number[]) => void)(4 * d0, 4 * (job.wfOff + c * K), 4 * dxo, Hd, Wd, H, W, tLo, tHi, kh, kw, 1, padT, dilation, 0);
          } else if (rows32 !== null && padT >= 0) {
            if (padBase < 0) padBase = claimPad();
            rows32(4 * (padBase + padT * Wq + padT), 4 * oo, outW, outH, 4, 4, 4 * Wq, 4 * outW, 0);
            (dw32 as (...a: number[]) => void)(4 * padBase, 4 * (job.wfOff + c * K), 4 * dxo, Hq, Wq, H, W, 0, W, kh, kw, 1, 0, dilation, 0);
          } else if (dw32 !== null) {
            dw32(4 * oo, 4 * (job.wfOff + c * K), 4 * dxo, outH, outW, H, W, tLo, tHi, kh, kw, 1, padT, dilation, 0);
          } else {
            planeF32(O, oo, Wt, wo, DX, dxo, outH, outW, H, W, 0, W, 1, padT, true, 0);
          }
        }
        if (f32) {
          if (dwGrad32 !== null) {
            const go = job.gOff + (n * C + c) * K;
            dwGrad32(4 * xo, 4 * oo, 4 * job.tOff, K, 4 * go, W, outW, stride);
            for (let k = 0; k < K; k++) P64[po + k] = F[go + k];
          } else {
            gradF32(xo, oo, po);
          }
          if (convDx) continue;
        }
        // Float64 (and float32 dx at other strides): tap by tap, dx accumulated in place.
        for (let i = dxo; i < dxo + HW; i++) DX[i] = 0;
        for (let ki = 0; ki < kh; ki++) {
          // Output rows [ohLo, ohHi) whose tap ki lands inside the image; likewise columns for kj.
          const kd = ki * dilation;
          const ohLo = tapLo(kd);
          const ohHi = tapHi(kd, H, outH);
          for (let kj = 0; kj < kw; kj++) {
            const jd = kj * dilation;
            const owLo = tapLo(jd);
            const owHi = tapHi(jd, W, outW);
            const wv = Wt[wo + ki * kw + kj];
            let sw = 0;
            for (let oh = ohLo; oh < ohHi; oh++) {
              const src = (oh * stride - pad + kd) * W + jd - pad;
              const dst = oo + oh * outW;
              if (stride === 1) {
                for (let ow = owLo; ow < owHi; ow++) {
                  const g = O[dst + ow];
                  DX[dxo + src + ow] += wv * g;
                  sw += g * X[xo + src + ow];
                }
              } else {
                if (f32) {
                  for (let ow = owLo; ow < owHi; ow++) DX[dxo + src + ow * stride] += wv * O[dst + ow];
                } else {
                  for (let ow = owLo; ow < owHi; ow++) {
                    const g = O[dst + ow];
                    DX[dxo + src + ow * stride] += wv * g;
                    sw += g * X[xo + src + ow * stride];
                  }
                }
              }
            }
            if (!f32) P64[po + ki * kw + kj] = sw;
          }
        }
      }
    }
    if (job.outT !== null) {
      if (job.fwd) job.outT.set(F.subarray(job.oOff + (n * C + c0) * P, job.oOff + (n * C + c1) * P), to);
      else job.outT.set(F.subarray(job.dxOff + (n * C + c0) * HW, job.dxOff + (n * C + c1) * HW), tx);
    }
    if (ctl !== null) {
      if (worker) Atomics.add(ctl, 3, 1);
      Atomics.add(ctl, 1, 1);
      if (Atomics.load(ctl, 6) !== 0) Atomics.notify(ctl, 1);
    }
  }
}

registerWorkerKernel('depthwise', depthwiseTasks as never, (job: DepthwiseJob) => job.samples * Math.ceil(job.C / job.cb));

/** Arena bytes a threaded call may use (as the fused convolution's). */
const BUDGET_BYTES = 48 << 20;
/**
 * Channels per task: enough work per task to amortise the counter and the per-task copies of
 * the direct jobs (a subarray and a set per block), many tasks per sample: 16, or more for
 * small planes, up to PLANE_FLOATS_PER_TASK input values. WHY: at 4×4 a block of 16 channels
 * is 256 floats, and the per-task overhead took longer than the planes (64×960×4×4 forward +
 * backward, 2 threads: 3.5 + 7.3 → 2.6 + 5.9 ms).
 */
const CHANNELS_PER_TASK = 16;
const PLANE_FLOATS_PER_TASK = 4096;
const channelsPerTask = (p: ConvProblem): number => Math.max(CHANNELS_PER_TASK, Math.floor(PLANE_FLOATS_PER_TASK / (p.H * p.W)));

type Geometry = Pick<DepthwiseJob, 'C' | 'H' | 'W' | 'kh' | 'kw' | 'stride' | 'pad' | 'dilation' | 'outH' | 'outW'>;

function geometry(p: ConvProblem): Geometry {
  const { C, H, W, kh, kw, stride, pad, dilation, outH, outW } = p;
  return { C, H, W, kh, kw, stride, pad, dilation, outH, outW };
}

/** Threads for this problem (1: run on the tensors themselves). */
function threadsFor(p: ConvProblem): number {
  const t = threadCount();
  if (t < 2 || p.N * p.C < 2 || !workersUsable()) return 1;
  return p.N * p.C * p.outH * p.outW * p.kh * p.kw < THREAD_MIN_WORK ? 1 : t;
}

interface Chunking {
  arena: Arena;
  A: FloatArray;
  samples: number;
  /** Arena offsets (job-type elements) of w, b, x, out/dout, dx; pOff in float64 elements. */
  wOff: number; bOff: number; xOff: number; oOff: number; dxOff: number; pOff: number;
  /** Float32 with the wasm planes: flipped filters, tap table, dW results (else -1). */
  wfOff: number; tOff: number; gOff: number; dgOff: number;
  /** Per-thread padded planes (padLen floats each), or −1. */
  padOff: number; padLen: number;
  unrolled: boolean;
}

/** True when float32 planes can run in wasm here (they then go through the arena even on one thread). */
function wasmPlanes(p: ConvProblem, f32: boolean): boolean {
  return f32 && p.stride <= 2 && gemmKernel() === 'wasm' && wasmAvailable();
}

/** Arena layout for chunks of as many samples as fit the budget, or null (then no arena). */
function chunking(p: ConvProblem, f32: boolean, fwd: boolean): Chunking | null {
  const eb = f32 ? 4 : 8;
  const K = p.kh * p.kw;
  const HW = p.H * p.W;
  const P = p.outH * p.outW;
  const planes = wasmPlanes(p, f32);
  // Small planes with the wasm planes: one zero-padded plane per thread (see padPlanes).
  const unrolled = planes && unrolledPlanes(p);
  const padLen = unrolled ? unrolledPlaneLength(p) : planes && padPlanes(p) ? padPlaneLength(p) : 0;
  const padSlots = padLen > 0 ? threadCount() * (unrolled && !fwd ? 2 : 1) : 0;
  // Filters and bias; with the wasm planes also the flipped filters, the tap table and the padded planes.
  const fixed = p.C * K + p.C + (planes ? p.C * K + 5 * K + padSlots * padLen + 3 : 0);
  // Per sample: x and out (forward); x, dout, dx, the wasm dW results and the float64 partials (backward).
  const spread = planes && !unrolled && !fwd && p.stride === 2 ? (p.H + 2 * p.pad - (p.kh - 1) * p.dilation) * (p.W + 2 * p.pad - (p.kw - 1) * p.dilation) : 0;
  // dwGrad32's float32 dW results (K a plane); the unrolled planes write the float64 partials directly.
  const gK = unrolled ? 0 : K;
  const perSample = fwd ? p.C * (HW + P) : p.C * (2 * HW + P) + (planes ? p.C * (gK + spread) : 0) + Math.ceil((p.C * (K + 1) * 8) / eb);
  const limit = BUDGET_BYTES / eb;
  // 16 elements of slack: stride-2 wasm loads read up to one element past a plane.
  const samples = Math.min(p.N, Math.floor((limit - fixed - 18) / perSample));
  if (samples < 1) return null;
  const xOff = fixed;
  const oOff = xOff + samples * p.C * HW;
  const dxOff = oOff + samples * p.C * P;
  const gOff = planes && !fwd && !unrolled ? dxOff + samples * p.C * HW : -1;
  const dgOff = spread > 0 ? gOff + samples * p.C * K : -1;
  const end = (fwd ? dxOff : planes ? dxOff + samples * p.C * (HW + gK + spread) : dxOff + samples * p.C * HW) + 16;
  const pOff = Math.ceil((end * eb) / 8);
  const need64 = pOff + (fwd ? 0 : samples * p.C * (K + 1));
  const arena = getArena(gemmKernel(), need64) ?? getArena('js', need64);
  if (arena === null || !arena.shared) return null;
  const usePlanes = planes && arena.kind === 'wasm';
  const wfOff = usePlanes ? p.C * K + p.C : -1;
  const tOff = usePlanes ? wfOff + p.C * K : -1;
  // Four-float aligned, as the unrolled planes' scratch.
  const padOff = usePlanes && padLen > 0 ? Math.ceil((tOff + 5 * K) / 4) * 4 : -1;
  return {
    arena, A: f32 ? arena.F32 : arena.F, samples, wOff: 0, bOff: p.C * K, xOff, oOff, dxOff, pOff, wfOff, tOff,
    gOff: usePlanes ? gOff : -1, dgOff: usePlanes ? dgOff : -1, padOff, padLen: padOff >= 0 ? padLen : 0, unrolled: usePlanes && unrolled,
  };
}

/**
 * True when the wasm planes should run on zero-padded copies (measured: bench/depthwisePlanes.ts):
 * padded and narrow planes, where the columns whose taps reach into the padding — checked tap
 * by tap — are a large share (at 4×4 with padding 1, all of them go one by one).
 */
function padPlanes(p: ConvProblem): boolean {
  return p.pad > 0 && p.outW <= 16;
}

/**
 * True for the shapes of the unrolled planes (wasmDepthwiseK.ts): square 3×3 or 5×5 filters at
 * dilation 1, stride 1 or 2, padding at most k − 1 (so dx's padding k − 1 − pad is not negative).
 */
export function unrolledPlanes(p: ConvProblem): boolean {
  return p.kh === p.kw && (p.kh === 3 || p.kh === 5) && p.dilation === 1 && p.stride <= 2 && p.pad <= p.kh - 1;
}

/** Floats of one unrolled scratch plane: x padded by pad, or dout spread and padded to (H + k − 1)×(W + k − 1); 16 of slack, a multiple of 4. */
function unrolledPlaneLength(p: ConvProblem): number {
  const n = Math.max((p.H + 2 * p.pad) * (p.W + 2 * p.pad), (p.H + p.kh - 1) * (p.W + p.kw - 1)) + 16;
  return Math.ceil(n / 4) * 4;
}

/** Floats of one padded plane: x padded by pad, or dout padded by (k − 1)·dilation − pad; 8 of slack (stride-2 loads read past the end). */
function padPlaneLength(p: ConvProblem): number {
  const padT = Math.max(0, (p.kh - 1) * p.dilation - p.pad);
  return Math.max((p.H + 2 * p.pad) * (p.W + 2 * p.pad), (p.outH + 2 * padT) * (p.outW + 2 * padT)) + 8;
}

/** Runs `job` over the arena: on `threads` threads, or (one, or on a pool failure) on this thread. */
function runChunk(job: DepthwiseJob, threads: number, ch: Chunking): void {
  const ex = job.wasm ? ch.arena.exports : null;
  if (threads > 1 && tryThreaded(job, threads, ch.arena)) return;
  depthwiseTasks({ ...job, ctl: null }, ch.A, null, null, null, null, ex);
}

function baseJob(p: ConvProblem, fwd: boolean, f32: boolean): DepthwiseJob {
  return {
    kind: 'depthwise', fwd, ...geometry(p), samples: p.N, cb: channelsPerTask(p),
    xOff: 0, wOff: 0, bOff: -1, oOff: 0, dxOff: 0, pOff: 0, wfOff: -1, tOff: -1, gOff: -1, dgOff: -1, padOff: -1, padLen: 0, unrolled: false, clamp: null, silu: false,
    inX: null, inD: null, outT: null, n0: 0,
    ctl: null, f32, fma: false, wasm: false, buf: null,
  };
}

/** The job of one chunk over the arena. */
function chunkJob(p: ConvProblem, fwd: boolean, f32: boolean, ch: Chunking, m: number, hasBias: boolean): DepthwiseJob {
  const wasm = ch.arena.kind === 'wasm';
  return {
    ...baseJob(p, fwd, f32), samples: m, xOff: ch.xOff, wOff: ch.wOff, bOff: hasBias ? ch.bOff : -1, oOff: ch.oOff, dxOff: ch.dxOff, pOff: ch.pOff,
    wfOff: ch.wfOff, tOff: ch.tOff, gOff: ch.gOff, dgOff: ch.dgOff, padOff: ch.padOff, padLen: ch.padLen, unrolled: ch.unrolled, buf: wasm ? null : ch.arena.F.buffer, wasm,
  };
}

/** Copies the filters (and for the wasm planes their flipped copies and the tap table) into the arena. */
function writeFilters(p: ConvProblem, ch: Chunking, w: FloatArray): void {
  const { A } = ch;
  A.set(w, ch.wOff);
  if (ch.wfOff < 0) return;
  const K = p.kh * p.kw;
  for (let c = 0; c < p.C; c++) for (let k = 0; k < K; k++) A[ch.wfOff + c * K + k] = w[c * K + K - 1 - k];
  const table = new Int32Array(A.buffer, A.byteOffset + ch.tOff * 4, 5 * K);
  const { H, W, outH, outW, stride, pad, dilation } = p;
  for (let ki = 0; ki < p.kh; ki++) {
    const kd = ki * dilation;
    const ohLo = Math.max(0, Math.ceil((pad - kd) / stride));
    const ohHi = Math.max(ohLo, Math.min(outH, Math.floor((H - 1 + pad - kd) / stride) + 1));
    for (let kj = 0; kj < p.kw; kj++) {
      const jd = kj * dilation;
      const owLo = Math.max(0, Math.ceil((pad - jd) / stride));
      const owHi = Math.max(owLo, Math.min(outW, Math.floor((W - 1 + pad - jd) / stride) + 1));
      table.set([ohLo, ohHi, owLo, owHi, ((kd - pad) * W + (jd - pad)) * 4], 5 * (ki * p.kw + kj));
    }
  }
}

/** True when it applied `p.clamp` / `p.silu` (the unrolled wasm planes do; other paths leave them to the op). */
export function depthwiseForward(p: ConvProblem, x: FloatArray, w: FloatArray, b: FloatArray | null, out: FloatArray): boolean {
  const f32 = out instanceof Float32Array;
  const threads = threadsFor(p);
  const ch = threads > 1 || wasmPlanes(p, f32) ? chunking(p, f32, true) : null;
  if (ch === null) {
    depthwiseTasks({ ...baseJob(p, true, f32), X: x, Wt: w, B: b, O: out, bOff: b ? 0 : -1 }, out);
    return false;
  }
  const clamp: [number, number] | null = ch.unrolled && p.clamp ? [p.clamp[0], p.clamp[1]] : null;
  // siluFwd32 covers ⌈n/4⌉·4 elements: a task's planes must end on a multiple of 4.
  const silu = ch.unrolled && p.silu === true && (p.outH * p.outW) % 4 === 0;
  const { A, samples } = ch;
  const sx = p.C * p.H * p.W;
  const so = p.C * p.outH * p.outW;
  writeFilters(p, ch, w);
  if (b) A.set(b, ch.bOff);
  // WHY the tasks copy their own blocks: whole-chunk copies in and out on this thread, while
  // the workers waited, took about as long as the unrolled planes themselves.
  const direct = ch.unrolled && (threads === 1 || (isShared(x) && isShared(out)));
  for (let n0 = 0; n0 < p.N; n0 += samples) {
    const m = Math.min(samples, p.N - n0);
    if (!direct) A.set(x.subarray(n0 * sx, (n0 + m) * sx), ch.xOff);
    runChunk({ ...chunkJob(p, true, f32, ch, m, b !== null), clamp, silu, ...(direct ? { inX: x, outT: out, n0 } : {}) }, threads, ch);
    if (!direct) out.set(A.subarray(ch.oOff, ch.oOff + m * so), n0 * so);
  }
  return clamp !== null || silu;
}

export function depthwiseBackward(
  p: ConvProblem, dout: FloatArray, x: FloatArray, w: FloatArray, dxOut: FloatArray | null, dw: FloatArray, db: FloatArray | null,
): void {
  // dx unwanted: computed into a scratch store all the same (the planes make dx and dW together).
  const dx = dxOut ?? allocFloatUninit(dw instanceof Float32Array ? 'float32' : 'float64', p.N * p.C * p.H * p.W);
  const f32 = dx instanceof Float32Array;
  const K = p.kh * p.kw;
  const C = p.C;
  // The partials of (sample, channel) pairs — K dW values, then db — added over samples in
  // order: the same sums whatever the threads. A sample's partials are one run of C·(K + 1)
  // values, added as one run (a loop over channels and taps cost 2.6 ns an add at K = 9).
  const row = C * (K + 1);
  const sums = new Float64Array(row);
  const addPartials = (P64: Float64Array, pOff: number, m: number): void => {
    for (let n = 0; n < m; n++) {
      const po = pOff + n * row;
      for (let j = 0; j < row; j++) sums[j] += P64[po + j];
    }
  };
  const threads = threadsFor(p);
  const ch = threads > 1 || wasmPlanes(p, f32) ? chunking(p, f32, false) : null;
  if (ch === null) {
    const P64 = allocFloat('float64', p.N * C * (K + 1)) as Float64Array;
    depthwiseTasks({ ...baseJob(p, false, f32), X: x, Wt: w, O: dout, DX: dx, P64 }, dx);
    addPartials(P64, 0, p.N);
    recycleFloat(P64);
  } else {
    const { A, samples } = ch;
    const sx = C * p.H * p.W;
    const so = C * p.outH * p.outW;
    writeFilters(p, ch, w);
    const direct = ch.unrolled && (threads === 1 || (isShared(x) && isShared(dout) && isShared(dx)));
    for (let n0 = 0; n0 < p.N; n0 += samples) {
      const m = Math.min(samples, p.N - n0);
      if (!direct) {
        A.set(x.subarray(n0 * sx, (n0 + m) * sx), ch.xOff);
        A.set(dout.subarray(n0 * so, (n0 + m) * so), ch.oOff);
      }
      runChunk({ ...chunkJob(p, false, f32, ch, m, false), ...(direct ? { inX: x, inD: dout, outT: dx, n0 } : {}) }, threads, ch);
      if (!direct) dx.set(A.subarray(ch.dxOff, ch.dxOff + m * sx), n0 * sx);
      addPartials(ch.arena.F, ch.pOff, m);
    }
  }
  for (let c = 0; c < C; c++) {
    for (let k = 0; k < K; k++) dw[c * K + k] = sums[c * (K + 1) + k];
    if (db) db[c] = sums[c * (K + 1) + K];
  }
  if (dxOut === null) recycleFloat(dx);
}
