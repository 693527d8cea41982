import ndarray from 'ndarray';
import { assertSameShape } from '../core/check';
import { dtypeOf, zeros, type Tensor } from '../core/tensor';
import { add, addGrad } from '../ops/add';
import { catChannels, narrowChannels } from '../ops/channels';
import { flatten } from '../ops/flatten';
import type { Op } from '../ops/op';
import { ReLU } from './activation';
import { BatchNormBase, fusedActivation } from './batchNorm';
import { forwardFolded } from './convBnFold';
import { inputGradWanted, isGradEnabled, withInputGrad } from './gradMode';
import { forwardHooksActive, Module } from './module';
import { recycleDead, recyclingAllowed } from './recycle';

/*
 * A tape records one forward pass of a block — its child modules and the ops between them
 * (residual adds, concatenations, channel splits) — so the block's backward is the tape played
 * in reverse. Blocks then write only their forward, as in PyTorch, and a torchvision block
 * (BasicBlock, InvertedResidual, an Inception branch) reads like its Python source.
 *
 * Gradients are routed by tensor identity: every recorded output is a fresh ndarray object
 * (a module that hands back its input, like Identity, gets a new view), and a tensor used
 * twice (the input of a residual block) receives the sum of its gradients.
 */

interface Node {
  inputs: Tensor[];
  outputs: Tensor[];
  /** Gradients of the inputs from those of the outputs (null: no gradient reached that output). */
  backward(douts: Array<Tensor | null>): Array<Tensor | null>;
}

/** One forward pass of a {@link Block}, replayed backwards by {@link Tape.backward}. */
export class Tape {
  private readonly nodes: Node[] = [];
  /** Decided when the forward starts (see recycle.ts): a hook registered then may keep activations. */
  readonly recycles = recyclingAllowed();

  /** Runs `m` on `x` and records it. */
  call(m: Module, x: Tensor): Tensor {
    let out = m.forward(x);
    if (out === x) out = ndarray(out.data, out.shape.slice(), out.stride.slice(), out.offset);
    this.nodes.push({ inputs: [x], outputs: [out], backward: ([g]) => [g ? m.backward(g) : null] });
    return out;
  }

  /**
   * Runs `m1`, then `m2`, … on `x` (a chain of calls). A batch norm followed by a ReLU runs as
   * one fused op (`BatchNormBase.forwardRelu`): same values, a third of the memory traffic.
   * Under noGrad a conv followed by an eval-mode batch norm runs as one folded convolution
   * (convBnFold.ts), with a ReLU, ReLU6 or SiLU after them as its epilogue; a conv followed
   * directly by one of those runs with it as its epilogue.
   * Not while forward hooks are registered, so `nn.summary` still sees both layers.
   */
  seq(x: Tensor, ...ms: Module[]): Tensor {
    let h = x;
    const fuse = !forwardHooksActive();
    for (let i = 0; i < ms.length; i++) {
      const m = ms[i];
      const folded = fuse ? forwardFolded(ms, i, h) : null;
      const act = fuse ? fusedActivation(m, ms[i + 1]) : null;
      if (folded !== null) {
        // Under noGrad only: nothing will play this node backwards.
        this.nodes.push({ inputs: [h], outputs: [folded[0]], backward: () => { throw new Error('Tape: a folded convolution ran under noGrad and has no backward'); } });
        h = folded[0];
        i = folded[1];
      } else if (act !== null) {
        const bn = m as BatchNormBase;
        const out = bn.forwardRelu(h, act);
        this.nodes.push({ inputs: [h], outputs: [out], backward: ([g]) => [g ? bn.backward(g) : null] });
        h = out;
        i++;
      } else h = this.call(m, h);
    }
    return h;
  }

  /** Applies an op with one output and records it. */
  op<A, C>(op: Op<A, C>, inputs: Tensor[], attrs: A): Tensor {
    const { out, cache } = op.forward(inputs, attrs);
    const backward = ([g]: Array<Tensor | null>): Array<Tensor | null> => {
      if (!g) return inputs.map(() => null);
      const grads = op.backward(g, cache);
      op.release?.(cache);
      return grads;
    };
    this.nodes.push({ inputs, outputs: [out], backward });
    return out;
  }

  /**
   * Applies a function with several outputs and records it; `backward` receives each
   * output's gradient (zeros where none arrived) and returns the inputs' gradients.
   */
  multi(inputs: Tensor[], outputs: Tensor[], backward: (douts: Tensor[]) => Array<Tensor | null>): Tensor[] {
    this.nodes.push({ inputs, outputs, backward: (gs) => backward(gs.map((g, i) => g ?? zeros(outputs[i].shape, dtypeOf(outputs[i])))) });
    return outputs;
  }

  /**
   * a + b elementwise (a residual join); the gradient flows unchanged into both. With `then`,
   * that module runs on the sum (`relu(out + identity)`): a ReLU as part of the same pass (one
   * pass over the sum fewer each way), not while forward hooks are registered, so `nn.summary`
   * still sees it.
   */
  add(a: Tensor, b: Tensor, then?: Module): Tensor {
    // The exact class, as the batch-norm fusion decides (fusedActivation): a subclass of ReLU
    // may compute something else and must run as itself.
    const fuse = then !== undefined && then.constructor === ReLU && !forwardHooksActive();
    const { out, cache } = add.forward([a, b], { relu: fuse });
    // Both inputs get one gradient, not a copy each as the op's backward gives (a caller of
    // the op may write into one): on a tape every consumer only reads gradients, and a
    // residual join then costs no full-size copies in backward.
    this.nodes.push({
      inputs: [a, b], outputs: [out], backward: ([g]) => {
        const d = g ? addGrad(g, cache) : null;
        return [d, d];
      },
    });
    return then === undefined || fuse ? out : this.call(then, out);
  }

  /** Concatenation along the channel axis 1 of `(N, C_i, …)` tensors (`torch.cat(xs, 1)`). */
  concat(xs: Tensor[]): Tensor {
    return this.op(catChannels, xs, {});
  }

  /** Splits `(N, C, …)` along channels into parts of `sizes` channels (`torch.split(x, sizes, 1)`). */
  split(x: Tensor, sizes: number[]): Tensor[] {
    const C = x.shape[1];
    if (sizes.reduce((a, b) => a + b, 0) !== C) throw new RangeError(`split: sizes ${sizes.join(' + ')} must add up to the ${C} channels`);
    let start = 0;
    const parts = sizes.map((length) => {
      const part = narrowChannels.forward([x], { start, length }).out;
      start += length;
      return part;
    });
    // The adjoint of a split is a concatenation: one pass writes dx, where a backward per part
    // would write a zero-filled dx of full size each and the gradient sum would add them up.
    return this.multi([x], parts, (douts) => [catChannels.forward(douts, {}).out]);
  }

  /** x `(N, …)` as `(N, prod(…))` (`torch.flatten(x, 1)`); the gradient is reshaped back. */
  flatten(x: Tensor): Tensor {
    return this.op(flatten, [x], {});
  }

  /** Gradient of `x` (the block's input) given the gradient of `out` (its output). */
  backward(x: Tensor, out: Tensor, dout: Tensor): Tensor {
    assertSameShape('dout', dout, 'the block output', out);
    const grads = new Map<Tensor, Tensor>([[out, dout]]);
    // Gradients consumed on the way (given back at the end, see recycle.ts).
    const used: Tensor[] = [];
    const accumulate = (t: Tensor, g: Tensor): void => {
      const prev = grads.get(t);
      if (!prev) {
        grads.set(t, g);
        return;
      }
      grads.set(t, add.forward([prev, g], {}).out);
      used.push(prev, g);
    };
    // Without the input gradient (backwardParams): the one node that reads x, if x has one
    // reader and it reads nothing else, may skip it; every other node computes its own.
    const skipping = !inputGradWanted();
    let soleReader: Node | null = null;
    if (skipping) {
      const readers = this.nodes.filter((n) => n.inputs.includes(x));
      if (readers.length === 1 && readers[0].inputs.every((t) => t === x)) soleReader = readers[0];
    }
    for (let i = this.nodes.length - 1; i >= 0; i--) {
      const node = this.nodes[i];
      const gs = node.outputs.map((o) => grads.get(o) ?? null);
      if (gs.every((g) => g === null)) continue;
      for (const o of node.outputs) grads.delete(o);
      const gin = skipping ? withInputGrad(node !== soleReader, () => node.backward(gs)) : node.backward(gs);
      for (const g of gs) if (g) used.push(g);
      node.inputs.forEach((t, k) => {
        const g = gin[k];
        if (g) accumulate(t, g);
      });
    }
    const dx = grads.get(x) ?? zeros(x.shape, dtypeOf(x));
    if (this.recycles) recycleDead(this.intermediates(used), [x, out, dout, dx]);
    return dx;
  }

  /** Every output recorded on this tape, then `more`. */
  private *intermediates(more: Tensor[] = []): Iterable<Tensor> {
    for (const node of this.nodes) yield* node.outputs;
    yield* more;
  }

  /** After a forward under noGrad: gives back every buffer the tape made except `out`'s (and `x`'s). */
  releaseForward(x: Tensor, out: Tensor): void {
    if (this.recycles) recycleDead(this.intermediates(), [x, out]);
  }
}

/**
 * A module whose forward is written once, against a {@link Tape}: `run(x, tape)` calls child
 * modules with `tape.call(m, x)` and joins branches with tape ops; backward replays the tape.
 */
export abstract class Block extends Module {
  /** The forward computation, recording each step on `tape`. */
  protected abstract run(x: Tensor, tape: Tape): Tensor;

  forward(x: Tensor): Tensor {
    const tape = new Tape();
    const out = this.run(x, tape);
    if (isGradEnabled()) this.saveForBackward({ tape, x, out });
    else tape.releaseForward(x, out);
    return out;
  }

  backward(dout: Tensor): Tensor {
    const { tape, x, out } = this.popCache<{ tape: Tape; x: Tensor; out: Tensor }>();
    return tape.backward(x, out, dout);
  }
}
