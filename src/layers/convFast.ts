import ndarray from 'ndarray';
import { ShapeError } from '../core/check';
import { recycleFloat } from '../core/bufferPool';
import { allocFloat, type DType, type FloatArray } from '../core/dtype';
import { convBackwardFused, convForwardFused } from '../core/convFused';
import { matmul } from '../core/matmul';
import type { Tensor } from '../core/tensor';
import { runDoutRows } from '../ops/kernels/unfoldTasks';
import { checkConvArgs, checkConvDout, type ConvCache, type ConvParam } from './conv';
import { col2imAdd, im2colInto, type WindowGeometry } from './im2col';
import { alloc, positiveInt } from './layerArgs';

/** Largest scratch buffer (elements) kept between calls; bigger ones are allocated per call. */
const SCRATCH_MAX = 1 << 24;
const scratchStore = new Map<string, FloatArray>();

/**
 * A reused work buffer of n elements (contents arbitrary) for intermediates that never leave
 * this module: first touch of fresh multi-MB memory costs far more than the arithmetic here.
 * Buffers handed to callers (outputs, caches) must stay fresh allocations. Each slot is its own
 * ArrayBuffer, so two slots never alias (matmul must not see its output share A's or B's store).
 */
function scratch(slot: string, dtype: DType, n: number): FloatArray {
  if (n > SCRATCH_MAX) return allocFloat(dtype, n);
  const key = `${slot}:${dtype}`;
  let buf = scratchStore.get(key);
  if (buf === undefined || buf.length < n) {
    buf = allocFloat(dtype, n);
    scratchStore.set(key, buf);
  }
  return buf.length === n ? buf : buf.subarray(0, n);
}

/*
 * Convolution as im2col + GEMM per channel group, K = (C/g)·HH·WW, P = H'·W':
 *   forward   out_g (F/g, P) = W_g (F/g, K) · cols_g (K, P)   (+ b)
 *   backward  dW_g = dout_g · cols_gᵀ,   dcols_g = W_gᵀ · dout_g → col2im,   db = Σ dout
 * The fused kernels (core/convFused.ts) do this one sample at a time inside the matmul's
 * arena, on its worker pool; the unfused functions below do it for the whole batch at once
 * (cols (K, N·P), see im2col.ts) and serve images whose per-sample working set is too large.
 * groups = 1 is the ordinary convolution; groups = C = F is depthwise.
 */

/** Convolution parameters of the general im2col path. */
export interface Conv2dParam extends ConvParam {
  /** Channel groups: x's C channels and w's F filters split into `groups` independent convolutions. Default 1. */
  groups?: number;
}

/** What {@link conv2dForward} keeps: the naive cache plus the groups and window geometry. */
export interface ConvFastCache extends ConvCache {
  groups: number;
  geom: WindowGeometry;
  /**
   * im2col of x, all groups back to back: groups × (K, N·P) — only when the forward took the
   * unfused path (images too large for the fused kernel), whose backward reuses it.
   */
  cols?: FloatArray;
}

/**
 * Convolution of x `(N, C, H, W)` with w `(F, C/groups, HH, WW)`, b `(F,)` for any stride and
 * pad; H' = 1 + floor((H + 2·pad − HH)/stride) (like the naive layer). Output `(N, F, H', W')`
 * in x's dtype. Runs the fused per-sample kernel of core/convFused.ts (im2col of one sample
 * at a time, on the worker pool); images too large for it take {@link im2colForward}.
 */
export function conv2dForward(x: Tensor, w: Tensor, b: Tensor, convParam: Conv2dParam): { out: Tensor; cache: ConvFastCache } {
  const groups = positiveInt('convParam.groups', convParam?.groups ?? 1);
  const { geom, F, dtype, xd, wd, bd } = checkConvArgs(x, w, b, convParam, groups);
  const { N, outH, outW } = geom;
  const out = allocFloat(dtype, N * F * outH * outW);
  let cols: FloatArray | undefined;
  if (!convForwardFused(xd.data, wd.data, bd.data, geom, F, groups, out)) cols = im2colForward(xd.data, wd.data, bd.data, geom, F, groups, out);
  const { stride, pad } = convParam;
  return {
    out: ndarray(out, [N, F, outH, outW]),
    cache: { x, w, b, convParam: { stride, pad }, groups, geom, ...(cols ? { cols } : {}) },
  };
}

/**
 * The unfused forward over the whole batch: per group out_g (F/g, N·P) = W_g · cols_g with
 * cols the im2col of all of x, then (F, N·P) → (N, F, P) plus the bias, into `out`. Returns
 * the columns (kept in the cache for the backward).
 */
export function im2colForward(x: FloatArray, w: FloatArray, b: FloatArray, geom: WindowGeometry, F: number, groups: number, out: FloatArray): FloatArray {
  const { N, C, fh, fw, outH, outW } = geom;
  const dtype = out instanceof Float32Array ? 'float32' : 'float64';
  const Cg = C / groups;
  const P = outH * outW;
  const NP = N * P;
  const K = Cg * fh * fw;
  const Fg = F / groups;
  const cols = allocFloat(dtype, groups * K * NP);
  const prod = scratch('prod', dtype, F * NP);
  for (let g = 0; g < groups; g++) {
    const colsG = cols.subarray(g * K * NP, (g + 1) * K * NP);
    im2colInto(x, geom, g * Cg, Cg, colsG);
    const Wg = ndarray(w.subarray(g * Fg * K, (g + 1) * Fg * K), [Fg, K]);
    const outG = ndarray(prod.subarray(g * Fg * NP, (g + 1) * Fg * NP), [Fg, NP]);
    matmul(Wg, ndarray(colsG, [K, NP]), { out: outG });
  }
  for (let f = 0; f < F; f++) {
    const bias = b[f];
    for (let n = 0; n < N; n++) {
      const src = f * NP + n * P;
      const dst = (n * F + f) * P;
      for (let p = 0; p < P; p++) out[dst + p] = prod[src + p] + bias;
    }
  }
  return cols;
}

/**
 * Backward of {@link conv2dForward}: `{ dx, dw, db }` shaped like x, w, b, in x's dtype.
 * Any convolution cache works, also the naive forward's: the fused kernel unfolds x again
 * (cheaper than keeping the columns), and the unfused fallback reuses `cache.cols` if present.
 */
export function conv2dBackward(dout: Tensor, cache: ConvCache & Partial<ConvFastCache>): { dx: Tensor; dw: Tensor; db: Tensor } {
  const groups = cache.groups ?? 1;
  const { geom, F, Cg, dtype, xd, wd } = checkConvArgs(cache.x, cache.w, cache.b, cache.convParam, groups);
  const { N, C, H, W, fh, fw, outH, outW } = geom;
  const g4 = checkConvDout(dout, N, F, outH, outW, dtype).data;
  const dw = alloc([F, Cg, fh, fw], dtype);
  const dx = alloc([N, C, H, W], dtype);
  const db = alloc([F], dtype);
  if (!convBackwardFused(xd.data, wd.data, g4, geom, F, groups, dx.data, dw.data, db.data)) {
    im2colBackward(g4, cache.cols, xd.data, wd.data, geom, F, groups, dx.data, dw.data, db.data);
  }
  return { dx, dw, db };
}

/**
 * The unfused backward over the whole batch (for images too large for the fused kernel's
 * per-sample working set): dW_g = dout_g · cols_gᵀ, dcols_g = W_gᵀ · dout_g → col2im,
 * db = Σ dout (dx null: dW and db only). Uses the forward's cols when given, else unfolds x again.
 */
export function im2colBackward(
  g4: FloatArray, cachedCols: FloatArray | undefined, x: FloatArray, w: FloatArray, geom: WindowGeometry, F: number, groups: number,
  dx: FloatArray | null, dw: FloatArray, db: FloatArray,
): void {
  const { N, C, fh, fw, outH, outW } = geom;
  const dtype = dw instanceof Float32Array ? 'float32' : 'float64';
  const Cg = C / groups;
  const P = outH * outW;
  const NP = N * P;
  const K = Cg * fh * fw;
  const Fg = F / groups;
  let cols = cachedCols;
  if (!cols) {
    cols = allocFloat(dtype, groups * K * NP);
    for (let g = 0; g < groups; g++) im2colInto(x, geom, g * Cg, Cg, cols.subarray(g * K * NP, (g + 1) * K * NP));
  }
  // (N, F, P) → (F, N·P), summing db on the way (ops/kernels/unfoldTasks.ts, on every thread).
  const dprod = scratch('dprod', dtype, F * NP);
  const dbAcc = runDoutRows(N, F, P, g4, dprod);
  const dcols = scratch('dcols', dtype, K * NP);
  const dcolsT = ndarray(dcols, [K, NP]);
  for (let g = 0; g < groups; g++) {
    const colsG = ndarray(cols.subarray(g * K * NP, (g + 1) * K * NP), [K, NP]);
    const doutG = ndarray(dprod.subarray(g * Fg * NP, (g + 1) * Fg * NP), [Fg, NP]);
    const Wg = ndarray(w.subarray(g * Fg * K, (g + 1) * Fg * K), [Fg, K]);
    matmul(doutG, colsG, { transB: true, out: ndarray(dw.subarray(g * Fg * K, (g + 1) * Fg * K), [Fg, K]) });
    if (dx === null) continue;
    matmul(Wg, doutG, { transA: true, out: dcolsT });
    col2imAdd(dcols, geom, g * Cg, Cg, dx);
  }
  db.set(dbAcc);
  // Unfolded here, so private and dead.
  if (!cachedCols) recycleFloat(cols);
}

/** The fast layers' exact-tiling requirement (cs231n's fast conv asserts the same). */
function assertTiles(x: Tensor, w: Tensor, convParam: ConvParam): void {
  const [, , H, W] = x.shape;
  const [, , HH, WW] = w.shape;
  const { stride, pad } = convParam;
  const spanH = H + 2 * pad - HH;
  const spanW = W + 2 * pad - WW;
  if (spanH % stride !== 0 || spanW % stride !== 0) {
    const bad = spanH % stride !== 0 ? `height: H + 2·pad − HH = ${H} + ${2 * pad} − ${HH} = ${spanH}` : `width: W + 2·pad − WW = ${W} + ${2 * pad} − ${WW} = ${spanW}`;
    throw new ShapeError(
      `convParam.stride: the fast conv needs windows that tile the padded input exactly, but ${bad} is not divisible by stride ${stride} ` +
        `(x ${JSON.stringify(x.shape)}, w ${JSON.stringify(w.shape)}, pad ${pad}); use conv2dForward for floor semantics`,
    );
  }
}

/**
 * cs231n's `conv_forward_fast`: same result as {@link convForwardNaive} (to round-off), computed
 * by im2col + matmul. Like cs231n it requires (H + 2·pad − HH) and (W + 2·pad − WW) to be
 * divisible by the stride, and throws naming `convParam.stride` otherwise.
 */
export function convForwardFast(x: Tensor, w: Tensor, b: Tensor, convParam: ConvParam): { out: Tensor; cache: ConvFastCache } {
  // Shapes and types are checked first so a channel mismatch is reported as such.
  checkConvArgs(x, w, b, convParam);
  assertTiles(x, w, convParam);
  return conv2dForward(x, w, b, { stride: convParam.stride, pad: convParam.pad });
}

/** Backward of {@link convForwardFast}: `{ dx, dw, db }`. */
export function convBackwardFast(dout: Tensor, cache: ConvFastCache): { dx: Tensor; dw: Tensor; db: Tensor } {
  return conv2dBackward(dout, cache);
}
