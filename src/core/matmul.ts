import ndarray from 'ndarray';
import { allocFloat } from './dtype';
import { assertDtype, assertNdim, assertShape, floatDtype, ShapeError, shapeStr } from './check';
import type { Tensor } from './tensor';
import { gemm, GEMM_KC, planGemm, type GemmPlan, type OutView } from './gemm/gemm';
import type { StridedView } from './gemm/pack';

/** Options of {@link matmul}. */
export interface MatmulOptions {
  /** Use Aᵀ instead of A. */
  transA?: boolean;
  /** Use Bᵀ instead of B. */
  transB?: boolean;
  /**
   * Destination of shape (m, n) and A's dtype; any strides. Allocated (dense, row-major) when
   * absent. It may share memory with A or B: the product is then computed aside and copied.
   */
  out?: Tensor;
}

/**
 * The documented bound on |C − exact| of a float32 product's element with inner dimension
 * k and Σ_p |a_ip||b_pj| = `absDot` (see {@link matmul}): the slice sums each carry at most
 * min(k, 256) roundings, adding the ⌈k/256⌉ slice sums at most as many more, plus one for
 * the product's own rounding; u = 2⁻²⁴, to first order (the 1.01 covers the second).
 */
export function float32ErrorBound(k: number, absDot: number): number {
  return 1.01 * (Math.min(k, GEMM_KC) + Math.ceil(k / GEMM_KC) + 1) * 2 ** -24 * absDot;
}

/** Below this m·n·k, packing costs more than it saves: a plain strided loop is used. */
const SMALL_WORK = 4096;

/**
 * C = op(A) · op(B) for 2-D float tensors, where op(X) is X or Xᵀ per `transA` / `transB`.
 *
 * Synchronous, like numpy. Inputs may be any strided view (transposed, sliced, negative
 * steps); the result has A's dtype (B may be the other float dtype). Empty dimensions are
 * fine: k = 0 gives zeros, m = 0 or n = 0 an empty result.
 *
 * Speed: a cache-blocked GEMM (src/core/gemm/): operands are packed into 4-row / 4-column
 * panels per 256-long k-slice — or, for thin products (a side or k ≤ 64, e.g. im2col
 * convolutions and X · W with 10 classes), the big operand is copied row by row in its own
 * layout — and a 4x4 register tile runs over them: a WebAssembly SIMD (f64x2) tile loop
 * assembled on first use, or the scalar TypeScript tile where WebAssembly SIMD is missing
 * (same numbers, bit for bit). Small C with long k (a convolution's dW) is split over k.
 * Products with m·n·k ≥ 1e6 are split over worker threads that share memory
 * (SharedArrayBuffer / shared wasm memory), which start on the first rows / columns / slices
 * while the main thread is still copying the rest, and are joined with Atomics.wait:
 * os.availableParallelism() threads, at most 4, or `CS231N_THREADS` (1 forces one thread;
 * without SharedArrayBuffer one thread is used). The workers start on first use and are
 * unref()ed, so they never keep a process alive. See {@link gemmPlan}.
 *
 * Precision. Float64 (either operand float64): every product and sum in float64; a float32
 * result (A float32, B float64) is rounded once at the end. Float32 (both operands float32):
 * products and sums in float32, as numpy's and PyTorch's sgemm, on f32x4 SIMD tiles at twice
 * the float64 rate. Each element of C sums its k-slices of {@link GEMM_KC} = 256 (within a
 * slice, s += a·b in p order) and adds the slice sums in order, so
 *   |C − exact| ≤ (min(k, 256) + ⌈k/256⌉ + 1) · 2⁻²⁴ · Σ_p |a_ip||b_pj|
 * (to first order; exactly what {@link float32ErrorBound} returns). Where the runtime has
 * relaxed SIMD (node 22; node 20 with --experimental-wasm-relaxed-simd) the float32 tiles use
 * FMA, one rounding per step instead of two, within the same bound (see setGemmFma).
 * Products under 4096 multiply-adds take a plain loop summing in float64, rounded once.
 *
 * Results do not depend on the thread count, nor on the blocked path's schedule (each element
 * sums its k-slices in order, however the work is split). The JS fallback tile gives the same
 * bits as the WebAssembly one for float64, and for float32 without FMA.
 */
export function matmul(A: Tensor, B: Tensor, opts: MatmulOptions = {}): Tensor {
  assertNdim('A', A, 2);
  assertNdim('B', B, 2);
  const dtype = floatDtype('A', A);
  floatDtype('B', B);
  const transA = opts.transA === true;
  const transB = opts.transB === true;
  const [m, k] = transA ? [A.shape[1], A.shape[0]] : [A.shape[0], A.shape[1]];
  const [k2, n] = transB ? [B.shape[1], B.shape[0]] : [B.shape[0], B.shape[1]];
  if (k !== k2) {
    const nameA = transA ? 'Aᵀ' : 'A';
    const nameB = transB ? 'Bᵀ' : 'B';
    throw new ShapeError(
      `B: expected ${nameB} to have ${k} rows to match ${nameA} ${shapeStr([m, k])}, got ${nameB} ${shapeStr([k2, n])}`,
    );
  }
  let out: Tensor;
  if (opts.out !== undefined) {
    out = opts.out;
    assertNdim('out', out, 2);
    assertShape('out', out, [m, n]);
    assertDtype('out', out, dtype);
  } else {
    out = ndarray(allocFloat(dtype, m * n), [m, n]);
  }
  if (m === 0 || n === 0) return out;

  // Writing C while A or B is still being read would corrupt them: compute aside.
  if (out.data.buffer === A.data.buffer || out.data.buffer === B.data.buffer) {
    const tmp = matmul(A, B, { transA, transB });
    for (let i = 0; i < m; i++) for (let j = 0; j < n; j++) out.set(i, j, tmp.get(i, j));
    return out;
  }

  const o: OutView = { data: out.data, off: out.offset, rs: out.stride[0], cs: out.stride[1] };
  if (k === 0) {
    for (let i = 0; i < m; i++) for (let j = 0; j < n; j++) o.data[o.off + i * o.rs + j * o.cs] = 0;
    return out;
  }
  const { a, bt } = operandViews(A, B, transA, transB);
  if (m * n * k < SMALL_WORK) smallProduct(a, bt, m, n, k, o);
  else gemm(a, bt, m, n, k, o);
  return out;
}

/** op(A) as (i, p) and op(B)ᵀ as (j, p): a transpose flag is just swapped strides. */
function operandViews(A: Tensor, B: Tensor, transA: boolean, transB: boolean): { a: StridedView; bt: StridedView } {
  const a: StridedView = transA
    ? { data: A.data, off: A.offset, rs: A.stride[1], cs: A.stride[0] }
    : { data: A.data, off: A.offset, rs: A.stride[0], cs: A.stride[1] };
  const bt: StridedView = transB
    ? { data: B.data, off: B.offset, rs: B.stride[0], cs: B.stride[1] }
    : { data: B.data, off: B.offset, rs: B.stride[1], cs: B.stride[0] };
  return { a, bt };
}

/**
 * The schedule {@link matmul} would use for these operands (chunks, split-k, which operand
 * is copied or packed, what is streamed to the workers), or null when the product takes the
 * plain small-product loop or is empty. For tests and benches: the schedule never changes
 * the result, which is the same bit for bit whatever it is.
 */
export function gemmPlan(A: Tensor, B: Tensor, opts: { transA?: boolean; transB?: boolean } = {}): GemmPlan | null {
  const transA = opts.transA === true;
  const transB = opts.transB === true;
  const [m, k] = transA ? [A.shape[1], A.shape[0]] : [A.shape[0], A.shape[1]];
  const n = transB ? B.shape[0] : B.shape[1];
  if (m === 0 || n === 0 || k === 0 || m * n * k < SMALL_WORK) return null;
  const { a, bt } = operandViews(A, B, transA, transB);
  return planGemm(a, bt, m, n, k);
}

/** Plain strided triple loop for tiny products (layers' bias-sized work, unit tests). */
function smallProduct(a: StridedView, bt: StridedView, m: number, n: number, k: number, o: OutView): void {
  const A = a.data;
  const B = bt.data;
  for (let i = 0; i < m; i++) {
    const ai = a.off + i * a.rs;
    for (let j = 0; j < n; j++) {
      let bj = bt.off + j * bt.rs;
      let ap = ai;
      let s = 0;
      for (let p = 0; p < k; p++) {
        s += A[ap] * B[bj];
        ap += a.cs;
        bj += bt.cs;
      }
      o.data[o.off + i * o.rs + j * o.cs] = s;
    }
  }
}
