import ndarray from 'ndarray';
import { allocFloat } from './dtype';
import { assertNdim, ShapeError, shapeStr } from './check';
import { dtypeOf, type Tensor } from './tensor';

/** Options of {@link matmul}. */
export interface MatmulOptions {
  /** Use Aᵀ instead of A. */
  transA?: boolean;
  /** Use Bᵀ instead of B. */
  transB?: boolean;
  /** Destination (dense, row-major, right shape); allocated when absent. */
  out?: Tensor;
}

/** C = op(A) · op(B) for 2-D tensors. Placeholder scalar version; replaced by the blocked kernel. */
export function matmul(A: Tensor, B: Tensor, opts: MatmulOptions = {}): Tensor {
  assertNdim('A', A, 2);
  assertNdim('B', B, 2);
  const [m, k] = opts.transA ? [A.shape[1], A.shape[0]] : [A.shape[0], A.shape[1]];
  const [k2, n] = opts.transB ? [B.shape[1], B.shape[0]] : [B.shape[0], B.shape[1]];
  if (k !== k2) throw new ShapeError(`B: expected ${k} rows in op(B) to match op(A) ${shapeStr([m, k])}, got ${shapeStr([k2, n])}`);
  const out = opts.out ?? ndarray(allocFloat(dtypeOf(A), m * n), [m, n]);
  const a = opts.transA ? A.transpose(1, 0) : A;
  const b = opts.transB ? B.transpose(1, 0) : B;
  for (let i = 0; i < m; i++) {
    for (let j = 0; j < n; j++) {
      let s = 0;
      for (let p = 0; p < k; p++) s += a.get(i, p) * b.get(p, j);
      out.set(i, j, s);
    }
  }
  return out;
}
