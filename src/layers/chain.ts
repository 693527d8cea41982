import type { Tensor } from '../core/tensor';

/*
 * A stack of layers run as one: each step's forward feeds the next, and the backward walks the
 * steps in reverse, passing dx down and collecting every other gradient by name. The cs231n
 * sandwich layers (affine-ReLU, conv-BN-ReLU, …) and FullyConnectedNet are such stacks, so none
 * of them keeps a hand-written cache or derives a gradient of its own.
 */

/** Gradients a layer's backward returns: dx plus its parameters' (dw, db, dgamma, …). */
export type LayerGrads = { dx: Tensor } & Record<string, Tensor>;

/** One layer of a chain: its forward on the running value, its backward, and names for its parameter gradients. */
export interface ChainStep {
  forward(h: Tensor): { out: Tensor; cache: unknown };
  backward(dout: Tensor, cache: any): LayerGrads;
  /** Renames this step's gradients (`{ dw: 'W1', db: 'b1' }`); unnamed ones keep their names. */
  names?: Record<string, string>;
}

/** What {@link chainForward} keeps: the steps and their caches. */
export interface ChainCache {
  steps: ChainStep[];
  caches: unknown[];
}

/** Runs `steps` on `x` in order. */
export function chainForward(x: Tensor, steps: ChainStep[]): { out: Tensor; cache: ChainCache } {
  let h = x;
  const caches: unknown[] = [];
  for (const s of steps) {
    const r = s.forward(h);
    h = r.out;
    caches.push(r.cache);
  }
  return { out: h, cache: { steps, caches } };
}

/** Backward of {@link chainForward}: dx of the first step's input and every step's parameter gradients by name. */
export function chainBackward<G extends LayerGrads = LayerGrads>(dout: Tensor, cache: ChainCache): G {
  const grads: Record<string, Tensor> = {};
  let d = dout;
  for (let i = cache.steps.length - 1; i >= 0; i--) {
    const step = cache.steps[i];
    const { dx, ...rest } = step.backward(d, cache.caches[i]);
    for (const [k, g] of Object.entries(rest)) grads[step.names?.[k] ?? k] = g;
    d = dx;
  }
  return { dx: d, ...grads } as G;
}
