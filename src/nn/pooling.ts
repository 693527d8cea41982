import { adaptiveAvgPool2d, adaptiveOutputSize, type AdaptiveAvgPool2dAttrs, type AdaptiveAvgPool2dCache } from '../ops/adaptiveAvgPool2d';
import { avgPool2d, type AvgPool2dAttrs, type AvgPool2dCache } from '../ops/avgPool2d';
import { maxPool2d, type MaxPool2dCache } from '../ops/maxPool2d';
import { pairOf, type Pair, type Pool2dAttrs } from '../ops/poolArgs';
import { OpModule } from './opModule';
import { pyBool, pyPair } from './repr';

/** Options of {@link MaxPool2d} (PyTorch's, camelCase; no dilation). */
export interface MaxPool2dOptions {
  kernelSize: Pair;
  /** Default: the kernel size. */
  stride?: Pair | null;
  padding?: Pair;
  ceilMode?: boolean;
}

/** Options of {@link AvgPool2d}. */
export interface AvgPool2dOptions extends MaxPool2dOptions {
  /** Default true, as PyTorch. */
  countIncludePad?: boolean;
}

/** Validates the window options up front, so a bad module fails at construction, not at its first forward. */
function windowOptions(opts: MaxPool2dOptions): Required<Pool2dAttrs> {
  if (!opts || typeof opts !== 'object') throw new TypeError(`options: expected { kernelSize, stride?, padding?, ceilMode? }, got ${String(opts)}`);
  pairOf('kernelSize', opts.kernelSize, 1);
  if (opts.stride !== undefined && opts.stride !== null) pairOf('stride', opts.stride, 1);
  pairOf('padding', opts.padding ?? 0, 0);
  return { kernelSize: opts.kernelSize, stride: opts.stride ?? opts.kernelSize, padding: opts.padding ?? 0, ceilMode: opts.ceilMode ?? false };
}

/** Max pooling over (N, C, H, W) windows (`torch.nn.MaxPool2d`). */
export class MaxPool2d extends OpModule<Pool2dAttrs, MaxPool2dCache> {
  readonly options: Required<Pool2dAttrs>;
  constructor(opts: MaxPool2dOptions) {
    super(maxPool2d);
    this.options = windowOptions(opts);
  }
  protected attrs(): Pool2dAttrs {
    return this.options;
  }
  override extraRepr(): string {
    const o = this.options;
    return `kernel_size=${pyPair(o.kernelSize)}, stride=${pyPair(o.stride as Pair)}, padding=${pyPair(o.padding)}, dilation=1, ceil_mode=${pyBool(o.ceilMode)}`;
  }
}

/** Average pooling (`torch.nn.AvgPool2d`), zero padding counted by default. */
export class AvgPool2d extends OpModule<AvgPool2dAttrs, AvgPool2dCache> {
  readonly options: Required<AvgPool2dAttrs>;
  constructor(opts: AvgPool2dOptions) {
    super(avgPool2d);
    const countIncludePad = opts?.countIncludePad ?? true;
    this.options = { ...windowOptions(opts), countIncludePad };
  }
  protected attrs(): AvgPool2dAttrs {
    return this.options;
  }
  override extraRepr(): string {
    const o = this.options;
    return `kernel_size=${pyPair(o.kernelSize)}, stride=${pyPair(o.stride as Pair)}, padding=${pyPair(o.padding)}`;
  }
}

/** Options of {@link AdaptiveAvgPool2d}. */
export interface AdaptiveAvgPool2dOptions {
  /** Output (H', W'): one integer, or a pair whose entries may be null (keep the input's size). */
  outputSize: AdaptiveAvgPool2dAttrs['outputSize'];
}

/** Average pooling to a fixed output size (`torch.nn.AdaptiveAvgPool2d`), torchvision's bins. */
export class AdaptiveAvgPool2d extends OpModule<AdaptiveAvgPool2dAttrs, AdaptiveAvgPool2dCache> {
  readonly outputSize: AdaptiveAvgPool2dAttrs['outputSize'];
  constructor(opts: AdaptiveAvgPool2dOptions) {
    super(adaptiveAvgPool2d);
    this.outputSize = opts?.outputSize;
    adaptiveOutputSize(this.outputSize, 1, 1);
  }
  protected attrs(): AdaptiveAvgPool2dAttrs {
    return { outputSize: this.outputSize };
  }
  override extraRepr(): string {
    return `output_size=${pyPair(this.outputSize)}`;
  }
}
