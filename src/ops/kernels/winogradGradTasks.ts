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
 * Shipped to the workers as source: self-contained.
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
      if (Atomics.load(ctl, 4) <= n) {
        Atomics.add(ctl, 5, 1);
        for (;;) {
          const ready = Atomics.load(ctl, 4);
          if (ready > n) break;
          Atomics.wait(ctl, 4, ready, 20);
        }
        Atomics.sub(ctl, 5, 1);
      }
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
              for (let a = 0; a < 6; a++) for (let b = 0; b < 6; b++) d[6 * a + b] = F[src + a * Wp + b];
              for (let b = 0; b < 6; b++) {
                const d0 = d[b], d1 = d[6 + b], d2 = d[12 + b], d3 = d[18 + b], d4 = d[24 + b], d5 = d[30 + b];
                d[b] = 4 * d0 - 5 * d2 + d4;
                d[6 + b] = d3 + d4 - 4 * (d1 + d2);
                d[12 + b] = d4 - d3 + 4 * (d1 - d2);
                d[18 + b] = d4 - d2 + 2 * (d3 - d1);
                d[24 + b] = d4 - d2 + 2 * (d1 - d3);
                d[30 + b] = 4 * d1 - 5 * d3 + d5;
              }
              const o0 = job.vOff + cp * Tc + 4 * (t0 + tj) + k;
              const vs = Cp * Tc;
              for (let a = 0; a < 6; a++) {
                const d0 = d[6 * a], d1 = d[6 * a + 1], d2 = d[6 * a + 2], d3 = d[6 * a + 3], d4 = d[6 * a + 4], d5 = d[6 * a + 5];
                const o = o0 + 6 * a * vs;
                F[o] = 4 * d0 - 5 * d2 + d4;
                F[o + vs] = d3 + d4 - 4 * (d1 + d2);
                F[o + 2 * vs] = d4 - d3 + 4 * (d1 - d2);
                F[o + 3 * vs] = d4 - d2 + 2 * (d3 - d1);
                F[o + 4 * vs] = d4 - d2 + 2 * (d1 - d3);
                F[o + 5 * vs] = 4 * d1 - 5 * d3 + d5;
              }
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
              // dY·Aᵀ: row r, column b into e[4b + r].
              for (let r = 0; r < 4; r++) {
                const x0 = F[src + r * Wo], x1 = F[src + r * Wo + 1], x2 = F[src + r * Wo + 2], x3 = F[src + r * Wo + 3];
                e[r] = x0;
                e[4 + r] = x0 + x2 + (x1 + x3);
                e[8 + r] = x0 + x2 - (x1 + x3);
                e[12 + r] = x0 + 4 * x2 + (2 * x1 + 8 * x3);
                e[16 + r] = x0 + 4 * x2 - (2 * x1 + 8 * x3);
                e[20 + r] = x3;
              }
              const o0 = job.dOff + fp * Tc + 4 * (t0 + tj) + k;
              const ds = Fp * Tc;
              for (let b = 0; b < 6; b++) {
                const x0 = e[4 * b], x1 = e[4 * b + 1], x2 = e[4 * b + 2], x3 = e[4 * b + 3];
                const o = o0 + b * ds;
                F[o] = x0;
                F[o + 6 * ds] = x0 + x2 + (x1 + x3);
                F[o + 12 * ds] = x0 + x2 - (x1 + x3);
                F[o + 18 * ds] = x0 + 4 * x2 + (2 * x1 + 8 * x3);
                F[o + 24 * ds] = x0 + 4 * x2 - (2 * x1 + 8 * x3);
                F[o + 30 * ds] = x3;
              }
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
