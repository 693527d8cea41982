import { channelShuffle, type ChannelShuffleAttrs, type ChannelShuffleCache } from '../ops/channels';
import { flatten, type FlattenAttrs, type FlattenCache } from '../ops/flatten';
import { localResponseNorm, type LocalResponseNormAttrs, type LocalResponseNormCache } from '../ops/localResponseNorm';
import { assertArg } from '../core/check';
import type { Tensor } from '../core/tensor';
import { Module } from './module';
import { OpModule } from './opModule';
import { pyFloat } from './repr';

/** ShuffleNet's channel shuffle (`torch.nn.ChannelShuffle(groups)`). */
export class ChannelShuffle extends OpModule<ChannelShuffleAttrs, ChannelShuffleCache> {
  readonly groups: number;
  constructor(groups: number) {
    super(channelShuffle);
    assertArg(typeof groups === 'number' && Number.isInteger(groups) && groups > 0, 'groups', 'a positive integer', groups);
    this.groups = groups;
  }
  protected attrs(): ChannelShuffleAttrs {
    return { groups: this.groups };
  }
  override extraRepr(): string {
    return `groups=${this.groups}`;
  }
}

/** Options of {@link LocalResponseNorm} (PyTorch's defaults). */
export interface LocalResponseNormOptions {
  size: number;
  /** Default 1e-4. */
  alpha?: number;
  /** Default 0.75. */
  beta?: number;
  /** Default 1. */
  k?: number;
}

/** Local response normalisation across channels (`torch.nn.LocalResponseNorm`, AlexNet). */
export class LocalResponseNorm extends OpModule<LocalResponseNormAttrs, LocalResponseNormCache> {
  readonly options: Required<LocalResponseNormAttrs>;
  constructor(opts: LocalResponseNormOptions) {
    super(localResponseNorm);
    const size = opts?.size;
    assertArg(typeof size === 'number' && Number.isInteger(size) && size > 0, 'size', 'a positive integer', size);
    this.options = { size, alpha: opts.alpha ?? 1e-4, beta: opts.beta ?? 0.75, k: opts.k ?? 1 };
  }
  protected attrs(): LocalResponseNormAttrs {
    return this.options;
  }
  override extraRepr(): string {
    const o = this.options;
    return `${o.size}, alpha=${pyFloat(o.alpha)}, beta=${pyFloat(o.beta)}, k=${pyFloat(o.k)}`;
  }
}

/** Options of {@link Flatten}. */
export interface FlattenOptions {
  /** Default 1. */
  startDim?: number;
  /** Default −1. */
  endDim?: number;
}

/** Merges axes [startDim, endDim] (`torch.nn.Flatten`, default: everything after the batch axis). */
export class Flatten extends OpModule<FlattenAttrs, FlattenCache> {
  readonly startDim: number;
  readonly endDim: number;
  constructor(opts: FlattenOptions = {}) {
    super(flatten);
    this.startDim = opts.startDim ?? 1;
    this.endDim = opts.endDim ?? -1;
    assertArg(Number.isInteger(this.startDim), 'startDim', 'an integer', this.startDim);
    assertArg(Number.isInteger(this.endDim), 'endDim', 'an integer', this.endDim);
  }
  protected attrs(): FlattenAttrs {
    return { startDim: this.startDim, endDim: this.endDim };
  }
  override extraRepr(): string {
    return `start_dim=${this.startDim}, end_dim=${this.endDim}`;
  }
}

/** Passes x through (`torch.nn.Identity`): forward returns x itself, backward dout itself. */
export class Identity extends Module {
  forward(x: Tensor): Tensor {
    return x;
  }
  backward(dout: Tensor): Tensor {
    return dout;
  }
}
