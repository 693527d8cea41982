import ndarray from 'ndarray';
import { assertNdim, ShapeError, shapeStr } from './check';
import { allocFloat } from './dtype';
import { ascontiguous, dtypeOf, isContiguous, type Tensor } from './tensor';

/*
 * The two broadcasts the assignments need: a row vector across the rows of an (N, D) matrix
 * ((N,D) ∘ (D,)) and a column vector across its columns ((N,D) ∘ (N,1) or (N,)). General
 * numpy broadcasting is deliberately not offered: every op here is explicit about its axis.
 */

/** Elementwise binary operations offered by the broadcasts. */
export type BinaryOp = 'add' | 'sub' | 'mul' | 'div';

function apply(op: BinaryOp, x: number, y: number): number {
  switch (op) {
    case 'add': return x + y;
    case 'sub': return x - y;
    case 'mul': return x * y;
    case 'div': return x / y;
  }
}

function vecLength(name: string, v: Tensor, n: number, what: string): void {
  const ok = (v.shape.length === 1 && v.shape[0] === n) ||
    (v.shape.length === 2 && ((what === 'row' && v.shape[0] === 1 && v.shape[1] === n) || (what === 'col' && v.shape[1] === 1 && v.shape[0] === n)));
  if (!ok) {
    const exp = what === 'row' ? `(${n},) or (1, ${n})` : `(${n},) or (${n}, 1)`;
    throw new ShapeError(`${name}: expected shape ${exp}, got ${shapeStr(v.shape)}`);
  }
}

function checkOut(out: Tensor, n: number, d: number): Tensor {
  if (out.shape.length !== 2 || out.shape[0] !== n || out.shape[1] !== d || !isContiguous(out)) {
    throw new ShapeError(`out: expected a dense array of shape ${shapeStr([n, d])}, got ${shapeStr(out.shape)}${isContiguous(out) ? '' : ' (strided view)'}`);
  }
  return out;
}

/** out[i, j] = A[i, j] ∘ v[j]. Writes into `out` when given (may be A itself). */
export function rowOp(op: BinaryOp, A: Tensor, v: Tensor, out?: Tensor): Tensor {
  assertNdim('A', A, 2);
  const [n, d] = A.shape;
  vecLength('v', v, d, 'row');
  const a = ascontiguous(A).data;
  const vv = ascontiguous(v).data;
  const res = out ? checkOut(out, n, d) : ndarray(allocFloat(dtypeOf(A), n * d), [n, d]);
  const o = res.data;
  for (let i = 0; i < n; i++) {
    const base = i * d;
    switch (op) {
      case 'add': for (let j = 0; j < d; j++) o[base + j] = a[base + j] + vv[j]; break;
      case 'sub': for (let j = 0; j < d; j++) o[base + j] = a[base + j] - vv[j]; break;
      case 'mul': for (let j = 0; j < d; j++) o[base + j] = a[base + j] * vv[j]; break;
      case 'div': for (let j = 0; j < d; j++) o[base + j] = a[base + j] / vv[j]; break;
    }
  }
  return res;
}

/** out[i, j] = A[i, j] ∘ v[i]. */
export function colOp(op: BinaryOp, A: Tensor, v: Tensor, out?: Tensor): Tensor {
  assertNdim('A', A, 2);
  const [n, d] = A.shape;
  vecLength('v', v, n, 'col');
  const a = ascontiguous(A).data;
  const vv = ascontiguous(v).data;
  const res = out ? checkOut(out, n, d) : ndarray(allocFloat(dtypeOf(A), n * d), [n, d]);
  const o = res.data;
  for (let i = 0; i < n; i++) {
    const s = vv[i];
    const base = i * d;
    for (let j = 0; j < d; j++) o[base + j] = apply(op, a[base + j], s);
  }
  return res;
}

/** A + v with v of shape (D,) added to every row. */
export const addRow = (A: Tensor, v: Tensor, out?: Tensor): Tensor => rowOp('add', A, v, out);
/** A − v row-wise. */
export const subRow = (A: Tensor, v: Tensor, out?: Tensor): Tensor => rowOp('sub', A, v, out);
/** A ∘ v row-wise. */
export const mulRow = (A: Tensor, v: Tensor, out?: Tensor): Tensor => rowOp('mul', A, v, out);
/** A / v row-wise. */
export const divRow = (A: Tensor, v: Tensor, out?: Tensor): Tensor => rowOp('div', A, v, out);
/** A + v with v of shape (N,) or (N, 1) added to every column. */
export const addCol = (A: Tensor, v: Tensor, out?: Tensor): Tensor => colOp('add', A, v, out);
/** A − v column-wise. */
export const subCol = (A: Tensor, v: Tensor, out?: Tensor): Tensor => colOp('sub', A, v, out);
/** A ∘ v column-wise. */
export const mulCol = (A: Tensor, v: Tensor, out?: Tensor): Tensor => colOp('mul', A, v, out);
/** A / v column-wise. */
export const divCol = (A: Tensor, v: Tensor, out?: Tensor): Tensor => colOp('div', A, v, out);
