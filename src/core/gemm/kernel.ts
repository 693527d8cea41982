import type { TileFn } from './wasm';

/**
 * One k-slice of one C region, described by offsets into the arena (one Float64 store that
 * the main thread and the workers share). Sent to the workers as is (structured clone).
 *
 * Ap holds ceil(m/4) panels of 4 rows x kc (layout [panel][p][4]); Bp holds ceil(n/4)
 * panels of kc x 4 columns (layout [panel][p][4]); both zero padded, so the tile loop never
 * tests bounds inside the k loop. All offsets and `ldc` count float64 elements.
 */
export interface GemmJob {
  aOff: number;
  bOff: number;
  /** Element (i, j) of the region is at cOff + i * ldc + j. */
  cOff: number;
  ldc: number;
  m: number;
  n: number;
  kc: number;
  /** Add to C (later k-slices) instead of overwriting it (first k-slice). */
  acc: boolean;
  /** Task tile height / width in rows / columns (multiples of 4). */
  mcBlk: number;
  ncBlk: number;
  /** Use the WebAssembly tile (the thread's instance) rather than the scalar JS one. */
  wasm: boolean;
  /** Arena of the JS kernel (a SharedArrayBuffer when threaded); null for wasm jobs. */
  buf: ArrayBufferLike | null;
  /**
   * Shared counters, or null to run every task on this thread. [0]: next task to take,
   * [1]: tasks finished, [2]: set to 1 when a worker failed, [3]: tasks done by workers.
   */
  ctl: Int32Array | null;
  /** Set by a worker on its copy of the job, so its tiles are counted in ctl[3]. */
  worker?: boolean;
}

/** Float64 elements of per-thread scratch at the start of the arena (16 per thread). */
export const SCRATCH_ELEMS = 16 * 64;

/**
 * Runs tasks of a {@link GemmJob} until none are left: C(region) (+)= Ap · Bp.
 * `F` views the whole arena; `tile` is this thread's wasm tile (or null for the JS kernel);
 * `slot` (0 = main thread, 1.. = workers) picks this thread's 16-double scratch for the
 * ragged edge tiles of the wasm path.
 *
 * WHY it looks like this: the function is shipped to the worker threads as source text
 * (`gemmBlock.toString()`), so it must be self-contained — no imports, no module constants,
 * no inner functions (tsx/esbuild would wrap those in a `__name` helper the worker lacks).
 * Tasks are taken from a shared atomic counter rather than split statically, so a core that
 * is busy with another process simply takes fewer tiles.
 *
 * Inside a task, a `mcBlk x kc` block of A (≤ 128 x 256 doubles = 256 KiB) stays in L2 while
 * a `kc x 4` sliver of B (8 KiB) stays in L1. The JS tile keeps the 4x4 block of C in 16
 * local doubles (V8 keeps them in xmm registers): 8 loads for 32 flops per k step. The wasm
 * tile does the same arithmetic two lanes at a time. Both are float64 throughout and
 * perform the same operations in the same order, so their results are bit-identical.
 */
export function gemmBlock(job: GemmJob, F: Float64Array, tile: TileFn | null, slot: number): void {
  const aOff = job.aOff;
  const bOff = job.bOff;
  const cOff = job.cOff;
  const ldc = job.ldc;
  const m = job.m;
  const n = job.n;
  const kc = job.kc;
  const acc = job.acc;
  const ctl = job.ctl;
  const mPanels = Math.ceil(m / 4);
  const nPanels = Math.ceil(n / 4);
  const mcP = Math.max(1, job.mcBlk >> 2);
  const ncP = Math.max(1, job.ncBlk >> 2);
  const tRows = Math.ceil(mPanels / mcP);
  const tCols = Math.ceil(nPanels / ncP);
  const nTasks = tRows * tCols;
  const panel = kc * 4;
  const edge = new Float64Array(16);
  const scratch = slot * 16;
  const worker = job.worker === true;
  const accFlag = acc ? 1 : 0;
  let seq = 0;
  for (;;) {
    const t = ctl === null ? seq++ : Atomics.add(ctl, 0, 1);
    if (t >= nTasks) break;
    // Row-major task order: consecutive tasks reuse the same A block from L2.
    const tr = (t / tCols) | 0;
    const tc = t - tr * tCols;
    const ip0 = tr * mcP;
    const ip1 = Math.min(mPanels, ip0 + mcP);
    const jp0 = tc * ncP;
    const jp1 = Math.min(nPanels, jp0 + ncP);
    for (let jp = jp0; jp < jp1; jp++) {
      const nr = Math.min(4, n - jp * 4);
      const b0 = bOff + jp * panel;
      for (let ip = ip0; ip < ip1; ip++) {
        const mr = Math.min(4, m - ip * 4);
        const a0 = aOff + ip * panel;
        const o = cOff + ip * 4 * ldc + jp * 4;
        if (tile !== null) {
          if (mr === 4 && nr === 4) {
            tile(a0 * 8, b0 * 8, kc, o * 8, ldc * 8, accFlag);
          } else {
            // Ragged edge: compute the full padded tile aside, store only its mr x nr part.
            tile(a0 * 8, b0 * 8, kc, scratch * 8, 32, 0);
            for (let i = 0; i < mr; i++) {
              for (let j = 0; j < nr; j++) {
                if (acc) F[o + i * ldc + j] += F[scratch + i * 4 + j];
                else F[o + i * ldc + j] = F[scratch + i * 4 + j];
              }
            }
          }
          continue;
        }
        let a = a0;
        let b = b0;
        let c00 = 0, c01 = 0, c02 = 0, c03 = 0;
        let c10 = 0, c11 = 0, c12 = 0, c13 = 0;
        let c20 = 0, c21 = 0, c22 = 0, c23 = 0;
        let c30 = 0, c31 = 0, c32 = 0, c33 = 0;
        for (let p = 0; p < kc; p++) {
          const b0v = F[b];
          const b1v = F[b + 1];
          const b2v = F[b + 2];
          const b3v = F[b + 3];
          const a0v = F[a];
          c00 += a0v * b0v; c01 += a0v * b1v; c02 += a0v * b2v; c03 += a0v * b3v;
          const a1v = F[a + 1];
          c10 += a1v * b0v; c11 += a1v * b1v; c12 += a1v * b2v; c13 += a1v * b3v;
          const a2v = F[a + 2];
          c20 += a2v * b0v; c21 += a2v * b1v; c22 += a2v * b2v; c23 += a2v * b3v;
          const a3v = F[a + 3];
          c30 += a3v * b0v; c31 += a3v * b1v; c32 += a3v * b2v; c33 += a3v * b3v;
          a += 4;
          b += 4;
        }
        if (mr === 4 && nr === 4) {
          const o1 = o + ldc;
          const o2 = o1 + ldc;
          const o3 = o2 + ldc;
          if (acc) {
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
        } else {
          // Ragged edge tile: the padded lanes lie outside C's region, so only mr x nr is stored.
          edge[0] = c00; edge[1] = c01; edge[2] = c02; edge[3] = c03;
          edge[4] = c10; edge[5] = c11; edge[6] = c12; edge[7] = c13;
          edge[8] = c20; edge[9] = c21; edge[10] = c22; edge[11] = c23;
          edge[12] = c30; edge[13] = c31; edge[14] = c32; edge[15] = c33;
          for (let i = 0; i < mr; i++) {
            const oi = o + i * ldc;
            for (let j = 0; j < nr; j++) {
              if (acc) F[oi + j] += edge[i * 4 + j];
              else F[oi + j] = edge[i * 4 + j];
            }
          }
        }
      }
    }
    if (ctl !== null) {
      if (worker) Atomics.add(ctl, 3, 1);
      Atomics.add(ctl, 1, 1);
      Atomics.notify(ctl, 1);
    }
  }
}
