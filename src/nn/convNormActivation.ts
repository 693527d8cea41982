import type { DType } from '../core/dtype';
import type { RandomState } from '../core/random';
import { Conv2d } from './conv2d';
import type { Module } from './module';
import { Sequential } from './sequential';

/** Options of {@link ConvNormActivation} (torchvision's `Conv2dNormActivation`). */
export interface ConvNormActivationOptions {
  stride?: number;
  /** Default `(kernelSize − 1)/2 · dilation` ("same" for stride 1). */
  padding?: number;
  groups?: number;
  dilation?: number;
  /** The normalisation layer for `outChannels` (null: none). */
  norm: ((channels: number) => Module) | null;
  /** The activation (null: none). */
  activation: (() => Module) | null;
  /** Conv bias; default: only when there is no norm layer. */
  bias?: boolean;
  dtype?: DType;
  rng?: RandomState;
  /** False leaves the conv at zero (see Conv2dOptions.init). */
  init?: boolean;
}

/**
 * Conv2d → norm → activation as one `Sequential` (children `0`, `1`, `2`), the building block
 * torchvision's MobileNets and EfficientNets are made of, with its state-dict names.
 */
export class ConvNormActivation extends Sequential {
  constructor(inChannels: number, outChannels: number, kernelSize: number, opts: ConvNormActivationOptions) {
    const dilation = opts.dilation ?? 1;
    const layers: Module[] = [
      new Conv2d(inChannels, outChannels, kernelSize, {
        stride: opts.stride ?? 1,
        padding: opts.padding ?? Math.floor((kernelSize - 1) / 2) * dilation,
        groups: opts.groups ?? 1,
        dilation,
        bias: opts.bias ?? opts.norm === null,
        dtype: opts.dtype,
        rng: opts.rng,
        init: opts.init,
      }),
    ];
    if (opts.norm) layers.push(opts.norm(outChannels));
    if (opts.activation) layers.push(opts.activation());
    super(...layers);
  }
}
