import { runSampleChunk, type FusedEpilogue } from '../../core/convFused';
import type { FloatArray } from '../../core/dtype';
import { arenaTiles, getArena } from '../../core/gemm/arena';
import type { RowsFn } from '../../core/gemm/wasm';
import { gemmFma, gemmKernel, THREAD_MIN_WORK } from '../../core/gemm/gemm';
import { CTL_LEN } from '../../core/gemm/kernel';
import { registerWorkerKernel, threadCount, workersUsable } from '../../core/gemm/workers';
import { gemmBackward, gemmForward } from './convGemm';
import { copyRows } from './copyTasks';
import type { ConvProblem } from './convProblem';
import { tryTensorJob } from './tensorJobs';
import { winogradDwTasks, winogradGradJobTasks, winogradGradTasks, type WinogradDwJob, type WinogradGradJob } from './winogradGradTasks';
import { writeWinogradFilters } from './winogradFilters';
import { winogradJobTasks, winogradTasks, type WinogradJob } from './winogradTasks';

/*
 * The Winograd F(4×4, 3×3) kernel of conv2d (the algorithm and its task loop: winogradTasks.ts).
 * Forward: the convolution itself. Backward: dx is the same algorithm run on dout with each
 * filter turned by 180° and its two channel axes swapped (a stride-1 3×3 convolution with
 * padding 2 − pad), dW and db come from the GEMM kernel (its dW-only mode).
 *
 * Rounding: every product of a tile is a float32 dot product over the channels (as the GEMM
 * kernel's), but the transforms mix up to 36 values with weights up to 5 (input) and 8
 * (output), and the filter transforms divide by 6 and 24, so intermediate values are larger
 * than the data and some precision cancels. With u = 2⁻²⁴ and S the sum of absolute products
 * an output (or gradient element) sums — Σ|w||x| + |b| for out, Σ|w||dout| for dx, Σ|dout||x|
 * for dw — and k the length of that sum (9·C, 9·F, N·outH·outW):
 *   |result − exact| ≤ (k + 2 + WINOGRAD_TRANSFORM_ERROR)·u·S,
 * the fused GEMM kernel's bound plus a transform term. Measured (random normal data, batch 2
 * to 16, 7 to 512 channels): the transform term reaches 80·u·S for out and dx and 270·u·S for
 * dw; test/winograd.test.ts holds every float32 result to the bound. Float64: ~1e-14 relative.
 */

/** The transform term of the float32 error bound above, in units of u·S. */
export const WINOGRAD_TRANSFORM_ERROR = 512;

registerWorkerKernel('winograd', winogradTasks as never, winogradJobTasks);
registerWorkerKernel('winogradGrad', winogradGradTasks as never, winogradGradJobTasks);
registerWorkerKernel('winogradDw', winogradDwTasks as never, (job: WinogradDwJob) => Math.ceil(job.F / job.fb));

/** Arena bytes one call may use (as the fused convolution's). */
const BUDGET_BYTES = 48 << 20;
let budgetBytes = BUDGET_BYTES;

const counts = { passes: 0, chunks: 0, declined: 0, dwThreaded: 0 };

/**
 * Calls so far: passes run (forward, dx and dw passes each count one), the chunks of samples
 * they ran in, passes declined for the arena budget (computed by the GEMM kernel instead),
 * and weight gradients whose last transform ran on the worker pool.
 */
export function winogradStats(): { passes: number; chunks: number; declined: number; dwThreaded: number } {
  return { ...counts };
}

/**
 * For tests: the arena bytes a call may use (null: the default 48 MiB), so that small
 * problems run in several chunks of samples. Returns the previous setting.
 */
export function setWinogradBudget(bytes: number | null): number {
  const prev = budgetBytes;
  budgetBytes = bytes ?? BUDGET_BYTES;
  return prev;
}
/** Bytes of one thread's V and M blocks a task aims at (see tilesPerTask). */
const SCRATCH_BYTES = 1 << 20;
/** The largest transformed filter bank (36·F·C float32) taken by default: 512 × 512 (36 MiB) fits. */
const MAX_FILTER_BYTES = 40 << 20;

const ceil4 = (v: number): number => (v + 3) & ~3;

/** One pass of the algorithm: input (N, Cin, H, W) → output (N, Cout, outH, outW). */
interface Pass {
  N: number; Cin: number; H: number; W: number; Cout: number; outH: number; outW: number; pad: number;
}

/**
 * True when conv2d's problem `p` is one this kernel computes: 3×3, stride 1, no dilation, one
 * group, padding ≤ 2 (so dx is a Winograd pass too).
 */
export function winogradSupports(p: ConvProblem): boolean {
  return p.kh === 3 && p.kw === 3 && p.stride === 1 && p.dilation === 1 && p.groups === 1 && p.pad <= 2;
}

/**
 * True when the shape is one where this kernel beats the GEMM kernel (measured with
 * bench/winograd.ts, bench/RESULTS.md `## winograd`): at least 16 channels in and out (below
 * that the transforms outweigh the products: 3 → 64 ran 3× slower backward), outputs of at
 * least 4×4 (at 2×2 a tile computes 4 of its 16 outputs: 0.7×), and a transformed filter
 * bank (36·F·C float32) that fits the arena budget beside the data.
 */
export function winogradPrefers(p: ConvProblem): boolean {
  return Math.min(p.C, p.F) >= 16 && p.outH * p.outW >= 16 && 36 * ceil4(p.F) * ceil4(p.C) * 4 <= MAX_FILTER_BYTES;
}

/**
 * Tiles per task: V and M of a block (36·Tb·(Cin + Fp) elements) near SCRATCH_BYTES so they
 * stay in L2 between the transforms and the products, 16 to 64 tiles. Each task streams all
 * 36 transformed filters (36·Fp·Cin), so fewer than 16 tiles leave the wide layers waiting on
 * memory: 512 → 512 at 4×4 took 76 ms for two calls with 8 tiles a task, 67 with 16 (32
 * starved a thread of tasks: 116).
 */
function tilesPerTask(Cin: number, Fp: number, eb: number): number {
  const panels = Math.floor(SCRATCH_BYTES / (36 * (Cin + Fp) * eb) / 4);
  return 4 * Math.max(4, Math.min(16, panels));
}

const newCtl = (): Int32Array =>
  new Int32Array(typeof SharedArrayBuffer === 'function' ? new SharedArrayBuffer(4 * CTL_LEN) : new ArrayBuffer(4 * CTL_LEN));

/**
 * Copies `count` dense h × w planes of `src` (from s0) into the arena `A` as planes `step` apart
 * with rows `rowLen` apart, starting at `dst` (element offsets). With the wasm row copy the
 * planes go through the staging area at `stOff` (one memcpy, then strided rows inside wasm);
 * without it, row by row.
 */
function placePlanes(
  A: FloatArray, rows: RowsFn | null, stOff: number, src: FloatArray, s0: number, count: number, h: number, w: number, dst: number, step: number, rowLen: number,
): void {
  const eb = A.BYTES_PER_ELEMENT;
  if (rows !== null) {
    A.set(src.subarray(s0, s0 + count * h * w), stOff);
    for (let c = 0; c < count; c++) rows((dst + c * step) * eb, (stOff + c * h * w) * eb, w, h, eb, eb, rowLen * eb, w * eb, 0);
    return;
  }
  for (let c = 0; c < count; c++) {
    for (let y = 0; y < h; y++) {
      const o = s0 + (c * h + y) * w;
      A.set(src.subarray(o, o + w), dst + c * step + y * rowLen);
    }
  }
}

/**
 * Runs one pass into `out` (dense), or returns false, touching nothing, when one sample's
 * working set does not fit the arena budget. Float32 when every array is float32, else float64.
 * Arena: the filters, the bias, the threads' scratch, a staging copy of one sample, then the
 * chunk's padded inputs and whole-block outputs (see WinogradJob).
 */
function runPass(
  s: Pass, input: FloatArray, w: FloatArray, flip: boolean, bias: FloatArray | null, out: FloatArray,
  epilogue?: FusedEpilogue,
): boolean {
  const f32 = input instanceof Float32Array && w instanceof Float32Array && out instanceof Float32Array && (bias === null || bias instanceof Float32Array);
  const eb = f32 ? 4 : 8;
  const { N, Cin, H, W, Cout, outH, outW, pad } = s;
  const Fp = ceil4(Cout);
  const tH = Math.ceil(outH / 4);
  const tW = Math.ceil(outW / 4);
  const Hp = 4 * tH + 2;
  const Wp = 4 * tW + 2;
  const Ho = 4 * tH;
  const Wo = 4 * tW;
  const Tb = tilesPerTask(Cin, Fp, eb);
  const inDense = Cin * H * W;
  const inPlane = Cin * Hp * Wp;
  const outPlane = Cout * Ho * Wo;
  const fixed = 36 * Fp * Cin + Cout;
  const sLen = 36 * Tb * (Cin + Fp);
  const perSample = inPlane + outPlane;
  // Slack after the inputs: the transforms read each block row as 8 floats.
  const slack = 4;
  const limit = Math.floor(budgetBytes / eb);
  let threads = threadCount();
  if (threads > 1 && (N * tH * tW <= Tb || 36 * N * tH * tW * Cin * Cout < THREAD_MIN_WORK || !workersUsable())) threads = 1;
  while (threads > 1 && fixed + threads * sLen + inDense + perSample + slack > limit) threads--;
  if (fixed + sLen + inDense + perSample + slack > limit) {
    counts.declined++;
    return false;
  }
  const chunk = Math.min(N, Math.floor((limit - fixed - threads * sLen - inDense - slack) / perSample));
  const need = fixed + threads * sLen + inDense + chunk * perSample + slack;
  const need64 = f32 ? Math.ceil(need / 2) : need;
  const arena = getArena(gemmKernel(), need64) ?? getArena('js', need64);
  if (arena === null) return false;
  if (threads > 1 && !arena.shared) threads = 1;
  const A = f32 ? arena.F32 : arena.F;
  const wasm = arena.kind === 'wasm';
  const rows = arenaTiles(arena, f32, false).rows;
  const uOff = 0;
  const bOff = 36 * Fp * Cin;
  writeWinogradFilters(arena, f32, uOff, w, Cout, Cin, flip, threads);
  if (bias !== null) A.set(bias, bOff);
  const sOff = fixed;
  const stOff = sOff + threads * sLen;
  const xOff = stOff + inDense;
  const oOff = xOff + chunk * inPlane + slack;
  const whole = Ho === outH && Wo === outW;
  // conv2d's inference epilogue, on the chunk's outputs while they are in the arena: one wasm
  // pass in place, before the copy out (the blocks are whole 4×4 tiles, so n is a multiple of 4).
  const ex = wasm && f32 ? (arena.exports as Record<string, (...a: number[]) => void>) : null;
  const clamp = ex !== null ? epilogue?.clamp ?? null : null;
  const silu = ex !== null && epilogue?.silu === true;
  if (epilogue) epilogue.applied = clamp !== null || silu;
  counts.passes++;
  for (let n0 = 0; n0 < N; n0 += chunk) {
    counts.chunks++;
    const samples = Math.min(chunk, N - n0);
    const job: WinogradJob = {
      kind: 'winograd', C: Cin, F: Cout, tH, tW, samples, Tb, Fp,
      uOff, bOff: bias === null ? -1 : bOff, xOff, oOff, sOff, sLen,
      f32, fma: f32 && wasm && gemmFma(), wasm, buf: wasm ? null : arena.F.buffer, ctl: newCtl(),
    };
    threads = runSampleChunk(job, threads, arena, (n) => {
      // Sample n0 + n, zero padded: the image at (pad, pad) of each Hp × Wp plane.
      A.fill(0, xOff + n * inPlane, xOff + (n + 1) * inPlane);
      placePlanes(A, rows, stOff, input, (n0 + n) * inDense, Cin, H, W, xOff + n * inPlane + pad * Wp + pad, Hp * Wp, Wp);
    }, winogradTasks as never);
    if (clamp !== null) ex!.clampRows32(4 * oOff, 4 * oOff, samples * outPlane, 1, 0, 0, clamp[0], clamp[1]);
    if (silu) ex!.siluFwd32(4 * oOff, 4 * oOff, samples * outPlane);
    // Out of the arena on every thread (copyRows): on this thread alone it left the workers
    // waiting for ~3% of a ResNet-18 (CIFAR) train step.
    if (whole) {
      copyRows(samples * Cout, outH * outW, A, oOff, Ho * Wo, out, n0 * outPlane, outH * outW);
      continue;
    }
    if (Ho === outH) {
      copyRows(samples * Cout * outH, outW, A, oOff, Wo, out, n0 * Cout * outH * outW, outW);
      continue;
    }
    for (let p = 0; p < samples * Cout; p++) {
      for (let y = 0; y < outH; y++) {
        const o = oOff + p * Ho * Wo + y * Wo;
        out.set(A.subarray(o, o + outW), (n0 * Cout + p) * outH * outW + y * outW);
      }
    }
  }
  return true;
}

/** k slice of the weight gradient's products (a 4-column B panel of it: 4 KiB in float32). */
const GRAD_KC = 256;

/**
 * dw and db of the 3×3 stride-1 convolution `p` from x and dout (winogradGradTasks.ts), or
 * false, touching nothing, when one sample's working set does not fit the arena budget.
 * Float32 when every array is float32 (products summed in float32 over the batch's tiles,
 * like a GEMM over k = N·tiles); db is summed in float64.
 */
function weightGrad(p: ConvProblem, x: FloatArray, dout: FloatArray, dw: FloatArray, db: FloatArray | null): boolean {
  const f32 = x instanceof Float32Array && dout instanceof Float32Array && dw instanceof Float32Array;
  const eb = f32 ? 4 : 8;
  const { N, C, H, W, F, outH, outW, pad } = p;
  const Cp = ceil4(C);
  const Fp = ceil4(F);
  const tH = Math.ceil(outH / 4);
  const tW = Math.ceil(outW / 4);
  const T = tH * tW;
  const Hp = 4 * tH + 2;
  const Wp = 4 * tW + 2;
  const Ho = 4 * tH;
  const Wo = 4 * tW;
  const xDense = C * H * W;
  const gDense = F * outH * outW;
  const fixed = 36 * Fp * Cp + Math.max(xDense, gDense);
  // Per sample: padded x, whole-block dout, V' and dM'; slack for the 8-float row reads.
  const perSample = C * Hp * Wp + F * Ho * Wo + 36 * (Cp + Fp) * T;
  const slack = 4;
  const limit = Math.floor(budgetBytes / eb);
  if (fixed + perSample + slack > limit) {
    counts.declined++;
    return false;
  }
  // From the sizes alone, never the threads: the chunks are part of dU's rounding.
  const chunk = Math.min(N, Math.floor((limit - fixed - slack) / perSample));
  const need = fixed + chunk * perSample + slack;
  const need64 = f32 ? Math.ceil(need / 2) : need;
  const arena = getArena(gemmKernel(), need64) ?? getArena('js', need64);
  if (arena === null) return false;
  let threads = threadCount();
  if (threads > 1 && (36 * N * T * C * F < THREAD_MIN_WORK || !workersUsable() || !arena.shared)) threads = 1;
  const A = f32 ? arena.F32 : arena.F;
  const wasm = arena.kind === 'wasm';
  const rows = arenaTiles(arena, f32, false).rows;
  const uOff = 0;
  const stOff = 36 * Fp * Cp;
  const xOff = fixed;
  const gOff = xOff + chunk * C * Hp * Wp;
  const vOff = gOff + chunk * F * Ho * Wo + slack;
  const dOff = vOff + 36 * Cp * chunk * T;
  counts.passes++;
  for (let n0 = 0; n0 < N; n0 += chunk) {
    counts.chunks++;
    const samples = Math.min(chunk, N - n0);
    const base: WinogradGradJob = {
      kind: 'winogradGrad', phase: 1, C, F, Cp, Fp, tH, tW, samples, Tc: chunk * T, xOff, gOff, vOff, dOff, uOff,
      acc: n0 > 0, kc: GRAD_KC, f32, fma: f32 && wasm && gemmFma(), wasm, buf: wasm ? null : arena.F.buffer, ctl: newCtl(),
    };
    threads = runSampleChunk(base, threads, arena, (n) => {
      const xs = xOff + n * C * Hp * Wp;
      const gs = gOff + n * F * Ho * Wo;
      A.fill(0, xs, xs + C * Hp * Wp);
      placePlanes(A, rows, stOff, x, (n0 + n) * xDense, C, H, W, xs + pad * Wp + pad, Hp * Wp, Wp);
      if (Ho !== outH || Wo !== outW) A.fill(0, gs, gs + F * Ho * Wo);
      placePlanes(A, rows, stOff, dout, (n0 + n) * gDense, F, outH, outW, gs, Ho * Wo, Wo);
    }, winogradGradTasks as never);
    threads = runSampleChunk({ ...base, phase: 2, ctl: newCtl() }, threads, arena, () => {}, winogradGradTasks as never);
  }
  // dw[f, c] = Gᵀ dU G, in float64 (on every thread when dw is shared).
  const dwJob: WinogradDwJob = {
    kind: 'winogradDw', C, F, Cp, Fp, fb: F, dU: A.subarray(uOff, uOff + 36 * Fp * Cp), dw,
    ctl: null, f32: false, fma: false, wasm: false, buf: null,
  };
  if (tryTensorJob(F, F * C * 36, [dwJob.dU, dw], (n) => ({ ...dwJob, fb: Math.max(1, Math.ceil(F / (4 * n))) }))) counts.dwThreaded++;
  else winogradDwTasks(dwJob);
  if (db !== null) {
    const P = outH * outW;
    const acc = new Float64Array(F);
    for (let n = 0; n < N; n++) {
      for (let f = 0; f < F; f++) {
        let sum = 0;
        for (let i = (n * F + f) * P, end = i + P; i < end; i++) sum += dout[i];
        acc[f] += sum;
      }
    }
    db.set(acc);
  }
  return true;
}

/** True when it applied `p.clamp` / `p.silu` (float32 passes in wasm do; see runPass). */
export function winogradForward(p: ConvProblem, x: FloatArray, w: FloatArray, b: FloatArray | null, out: FloatArray): boolean {
  const s: Pass = { N: p.N, Cin: p.C, H: p.H, W: p.W, Cout: p.F, outH: p.outH, outW: p.outW, pad: p.pad };
  const epilogue: FusedEpilogue = { clamp: p.clamp, silu: p.silu, applied: false };
  if (runPass(s, x, w, false, b, out, epilogue)) return epilogue.applied;
  return gemmForward(p, x, w, b, out);
}

export function winogradBackward(p: ConvProblem, dout: FloatArray, x: FloatArray, w: FloatArray, dx: FloatArray | null, dw: FloatArray, db: FloatArray | null): void {
  // dx = dout ⋆ (each filter turned by 180°, channel axes swapped), padding 2 − pad: an (outH + 2 − 2·pad) = H output.
  const s: Pass = { N: p.N, Cin: p.F, H: p.outH, W: p.outW, Cout: p.C, outH: p.H, outW: p.W, pad: 2 - p.pad };
  if (dx !== null && !runPass(s, dout, w, true, null, dx)) {
    // Declined (the arena budget): the GEMM kernel does the whole backward.
    gemmBackward(p, dout, x, w, dx, dw, db);
    return;
  }
  if (!weightGrad(p, x, dout, dw, db)) gemmBackward(p, dout, x, w, null, dw, db);
}
