import type { FloatArray } from '../../core/dtype';
import type { gemmBlock } from '../../core/gemm/kernel';
import type { BlockFn, BlockSFn, RowsFn } from '../../core/gemm/wasm';
import type { WorkerJob } from '../../core/gemm/workers';

/*
 * The weight gradient of a Winograd F(4×4, 3×3) convolution, as the adjoint of its forward
 * (winogradTasks.ts): with Y = Aᵀ[Σ_c U_{f,c} ⊙ V_c]A and U = G g Gᵀ,
 *
 *   dU_ξ (F × C) = Σ_tiles dM_ξ[f, t] · V_ξ[c, t],  dM = A dY Aᵀ,  dg = Gᵀ dU G,
 *
 * one matrix product per ξ whose inner dimension runs over every tile of the batch. Phase 1
 * transforms each sample's tiles — V from the zero-padded input, dM from dout cut into whole
 * 4×4 blocks — into the products' packed layouts (tiles along k, four channels or filters per
 * panel); phase 2 runs the 36 products, one per task, adding chunk after chunk into dU. Each
 * dU_ξ is computed by one task in k order, so the result does not depend on the threads.
 */

/**
 * One chunk of samples of the weight gradient. Per sample n: x padded as in WinogradJob
 * (C planes of (4·tH + 2) × (4·tW + 2)) at xOff, dout as whole blocks (F planes of 4·tH ×
 * 4·tW, zero past outH × outW) at gOff. Tiles t = n·tH·tW + ti·tW + tj of the chunk (Tc of them):
 *   V'_ξ   at vOff + ξ·Cp·Tc: panel cp (channels 4cp…4cp+3) at + cp·4Tc, (c, t) at + 4t + c mod 4;
 *   dM'_ξ  at dOff + ξ·Fp·Tc: the same over filters;
 *   dU_ξ   at uOff + ξ·Fp·Cp: Fp rows of Cp (dU = Σ dM'·V'ᵀ).
 */
export interface WinogradGradJob extends WorkerJob {
  kind: 'winogradGrad';
  /** 1: the transforms (a task per sample); 2: the products (a task per ξ). */
  phase: number;
  C: number; F: number; Cp: number; Fp: number;
  tH: number; tW: number;
  samples: number;
  /** Tiles of a full chunk (the layouts' k extent); this chunk uses samples·tH·tW of them. */
  Tc: number;
  xOff: number; gOff: number; vOff: number; dOff: number; uOff: number;
  /** Phase 2: add to dU (every chunk after the first). */
  acc: boolean;
  /** Phase 2: k slice of the products. */
  kc: number;
}

export function winogradGradJobTasks(job: WinogradGradJob): number {
  return job.phase === 1 ? job.samples : 36;
}

/**
 * Runs tasks of a {@link WinogradGradJob}. Float32 with the wasm tiles: the transforms are the
 * thread's `wgIn32` / `wgGrad32` (float32); otherwise float64 loops rounding once on store.
 * Shipped to the workers as source: self-contained (inner functions only).
 */
export function winogradGradTasks(
  job: WinogradGradJob, F: FloatArray, block: BlockFn | null, blockS: BlockSFn | null, _rows: RowsFn | null, gemm: typeof gemmBlock,
  ex: Record<string, unknown> | null,
): void {
  const ctl = job.ctl as Int32Array;
  const { C, Cp, Fp, tH, tW, Tc } = job;
  const K = job.F;
  const T = tH * tW;
  const Wp = 4 * tW + 2;
  const plane = (4 * tH + 2) * Wp;
  const Wo = 4 * tW;
  const oPlane = 16 * T;
  const tasks = job.phase === 1 ? job.samples : 36;
  const worker = job.worker === true;
  const simd = job.f32 && job.wasm && ex !== null && typeof ex.wgIn32 === 'function';
  const wgIn = simd ? (ex as Record<string, (...a: number[]) => void>).wgIn32 : null;
  const wgGrad = simd ? (ex as Record<string, (...a: number[]) => void>).wgGrad32 : null;
  const d = new Float64Array(36);
  const e = new Float64Array(24);
  const lane = [0, 0, 0, 0];
  // Bᵀ·(six values of src from s0, `ss` apart) into dst from d0, `ds` apart.
  function bt(src: FloatArray | Float64Array, s0: number, ss: number, dst: FloatArray | Float64Array, d0: number, ds: number): void {
    const x0 = src[s0], x1 = src[s0 + ss], x2 = src[s0 + 2 * ss], x3 = src[s0 + 3 * ss], x4 = src[s0 + 4 * ss], x5 = src[s0 + 5 * ss];
    dst[d0] = 4 * x0 - 5 * x2 + x4;
    dst[d0 + ds] = x3 + x4 - 4 * (x1 + x2);
    dst[d0 + 2 * ds] = x4 - x3 + 4 * (x1 - x2);
    dst[d0 + 3 * ds] = x4 - x2 + 2 * (x3 - x1);
    dst[d0 + 4 * ds] = x4 - x2 + 2 * (x1 - x3);
    dst[d0 + 5 * ds] = 4 * x1 - 5 * x3 + x5;
  }
  // A·(four values of src from s0, `ss` apart) into six of dst from d0, `ds` apart
  // (A = [1 0 0 0; 1 1 1 1; 1 −1 1 −1; 1 2 4 8; 1 −2 4 −8; 0 0 0 1]).
  function aRows(src: FloatArray | Float64Array, s0: number, ss: number, dst: FloatArray | Float64Array, d0: number, ds: number): void {
    const x0 = src[s0], x1 = src[s0 + ss], x2 = src[s0 + 2 * ss], x3 = src[s0 + 3 * ss];
    dst[d0] = x0;
    dst[d0 + ds] = x0 + x2 + (x1 + x3);
    dst[d0 + 2 * ds] = x0 + x2 - (x1 + x3);
    dst[d0 + 3 * ds] = x0 + 4 * x2 + (2 * x1 + 8 * x3);
    dst[d0 + 4 * ds] = x0 + 4 * x2 - (2 * x1 + 8 * x3);
    dst[d0 + 5 * ds] = x3;
  }
  for (;;) {
    const t = Atomics.add(ctl, 0, 1);
    if (t >= tasks) break;
    if (job.phase === 2) {
      // dU_ξ (+)= dM'_ξ (Fp × Tk) · V'_ξᵀ (Tk × Cp), in k slices of kc. Panels are 4·Tc
      // apart, not 4·kc, so the strided tile loop (the packed one assumes 4·kc).
      const Tk = job.samples * T;
      const slices = Math.ceil(Tk / job.kc);
      gemm({
        aOff: job.dOff + t * Fp * Tc, ars: 1, acs: 4, aSlice: 4 * job.kc, aPanelK: 0, aPanel0: 4 * Tc,
        bOff: job.vOff + t * Cp * Tc, brs: 4, bSlice: 4 * job.kc, bPanelK: 0, bPanel0: 4 * Tc,
        packed: false, slices, kc: job.kc, kcLast: Tk - (slices - 1) * job.kc,
        cOff: job.uOff + t * Fp * Cp, cStep: 0, ldc: Cp, mp: Fp >> 2, np: Cp >> 2, mcP: Fp >> 2, ncP: Cp >> 2,
        split: false, acc: job.acc, stream: 0, unit: 1, colMajor: false,
        wasm: job.wasm, f32: job.f32, fma: job.fma, buf: job.buf, ctl: null,
      }, F, block, blockS);
    } else {
      const n = t;
      gemm.awaitUnits(ctl, n + 1);
      // V' of the sample's tiles, four channels per panel (channels past C repeat the last).
      for (let cp = 0; cp < Cp; cp += 4) {
        for (let ti = 0; ti < tH; ti++) {
          const t0 = n * T + ti * tW;
          if (wgIn !== null) {
            for (let k = 0; k < 4; k++) lane[k] = 4 * (job.xOff + (n * C + Math.min(C - 1, cp + k)) * plane + 4 * ti * Wp);
            wgIn(lane[0], lane[1], lane[2], lane[3], 4 * (job.vOff + cp * Tc + 4 * t0), tW, 16, 4 * Wp, 4 * Cp * Tc);
            continue;
          }
          for (let k = 0; k < 4; k++) {
            const c = Math.min(C - 1, cp + k);
            for (let tj = 0; tj < tW; tj++) {
              const src = job.xOff + (n * C + c) * plane + 4 * ti * Wp + 4 * tj;
              // Bᵀ along the columns of the block (from the input), then B along the rows (into V').
              const o0 = job.vOff + cp * Tc + 4 * (t0 + tj) + k;
              const vs = Cp * Tc;
              for (let b = 0; b < 6; b++) bt(F, src + b, Wp, d, b, 6);
              for (let a = 0; a < 6; a++) bt(d, 6 * a, 1, F, o0 + 6 * a * vs, vs);
            }
          }
        }
      }
      // dM' = A·dY·Aᵀ of the sample's tiles, four filters per panel (filters past F repeat the last).
      for (let fp = 0; fp < Fp; fp += 4) {
        for (let ti = 0; ti < tH; ti++) {
          const t0 = n * T + ti * tW;
          if (wgGrad !== null) {
            for (let k = 0; k < 4; k++) lane[k] = 4 * (job.gOff + (n * K + Math.min(K - 1, fp + k)) * oPlane + 4 * ti * Wo);
            wgGrad(lane[0], lane[1], lane[2], lane[3], 4 * (job.dOff + fp * Tc + 4 * t0), tW, 16, 4 * Wo, 4 * Fp * Tc);
            continue;
          }
          for (let k = 0; k < 4; k++) {
            const f = Math.min(K - 1, fp + k);
            for (let tj = 0; tj < tW; tj++) {
              const src = job.gOff + (n * K + f) * oPlane + 4 * ti * Wo + 4 * tj;
              // dY·Aᵀ: row r, column b into e[4b + r]; then A on the left, column b into ξ = 6a + b.
              const o0 = job.dOff + fp * Tc + 4 * (t0 + tj) + k;
              const ds = Fp * Tc;
              for (let r = 0; r < 4; r++) aRows(F, src + r * Wo, 1, e, r, 4);
              for (let b = 0; b < 6; b++) aRows(e, 4 * b, 1, F, o0 + b * ds, 6 * ds);
            }
          }
        }
      }
    }
    if (worker) Atomics.add(ctl, 3, 1);
    Atomics.add(ctl, 1, 1);
    if (Atomics.load(ctl, 6) !== 0) Atomics.notify(ctl, 1);
  }
}

/**
 * The last step of the weight gradient, dw[f, c] = Gᵀ dU G (3 × 3 from the 36 ξ of dU),
 * in float64 rounded once on store, for filters [f0, f1) a task. WHY a kernel of its own: on
 * the main thread alone it was ~4% of a ResNet-18 step while the workers waited (a 512 × 512
 * bank: ~20 ms).
 */
export interface WinogradDwJob extends WorkerJob {
  kind: 'winogradDw';
  C: number; F: number; Cp: number; Fp: number;
  /** Filters per task. */
  fb: number;
  /** dU: 36 blocks of Fp rows of Cp (ξ-major), as phase 2 leaves it. */
  dU: FloatArray;
  /** dw (F, C, 3, 3), dense. */
  dw: FloatArray;
}

/** Runs tasks of a {@link WinogradDwJob} until none are left (all of them when `ctl` is null). Self-contained. */
export function winogradDwTasks(job: WinogradDwJob): void {
  const ctl = job.ctl;
  const worker = job.worker === true;
  const { C, F, Cp, Fp, fb, dU, dw } = job;
  const nTasks = Math.ceil(F / fb);
  const step = Fp * Cp;
  const t = new Float64Array(18);
  let next = 0;
  for (;;) {
    const task = ctl === null ? next++ : Atomics.add(ctl, 0, 1);
    if (task >= nTasks) break;
    for (let f = task * fb; f < Math.min(F, (task + 1) * fb); f++) {
      for (let c = 0; c < C; c++) {
        const u = f * Cp + c;
        // t = Gᵀ dU (3 × 6), column b at t[3b..3b+2]: the rows of Gᵀ are G's columns.
        for (let b = 0; b < 6; b++) {
          const m0 = dU[u + b * step], m1 = dU[u + (6 + b) * step], m2 = dU[u + (12 + b) * step];
          const m3 = dU[u + (18 + b) * step], m4 = dU[u + (24 + b) * step], m5 = dU[u + (30 + b) * step];
          t[3 * b] = m0 / 4 - (m1 + m2) / 6 + (m3 + m4) / 24;
          t[3 * b + 1] = (m2 - m1) / 6 + (m3 - m4) / 12;
          t[3 * b + 2] = -(m1 + m2) / 6 + (m3 + m4) / 6 + m5;
        }
        const o = (f * C + c) * 9;
        for (let i = 0; i < 3; i++) {
          const m0 = t[i], m1 = t[3 + i], m2 = t[6 + i], m3 = t[9 + i], m4 = t[12 + i], m5 = t[15 + i];
          dw[o + 3 * i] = m0 / 4 - (m1 + m2) / 6 + (m3 + m4) / 24;
          dw[o + 3 * i + 1] = (m2 - m1) / 6 + (m3 - m4) / 12;
          dw[o + 3 * i + 2] = -(m1 + m2) / 6 + (m3 + m4) / 6 + m5;
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
