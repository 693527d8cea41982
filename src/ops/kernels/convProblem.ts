import type { FloatArray } from '../../core/dtype';

/** One convolution's sizes, as the conv kernels see it (square stride, padding, dilation). */
export interface ConvProblem {
  N: number;
  C: number;
  H: number;
  W: number;
  /** Filters (output channels). */
  F: number;
  groups: number;
  kh: number;
  kw: number;
  stride: number;
  pad: number;
  dilation: number;
  outH: number;
  outW: number;
  /** Inference epilogue: out = min(max(out, lo), hi) (conv2d's `clamp`); absent: none. */
  clamp?: readonly [number, number];
  /** Inference epilogue: out = silu(out) (conv2d's `silu`). */
  silu?: boolean;
}

/** What a conv kernel implements: forward into `out`, backward into dx / dw / db (written, not added). */
export interface ConvKernelImpl {
  /** Returns true when it applied `p.clamp` / `p.silu` itself (else the op applies it afterwards). */
  forward(p: ConvProblem, x: FloatArray, w: FloatArray, b: FloatArray | null, out: FloatArray): boolean | void;
  /**
   * dx null: the input gradient is not wanted (a network's input, Module.backwardParams); a
   * kernel skips it where it can. dw and db keep the bits of a full backward.
   */
  backward(p: ConvProblem, dout: FloatArray, x: FloatArray, w: FloatArray, dx: FloatArray | null, dw: FloatArray, db: FloatArray | null): void;
}
