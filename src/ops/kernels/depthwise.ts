import { allocFloat, type FloatArray } from '../../core/dtype';
import { recycleFloat } from '../../core/bufferPool';
import { getArena, type Arena } from '../../core/gemm/arena';
import { gemmKernel, THREAD_MIN_WORK } from '../../core/gemm/gemm';
import { abandon, finishThreaded, registerWorkerKernel, startThreaded, threadCount, WorkerFailure, workersUsable, type ThreadedRun, type WorkerJob } from '../../core/gemm/workers';
import type { ConvProblem } from './convProblem';

/*
 * Depthwise convolution (groups = C = F: one k×k filter per channel) computed directly, one
 * (sample, channel) plane at a time. WHY not the GEMM path: a depthwise filter is a 1×9 or
 * 1×25 row, so im2col + GEMM would unfold the whole plane 9–25× to multiply it by one row —
 * all traffic, no reuse. Here each plane stays in L1/L2 and nothing is unfolded.
 *
 * Forward: each output element is one sum in double — bias, then the taps in (ki, kj) order,
 * the reference direct kernel's order — stored once, so results are bit-identical to it in
 * float32 and float64.
 * Backward: per plane, dx accumulates tap by tap in (ki, kj, oh, ow) order in the output's
 * type; dW and db of each (sample, channel) are summed in double into a partial, and the
 * partials are added over samples in order. Planes are independent, so the planes can be
 * split over threads in any way and the bits stay those of one thread.
 *
 * WHY threads through the arena: workers can only see shared memory, and tensors are ordinary
 * arrays, so a threaded call copies its chunk of samples (and the filters) into the GEMM
 * arena, lets every thread take (sample, channel block) tasks from a shared counter, and
 * copies the result out. One copy in and out is a small part of nine or 25 multiply-adds per
 * element; on one thread the same task loop runs on the tensors themselves, without copies.
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
  X?: FloatArray; Wt?: FloatArray; B?: FloatArray | null; O?: FloatArray; DX?: FloatArray; P64?: Float64Array;
}

/**
 * Runs tasks of a {@link DepthwiseJob} until none are left (all of them when `ctl` is null).
 * Shipped to the workers as source (see TaskRunner in core/gemm/workers.ts): self-contained.
 */
export function depthwiseTasks(job: DepthwiseJob, F: FloatArray): void {
  const ctl = job.ctl;
  const worker = job.worker === true;
  const X = job.X || F;
  const Wt = job.Wt || F;
  const O = job.O || F;
  const DX = job.DX || F;
  const P64 = job.P64 || new Float64Array(F.buffer);
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
  let next = 0;
  for (;;) {
    const t = ctl === null ? next++ : Atomics.add(ctl, 0, 1);
    if (t >= nTasks) break;
    const n = Math.floor(t / cBlocks);
    const c0 = (t % cBlocks) * cb;
    const c1 = Math.min(C, c0 + cb);
    for (let c = c0; c < c1; c++) {
      const xo = job.xOff + (n * C + c) * HW;
      const oo = job.oOff + (n * C + c) * P;
      const wo = job.wOff + c * K;
      if (job.fwd) {
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
        for (let i = dxo; i < dxo + HW; i++) DX[i] = 0;
        let sb = 0;
        for (let i = oo; i < oo + P; i++) sb += O[i];
        P64[po + K] = sb;
        for (let ki = 0; ki < kh; ki++) {
          // Output rows [ohLo, ohHi) whose tap ki lands inside the image; likewise columns for kj.
          const kd = ki * dilation;
          const ohLo = Math.max(0, Math.ceil((pad - kd) / stride));
          const ohHi = Math.max(ohLo, Math.min(outH, Math.floor((H - 1 + pad - kd) / stride) + 1));
          for (let kj = 0; kj < kw; kj++) {
            const jd = kj * dilation;
            const owLo = Math.max(0, Math.ceil((pad - jd) / stride));
            const owHi = Math.max(owLo, Math.min(outW, Math.floor((W - 1 + pad - jd) / stride) + 1));
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
                for (let ow = owLo; ow < owHi; ow++) {
                  const g = O[dst + ow];
                  DX[dxo + src + ow * stride] += wv * g;
                  sw += g * X[xo + src + ow * stride];
                }
              }
            }
            P64[po + ki * kw + kj] = sw;
          }
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

registerWorkerKernel('depthwise', depthwiseTasks as never, (job: DepthwiseJob) => job.samples * Math.ceil(job.C / job.cb));

/** Arena bytes a threaded call may use (as the fused convolution's). */
const BUDGET_BYTES = 48 << 20;
/** Channels per task: enough work per task to amortise the counter, many tasks per sample. */
const CHANNELS_PER_TASK = 16;

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
}

/** Arena layout for chunks of as many samples as fit the budget, or null (then one thread). */
function chunking(p: ConvProblem, f32: boolean, fwd: boolean): Chunking | null {
  const eb = f32 ? 4 : 8;
  const K = p.kh * p.kw;
  const HW = p.H * p.W;
  const P = p.outH * p.outW;
  const fixed = p.C * K + p.C;
  // Per sample: x and out (forward); x, dout, dx and the float64 partials (backward).
  const perSample = fwd ? p.C * (HW + P) : p.C * (2 * HW + P) + Math.ceil((p.C * (K + 1) * 8) / eb);
  const limit = BUDGET_BYTES / eb;
  const samples = Math.min(p.N, Math.floor((limit - fixed - 2) / perSample));
  if (samples < 1) return null;
  const xOff = fixed;
  const oOff = xOff + samples * p.C * HW;
  const dxOff = oOff + samples * p.C * P;
  const end = fwd ? dxOff : dxOff + samples * p.C * HW;
  const pOff = Math.ceil((end * eb) / 8);
  const need64 = pOff + (fwd ? 0 : samples * p.C * (K + 1));
  const arena = getArena(gemmKernel(), need64) ?? getArena('js', need64);
  if (arena === null || !arena.shared) return null;
  return { arena, A: f32 ? arena.F32 : arena.F, samples, wOff: 0, bOff: p.C * K, xOff, oOff, dxOff, pOff };
}

/** Runs `job` on `threads` threads over the arena; on a pool failure, on this thread. */
function runThreaded(job: DepthwiseJob, threads: number, ch: Chunking): void {
  let run: ThreadedRun | null = null;
  try {
    run = startThreaded(job, threads, ch.arena);
    finishThreaded(run);
    return;
  } catch (e) {
    if (run !== null) abandon(run);
    if (!(e instanceof WorkerFailure)) throw e;
  }
  depthwiseTasks({ ...job, ctl: null }, ch.A);
}

function baseJob(p: ConvProblem, fwd: boolean, f32: boolean): DepthwiseJob {
  return {
    kind: 'depthwise', fwd, ...geometry(p), samples: p.N, cb: CHANNELS_PER_TASK,
    xOff: 0, wOff: 0, bOff: -1, oOff: 0, dxOff: 0, pOff: 0,
    ctl: null, f32, fma: false, wasm: false, buf: null,
  };
}

export function depthwiseForward(p: ConvProblem, x: FloatArray, w: FloatArray, b: FloatArray | null, out: FloatArray): void {
  const f32 = out instanceof Float32Array;
  const threads = threadsFor(p);
  const ch = threads > 1 ? chunking(p, f32, true) : null;
  if (ch === null) {
    depthwiseTasks({ ...baseJob(p, true, f32), X: x, Wt: w, B: b, O: out, bOff: b ? 0 : -1 }, out);
    return;
  }
  const { A, samples } = ch;
  const sx = p.C * p.H * p.W;
  const so = p.C * p.outH * p.outW;
  A.set(w, ch.wOff);
  if (b) A.set(b, ch.bOff);
  for (let n0 = 0; n0 < p.N; n0 += samples) {
    const m = Math.min(samples, p.N - n0);
    A.set(x.subarray(n0 * sx, (n0 + m) * sx), ch.xOff);
    const job = { ...baseJob(p, true, f32), samples: m, xOff: ch.xOff, wOff: ch.wOff, bOff: b ? ch.bOff : -1, oOff: ch.oOff, buf: ch.arena.kind === 'wasm' ? null : ch.arena.F.buffer, wasm: ch.arena.kind === 'wasm' };
    runThreaded(job, threads, ch);
    out.set(A.subarray(ch.oOff, ch.oOff + m * so), n0 * so);
  }
}

export function depthwiseBackward(
  p: ConvProblem, dout: FloatArray, x: FloatArray, w: FloatArray, dx: FloatArray, dw: FloatArray, db: FloatArray | null,
): void {
  const f32 = dx instanceof Float32Array;
  const K = p.kh * p.kw;
  const C = p.C;
  const dwa = new Float64Array(C * K);
  const dba = new Float64Array(C);
  // The partials of (sample, channel) pairs, added over samples in order: the same sums whatever the threads.
  const addPartials = (P64: Float64Array, pOff: number, m: number): void => {
    for (let n = 0; n < m; n++) {
      for (let c = 0; c < C; c++) {
        const po = pOff + (n * C + c) * (K + 1);
        for (let k = 0; k < K; k++) dwa[c * K + k] += P64[po + k];
        dba[c] += P64[po + K];
      }
    }
  };
  const threads = threadsFor(p);
  const ch = threads > 1 ? chunking(p, f32, false) : null;
  if (ch === null) {
    const P64 = allocFloat('float64', p.N * C * (K + 1)) as Float64Array;
    depthwiseTasks({ ...baseJob(p, false, f32), X: x, Wt: w, O: dout, DX: dx, P64 }, dx);
    addPartials(P64, 0, p.N);
    recycleFloat(P64);
  } else {
    const { A, samples } = ch;
    const sx = C * p.H * p.W;
    const so = C * p.outH * p.outW;
    A.set(w, ch.wOff);
    for (let n0 = 0; n0 < p.N; n0 += samples) {
      const m = Math.min(samples, p.N - n0);
      A.set(x.subarray(n0 * sx, (n0 + m) * sx), ch.xOff);
      A.set(dout.subarray(n0 * so, (n0 + m) * so), ch.oOff);
      const job = { ...baseJob(p, false, f32), samples: m, xOff: ch.xOff, wOff: ch.wOff, oOff: ch.oOff, dxOff: ch.dxOff, pOff: ch.pOff, buf: ch.arena.kind === 'wasm' ? null : ch.arena.F.buffer, wasm: ch.arena.kind === 'wasm' };
      runThreaded(job, threads, ch);
      dx.set(A.subarray(ch.dxOff, ch.dxOff + m * sx), n0 * sx);
      addPartials(ch.arena.F, ch.pOff, m);
    }
  }
  dw.set(dwa);
  if (db) db.set(dba);
}
