import ndarray from 'ndarray';
import { assertArg, ShapeError, shapeStr } from '../core/check';
import { matmul } from '../core/matmul';
import { dtypeOf, sizeOf, type Tensor } from '../core/tensor';
import { alloc, dense, denseAs } from './layerArgs';

/** What {@link affineForward} keeps for the backward pass. */
export interface AffineCache {
  x: Tensor;
  w: Tensor;
  b: Tensor;
}

/**
 * Fully connected layer: each example of x `(N, d1, …, dk)` is flattened to D = d1·…·dk and
 * mapped to `x·w + b`, giving `(N, M)` for w `(D, M)`, b `(M,)`. Output dtype = x's dtype.
 */
export function affineForward(x: Tensor, w: Tensor, b: Tensor): { out: Tensor; cache: AffineCache } {
  const dt = dense('x', x);
  assertArg(x.shape.length >= 1, 'x', 'an array with a leading batch axis', shapeStr(x.shape));
  const N = x.shape[0];
  const D = sizeOf(x.shape.slice(1));
  if (w?.shape?.length !== 2 || w.shape[0] !== D) {
    throw new ShapeError(`w: expected shape (${D}, M) to match x ${shapeStr(x.shape)} flattened to (${N}, ${D}), got ${w?.shape ? shapeStr(w.shape) : String(w)}`);
  }
  const M = w.shape[1];
  if (b?.shape?.length !== 1 || b.shape[0] !== M) {
    throw new ShapeError(`b: expected shape (${M},) to match w ${shapeStr(w.shape)}, got ${b?.shape ? shapeStr(b.shape) : String(b)}`);
  }
  const dtype = dtypeOf(dt);
  const x2 = ndarray(dt.data, [N, D]);
  const wd = denseAs('w', w, dtype);
  const bd = denseAs('b', b, dtype).data;
  const out = matmul(x2, wd);
  const o = out.data;
  for (let i = 0; i < N; i++) {
    const base = i * M;
    for (let j = 0; j < M; j++) o[base + j] += bd[j];
  }
  return { out, cache: { x, w, b } };
}

/**
 * Backward of {@link affineForward}: `dx` shaped like x, `dw (D, M)`, `db (M,)`, all in x's dtype.
 */
export function affineBackward(dout: Tensor, cache: AffineCache): { dx: Tensor; dw: Tensor; db: Tensor } {
  const { x, w } = cache;
  const N = x.shape[0];
  const D = sizeOf(x.shape.slice(1));
  const M = w.shape[1];
  if (dout?.shape?.length !== 2 || dout.shape[0] !== N || dout.shape[1] !== M) {
    throw new ShapeError(`dout: expected shape ${shapeStr([N, M])}, got ${dout?.shape ? shapeStr(dout.shape) : String(dout)}`);
  }
  const dtype = dtypeOf(x);
  const dd = denseAs('dout', dout, dtype);
  const x2 = ndarray(dense('x', x).data, [N, D]);
  const wd = denseAs('w', w, dtype);
  const dx2 = matmul(dd, wd, { transB: true });
  const dw = matmul(x2, dd, { transA: true });
  const db = alloc([M], dtype);
  const g = dd.data;
  // Accumulate row by row (contiguous inner loop) in float64, whatever the dtype.
  const s = new Float64Array(M);
  for (let i = 0; i < N; i++) {
    const base = i * M;
    for (let j = 0; j < M; j++) s[j] += g[base + j];
  }
  db.data.set(s);
  return { dx: ndarray(dx2.data, x.shape.slice()), dw, db };
}
