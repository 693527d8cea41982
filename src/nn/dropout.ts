import { assertArg } from '../core/check';
import { RandomState } from '../core/random';
import { dropout, stochasticDepth, type DropoutAttrs, type MaskCache, type StochasticDepthAttrs } from '../ops/dropout';
import { OpModule } from './opModule';
import { pyBool, pyFloat } from './repr';
import { nnRandomState } from './rng';

/** Options of {@link Dropout}. */
export interface DropoutOptions {
  /** Drop probability (PyTorch's convention). Default 0.5. */
  p?: number;
  /** Accepted and ignored (the output is always a new tensor). Default false. */
  inplace?: boolean;
  /** Generator of the masks. Default: the shared `nn` generator ({@link nnRandomState}, seeded 0). */
  rng?: RandomState;
}

function dropProbability(p: unknown): number {
  assertArg(typeof p === 'number' && p >= 0 && p <= 1, 'p', 'a drop probability in [0, 1]', p);
  return p as number;
}

/** Inverted dropout (`torch.nn.Dropout`): drops in train mode, identity in eval mode. */
export class Dropout extends OpModule<DropoutAttrs, MaskCache> {
  readonly p: number;
  readonly inplace: boolean;
  private readonly rng: RandomState | undefined;
  constructor(opts: DropoutOptions = {}) {
    super(dropout);
    this.p = dropProbability(opts.p ?? 0.5);
    this.inplace = opts.inplace ?? false;
    this.rng = opts.rng;
  }
  protected attrs(): DropoutAttrs {
    return { p: this.p, training: this.training, rng: this.rng ?? nnRandomState() };
  }
  override extraRepr(): string {
    return `p=${pyFloat(this.p)}, inplace=${pyBool(this.inplace)}`;
  }
}

/** Options of {@link StochasticDepth}. */
export interface StochasticDepthOptions {
  /** Probability of dropping the branch. */
  p: number;
  /** 'row' (per sample, as EfficientNet) or 'batch'. */
  mode: 'row' | 'batch';
  /** Generator of the draws. Default: the shared `nn` generator ({@link nnRandomState}, seeded 0). */
  rng?: RandomState;
}

/** Stochastic depth on a residual branch (torchvision's `StochasticDepth`): train-mode only. */
export class StochasticDepth extends OpModule<StochasticDepthAttrs, MaskCache> {
  readonly p: number;
  readonly mode: 'row' | 'batch';
  private readonly rng: RandomState | undefined;
  constructor(opts: StochasticDepthOptions) {
    super(stochasticDepth);
    this.p = dropProbability(opts?.p);
    assertArg(opts.mode === 'row' || opts.mode === 'batch', 'mode', "'row' or 'batch'", opts.mode);
    this.mode = opts.mode;
    this.rng = opts.rng;
  }
  protected attrs(): StochasticDepthAttrs {
    return { p: this.p, mode: this.mode, training: this.training, rng: this.rng ?? nnRandomState() };
  }
  /** torchvision prints `StochasticDepth(p=0.2, mode=row)`. */
  override toString(): string {
    return `StochasticDepth(p=${this.p}, mode=${this.mode})`;
  }
}
