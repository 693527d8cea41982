/*
 * Linear SVM and softmax loss + gradient on gpu.js kernels, in row chunks. Browser-safe.
 *
 * Per chunk of X rows (sized so the chunk is one kernel argument): scores = X·W (gemm kernel),
 * the score gradient G (svmCoef / softmaxCoef kernel), then dW += Xᵀ·(G/N) (gemm kernel, TN
 * layout: the chunk is uploaded as it lies). A chunk depends only on its own rows, so memory
 * stays bounded by one chunk whatever N is. The scalar loss is summed here in float64 from the
 * float32 scores; regularisation follows cs231n: loss += reg·ΣW², dW += 2·reg·W.
 */
import { softmaxRow } from '../layers/softmaxRow';
import { gemmSteps } from './gemmSteps';
import { mat, vec, type Steps } from './kernelCall';
import { denseView, packBlock, rowRange, transposed, type MatView } from './matView';
import { rowChunk, type TileLimits } from './tiling';

/** Which linear loss. */
export type LinearLossKind = 'svm' | 'softmax';

/** Loss and gradient (D·C, row-major, float64). */
export interface FlatLoss {
  loss: number;
  dW: Float64Array;
}

/** The loss and gradient of a linear classifier with weights W (D, C) on X (N, D). */
export function* linearLossSteps(
  kind: LinearLossKind,
  W: MatView,
  X: MatView,
  labels: Int32Array,
  reg: number,
  lim: TileLimits,
): Steps<FlatLoss> {
  const N = X.rows;
  const D = W.rows;
  const C = W.cols;
  const dW = new Float64Array(D * C);
  let dataLoss = 0;
  if (C > lim.maxOutputDim || C > lim.maxElements) {
    throw new RangeError(`W: ${C} classes exceed the ${Math.min(lim.maxOutputDim, lim.maxElements)} one gpu.js launch can hold per row; use the pure-TS backend`);
  }
  // A chunk is also one coefficient-kernel output (C, rows): GL stores it as a texture.
  const R = Math.min(rowChunk(Math.max(D, C), lim), lim.maxOutputDim);
  for (let r0 = 0; r0 < N; r0 += R) {
    const r1 = Math.min(N, r0 + R);
    const h = r1 - r0;
    // One float32 copy of the chunk serves both products (none if X already is float32).
    const Xc = D <= lim.maxElements ? denseView(packBlock(X, r0, r1, 0, D), h, D) : rowRange(X, r0, r1);
    const scores = yield* gemmSteps(Xc, W, lim);
    const s32 = Float32Array.from(scores);
    const y32 = new Float32Array(h);
    for (let i = 0; i < h; i++) y32[i] = labels[r0 + i];
    const G = yield {
      name: kind === 'svm' ? 'svmCoef' : 'softmaxCoef',
      constants: { C },
      output: [C, h],
      args: [mat(s32, C, h), vec(y32)],
    };
    dataLoss += kind === 'svm' ? svmRowLosses(scores, y32, h, C) : softmaxRowLosses(scores, y32, h, C);
    for (let t = 0; t < G.length; t++) G[t] /= N;
    const part = yield* gemmSteps(transposed(Xc), denseView(G, h, C), lim);
    for (let t = 0; t < dW.length; t++) dW[t] += part[t];
  }
  let wsq = 0;
  for (let d = 0; d < D; d++) {
    const base = W.offset + d * W.rs;
    for (let c = 0; c < C; c++) {
      const w = W.data[base + c * W.cs];
      wsq += w * w;
      dW[d * C + c] += 2 * reg * w;
    }
  }
  return { loss: dataLoss / N + reg * wsq, dW };
}

/** Σ_i Σ_{j≠y_i} max(0, s_ij − s_iy + 1). */
function svmRowLosses(s: Float64Array, y: Float32Array, h: number, C: number): number {
  let total = 0;
  for (let i = 0; i < h; i++) {
    const base = i * C;
    const yi = y[i];
    const sy = s[base + yi];
    for (let j = 0; j < C; j++) {
      if (j === yi) continue;
      const m = s[base + j] - sy + 1;
      if (m > 0) total += m;
    }
  }
  return total;
}

/** Σ_i (log Σ_j exp(s_ij) − s_iy), shifted by the row max so nothing overflows. */
function softmaxRowLosses(s: Float64Array, y: Float32Array, h: number, C: number): number {
  let total = 0;
  for (let i = 0; i < h; i++) total += softmaxRow(s, i * C, C, y[i]);
  return total;
}
