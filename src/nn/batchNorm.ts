import ndarray from 'ndarray';
import type { DType } from '../core/dtype';
import { ones, zeros, type Tensor } from '../core/tensor';
import { batchNorm, type BatchNormAttrs, type BatchNormCache } from '../ops/batchNorm';
import { ReLU, ReLU6 } from './activation';
import { isGradEnabled } from './gradMode';
import type { Module } from './module';
import { OpModule } from './opModule';
import { Parameter } from './parameter';

/** Options of the batch-norm layers (PyTorch's keyword arguments in camelCase). */
export interface BatchNormOptions {
  /** Added to the variance (default 1e-5). */
  eps?: number;
  /** Running-average factor (default 0.1); null for a cumulative average. */
  momentum?: number | null;
  /** Learnable weight and bias (default true). */
  affine?: boolean;
  /** Keep running statistics for eval mode (default true). */
  trackRunningStats?: boolean;
  /** Dtype of parameters and running statistics (default float32). */
  dtype?: DType;
}

/**
 * Batch normalisation over axis 1 with PyTorch's semantics: biased batch variance to normalise,
 * unbiased to update `running_var`, `num_batches_tracked` counted; eval mode uses the running
 * statistics. Parameters `weight`, `bias`; buffers `running_mean`, `running_var`,
 * `num_batches_tracked` (state dict names as PyTorch's).
 */
export abstract class BatchNormBase extends OpModule<BatchNormAttrs, BatchNormCache> {
  readonly weight: Parameter | null;
  readonly bias: Parameter | null;
  readonly eps: number;
  readonly momentum: number | null;
  /** Set only during {@link forwardRelu}. */
  private fusedRelu: boolean | 'relu6' = false;

  constructor(readonly numFeatures: number, opts: BatchNormOptions, private readonly ndims: number[]) {
    super(batchNorm);
    if (!Number.isInteger(numFeatures) || numFeatures <= 0) throw new RangeError(`numFeatures: expected a positive integer, got ${numFeatures}`);
    const dtype = opts.dtype ?? 'float32';
    this.eps = opts.eps ?? 1e-5;
    this.momentum = opts.momentum === undefined ? 0.1 : opts.momentum;
    const affine = opts.affine ?? true;
    this.weight = this.addParameter('weight', affine ? new Parameter(ones([numFeatures], dtype)) : null);
    this.bias = this.addParameter('bias', affine ? new Parameter(zeros([numFeatures], dtype)) : null);
    const track = opts.trackRunningStats ?? true;
    this.addBuffer('running_mean', track ? zeros([numFeatures], dtype) : null);
    this.addBuffer('running_var', track ? ones([numFeatures], dtype) : null);
    this.addBuffer('num_batches_tracked', track ? ndarray(new Int32Array(1), []) : null);
  }

  override forward(x: Tensor): Tensor {
    if (!this.ndims.includes(x?.shape?.length)) {
      throw new RangeError(`x: ${this.constructor.name} expects ${this.ndims.join('-D or ')}-D input, got shape (${x?.shape?.join(', ')})`);
    }
    if (x.shape[1] !== this.numFeatures) {
      throw new RangeError(`x: expected ${this.numFeatures} channels (axis 1), got shape (${x.shape.join(', ')})`);
    }
    return super.forward(x);
  }

  /**
   * `relu(this.forward(x))` (or `relu6(…)` with activation 'relu6') as one fused op (see
   * `BatchNormAttrs.relu`); `backward` then takes the gradient of the activation's output. For
   * blocks whose tape has this layer followed by a ReLU or ReLU6 module (`Tape.seq`); the
   * caller must not also run that activation.
   */
  forwardRelu(x: Tensor, activation: 'relu' | 'relu6' = 'relu'): Tensor {
    this.fusedRelu = activation === 'relu6' ? 'relu6' : true;
    try {
      return this.forward(x);
    } finally {
      this.fusedRelu = false;
    }
  }

  protected override attrs(): BatchNormAttrs {
    const rm = this.getBuffer('running_mean') as Tensor | null;
    const rv = this.getBuffer('running_var') as Tensor | null;
    const nbt = this.getBuffer('num_batches_tracked');
    const state = rm && rv && nbt ? { runningMean: rm.data, runningVar: rv.data, numBatchesTracked: nbt.data[0] } : null;
    if (state && nbt) {
      // The op increments the counter on its copy; write it back into the buffer.
      const store = nbt.data;
      return {
        training: this.training, momentum: this.momentum, eps: this.eps, relu: this.fusedRelu, inference: !isGradEnabled(),
        state: {
          runningMean: state.runningMean, runningVar: state.runningVar,
          get numBatchesTracked() { return store[0]; },
          set numBatchesTracked(v: number) { store[0] = v; },
        },
      };
    }
    return { training: this.training, momentum: this.momentum, eps: this.eps, state: null, relu: this.fusedRelu, inference: !isGradEnabled() };
  }

  protected override opParameters(): Parameter[] {
    return this.weight && this.bias ? [this.weight, this.bias] : [];
  }

  override extraRepr(): string {
    const track = this.getBuffer('running_mean') !== null;
    return `${this.numFeatures}, eps=${pyFloat(this.eps)}, momentum=${this.momentum}, affine=${this.weight ? 'True' : 'False'}, track_running_stats=${track ? 'True' : 'False'}`;
  }
}

/**
 * The fused activation when `m` and the module after it (`next`) run as one fused op,
 * `m.forwardRelu(x, activation)`: a batch norm followed by a plain ReLU or ReLU6 (Tape.seq and
 * Sequential fuse such pairs when no forward hook is registered); else null.
 */
export function fusedActivation(m: Module, next: Module | undefined): 'relu' | 'relu6' | null {
  if (!(m instanceof BatchNormBase) || next === undefined) return null;
  return next.constructor === ReLU ? 'relu' : next.constructor === ReLU6 ? 'relu6' : null;
}

/** Batch norm of `(N, C)` or `(N, C, L)` input, as `torch.nn.BatchNorm1d`. */
export class BatchNorm1d extends BatchNormBase {
  constructor(numFeatures: number, opts: BatchNormOptions = {}) {
    super(numFeatures, opts, [2, 3]);
  }
}

/** Batch norm of `(N, C, H, W)` input per channel, as `torch.nn.BatchNorm2d`. */
export class BatchNorm2d extends BatchNormBase {
  constructor(numFeatures: number, opts: BatchNormOptions = {}) {
    super(numFeatures, opts, [4]);
  }
}

/** A number as Python's repr prints it (1e-05, 0.001). */
function pyFloat(v: number): string {
  if (v !== 0 && Math.abs(v) < 1e-4) {
    const [m, e] = v.toExponential().split('e');
    const n = Number(e);
    return `${m}e${n < 0 ? '-' : '+'}${String(Math.abs(n)).padStart(2, '0')}`;
  }
  return String(v);
}
