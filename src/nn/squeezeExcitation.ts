import type { DType } from '../core/dtype';
import type { RandomState } from '../core/random';
import type { Tensor } from '../core/tensor';
import { channelScale } from '../ops/channelScale';
import { Conv2d } from './conv2d';
import type { Module } from './module';
import { Block, type Tape } from './tape';

/** Options of {@link SqueezeExcitation}. */
export interface SqueezeExcitationOptions {
  /** Global average pooling to (N, C, 1, 1). */
  pool: () => Module;
  /** Between the two 1×1 convolutions (ReLU in MobileNet V3, SiLU in EfficientNet). */
  activation: () => Module;
  /** The gate (Hardsigmoid in MobileNet V3, Sigmoid in EfficientNet). */
  scaleActivation: () => Module;
  dtype?: DType;
  rng?: RandomState;
  /** False leaves fc1/fc2 at zero (see Conv2dOptions.init). */
  init?: boolean;
}

/**
 * Squeeze-and-excitation (torchvision's `SqueezeExcitation`): global average → 1×1 conv `fc1`
 * (C → squeeze) → activation → 1×1 conv `fc2` (squeeze → C) → gate, and the input scaled per
 * channel by the gate.
 */
export class SqueezeExcitation extends Block {
  readonly avgpool: Module;
  readonly fc1: Conv2d;
  readonly fc2: Conv2d;
  readonly activation: Module;
  readonly scaleActivation: Module;

  constructor(inputChannels: number, squeezeChannels: number, opts: SqueezeExcitationOptions) {
    super();
    this.avgpool = this.addModule('avgpool', opts.pool());
    this.fc1 = this.addModule('fc1', new Conv2d(inputChannels, squeezeChannels, 1, { dtype: opts.dtype, rng: opts.rng, init: opts.init }));
    this.fc2 = this.addModule('fc2', new Conv2d(squeezeChannels, inputChannels, 1, { dtype: opts.dtype, rng: opts.rng, init: opts.init }));
    this.activation = this.addModule('activation', opts.activation());
    this.scaleActivation = this.addModule('scale_activation', opts.scaleActivation());
  }

  protected run(x: Tensor, t: Tape): Tensor {
    const s = t.seq(x, this.avgpool, this.fc1, this.activation, this.fc2, this.scaleActivation);
    return t.op(channelScale, [x, s], {});
  }
}
