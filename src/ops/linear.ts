import ndarray from 'ndarray';
import { assertNdim, ShapeError, shapeStr } from '../core/check';
import { matmul } from '../core/matmul';
import { dtypeOf, type Tensor } from '../core/tensor';
import { dense, denseAs } from '../layers/layerArgs';
import { defineOp } from './op';

/** What linear keeps for backward. */
export interface LinearCache {
  x: Tensor;
  w: Tensor;
  hasBias: boolean;
}

/**
 * y = x·Wᵀ + b, as `torch.nn.functional.linear`: inputs `[x (N, in), weight (out, in), bias (out,)?]`.
 * (cs231n's `affineForward` is the same product with W stored (in, out) and x flattened.)
 * Gradients `[dx = dy·W, dW = dyᵀ·x, db = Σ dy]` (dx null when `needs.input` is false).
 */
export const linear = defineOp<Record<string, never>, LinearCache>({
  name: 'linear',
  forward(inputs) {
    const [x, w, b] = inputs;
    assertNdim('x', x, 2);
    assertNdim('weight', w, 2);
    const [N, D] = x.shape;
    const [M, Dw] = w.shape;
    if (Dw !== D) throw new ShapeError(`weight: expected shape (out, ${D}) to match the ${D} features of x, got ${shapeStr(w.shape)}`);
    if (b !== undefined && (b?.shape?.length !== 1 || b.shape[0] !== M)) {
      throw new ShapeError(`bias: expected shape (${M},) to match the ${M} outputs of weight, got ${b?.shape ? shapeStr(b.shape) : String(b)}`);
    }
    const xd = dense('x', x);
    const dtype = dtypeOf(xd);
    const wd = denseAs('weight', w, dtype);
    const out = matmul(xd, wd, { transB: true });
    if (b) {
      const bd = denseAs('bias', b, dtype).data;
      const o = out.data;
      for (let n = 0; n < N; n++) for (let m = 0; m < M; m++) o[n * M + m] += bd[m];
    }
    return { out, cache: { x: xd, w: wd, hasBias: b !== undefined } };
  },
  backward(dout, cache, needs) {
    const { x, w, hasBias } = cache;
    const [N] = x.shape;
    const [M] = w.shape;
    if (dout?.shape?.length !== 2 || dout.shape[0] !== N || dout.shape[1] !== M) {
      throw new ShapeError(`dout: expected shape ${shapeStr([N, M])} (the forward output), got ${dout?.shape ? shapeStr(dout.shape) : String(dout)}`);
    }
    const g = denseAs('dout', dout, dtypeOf(x));
    const grads: Array<Tensor | null> = [needs?.input === false ? null : matmul(g, w), matmul(g, x, { transA: true })];
    if (hasBias) {
      const db = new Float64Array(M);
      const gd = g.data;
      for (let n = 0; n < N; n++) for (let m = 0; m < M; m++) db[m] += gd[n * M + m];
      const t = ndarray(new (gd.constructor as Float64ArrayConstructor)(M), [M]);
      t.data.set(db);
      grads.push(t);
    }
    return grads;
  },
});
