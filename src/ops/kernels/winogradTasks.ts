import type { FloatArray } from '../../core/dtype';
import type { gemmBlock } from '../../core/gemm/kernel';
import type { BlockFn, BlockSFn, RowsFn } from '../../core/gemm/wasm';
import type { WorkerJob } from '../../core/gemm/workers';

/*
 * Winograd F(4×4, 3×3): a stride-1 3×3 convolution computed per 4×4 block ("tile") of output
 * positions from the 6×6 block of input under it:
 *
 *   Y = Aᵀ [ Σ_c (G g_{f,c} Gᵀ) ⊙ (Bᵀ d_c B) ] A,
 *
 * so the 36 products of each (filter, channel, tile) replace 144 multiply-adds of the direct
 * sum. Written per transform coordinate ξ = (a, b) ∈ 6×6, the channel sum is one matrix
 * product per ξ: M_ξ (F × tiles) = U_ξ (F × C) · V_ξ (C × tiles), with U = G g Gᵀ (the
 * filters, transformed once per call: winogradFilters.ts) and V = Bᵀ d B (the input, per tile). The 36 products
 * go through the matmul's own tile loops (packed operands), the transforms are plain loops.
 *
 * The interpolation points are 0, ±1, ±2 and ∞ (Lavin & Gray 2015):
 *   Bᵀ = [4 0 −5 0 1 0; 0 −4 −4 1 1 0; 0 4 −4 −1 1 0; 0 −2 −1 2 1 0; 0 2 −1 −2 1 0; 0 4 0 −5 0 1]
 *   G  = [1/4 0 0; −1/6 −1/6 −1/6; −1/6 1/6 −1/6; 1/24 1/12 1/6; 1/24 −1/12 1/6; 0 0 1]
 *   Aᵀ = [1 1 1 1 1 0; 0 1 −1 2 −2 0; 0 1 1 4 4 0; 0 1 −1 8 −8 1]
 *
 * WHY per block of tiles: a task transforms Tb tiles of all channels into its scratch, runs the
 * 36 products on them and transforms the results straight into the output, so V and M (2.25×
 * the input and output they stand for) never go to memory as whole tensors. The transforms run
 * in float64 and round once on store; each output element is computed by exactly one task from
 * the same operands in the same order, so the result does not depend on Tb or on the threads.
 */

/**
 * One chunk of samples of a Winograd convolution. The input sits in the arena zero padded to
 * whole blocks — (samples, C, Hp, Wp) with Hp = 4·tH + 2, Wp = 4·tW + 2 and the image at
 * (pad, pad) — so every tile's 6×6 block is inside it; the output is written as whole 4×4
 * blocks, (samples, F, 4·tH, 4·tW), and cut to outH × outW by the caller. Offsets count
 * elements of the job's type in the arena.
 */
export interface WinogradJob extends WorkerJob {
  kind: 'winograd';
  C: number;
  F: number;
  /** Tiles per sample: ⌈outH/4⌉ × ⌈outW/4⌉. */
  tH: number; tW: number;
  samples: number;
  /** Tiles per task (a multiple of 4: whole 4-column panels of the products). */
  Tb: number;
  /** F rounded up to whole 4-row panels. */
  Fp: number;
  /**
   * The transformed filters: 36 packed A operands of Fp × C, ξ's at uOff + ξ·Fp·C; its panel
   * ip (rows 4ip…4ip+3) at + ip·4C, element (r, c) of a panel at + 4c + r. Rows ≥ F are zero.
   */
  uOff: number;
  /** The bias (F), or −1. */
  bOff: number;
  xOff: number;
  oOff: number;
  /**
   * Per-thread scratch: thread slot s owns sLen elements at sOff + s·sLen — V (36 packed B
   * operands of C × Tb, ξ's at + ξ·Tb·C) then M (36 blocks of Fp rows of Tb, ξ's at + ξ·Fp·Tb).
   * The control block's slot [7] hands out the slots; [4] counts the samples copied in.
   */
  sOff: number;
  sLen: number;
}

/** Tasks of a job: blocks of Tb tiles over the chunk's tiles, in (sample, tile row, tile column) order. */
export function winogradJobTasks(job: WinogradJob): number {
  return Math.ceil((job.samples * job.tH * job.tW) / job.Tb);
}

/**
 * Runs tasks of a {@link WinogradJob} until none are left. Float32 jobs with the wasm tiles
 * transform four tiles at a time in the thread's `wgIn32` / `wgOut32` (core/gemm/wasmWinograd.ts,
 * float32 arithmetic); otherwise the loops below do it in float64, rounding once on store.
 * Shipped to the workers as source (see TaskRunner in core/gemm/workers.ts), so it is
 * self-contained: no imports, no module constants.
 */
export function winogradTasks(
  job: WinogradJob, F: FloatArray, block: BlockFn | null, blockS: BlockSFn | null, _rows: RowsFn | null, gemm: typeof gemmBlock,
  ex: Record<string, unknown> | null,
): void {
  const ctl = job.ctl as Int32Array;
  const { C, tH, tW, Tb, Fp } = job;
  const K = job.F;
  const T = tH * tW;
  const Wp = 4 * tW + 2;
  const plane = (4 * tH + 2) * Wp;
  const Wo = 4 * tW;
  const oPlane = 16 * T;
  const total = job.samples * T;
  const tasks = Math.ceil(total / Tb);
  const vStep = Tb * C;
  const mStep = Fp * Tb;
  const worker = job.worker === true;
  const simd = job.f32 && job.wasm && ex !== null && typeof ex.wgIn32 === 'function';
  const wgIn = simd ? (ex as Record<string, (...a: number[]) => void>).wgIn32 : null;
  const wgOut = simd ? (ex as Record<string, (...a: number[]) => void>).wgOut32 : null;
  const d = new Float64Array(36);
  const lane = [0, 0, 0, 0];
  // Element offset of tile q's top-left corner in a region at `base` of samples `sample` apart, rows `row` long.
  function tileAt(q: number, base: number, sample: number, row: number): number {
    const n = (q / T) | 0;
    const r = q - n * T;
    const ti = (r / tW) | 0;
    return base + n * sample + 4 * ti * row + 4 * (r - ti * tW);
  }
  // Bᵀ·(six values of src from s0, `ss` apart) into dst from d0, `ds` apart (src may be dst).
  function bt(src: FloatArray | Float64Array, s0: number, ss: number, dst: FloatArray | Float64Array, d0: number, ds: number): void {
    const x0 = src[s0], x1 = src[s0 + ss], x2 = src[s0 + 2 * ss], x3 = src[s0 + 3 * ss], x4 = src[s0 + 4 * ss], x5 = src[s0 + 5 * ss];
    dst[d0] = 4 * x0 - 5 * x2 + x4;
    dst[d0 + ds] = x3 + x4 - 4 * (x1 + x2);
    dst[d0 + 2 * ds] = x4 - x3 + 4 * (x1 - x2);
    dst[d0 + 3 * ds] = x4 - x2 + 2 * (x3 - x1);
    dst[d0 + 4 * ds] = x4 - x2 + 2 * (x1 - x3);
    dst[d0 + 5 * ds] = 4 * x1 - 5 * x3 + x5;
  }
  let vOff = -1;
  let mOff = -1;
  for (;;) {
    const t = Atomics.add(ctl, 0, 1);
    if (t >= tasks) break;
    if (vOff < 0) {
      // Only once this thread holds a task (a worker late for a finished job touches nothing).
      vOff = job.sOff + Atomics.add(ctl, 7, 1) * job.sLen;
      mOff = vOff + 36 * vStep;
    }
    const q0 = t * Tb;
    const q1 = Math.min(total, q0 + Tb);
    const nq = q1 - q0;
    const nLast = ((q1 - 1) / T) | 0;
    gemm.awaitUnits(ctl, nLast + 1);

    // V_ξ[c, q] = (Bᵀ d B)[ξ] of channel c's 6×6 input block under tile q.
    if (wgIn !== null) {
      for (let p0 = 0; p0 < nq; p0 += 4) {
        // Lanes past the last tile repeat the first: finite values in columns nobody reads.
        for (let k = 0; k < 4; k++) lane[k] = 4 * tileAt(q0 + p0 + (p0 + k < nq ? k : 0), job.xOff, C * plane, Wp);
        wgIn(lane[0], lane[1], lane[2], lane[3], 4 * (vOff + p0 * C), C, 4 * plane, 4 * Wp, 4 * vStep);
      }
    } else {
      for (let qq = 0; qq < nq; qq++) {
        let vb = vOff + (qq >> 2) * 4 * C + (qq & 3);
        let src = tileAt(q0 + qq, job.xOff, C * plane, Wp);
        for (let c = 0; c < C; c++, vb += 4, src += plane) {
          for (let a = 0, s0 = src; a < 6; a++, s0 += Wp) {
            d[6 * a] = F[s0]; d[6 * a + 1] = F[s0 + 1]; d[6 * a + 2] = F[s0 + 2];
            d[6 * a + 3] = F[s0 + 3]; d[6 * a + 4] = F[s0 + 4]; d[6 * a + 5] = F[s0 + 5];
          }
          // Bᵀ along the columns (in place), then B along the rows (into V).
          for (let b = 0; b < 6; b++) bt(d, b, 6, d, b, 6);
          for (let a = 0; a < 6; a++) bt(d, 6 * a, 1, F, vb + 6 * a * vStep, vStep);
        }
      }
      // A last panel short of 4 tiles: its spare columns are zero (their products are never read).
      if ((nq & 3) !== 0) {
        const panel = nq >> 2;
        for (let xi = 0; xi < 36; xi++) {
          for (let c = 0; c < C; c++) {
            const o = vOff + xi * vStep + panel * 4 * C + 4 * c;
            for (let j = nq & 3; j < 4; j++) F[o + j] = 0;
          }
        }
      }
    }

    // M_ξ (Fp × Tb) = U_ξ (Fp × C) · V_ξ (C × Tb), both packed.
    const np = (nq + 3) >> 2;
    for (let xi = 0; xi < 36; xi++) {
      gemm({
        aOff: job.uOff + xi * Fp * C, ars: 1, acs: 4, aSlice: 0, aPanelK: 0, aPanel0: 4 * C,
        bOff: vOff + xi * vStep, brs: 4, bSlice: 0, bPanelK: 0, bPanel0: 4 * C,
        packed: true, slices: 1, kc: C, kcLast: C,
        cOff: mOff + xi * mStep, cStep: 0, ldc: Tb, mp: Fp >> 2, np, mcP: Fp >> 2, ncP: np,
        split: false, acc: false, stream: 0, unit: 1, colMajor: false,
        wasm: job.wasm, f32: job.f32, fma: job.fma, buf: job.buf, ctl: null,
      }, F, block, blockS);
    }

    // Y = Aᵀ M A (+ bias): whole 4×4 blocks of the padded output.
    if (wgOut !== null) {
      for (let p0 = 0; p0 < nq; p0 += 4) {
        for (let k = 0; k < 4; k++) lane[k] = 4 * tileAt(q0 + p0 + (p0 + k < nq ? k : 0), job.oOff, K * oPlane, Wo);
        wgOut(4 * (mOff + p0), 4 * mStep, 4 * Tb, K, lane[0], lane[1], lane[2], lane[3], Math.min(4, nq - p0), 4 * Wo, 4 * oPlane,
          4 * Math.max(0, job.bOff), job.bOff >= 0 ? 1 : 0);
      }
    } else {
      for (let f = 0; f < K; f++) {
        const bias = job.bOff >= 0 ? F[job.bOff + f] : 0;
        for (let qq = 0; qq < nq; qq++) {
          const mb = mOff + f * Tb + qq;
          // Aᵀ along the columns: 6 rows → 4, into d[0..24).
          for (let b = 0, m = mb; b < 6; b++, m += mStep) {
            const m0 = F[m], m1 = F[m + 6 * mStep], m2 = F[m + 12 * mStep], m3 = F[m + 18 * mStep], m4 = F[m + 24 * mStep], m5 = F[m + 30 * mStep];
            const s12 = m1 + m2, d12 = m1 - m2, s34 = m3 + m4, d34 = m3 - m4;
            d[b] = m0 + s12 + s34;
            d[6 + b] = d12 + 2 * d34;
            d[12 + b] = s12 + 4 * s34;
            d[18 + b] = d12 + 8 * d34 + m5;
          }
          let o = tileAt(q0 + qq, job.oOff + f * oPlane, K * oPlane, Wo);
          for (let a = 0; a < 4; a++, o += Wo) {
            const m0 = d[6 * a], m1 = d[6 * a + 1], m2 = d[6 * a + 2], m3 = d[6 * a + 3], m4 = d[6 * a + 4], m5 = d[6 * a + 5];
            const s12 = m1 + m2, d12 = m1 - m2, s34 = m3 + m4, d34 = m3 - m4;
            F[o] = m0 + s12 + s34 + bias;
            F[o + 1] = d12 + 2 * d34 + bias;
            F[o + 2] = s12 + 4 * s34 + bias;
            F[o + 3] = d12 + 8 * d34 + m5 + bias;
          }
        }
      }
    }

    if (worker) Atomics.add(ctl, 3, 1);
    Atomics.add(ctl, 1, 1);
    if (Atomics.load(ctl, 6) !== 0) Atomics.notify(ctl, 1);
  }
}
