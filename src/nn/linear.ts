import type { DType } from '../core/dtype';
import type { RandomState } from '../core/random';
import { zeros } from '../core/tensor';
import { linear, type LinearCache } from '../ops/linear';
import { defaultLayerInit } from './init';
import { OpModule } from './opModule';
import { Parameter } from './parameter';

/** Options of {@link Linear}. */
export interface LinearOptions {
  /** Learnable bias (default true). */
  bias?: boolean;
  /** Parameter dtype (default float32). */
  dtype?: DType;
  /** Generator of the initial weights (default: the global RandomState). */
  rng?: RandomState;
  /**
   * False leaves weight and bias at zero (PyTorch's `skip_init`): for a model that applies its
   * own scheme afterwards or loads weights next. Default true.
   */
  init?: boolean;
}

/** Fully connected layer y = x·Wᵀ + b, as `torch.nn.Linear`: `weight (out, in)`, `bias (out,)`. */
export class Linear extends OpModule<Record<string, never>, LinearCache> {
  readonly weight: Parameter;
  readonly bias: Parameter | null;

  constructor(readonly inFeatures: number, readonly outFeatures: number, opts: LinearOptions = {}) {
    super(linear);
    for (const [k, v] of [['inFeatures', inFeatures], ['outFeatures', outFeatures]] as const) {
      if (!Number.isInteger(v) || v <= 0) throw new RangeError(`${k}: expected a positive integer, got ${v}`);
    }
    const dtype = opts.dtype ?? 'float32';
    this.weight = this.addParameter('weight', new Parameter(zeros([outFeatures, inFeatures], dtype)));
    this.bias = this.addParameter('bias', opts.bias === false ? null : new Parameter(zeros([outFeatures], dtype)));
    if (opts.init !== false) defaultLayerInit(this.weight.data, this.bias?.data ?? null, opts.rng);
  }

  protected override attrs(): Record<string, never> {
    return {};
  }

  protected override opParameters(): Parameter[] {
    return this.bias ? [this.weight, this.bias] : [this.weight];
  }

  override countMacs(input: readonly number[]): number {
    const rows = input.slice(0, -1).reduce((a, b) => a * b, 1);
    return rows * this.inFeatures * this.outFeatures;
  }

  override extraRepr(): string {
    return `in_features=${this.inFeatures}, out_features=${this.outFeatures}, bias=${this.bias ? 'True' : 'False'}`;
  }
}
