import { ascontiguous, zerosLike, type Tensor } from '../core/tensor';

/**
 * A trainable tensor, as `torch.nn.Parameter`: `data` is the value, `grad` the gradient that
 * backward passes add into (null until the first one, and again after `zeroGrad({ setToNone })`).
 */
export class Parameter {
  data: Tensor;
  grad: Tensor | null = null;
  /** False freezes the parameter: backward passes leave `grad` alone and optimizers skip it. */
  requiresGrad = true;

  constructor(data: Tensor, requiresGrad = true) {
    this.data = data;
    this.requiresGrad = requiresGrad;
  }

  /** Adds `g` (the parameter's shape; any float dtype) into `grad`, allocating it on first use. */
  accumulate(g: Tensor): void {
    if (!this.requiresGrad) return;
    const n = this.data.size;
    if (g.size !== n) throw new RangeError(`gradient: expected ${n} elements for a parameter of shape (${this.data.shape.join(', ')}), got ${g.size}`);
    if (this.grad === null) this.grad = zerosLike(this.data);
    const dst = this.grad.data;
    const src = ascontiguous(g).data;
    for (let i = 0; i < n; i++) dst[i] += src[i];
  }

  /** Number of elements. */
  numel(): number {
    return this.data.size;
  }
}
