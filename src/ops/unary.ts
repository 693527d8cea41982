import ndarray from 'ndarray';
import { assertArg, assertSameShape } from '../core/check';
import { allocFloatUninit } from '../core/dtype';
import { dtypeOf, type Tensor } from '../core/tensor';
import { dense, denseAs } from '../layers/layerArgs';
import { registerElementwise, type ElementwiseMath, type ElementwiseRun } from './kernels/elementwise';
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

/** A dense float store. */
export type Store = Float64Array | Float32Array;

/**
 * How to build an elementwise op: its loops over a range [i0, i1) of dense stores (computed
 * in double, stored in the input's dtype) and which value the derivative reads.
 *
 * WHY whole loops rather than a per-element function: one shared loop calling seven different
 * element functions is a megamorphic call V8 cannot inline, about twice as slow as a loop per op.
 * The loops run on every thread (kernels/elementwise.ts), so each must be self-contained: its
 * arguments (the last, `math`, holds shared helpers), Math and literals only, no imported helper.
 */
export interface UnarySpec {
  name: string;
  /** o[i] = f(x[i]) for i in [i0, i1). */
  forward: (x: Store, o: Store, i0: number, i1: number, math: ElementwiseMath) => void;
  /** dx[i] = dL/dx[i] from dL/dy `g[i]` and the saved value `s[i]` (x or y per `saves`), i in [i0, i1). */
  backward: (g: Store, s: Store, dx: Store, i0: number, i1: number, math: ElementwiseMath) => void;
  saves: 'x' | 'y';
  /** Work per element in multiply-adds (an exp ≈ 20): when threads pay off. Default 2. */
  cost?: number;
  /** Exports of the GEMM module giving the loops' bits for float32 (see registerElementwise). */
  wasm?: { forward?: string; backward?: string };
}

/** Defines an elementwise op with no attributes (one input, any shape, Float32 or Float64). */
export function defineUnaryOp(spec: UnarySpec): Op<Record<string, never>, UnaryCache> {
  const forward: ElementwiseRun = registerElementwise(`${spec.name}.forward`, spec.forward, spec.cost ?? 2, spec.wasm?.forward ?? null);
  const backward: ElementwiseRun = registerElementwise(`${spec.name}.backward`, spec.backward, spec.cost ?? 2, spec.wasm?.backward ?? null);
  return defineOp<Record<string, never>, UnaryCache>({
    name: spec.name,
    forward(inputs) {
      assertArg(inputs.length === 1, `${spec.name} inputs`, 'one input x', `${inputs.length} inputs`);
      const [x] = inputs;
      const xd = dense('x', x).data;
      const o = allocFloatUninit(dtypeOf(x), xd.length);
      forward(xd.length, xd, o);
      const y = ndarray(o, x.shape.slice());
      return { out: y, cache: spec.saves === 'x' ? { x } : { y } };
    },
    backward(dout, cache) {
      const saved = spec.saves === 'x' ? cache.x : cache.y;
      if (!saved) throw new TypeError(`${spec.name}.backward: cache: expected the saved ${spec.saves}, got none`);
      assertSameShape(spec.saves, saved, 'dout', dout);
      const s = dense(spec.saves, saved).data;
      const g = denseAs('dout', dout, dtypeOf(saved)).data;
      const dx = allocFloatUninit(dtypeOf(saved), s.length);
      backward(s.length, g, s, dx);
      return [ndarray(dx, saved.shape.slice())];
    },
  });
}
