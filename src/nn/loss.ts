import { assertArg } from '../core/check';
import type { Tensor } from '../core/tensor';
import { crossEntropy, type CrossEntropyCache } from '../ops/crossEntropy';
import type { Labels } from '../layers/losses';
import { fromData } from '../core/tensor';

/** Options of {@link CrossEntropyLoss}. */
export interface CrossEntropyLossOptions {
  /** ε in [0, 1] (PyTorch's `label_smoothing`). Default 0. */
  labelSmoothing?: number;
}

/**
 * Mean softmax cross-entropy on logits `(N, C)` and integer labels `(N,)`, with PyTorch's
 * label smoothing (`torch.nn.CrossEntropyLoss(label_smoothing=ε)`). Not a `Module`: its forward
 * takes two arguments and returns a number. `backward()` gives dL/dlogits of the latest
 * forward (scaled by `dloss`, default 1) and consumes it.
 */
export class CrossEntropyLoss {
  readonly labelSmoothing: number;
  private cache: CrossEntropyCache | null = null;

  constructor(opts: CrossEntropyLossOptions = {}) {
    const eps = opts.labelSmoothing ?? 0;
    assertArg(typeof eps === 'number' && eps >= 0 && eps <= 1, 'labelSmoothing', 'a number in [0, 1]', eps);
    this.labelSmoothing = eps;
  }

  /** The mean loss (a number). */
  forward(logits: Tensor, labels: Labels): number {
    const { out, cache } = crossEntropy.forward([logits], { labels, labelSmoothing: this.labelSmoothing });
    this.cache = cache;
    return out.data[0];
  }

  /** dL/dlogits for the latest forward, times `dloss`. */
  backward(dloss = 1): Tensor {
    if (!this.cache) throw new Error('CrossEntropyLoss.backward: no forward pass to go back through (backward called twice or before forward)');
    const cache = this.cache;
    this.cache = null;
    return crossEntropy.backward(fromData(Float64Array.of(dloss), []), cache)[0] as Tensor;
  }

  /** As PyTorch prints it (without settings: PyTorch's loss has no `extra_repr`). */
  toString(): string {
    return 'CrossEntropyLoss()';
  }
}
