/*
 * Tiled matrix product on gpu.js kernels. Browser-safe.
 */
import { mat, type Steps } from './kernelCall';
import { packBlock, transposed, type MatView } from './matView';
import { gemmTiles, type TileLimits } from './tiling';

/** Optional epilogue C = alpha·A·B + rowAdd[i] + colAdd[j]; the additions are done in float64 here. */
export interface GemmEpilogue {
  alpha?: number;
  rowAdd?: ArrayLike<number>;
  colAdd?: ArrayLike<number>;
}

/**
 * C (m, n) = alpha·A (m, k)·B (k, n) + rowAdd + colAdd as a Float64Array, row-major.
 *
 * Each launch multiplies float32 tiles with a float32 accumulator; when the reduction is split
 * over several k-tiles the partial products are summed here in float64. A is uploaded as it
 * lies in memory: row-major views use the NN kernel, transposed views (unit row stride) the TN
 * kernel, so Xᵀ·G never transposes X on the host. B is always packed row-major, which is the
 * layout whose reads the WebAssembly backend vectorises.
 */
export function* gemmSteps(A: MatView, B: MatView, lim: TileLimits, epi: GemmEpilogue = {}): Steps<Float64Array> {
  const m = A.rows;
  const k = A.cols;
  const n = B.cols;
  if (B.rows !== k) throw new Error(`internal: gemm inner dimensions ${k} and ${B.rows} differ`);
  const alpha = epi.alpha ?? 1;
  const out = new Float64Array(m * n);
  if (m === 0 || n === 0) return out;
  if (epi.rowAdd || epi.colAdd) {
    for (let i = 0; i < m; i++) {
      const r = epi.rowAdd ? epi.rowAdd[i] : 0;
      for (let j = 0; j < n; j++) out[i * n + j] = r + (epi.colAdd ? epi.colAdd[j] : 0);
    }
  }
  if (k === 0) return out;
  const { mt, nt, kt } = gemmTiles(m, n, k, lim);
  const aTransposed = A.rs === 1 && A.cs !== 1 && m > 1;
  const bTiles = new Map<string, Float32Array>();
  for (let i0 = 0; i0 < m; i0 += mt) {
    const i1 = Math.min(m, i0 + mt);
    const h = i1 - i0;
    for (let p0 = 0; p0 < k; p0 += kt) {
      const p1 = Math.min(k, p0 + kt);
      const K = p1 - p0;
      const aTile = aTransposed ? packBlock(transposed(A), p0, p1, i0, i1) : packBlock(A, i0, i1, p0, p1);
      const aArg = aTransposed ? mat(aTile, h, K) : mat(aTile, K, h);
      for (let j0 = 0; j0 < n; j0 += nt) {
        const j1 = Math.min(n, j0 + nt);
        const w = j1 - j0;
        const key = `${p0},${j0}`;
        let bTile = bTiles.get(key);
        if (!bTile) bTiles.set(key, (bTile = packBlock(B, p0, p1, j0, j1)));
        // The additive epilogue is already in `out` (it costs one pass, and it must not be
        // added once per k-tile); each launch adds its partial product.
        const part = yield {
          name: aTransposed ? 'gemmTN' : 'gemmNN',
          constants: { K, alpha },
          output: [w, h],
          args: [aArg, mat(bTile, w, K)],
        };
        for (let r = 0; r < h; r++) {
          const o = (i0 + r) * n + j0;
          const s = r * w;
          for (let c = 0; c < w; c++) out[o + c] += part[s + c];
        }
      }
    }
  }
  return out;
}
