import ndarray from 'ndarray';
import { recycleFloat } from '../core/bufferPool';
import type { FloatArray } from '../core/dtype';
import type { Tensor } from '../core/tensor';
import { inputGradWanted, isGradEnabled } from './gradMode';
import type { Op, OpNeeds } from '../ops/op';
import { Module } from './module';
import type { Parameter } from './parameter';

const NO_INPUT: OpNeeds = { input: false };
/**
 * What a module returns for an input gradient nobody asked for (see Module.backwardParams): an
 * empty tensor, never read — the container that asked discards it.
 */
export const SKIPPED: Tensor = ndarray(new Float32Array(0), [0]);

/**
 * A leaf module that is one op: its input is the op's first input, its parameters (those not
 * null) the following ones, in the order {@link opParameters} gives. Leaf modules such as
 * `Conv2d`, `Linear` and `Hardswish` are this plus their constructor and `extraRepr`.
 */
export abstract class OpModule<A, C> extends Module {
  constructor(protected readonly op: Op<A, C>) {
    super();
  }

  /** The op's attributes for the next forward (may depend on `training`). */
  protected abstract attrs(): A;

  /** The parameters passed after x, in the op's input order (absent ones left out). */
  protected opParameters(): Parameter[] {
    return [];
  }

  forward(x: Tensor): Tensor {
    const params = this.opParameters();
    const { out, cache } = this.op.forward([x, ...params.map((p) => p.data)], this.attrs());
    if (isGradEnabled()) this.saveForBackward({ cache, params });
    else this.op.release?.(cache);
    return out;
  }

  backward(dout: Tensor): Tensor {
    const { cache, params } = this.popCache<{ cache: C; params: Parameter[] }>();
    const wanted = inputGradWanted();
    const grads = this.op.backward(dout, cache, wanted ? undefined : NO_INPUT);
    this.op.release?.(cache);
    const dx = grads[0] ?? (wanted ? null : SKIPPED);
    if (!dx) throw new Error(`${this.constructor.name}.backward: the op ${this.op.name} gave no input gradient`);
    params.forEach((p, i) => {
      const g = grads[i + 1];
      if (!g) return;
      // The op's gradient is fresh unless it is a view of dout or of dx: then p.grad may keep
      // it, else it was added into p.grad and is dead.
      const fresh = g.data.buffer !== dout.data.buffer && g.data.buffer !== dx.data.buffer;
      if (!p.accumulate(g, fresh) && fresh) recycleFloat(g.data as FloatArray);
    });
    return dx;
  }
}
