import type { FloatArray } from '../dtype';
import { arenaTiles, getArena, wasmAvailable, type Arena, type KernelKind } from './arena';
import { gemmBlock, STREAM_COLS, STREAM_ROWS, STREAM_SLICES, type GemmJob } from './kernel';
import { packPanels, type StridedView } from './pack';
import { relaxedSimdAvailable } from './wasm';
import { abandon, finishThreaded, WorkerFailure, workersUsable, publish, startThreaded, threadCount, type ThreadedRun } from './workers';

/**
 * k-slice length: a 4 x KC panel of A and of B (8 KiB each) sit in L1 together. Every
 * product sums each k-slice inside its tile first and then adds the slices in order, so KC
 * (and nothing else: not the chunking, the operand layout, the split-k schedule or the
 * thread count) fixes the rounding of the result.
 */
const KC = 256;
/** The k-slice length, which fixes the rounding of a product (see {@link KC}). */
export const GEMM_KC = KC;
/** Task tile of C: a MC_BLK x KC block of A (256 KiB) stays in L2 while B slivers stream. */
const MC_BLK = 128;
const NC_BLK = 256;
/**
 * Elements the arena may hold: operand buffers, two C workspaces (the main thread copies one
 * chunk out while the next is computed in the other) and split-k partial blocks. 56 MiB of
 * float64 (28 MiB of float32: the plan counts elements, whatever their size) whatever the
 * operands, e.g. a 49000 x 3073 data matrix; each step takes as many k-slices as fit, so the
 * workers rarely wait at a step's start.
 */
const TOTAL = 7 << 20;
/** Elements of one C workspace. */
const C_MAX = 1 << 20;
/**
 * Split-k: when C (padded) has at most this many elements and k spans at least
 * SPLIT_MIN_SLICES slices, the tasks are k-slices (x tiles), each writing its own partial
 * block, so both threads get work although C is small, and the workers compute slice s
 * while the main thread copies slice s + 1 — e.g. a convolution's dW = dout · colsᵀ
 * (32 x 51200 x 27), or Xᵀ · dS (3073 x 49000 x 10) of a linear classifier.
 */
const SPLIT_AREA = 65536;
const SPLIT_MIN_SLICES = 3;
/**
 * An operand side at most this long (or k at most this long) makes a product "thin": the
 * big operand is then copied in its natural layout (one memcpy per row: 15 GB/s against 9
 * for packing, measured from DRAM) wherever it has a unit stride, instead of being packed.
 */
const THIN = 64;
/** A streamed unit of rows / columns spans at least this many panels (copied ones: COPY_UNIT_PANELS). */
const MIN_UNIT_PANELS = 16;
const COPY_UNIT_PANELS = 1024;
/**
 * m·n·k from which the product is split over threads. On the 2-core dev machine two threads
 * won from about 100³ (1e6) up and lost below ~80³, where posting the job costs as much as
 * the tiles it hands over.
 */
export const THREAD_MIN_WORK = 1e6;
/** Below this m·n there are too few 16x16 tiles of C to share (unless split-k shares k). */
const THREAD_MIN_TILES_AREA = 512;

/** Where C goes: element (i, j) is data[off + i * rs + j * cs]. */
export interface OutView {
  data: Float64Array | Float32Array;
  off: number;
  rs: number;
  cs: number;
}

let forced: KernelKind | null = null;

/**
 * Selects the tile routine: 'wasm' (WebAssembly SIMD, the default where it runs), 'js'
 * (scalar TypeScript), or null for the default. Both give bit-identical results; tests use
 * this to check the JS fallback. Returns the kind now in effect.
 */
export function setGemmKernel(kind: KernelKind | null): KernelKind {
  forced = kind;
  return gemmKernel();
}

/** The tile routine products use now. */
export function gemmKernel(): KernelKind {
  if (forced !== null) return forced === 'wasm' && !wasmAvailable() ? 'js' : forced;
  return wasmAvailable() ? 'wasm' : 'js';
}

let fmaForced: boolean | null = null;

/**
 * Float32 products and convolutions use FMA tiles when `on` and they exist here: the native
 * tiles (native.ts) where they are built, else relaxed-SIMD wasm ones (f32x4.relaxed_madd)
 * where the runtime validates relaxed SIMD (node 22; node 20 only with
 * --experimental-wasm-relaxed-simd) — the same bits either way. Null restores the default,
 * which is to use them wherever they exist. Off, the float32 wasm tile gives the JS tile's
 * bits. Returns whether FMA is now in effect. Float64 never uses FMA (its bits stay the JS
 * tile's).
 */
export function setGemmFma(on: boolean | null): boolean {
  fmaForced = on;
  return gemmFma();
}

/** True when float32 products run the relaxed-SIMD FMA tiles now. */
export function gemmFma(): boolean {
  return fmaForced !== false && gemmKernel() === 'wasm' && (relaxedSimdAvailable() || getArena('wasm', 1)?.native != null);
}

/**
 * How an operand reaches the arena: packed into 4-wide panels, or copied as is — 'rows'
 * when op(X) is contiguous along k (A row-major), 'cols' when op(A) is contiguous along i
 * (A stored transposed) or op(B) along j (B row-major).
 */
export type OperandMode = 'pack' | 'rows' | 'cols';

/** The schedule of a product (see {@link planGemm}). */
export interface GemmPlan {
  /** Rows / columns of C per chunk (a C workspace holds one chunk). */
  mc: number;
  nc: number;
  /** k-slices per step. */
  slicesPerStep: number;
  /** Split-k: tasks are slices writing partial blocks (small C, long k). */
  split: boolean;
  aMode: OperandMode;
  bMode: OperandMode;
  /** What the workers wait for while the main thread fills a step (STREAM_ constants). */
  stream: number;
  /** Steps in the whole product: chunks times k-steps per chunk. */
  steps: number;
}

const ceil4 = (x: number) => (x + 3) & ~3;
const floor4 = (x: number) => Math.max(4, Math.floor(x / 4) * 4);
/**
 * Leading dimension of a copy of `eb`-byte elements: whole tiles, and rows not a multiple of
 * 512 bytes apart (L1 set aliasing halves the tile's speed).
 */
const padLd = (x: number, eb: number) => {
  const ld = ceil4(x);
  return (ld * eb) % 512 === 0 ? ld + 4 : ld;
};

/**
 * The schedule of op(A) (m x k) · op(B) (k x n); `a` / `bt` view op(A) as (i, p) and op(B)ᵀ
 * as (j, p). Exported for tests and benches: it never changes the numbers, only the order
 * in which independent pieces are computed and how operands are laid out on the way.
 *
 * - Small C, long k: split-k, as many slices per step as fit (one step for a conv dW).
 * - Otherwise chunks of C that fit the workspace and buffers, all of k per step where it
 *   fits, the bigger operand streamed: the workers start on its first rows / columns / slice
 *   while the main thread is still filling in the rest.
 * - Thin products copy the big operand in its natural layout when it has a unit stride.
 */
export function planGemm(a: StridedView, bt: StridedView, m: number, n: number, k: number): GemmPlan {
  const kSlices = Math.ceil(k / KC);
  const mPad = ceil4(m);
  const nPad = ceil4(n);
  const thin = Math.min(m, n) <= THIN || k <= THIN;
  const aMode: OperandMode = thin && a.cs === 1 ? 'rows' : thin && a.rs === 1 ? 'cols' : 'pack';
  const bMode: OperandMode = thin && bt.rs === 1 ? 'cols' : 'pack';
  // Elements one k-slice of an operand takes in the arena (copies add padding).
  const sliceOf = (rows: number) => (ceil4(rows) + 8) * KC;
  if (mPad * nPad <= SPLIT_AREA && kSlices >= SPLIT_MIN_SLICES) {
    const cLen = mPad * nPad;
    const per = clamp(Math.floor((TOTAL - 2 * cLen) / (sliceOf(m) + sliceOf(n) + cLen)), 1, kSlices);
    return { mc: m, nc: n, slicesPerStep: per, split: true, aMode, bMode, stream: STREAM_SLICES, steps: Math.ceil(kSlices / per) };
  }
  // The streamed side is the one with more to copy per step. Copying whole rows of a
  // row-major A (X · W) wants all of k per step, so its chunks are short instead.
  const streamA = m > n;
  let nc = Math.min(n, Math.max(2048, floor4(C_MAX / mPad / 4)));
  let mc = Math.min(m, floor4(C_MAX / ceil4(nc)));
  let per: number;
  if (streamA && aMode === 'rows' && kSlices <= 32) {
    per = kSlices;
    mc = Math.min(mc, floor4((TOTAL - 2 * C_MAX - per * sliceOf(nc)) / (per * KC + 8)));
  } else {
    const perOf = () => Math.floor((TOTAL - 2 * ceil4(mc) * ceil4(nc)) / (sliceOf(mc) + sliceOf(nc)));
    while (perOf() < 1) {
      if (mc >= nc) mc = floor4(mc / 2);
      else nc = floor4(nc / 2);
    }
    per = Math.min(kSlices, perOf());
  }
  const steps = Math.ceil(m / mc) * Math.ceil(n / nc) * Math.ceil(kSlices / per);
  return { mc, nc, slicesPerStep: per, split: false, aMode, bMode, stream: streamA ? STREAM_ROWS : STREAM_COLS, steps };
}

const clamp = (x: number, lo: number, hi: number) => Math.max(lo, Math.min(hi, x));

/**
 * C = op(A) · op(B), GotoBLAS order, as a sequence of steps. Float64 when any of A, B, C is
 * float64 (float32 operands widened on the way in, C rounded once on the way out); float32
 * throughout (float32 tiles, panels and C workspace) when all three are float32.
 *
 * A step is a run of k-slices of one chunk of C (split-k: of all of C): the main thread
 * posts it to the workers first, then fills its operands into the arena (packing into
 * panels, or copying rows), publishing each unit (slice, block of rows or of columns) as
 * soon as it is in; the workers compute the tiles whose data is ready meanwhile. Then the
 * main thread copies the previous chunk of C out of the other workspace into `out`
 * (rounding a float64 C into a float32 out) and takes the tiles
 * that are left. Only the main thread can touch the caller's (unshared) arrays, so this
 * overlap is what keeps thin, memory-bound products (short k, or one tiny operand) from
 * running at the speed of one thread's copying.
 *
 * `a` views op(A) as (i, p); `bt` views op(B)ᵀ as (j, p). Requires m, n, k ≥ 1 and `out`
 * not sharing memory with the inputs (the caller guarantees both).
 */
export function gemm(a: StridedView, bt: StridedView, m: number, n: number, k: number, out: OutView): void {
  const plan = planGemm(a, bt, m, n, k);
  let threads = threadCount();
  if (threads > 1 && (m * n * k < THREAD_MIN_WORK || (m * n < THREAD_MIN_TILES_AREA && !plan.split) || !workersUsable())) threads = 1;
  const kind = gemmKernel();
  const f32 = a.data instanceof Float32Array && bt.data instanceof Float32Array && out.data instanceof Float32Array;
  const fma = f32 && gemmFma();
  if (threads > 1) {
    try {
      run(a, bt, m, n, k, out, plan, threads, kind, f32, fma);
      return;
    } catch (e) {
      if (!(e instanceof WorkerFailure)) throw e;
      // The pool is now retired; the whole product is recomputed on this thread.
    }
  }
  run(a, bt, m, n, k, out, plan, 1, kind, f32, fma);
}

/** A chunk of C: rows [ic, ic + mc) x columns [jc, jc + nc), in workspace `ws` (0 or 1). */
interface Chunk {
  ic: number;
  jc: number;
  mc: number;
  nc: number;
  ws: number;
}

function run(
  a: StridedView, bt: StridedView, m: number, n: number, k: number, out: OutView, plan: GemmPlan, threads: number, kind: KernelKind,
  f32: boolean, fma: boolean,
): void {
  const eb = f32 ? 4 : 8;
  const { split, aMode, bMode, stream } = plan;
  const per = plan.slicesPerStep;
  const kSlices = Math.ceil(k / KC);
  const kStep = Math.min(k, per * KC);
  const mPadMax = ceil4(plan.mc);
  const nPadMax = ceil4(plan.nc);
  // Leading dimensions of copied operands (packed ones do not use them).
  const ldA = aMode === 'rows' ? padLd(kStep, eb) : padLd(mPadMax, eb);
  const ldB = padLd(nPadMax, eb);
  // Packed slices sit KC·panels apart; only the product's last slice may be shorter.
  const aLen = aMode === 'pack' ? mPadMax * kStep : aMode === 'rows' ? mPadMax * ldA : kStep * ldA;
  const bLen = bMode === 'pack' ? nPadMax * kStep : kStep * ldB;
  const cLen = mPadMax * nPadMax;
  const aOff = 0;
  const bOff = aLen;
  const cOffs = [aLen + bLen, aLen + bLen + cLen];
  const pOff = aLen + bLen + 2 * cLen;
  const need = pOff + (split ? per * cLen : 0);
  // getArena counts float64 elements.
  const need64 = f32 ? Math.ceil(need / 2) : need;
  const arena: Arena | null = getArena(kind, need64) ?? getArena('js', need64);
  if (arena === null) throw new Error('matmul: no work memory available');
  if (threads > 1 && !arena.shared) threads = 1;
  // A float32 FMA job needs the wasm tiles on every thread (the JS tile has no FMA).
  if (arena.kind !== 'wasm') fma = false;
  const F: FloatArray = f32 ? arena.F32 : arena.F;
  const tiles = arenaTiles(arena, f32, fma);

  /** Fills rows [r0, r1) of op(A) (chunk-relative, r0 a multiple of 4) for slices [s0, s1) of a step starting at slice sBase. */
  const fillA = (ch: Chunk, r0: number, r1: number, sBase: number, s0: number, s1: number): void => {
    const mPad = ceil4(ch.mc);
    const rEnd = Math.min(r1, ch.mc);
    const p0 = s0 * KC;
    const p1 = Math.min(k, s1 * KC);
    const pBase = sBase * KC;
    if (aMode === 'pack') {
      for (let s = s0; s < s1; s++) {
        const kc = Math.min(KC, k - s * KC);
        packPanels(a, ch.ic + r0, rEnd - r0, s * KC, kc, F, aOff + (s - sBase) * mPad * KC + (r0 >> 2) * kc * 4);
      }
    } else if (aMode === 'rows') {
      for (let i = r0; i < rEnd; i++) copyRun(a.data, a.off + (ch.ic + i) * a.rs + p0, p1 - p0, F, aOff + i * ldA + (p0 - pBase));
      for (let i = Math.max(rEnd, r0); i < Math.min(r1, mPad); i++) F.fill(0, aOff + i * ldA + (p0 - pBase), aOff + i * ldA + (p1 - pBase));
    } else {
      for (let p = p0; p < p1; p++) {
        const d = aOff + (p - pBase) * ldA;
        copyRun(a.data, a.off + (ch.ic + r0) + p * a.cs, rEnd - r0, F, d + r0);
        if (r1 >= ch.mc) F.fill(0, d + ch.mc, d + mPad);
      }
    }
  };
  /** Fills columns [c0, c1) of op(B) (chunk-relative, c0 a multiple of 4) for slices [s0, s1). */
  const fillB = (ch: Chunk, c0: number, c1: number, sBase: number, s0: number, s1: number): void => {
    const nPad = ceil4(ch.nc);
    const cEnd = Math.min(c1, ch.nc);
    const p0 = s0 * KC;
    const p1 = Math.min(k, s1 * KC);
    const pBase = sBase * KC;
    if (bMode === 'pack') {
      for (let s = s0; s < s1; s++) {
        const kc = Math.min(KC, k - s * KC);
        packPanels(bt, ch.jc + c0, cEnd - c0, s * KC, kc, F, bOff + (s - sBase) * nPad * KC + (c0 >> 2) * kc * 4);
      }
    } else {
      for (let p = p0; p < p1; p++) {
        const d = bOff + (p - pBase) * ldB;
        copyRun(bt.data, bt.off + (ch.jc + c0) + p * bt.cs, cEnd - c0, F, d + c0);
        if (c1 >= ch.nc) F.fill(0, d + ch.nc, d + nPad);
      }
    }
  };

  const mChunks = Math.ceil(m / plan.mc);
  const nChunks = Math.ceil(n / plan.nc);
  const kSteps = Math.ceil(kSlices / per);
  let pending: Chunk | null = null;
  let chunkNo = 0;
  for (let jcI = 0; jcI < nChunks; jcI++) {
    for (let icI = 0; icI < mChunks; icI++) {
      const ic = icI * plan.mc;
      const jc = jcI * plan.nc;
      const ch: Chunk = { ic, jc, mc: Math.min(plan.mc, m - ic), nc: Math.min(plan.nc, n - jc), ws: chunkNo++ & 1 };
      const mPad = ceil4(ch.mc);
      const nPad = ceil4(ch.nc);
      const cOff = cOffs[ch.ws];
      const [mcBlk, ncBlk] = split ? [MC_BLK, NC_BLK] : tileShape(ch.mc, ch.nc, threads);
      for (let ks = 0; ks < kSteps; ks++) {
        const s0 = ks * per;
        const s1 = Math.min(kSlices, s0 + per);
        const slices = s1 - s0;
        const kcLast = Math.min(KC, k - (s1 - 1) * KC);
        const mp = mPad >> 2;
        const np = nPad >> 2;
        const mcP = mcBlk >> 2;
        const ncP = ncBlk >> 2;
        // Copied rows / columns go one memcpy per row and unit: units wide enough keep those
        // long (measured: 8 KiB pieces copy at 6 GB/s, 32 KiB ones at 13, whole rows at 19).
        const unit =
          stream === STREAM_SLICES ? (aMode === 'rows' ? clamp(Math.ceil(slices / 8), 1, 16) : 1)
          : stream === STREAM_ROWS ? Math.max(mcP, aMode === 'cols' ? COPY_UNIT_PANELS : MIN_UNIT_PANELS)
          : Math.max(ncP, bMode === 'cols' ? COPY_UNIT_PANELS : MIN_UNIT_PANELS);
        const job: GemmJob = {
          aOff,
          ars: aMode === 'pack' ? 1 : aMode === 'rows' ? ldA : 1,
          acs: aMode === 'pack' ? 4 : aMode === 'rows' ? 1 : ldA,
          aSlice: aMode === 'pack' ? mPad * KC : aMode === 'rows' ? KC : KC * ldA,
          aPanelK: aMode === 'pack' ? 4 : 0,
          aPanel0: aMode === 'pack' ? 0 : aMode === 'rows' ? 4 * ldA : 4,
          bOff,
          brs: bMode === 'pack' ? 4 : ldB,
          bSlice: bMode === 'pack' ? nPad * KC : KC * ldB,
          bPanelK: bMode === 'pack' ? 4 : 0,
          bPanel0: bMode === 'pack' ? 0 : 4,
          packed: aMode === 'pack' && bMode === 'pack',
          slices, kc: KC, kcLast,
          cOff: split ? pOff : cOff, cStep: split ? mPad * nPad : 0, ldc: nPad,
          mp, np, mcP, ncP, split, acc: !split && s0 > 0,
          stream, unit,
          colMajor: stream === STREAM_COLS,
          wasm: arena.kind === 'wasm', buf: arena.kind === 'wasm' ? null : F.buffer, ctl: null,
          f32, fma,
        };
        const threaded: ThreadedRun | null = threads > 1 ? startThreaded(job, threads, arena) : null;
        try {
          const pub = (u: number) => {
            if (threaded !== null) publish(threaded, u);
          };
          if (job.stream === STREAM_ROWS) {
            fillB(ch, 0, nPad, s0, s0, s1);
            const rowsPer = unit * 4;
            for (let u = 0; u * rowsPer < mPad; u++) {
              fillA(ch, u * rowsPer, Math.min(mPad, (u + 1) * rowsPer), s0, s0, s1);
              pub(u + 1);
            }
          } else if (job.stream === STREAM_COLS) {
            fillA(ch, 0, mPad, s0, s0, s1);
            const colsPer = unit * 4;
            for (let u = 0; u * colsPer < nPad; u++) {
              fillB(ch, u * colsPer, Math.min(nPad, (u + 1) * colsPer), s0, s0, s1);
              pub(u + 1);
            }
          } else {
            for (let s = s0, u = 1; s < s1; s += unit, u++) {
              const e = Math.min(s1, s + unit);
              fillB(ch, 0, nPad, s0, s, e);
              fillA(ch, 0, mPad, s0, s, e);
              pub(u);
            }
          }
          // The previous chunk lives in the other workspace: copy it out while the workers compute.
          if (pending !== null) {
            copyOut(F, cOffs[pending.ws], pending, out);
            pending = null;
          }
        } catch (e) {
          if (threaded !== null) abandon(threaded);
          throw e;
        }
        if (threaded !== null) finishThreaded(threaded);
        else gemmBlock(job, F, tiles.block, tiles.blockS);
        if (split) {
          if (f32) reducePartials32(F as Float32Array, pOff, mPad * nPad, slices, cOff, s0 > 0);
          else reducePartials(F as Float64Array, pOff, mPad * nPad, slices, cOff, s0 > 0);
        }
      }
      pending = ch;
    }
  }
  if (pending !== null) copyOut(F, cOffs[pending.ws], pending, out);
}

/**
 * Copies `len` consecutive elements of `src` from `so` into F at `d` (widening float32 into
 * a float64 arena). TypedArray.set also for float32: it widens 4x faster than a JS loop
 * (measured 1.0 against 4.0 ms for 1.6M elements; V8's float32 load + float64 store loop
 * runs at ~0.4 G/s), and between equal types it is a memcpy.
 */
function copyRun(src: FloatArray, so: number, len: number, F: FloatArray, d: number): void {
  if (len >= 32) {
    F.set(src.subarray(so, so + len), d);
    return;
  }
  for (let e = 0; e < len; e++) F[d + e] = src[so + e];
}

/**
 * C = P_0 + P_1 + … (or C += P_0, then + P_1 …): the partial blocks of a split-k step added
 * in slice order, which is the very sequence of roundings the ordinary schedule performs
 * when it accumulates slice after slice into C.
 */
function reducePartials(F: Float64Array, pOff: number, len: number, slices: number, cOff: number, acc: boolean): void {
  // One pass over C, each element summed in a register across the partials in slice order.
  for (let e = 0; e < len; e++) {
    let p = pOff + e;
    let v = acc ? F[cOff + e] + F[p] : F[p];
    for (let s = 1; s < slices; s++) {
      p += len;
      v += F[p];
    }
    F[cOff + e] = v;
  }
}

/** The float32 {@link reducePartials}: every add rounded to float32, as the float32 tile's C += s. */
function reducePartials32(F: Float32Array, pOff: number, len: number, slices: number, cOff: number, acc: boolean): void {
  const fr = Math.fround;
  for (let e = 0; e < len; e++) {
    let p = pOff + e;
    let v = acc ? fr(F[cOff + e] + F[p]) : F[p];
    for (let s = 1; s < slices; s++) {
      p += len;
      v = fr(v + F[p]);
    }
    F[cOff + e] = v;
  }
}

/** Copies a chunk of C from its padded workspace into `out` (rounding a float64 C for a float32 out). */
function copyOut(F: FloatArray, cOff: number, ch: Chunk, out: OutView): void {
  const { data, off, rs, cs } = out;
  const ldc = ceil4(ch.nc);
  const nc = ch.nc;
  if (cs === 1 && (data instanceof Float64Array) === (F instanceof Float64Array) && nc >= 32) {
    for (let i = 0; i < ch.mc; i++) {
      const src = cOff + i * ldc;
      data.set(F.subarray(src, src + nc), off + (ch.ic + i) * rs + ch.jc);
    }
    return;
  }
  for (let i = 0; i < ch.mc; i++) {
    const src = cOff + i * ldc;
    const dst = off + (ch.ic + i) * rs + ch.jc * cs;
    for (let j = 0; j < nc; j++) data[dst + j * cs] = F[src + j];
  }
}

/**
 * Task tile for an m x n region: the cache-friendly MC_BLK x NC_BLK, shrunk (not below 16)
 * until there are at least four tasks per thread, so that every core gets work and a core
 * that is busy with another process can leave tiles to the others. With few rows (im2col
 * products have 25–32) the cuts all fall along n.
 */
function tileShape(m: number, n: number, threads: number): [number, number] {
  let mb = MC_BLK;
  let nb = NC_BLK;
  if (threads > 1) {
    const want = 4 * threads;
    const tasks = () => Math.ceil(m / mb) * Math.ceil(n / nb);
    while (tasks() < want && (nb > 16 || mb > 16)) {
      // Cutting rows does not add tasks while the tile is still taller than the region.
      if (nb > 16 && (nb >= mb || mb >= m)) nb >>= 1;
      else mb >>= 1;
    }
  }
  return [mb, nb];
}
