import type { Tensor } from '../core/tensor';
import { Module } from './module';

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
    let h = x;
    for (const m of this.list) h = m.forward(h);
    return h;
  }

  backward(dout: Tensor): Tensor {
    let g = dout;
    for (let i = this.list.length - 1; i >= 0; i--) g = this.list[i].backward(g);
    return g;
  }
}
