import { hardsigmoid, hardswish, relu, relu6, sigmoid, silu, tanh } from '../ops/activations';
import type { Op } from '../ops/op';
import type { UnaryCache } from '../ops/unary';
import { OpModule } from './opModule';

/*
 * Activation modules (`torch.nn.ReLU`, …). `inplace` is accepted for PyTorch's signature and
 * shown by `extraRepr`, but ignored: the output is always a new tensor, since backward needs
 * the input (or output) intact and in-place writes would save no allocation here.
 */

/** Options of the activations that take PyTorch's `inplace` flag. */
export interface InplaceOptions {
  /** Accepted and ignored (see the file comment). Default false. */
  inplace?: boolean;
}

abstract class Activation extends OpModule<Record<string, never>, UnaryCache> {
  readonly inplace: boolean;
  constructor(op: Op<Record<string, never>, UnaryCache>, opts: InplaceOptions = {}) {
    super(op);
    this.inplace = opts.inplace ?? false;
  }
  protected attrs(): Record<string, never> {
    return {};
  }
  override extraRepr(): string {
    return this.inplace ? 'inplace=True' : '';
  }
}

/** max(0, x). */
export class ReLU extends Activation {
  constructor(opts: InplaceOptions = {}) {
    super(relu, opts);
  }
}

/** min(max(0, x), 6) (MobileNet V2). */
export class ReLU6 extends Activation {
  constructor(opts: InplaceOptions = {}) {
    super(relu6, opts);
  }
}

/** x·relu6(x + 3)/6 (MobileNet V3). */
export class Hardswish extends Activation {
  constructor(opts: InplaceOptions = {}) {
    super(hardswish, opts);
  }
}

/** relu6(x + 3)/6 (MobileNet V3's squeeze-excitation gate). */
export class Hardsigmoid extends Activation {
  constructor(opts: InplaceOptions = {}) {
    super(hardsigmoid, opts);
  }
}

/** x·σ(x) (EfficientNet's swish). */
export class SiLU extends Activation {
  constructor(opts: InplaceOptions = {}) {
    super(silu, opts);
  }
}

/** 1/(1 + e^−x) (no `inplace`, as PyTorch). */
export class Sigmoid extends Activation {
  constructor() {
    super(sigmoid);
  }
}

/** tanh x (no `inplace`, as PyTorch). */
export class Tanh extends Activation {
  constructor() {
    super(tanh);
  }
}
