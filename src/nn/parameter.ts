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

  /**
   * Adds `g` (the parameter's shape; any float dtype) into `grad`. The first gradient after a
   * `zeroGrad` becomes `grad` itself when `owned` (the caller hands it over: a fresh array
   * nobody else holds) and it is dense with the parameter's dtype and shape — as PyTorch's
   * AccumulateGrad takes the incoming gradient rather than adding it to zeros. WHY: a fresh
   * zero-filled gradient per parameter per step was ~9% of a ResNet-18 step here (first touches
   * of new memory cost more than the additions). Returns true when `g` was kept.
   */
  accumulate(g: Tensor, owned = false): boolean {
    if (!this.requiresGrad) return false;
    const n = this.data.size;
    if (g.size !== n) throw new RangeError(`gradient: expected ${n} elements for a parameter of shape (${this.data.shape.join(', ')}), got ${g.size}`);
    const src = ascontiguous(g);
    if (this.grad === null && owned && src === g && g.data.constructor === this.data.data.constructor && g.shape.every((d, i) => d === this.data.shape[i]) && g.shape.length === this.data.shape.length && g.offset === 0 && g.data.length === n) {
      this.grad = g;
      return true;
    }
    if (this.grad === null) this.grad = zerosLike(this.data);
    const dst = this.grad.data;
    const sd = src.data;
    for (let i = 0; i < n; i++) dst[i] += sd[i];
    return false;
  }

  /** Number of elements. */
  numel(): number {
    return this.data.size;
  }
}
