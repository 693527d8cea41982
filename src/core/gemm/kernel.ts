import type { FloatArray } from '../dtype';
import type { BlockFn, BlockSFn } from './wasm';

/** How the main thread hands over a job's operands while the workers already compute. */
export const STREAM_NONE = 0;
/** Unit u = k-slices [u·unit, (u+1)·unit): a task waits for slice s before computing it. */
export const STREAM_SLICES = 1;
/** Unit u = A panels [u·unit, (u+1)·unit): a task waits for the rows it needs. */
export const STREAM_ROWS = 2;
/** Unit u = B panels [u·unit, (u+1)·unit): a task waits for the columns it needs. */
export const STREAM_COLS = 3;

/**
 * One step of a product: `slices` k-slices of one chunk of C, described by offsets into the
 * arena (one store that the main thread and the workers share). Sent to the workers as is
 * (structured clone). All offsets and strides count elements of the job's type: float64, or
 * float32 when `f32` (the arena viewed as a Float32Array).
 *
 * Operands. Element (i, p) of the tile rows of op(A) for slice s and A panel ip (4 rows) is
 * at aOff + s·aSlice + ip·(aPanelK·kc_s + aPanel0) + r·ars + p·acs (r < 4, p < kc_s), and the
 * 4 columns of op(B) at k index p of B panel jp start at bOff + s·bSlice + jp·(bPanelK·kc_s
 * + bPanel0) + p·brs. Packed panels are (ars, acs) = (1, 4), brs = 4, panel = 4·kc_s; an
 * operand copied in its natural layout has its own strides. kc_s = kc except for the last
 * slice (kcLast). Panels and copies are zero padded to whole 4x4 tiles.
 *
 * Tasks. The mp x np panels of C are cut into mcP x ncP tiles. Ordinary (acc) mode: a task
 * is a tile, computed over all slices in order into C at cOff (row stride ldc), the first
 * slice overwriting unless `acc`. Split-k mode: a task is one slice of one tile, written to
 * its own partial block at cOff + s·cStep; the driver adds the partials in slice order, the
 * very sequence of roundings the ordinary mode performs.
 */
export interface GemmJob {
  aOff: number;
  ars: number;
  acs: number;
  aSlice: number;
  aPanelK: number;
  aPanel0: number;
  bOff: number;
  brs: number;
  bSlice: number;
  bPanelK: number;
  bPanel0: number;
  /** Both operands packed: the faster fixed-stride tile loop applies. */
  packed: boolean;
  slices: number;
  kc: number;
  kcLast: number;
  cOff: number;
  cStep: number;
  ldc: number;
  /** Panels of A (4 rows each) and of B (4 columns each). */
  mp: number;
  np: number;
  /** Task tile height / width in panels. */
  mcP: number;
  ncP: number;
  split: boolean;
  /** Add the first slice to C instead of overwriting it (acc mode, later steps of a chunk). */
  acc: boolean;
  /** One of the STREAM_ constants, and the size of a unit: slices, or panels of rows / columns. */
  stream: number;
  unit: number;
  /** Take tiles column by column (when columns are streamed). */
  colMajor: boolean;
  /** Use the WebAssembly tile loops (the thread's instance) rather than the scalar JS one. */
  wasm: boolean;
  /** Float32 operands and C: products and sums in float32 (offsets count float32 elements). */
  f32: boolean;
  /** Float32 wasm tiles with relaxed-SIMD FMA (only set where the runtime validated them). */
  fma: boolean;
  /** Arena of the JS kernel (a SharedArrayBuffer when threaded); null for wasm jobs. */
  buf: ArrayBufferLike | null;
  /**
   * Shared counters, or null to run every task on this thread (operands all ready).
   * [0]: next task to take, [1]: tasks finished, [2]: set to 1 when a worker failed,
   * [3]: tasks done by workers, [4]: units the main thread has made ready, [5]: workers
   * sleeping on [4], [6]: 1 while the main thread sleeps on [1] ([7] is used by the conv
   * backward job only: see convTasks.ts). The sleeper counts let
   * each side skip Atomics.notify when nobody waits: a notify that wakes a thread costs a
   * futex system call (measured ~35 µs on the dev VM), paid per unit and per task otherwise.
   */
  ctl: Int32Array | null;
  /** Set by a worker on its copy of the job, so its tasks are counted in ctl[3]. */
  worker?: boolean;
}

/** Int32 slots of a job's control block. */
export const CTL_LEN = 8;

/**
 * Returns once the main thread has made `need` units of a streamed job ready (ctl[4]):
 * watches first — units come microseconds apart and a wake-up costs ~40 µs (SPIN_MS in
 * workers.ts) — then sleeps on ctl[4], counted in ctl[5] so the main thread notifies only when
 * someone sleeps. The workers get its source beside gemmBlock's and give it to every runner
 * they build, so gemmBlock calls it by name; other task runners, whose imports would not survive
 * being shipped as source, reach it as `gemm.awaitUnits`.
 */
export function awaitUnits(ctl: Int32Array, need: number): void {
  for (let i = 0; i < 1 << 16 && Atomics.load(ctl, 4) < need; i++);
  if (Atomics.load(ctl, 4) >= need) return;
  Atomics.add(ctl, 5, 1);
  for (;;) {
    const ready = Atomics.load(ctl, 4);
    if (ready >= need) break;
    Atomics.wait(ctl, 4, ready, 20);
  }
  Atomics.sub(ctl, 5, 1);
}

/** Tasks a job is split into. */
export function jobTasks(job: GemmJob): number {
  const tiles = Math.ceil(job.mp / job.mcP) * Math.ceil(job.np / job.ncP);
  return job.split ? job.slices * tiles : tiles;
}

/**
 * Runs tasks of a {@link GemmJob} until none are left. `F` views the whole arena; `block` /
 * `blockS` are this thread's wasm tile loops (packed / strided), or null for the JS kernel.
 *
 * WHY it looks like this: the function is shipped to the worker threads as source text
 * (`gemmBlock.toString()`), so it must be self-contained — no imports, no module constants
 * (awaitUnits aside, which the workers define beside it), no inner functions (tsx/esbuild
 * would wrap those in a `__name` helper the worker lacks).
 * Tasks are taken from a shared atomic counter rather than split statically, so a core that
 * is busy with another process simply takes fewer tiles. A worker that reaches data the main
 * thread is still packing sleeps on the ready counter (Atomics.wait) until it is published.
 *
 * Inside a task, a `mcP·4 x kc` block of A (≤ 128 x 256 doubles = 256 KiB) stays in L2 while
 * a `kc x 4` sliver of B (8 KiB) stays in L1. The JS tile keeps the 4x4 block of C in 16
 * local doubles (V8 keeps them in xmm registers): 8 loads for 32 flops per k step. The wasm
 * tile does the same arithmetic two lanes at a time. Both are float64 throughout and
 * perform the same operations in the same order, so their results are bit-identical.
 * Float32 jobs (`f32`) run the float32 tiles: `F` is then the arena's Float32Array view and
 * `block` / `blockS` the thread's float32 loops; the JS float32 tile rounds every step to
 * float32 and matches the wasm one bit for bit unless the job uses FMA (`fma`).
 */
export function gemmBlock(job: GemmJob, F: FloatArray, block: BlockFn | null, blockS: BlockSFn | null): void {
  const ldc = job.ldc;
  const ctl = job.ctl;
  const mcP = job.mcP;
  const ncP = job.ncP;
  const tRows = Math.ceil(job.mp / mcP);
  const tCols = Math.ceil(job.np / ncP);
  const tiles = tRows * tCols;
  const split = job.split;
  const nTasks = split ? job.slices * tiles : tiles;
  const worker = job.worker === true;
  const stream = ctl === null ? 0 : job.stream;
  const ars = job.ars;
  const acs = job.acs;
  const brs = job.brs;
  const useWasm = job.packed ? block !== null : blockS !== null;
  const eb = job.f32 ? 4 : 8;
  const f32 = job.f32;
  let seq = 0;
  for (;;) {
    const t = ctl === null ? seq++ : Atomics.add(ctl, 0, 1);
    if (t >= nTasks) break;
    const s0 = split ? (t / tiles) | 0 : 0;
    const r = split ? t - s0 * tiles : t;
    const s1 = split ? s0 + 1 : job.slices;
    // Row-major tile order reuses an A block from L2; column-major follows streamed columns.
    const tr = job.colMajor ? r % tRows : (r / tCols) | 0;
    const tc = job.colMajor ? (r / tRows) | 0 : r % tCols;
    const ip0 = tr * mcP;
    const ip1 = Math.min(job.mp, ip0 + mcP);
    const jp0 = tc * ncP;
    const jp1 = Math.min(job.np, jp0 + ncP);
    if (stream === 2 || stream === 3) {
      const need = Math.ceil((stream === 2 ? ip1 : jp1) / job.unit);
      awaitUnits(ctl as Int32Array, need);
    }
    if (useWasm && !job.packed && !split && stream !== 1 && s1 - s0 > 1 && job.kcLast === job.kc && (blockS as unknown as { slices?: boolean }).slices === true) {
      // The native tiles take a task's k-slices in one call, with the bits of one call a slice
      // (a batch-wide dW at 4×4 is 64 slices of 16 steps: a call each cost more than its work).
      const aPanel = job.aPanelK * job.kc + job.aPanel0;
      const bPanel = job.bPanelK * job.kc + job.bPanel0;
      const aBase = job.aOff + s0 * job.aSlice + ip0 * aPanel;
      const bBase = job.bOff + s0 * job.bSlice + jp0 * bPanel;
      const cBase = job.cOff + ip0 * 4 * ldc + jp0 * 4;
      (blockS as unknown as (...a: number[]) => void)(aBase * eb, bBase * eb, job.kc, cBase * eb, ldc * eb, job.acc ? 1 : 0, ip1 - ip0, jp1 - jp0,
        ars * eb, acs * eb, brs * eb, aPanel * eb, bPanel * eb, s1 - s0, job.aSlice * eb, job.bSlice * eb);
    } else for (let s = s0; s < s1; s++) {
      if (stream === 1) {
        const need = ((s / job.unit) | 0) + 1;
        awaitUnits(ctl as Int32Array, need);
      }
      const kc = s === job.slices - 1 ? job.kcLast : job.kc;
      const aPanel = job.aPanelK * kc + job.aPanel0;
      const bPanel = job.bPanelK * kc + job.bPanel0;
      const aBase = job.aOff + s * job.aSlice + ip0 * aPanel;
      const bBase = job.bOff + s * job.bSlice + jp0 * bPanel;
      const cBase = job.cOff + (split ? s * job.cStep : 0) + ip0 * 4 * ldc + jp0 * 4;
      const accFlag = split ? 0 : job.acc || s > 0 ? 1 : 0;
      if (useWasm) {
        if (job.packed) (block as BlockFn)(aBase * eb, bBase * eb, kc, cBase * eb, ldc * eb, accFlag, ip1 - ip0, jp1 - jp0);
        else (blockS as BlockSFn)(aBase * eb, bBase * eb, kc, cBase * eb, ldc * eb, accFlag, ip1 - ip0, jp1 - jp0, ars * eb, acs * eb, brs * eb, aPanel * eb, bPanel * eb);
        continue;
      }
      if (f32) {
        // The float32 tile: every product and sum rounded to float32 (Math.fround), as the
        // wasm f32x4 lanes do, so both give the same bits. The store into the Float32Array
        // rounds C + s. Kept apart from the float64 loop so that one stays free of branches.
        const fr = Math.fround;
        for (let jp = jp0; jp < jp1; jp++) {
          const bj = bBase + (jp - jp0) * bPanel;
          for (let ip = ip0; ip < ip1; ip++) {
            let a0 = aBase + (ip - ip0) * aPanel;
            let a1 = a0 + ars;
            let a2 = a1 + ars;
            let a3 = a2 + ars;
            let b = bj;
            let c00 = 0, c01 = 0, c02 = 0, c03 = 0;
            let c10 = 0, c11 = 0, c12 = 0, c13 = 0;
            let c20 = 0, c21 = 0, c22 = 0, c23 = 0;
            let c30 = 0, c31 = 0, c32 = 0, c33 = 0;
            for (let p = 0; p < kc; p++) {
              const b0v = F[b];
              const b1v = F[b + 1];
              const b2v = F[b + 2];
              const b3v = F[b + 3];
              const a0v = F[a0];
              c00 = fr(c00 + fr(a0v * b0v)); c01 = fr(c01 + fr(a0v * b1v)); c02 = fr(c02 + fr(a0v * b2v)); c03 = fr(c03 + fr(a0v * b3v));
              const a1v = F[a1];
              c10 = fr(c10 + fr(a1v * b0v)); c11 = fr(c11 + fr(a1v * b1v)); c12 = fr(c12 + fr(a1v * b2v)); c13 = fr(c13 + fr(a1v * b3v));
              const a2v = F[a2];
              c20 = fr(c20 + fr(a2v * b0v)); c21 = fr(c21 + fr(a2v * b1v)); c22 = fr(c22 + fr(a2v * b2v)); c23 = fr(c23 + fr(a2v * b3v));
              const a3v = F[a3];
              c30 = fr(c30 + fr(a3v * b0v)); c31 = fr(c31 + fr(a3v * b1v)); c32 = fr(c32 + fr(a3v * b2v)); c33 = fr(c33 + fr(a3v * b3v));
              a0 += acs;
              a1 += acs;
              a2 += acs;
              a3 += acs;
              b += brs;
            }
            const o = cBase + (ip - ip0) * 4 * ldc + (jp - jp0) * 4;
            const o1 = o + ldc;
            const o2 = o1 + ldc;
            const o3 = o2 + ldc;
            if (accFlag === 1) {
              F[o] += c00; F[o + 1] += c01; F[o + 2] += c02; F[o + 3] += c03;
              F[o1] += c10; F[o1 + 1] += c11; F[o1 + 2] += c12; F[o1 + 3] += c13;
              F[o2] += c20; F[o2 + 1] += c21; F[o2 + 2] += c22; F[o2 + 3] += c23;
              F[o3] += c30; F[o3 + 1] += c31; F[o3 + 2] += c32; F[o3 + 3] += c33;
            } else {
              F[o] = c00; F[o + 1] = c01; F[o + 2] = c02; F[o + 3] = c03;
              F[o1] = c10; F[o1 + 1] = c11; F[o1 + 2] = c12; F[o1 + 3] = c13;
              F[o2] = c20; F[o2 + 1] = c21; F[o2 + 2] = c22; F[o2 + 3] = c23;
              F[o3] = c30; F[o3 + 1] = c31; F[o3 + 2] = c32; F[o3 + 3] = c33;
            }
          }
        }
        continue;
      }
      for (let jp = jp0; jp < jp1; jp++) {
        const bj = bBase + (jp - jp0) * bPanel;
        for (let ip = ip0; ip < ip1; ip++) {
          let a0 = aBase + (ip - ip0) * aPanel;
          let a1 = a0 + ars;
          let a2 = a1 + ars;
          let a3 = a2 + ars;
          let b = bj;
          let c00 = 0, c01 = 0, c02 = 0, c03 = 0;
          let c10 = 0, c11 = 0, c12 = 0, c13 = 0;
          let c20 = 0, c21 = 0, c22 = 0, c23 = 0;
          let c30 = 0, c31 = 0, c32 = 0, c33 = 0;
          for (let p = 0; p < kc; p++) {
            const b0v = F[b];
            const b1v = F[b + 1];
            const b2v = F[b + 2];
            const b3v = F[b + 3];
            const a0v = F[a0];
            c00 += a0v * b0v; c01 += a0v * b1v; c02 += a0v * b2v; c03 += a0v * b3v;
            const a1v = F[a1];
            c10 += a1v * b0v; c11 += a1v * b1v; c12 += a1v * b2v; c13 += a1v * b3v;
            const a2v = F[a2];
            c20 += a2v * b0v; c21 += a2v * b1v; c22 += a2v * b2v; c23 += a2v * b3v;
            const a3v = F[a3];
            c30 += a3v * b0v; c31 += a3v * b1v; c32 += a3v * b2v; c33 += a3v * b3v;
            a0 += acs;
            a1 += acs;
            a2 += acs;
            a3 += acs;
            b += brs;
          }
          const o = cBase + (ip - ip0) * 4 * ldc + (jp - jp0) * 4;
          const o1 = o + ldc;
          const o2 = o1 + ldc;
          const o3 = o2 + ldc;
          if (accFlag === 1) {
            F[o] += c00; F[o + 1] += c01; F[o + 2] += c02; F[o + 3] += c03;
            F[o1] += c10; F[o1 + 1] += c11; F[o1 + 2] += c12; F[o1 + 3] += c13;
            F[o2] += c20; F[o2 + 1] += c21; F[o2 + 2] += c22; F[o2 + 3] += c23;
            F[o3] += c30; F[o3 + 1] += c31; F[o3 + 2] += c32; F[o3 + 3] += c33;
          } else {
            F[o] = c00; F[o + 1] = c01; F[o + 2] = c02; F[o + 3] = c03;
            F[o1] = c10; F[o1 + 1] = c11; F[o1 + 2] = c12; F[o1 + 3] = c13;
            F[o2] = c20; F[o2 + 1] = c21; F[o2 + 2] = c22; F[o2 + 3] = c23;
            F[o3] = c30; F[o3 + 1] = c31; F[o3 + 2] = c32; F[o3 + 3] = c33;
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

gemmBlock.awaitUnits = awaitUnits;
