import type { Tensor } from '../core/tensor';
import { isGradEnabled } from './gradMode';
import { Module } from './module';
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

  forward(x: Tensor): Tensor {
    const recycles = recyclingAllowed();
    if (!isGradEnabled()) {
      // Nothing keeps an activation under noGrad: each dies as the next module has read it.
      let h = x;
      for (const m of this.list) {
        const next = m.forward(h);
        if (recycles && h !== x) recycleDead([h], [x, next]);
        h = next;
      }
      return h;
    }
    const hs = [x];
    for (const m of this.list) hs.push(m.forward(hs[hs.length - 1]));
    this.saveForBackward({ hs, recycles });
    return hs[hs.length - 1];
  }

  backward(dout: Tensor): Tensor {
    const { hs, recycles } = this.popCache<{ hs: Tensor[]; recycles: boolean }>();
    let g = dout;
    const used: Tensor[] = [];
    for (let i = this.list.length - 1; i >= 0; i--) {
      if (g !== dout) used.push(g);
      g = this.list[i].backward(g);
    }
    if (recycles) recycleDead([...hs.slice(1, -1), ...used], [hs[0], hs[hs.length - 1], dout, g]);
    return g;
  }
}
