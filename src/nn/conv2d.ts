import type { DType } from '../core/dtype';
import type { RandomState } from '../core/random';
import { zeros } from '../core/tensor';
import { conv2d, type Conv2dAttrs, type Conv2dCache } from '../ops/conv2d';
import { defaultLayerInit } from './init';
import { OpModule } from './opModule';
import { Parameter } from './parameter';

/** Options of {@link Conv2d} (PyTorch's keyword arguments in camelCase). */
export interface Conv2dOptions {
  stride?: number;
  padding?: number;
  dilation?: number;
  groups?: number;
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

/**
 * 2-D convolution layer, as `torch.nn.Conv2d`: `weight (out, in/groups, k, k)`, `bias (out,)`,
 * initialised as PyTorch's default (U(±1/√fan_in)); the `conv2d` op picks the kernel
 * (depthwise direct when groups = in = out).
 */
export class Conv2d extends OpModule<Conv2dAttrs, Conv2dCache> {
  readonly weight: Parameter;
  readonly bias: Parameter | null;
  readonly stride: number;
  readonly padding: number;
  readonly dilation: number;
  readonly groups: number;

  constructor(
    readonly inChannels: number,
    readonly outChannels: number,
    readonly kernelSize: number,
    opts: Conv2dOptions = {},
  ) {
    super(conv2d);
    for (const [k, v] of [['inChannels', inChannels], ['outChannels', outChannels], ['kernelSize', kernelSize]] as const) {
      if (!Number.isInteger(v) || v <= 0) throw new RangeError(`${k}: expected a positive integer, got ${v}`);
    }
    this.stride = opts.stride ?? 1;
    this.padding = opts.padding ?? 0;
    this.dilation = opts.dilation ?? 1;
    this.groups = opts.groups ?? 1;
    if (!Number.isInteger(this.groups) || this.groups <= 0) throw new RangeError(`groups: expected a positive integer, got ${this.groups}`);
    if (inChannels % this.groups !== 0) throw new RangeError(`groups: ${this.groups} must divide inChannels ${inChannels}`);
    if (outChannels % this.groups !== 0) throw new RangeError(`groups: ${this.groups} must divide outChannels ${outChannels}`);
    const dtype = opts.dtype ?? 'float32';
    this.weight = this.addParameter('weight', new Parameter(zeros([outChannels, inChannels / this.groups, kernelSize, kernelSize], dtype)));
    this.bias = this.addParameter('bias', opts.bias === false ? null : new Parameter(zeros([outChannels], dtype)));
    if (opts.init !== false) defaultLayerInit(this.weight.data, this.bias?.data ?? null, opts.rng);
  }

  protected override attrs(): Conv2dAttrs {
    return this.convAttrs();
  }

  /** The conv2d op's attributes of this layer (stride, padding, dilation, groups). */
  convAttrs(): Conv2dAttrs {
    return { stride: this.stride, padding: this.padding, dilation: this.dilation, groups: this.groups };
  }

  protected override opParameters(): Parameter[] {
    return this.bias ? [this.weight, this.bias] : [this.weight];
  }

  override countMacs(_input: readonly number[], output: readonly number[]): number {
    const outElems = output.reduce((a, b) => a * b, 1);
    return outElems * (this.inChannels / this.groups) * this.kernelSize * this.kernelSize;
  }

  override extraRepr(): string {
    let s = `${this.inChannels}, ${this.outChannels}, kernel_size=(${this.kernelSize}, ${this.kernelSize}), stride=(${this.stride}, ${this.stride})`;
    if (this.padding) s += `, padding=(${this.padding}, ${this.padding})`;
    if (this.dilation !== 1) s += `, dilation=(${this.dilation}, ${this.dilation})`;
    if (this.groups !== 1) s += `, groups=${this.groups}`;
    if (!this.bias) s += ', bias=False';
    return s;
  }
}
