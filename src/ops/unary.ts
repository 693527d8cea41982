import ndarray from 'ndarray';
import { assertArg, assertSameShape } from '../core/check';
import { allocFloat } from '../core/dtype';
import { dtypeOf, type Tensor } from '../core/tensor';
import { dense, denseAs } from '../layers/layerArgs';
import { defineOp, type Op } from './op';

/**
 * What an elementwise op keeps for backward: its input `x` or its output `y`, whichever its
 * derivative is cheaper from (sigmoid and tanh from y, the piecewise ones from x, whose kinks
 * are decided on x exactly as PyTorch decides them).
 */
export interface UnaryCache {
  x?: Tensor;
  y?: Tensor;
}

/** How to build an elementwise op: the function, its derivative, and which value the derivative reads. */
export interface UnarySpec {
  name: string;
  /** f(v) for one element (computed in double, stored in the input's dtype). */
  f: (v: number) => number;
  /** dL/dv for one element, given dL/dy `g` and the saved value (x or y per `saves`). */
  grad: (g: number, saved: number) => number;
  saves: 'x' | 'y';
}

/** The elementwise forward of `spec` over a dense copy of x (any shape; output in x's dtype). */
function unaryForward(spec: UnarySpec, x: Tensor): Tensor {
  const xd = dense('x', x).data;
  const o = allocFloat(dtypeOf(x), xd.length);
  const f = spec.f;
  for (let i = 0; i < xd.length; i++) o[i] = f(xd[i]);
  return ndarray(o, x.shape.slice());
}

/** Defines an elementwise op with no attributes (one input, any shape, Float32 or Float64). */
export function defineUnaryOp(spec: UnarySpec): Op<Record<string, never>, UnaryCache> {
  return defineOp<Record<string, never>, UnaryCache>({
    name: spec.name,
    forward(inputs) {
      assertArg(inputs.length === 1, `${spec.name} inputs`, 'one input x', `${inputs.length} inputs`);
      const [x] = inputs;
      const y = unaryForward(spec, x);
      return { out: y, cache: spec.saves === 'x' ? { x } : { y } };
    },
    backward(dout, cache) {
      const saved = spec.saves === 'x' ? cache.x : cache.y;
      if (!saved) throw new TypeError(`${spec.name}.backward: cache: expected the saved ${spec.saves}, got none`);
      assertSameShape(spec.saves, saved, 'dout', dout);
      const s = dense(spec.saves, saved).data;
      const g = denseAs('dout', dout, dtypeOf(saved)).data;
      const dx = allocFloat(dtypeOf(saved), s.length);
      const grad = spec.grad;
      for (let i = 0; i < s.length; i++) dx[i] = grad(g[i], s[i]);
      return [ndarray(dx, saved.shape.slice())];
    },
  });
}
