import type { Tensor } from '../core/tensor';
import { BatchNormBase, fusedActivation } from './batchNorm';
import { forwardFolded } from './convBnFold';
import { inputGradWanted, isGradEnabled, withInputGrad } from './gradMode';
import { forwardHooksActive, Module } from './module';
import { recycleDead, recyclingAllowed } from './recycle';

/** Modules run one after another, named `0`, `1`, … (as `torch.nn.Sequential`). */
export class Sequential extends Module {
  private readonly list: Module[];

  constructor(...modules: Module[]) {
    super();
    this.list = modules;
    modules.forEach((m, i) => this.addModule(String(i), m));
  }

  /** The i-th module (negative counts from the end). */
  at(i: number): Module {
    const m = this.list[i < 0 ? this.list.length + i : i];
    if (!m) throw new RangeError(`index: expected an integer in [-${this.list.length}, ${this.list.length}), got ${i}`);
    return m;
  }

  get length(): number {
    return this.list.length;
  }

  /**
   * Runs module i on h; a batch norm followed by a ReLU or ReLU6 runs as one fused op
   * (`BatchNormBase.forwardRelu`, as Tape.seq does) and the activation is skipped — not while forward
   * hooks are registered, so `nn.summary` still sees both. Returns the output and the index of
   * the last module it covered. Under noGrad a conv followed by an eval-mode batch norm runs
   * as one folded convolution (convBnFold.ts), with a ReLU, ReLU6 or SiLU after them as its epilogue;
   * a conv followed directly by one of those runs with it as its epilogue.
   */
  private step(i: number, h: Tensor, fuse: boolean): [Tensor, number] {
    const m = this.list[i];
    const folded = fuse ? forwardFolded(this.list, i, h) : null;
    if (folded !== null) return folded;
    const act = fuse ? fusedActivation(m, this.list[i + 1]) : null;
    if (act !== null) return [(m as BatchNormBase).forwardRelu(h, act), i + 1];
    return [m.forward(h), i];
  }

  forward(x: Tensor): Tensor {
    const recycles = recyclingAllowed();
    const fuse = !forwardHooksActive();
    if (!isGradEnabled()) {
      // Nothing keeps an activation under noGrad: each dies as the next module has read it.
      let h = x;
      for (let i = 0; i < this.list.length; i++) {
        const [next, last] = this.step(i, h, fuse);
        if (recycles && h !== x) recycleDead([h], [x, next]);
        h = next;
        i = last;
      }
      return h;
    }
    const hs = [x];
    // The modules whose backward runs, in order (a fused batch norm stands for its ReLU too).
    const ran: Module[] = [];
    for (let i = 0; i < this.list.length; i++) {
      const [next, last] = this.step(i, hs[hs.length - 1], fuse);
      hs.push(next);
      ran.push(this.list[i]);
      i = last;
    }
    this.saveForBackward({ hs, recycles, ran });
    return hs[hs.length - 1];
  }

  backward(dout: Tensor): Tensor {
    const { hs, recycles, ran } = this.popCache<{ hs: Tensor[]; recycles: boolean; ran: Module[] }>();
    let g = dout;
    const used: Tensor[] = [];
    // Without the input gradient (backwardParams), only the first module may skip its own.
    const skip = !inputGradWanted();
    for (let i = ran.length - 1; i >= 0; i--) {
      if (g !== dout) used.push(g);
      const m = ran[i];
      const gi = g;
      g = skip && i > 0 ? withInputGrad(true, () => m.backward(gi)) : m.backward(gi);
    }
    if (recycles) recycleDead([...hs.slice(1, -1), ...used], [hs[0], hs[hs.length - 1], dout, g]);
    return g;
  }
}
