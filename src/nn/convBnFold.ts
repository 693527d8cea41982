import ndarray from 'ndarray';
import { recycleFloat } from '../core/bufferPool';
import { allocFloatUninit, type FloatArray } from '../core/dtype';
import { ascontiguous, dtypeOf, type Tensor } from '../core/tensor';
import { conv2d } from '../ops/conv2d';
import { runPlanes } from '../ops/kernels/planeTasks';
import { ReLU, ReLU6, SiLU } from './activation';
import { BatchNorm2d } from './batchNorm';
import { Conv2d } from './conv2d';
import { isGradEnabled } from './gradMode';
import type { Module } from './module';

/*
 * Conv2d → BatchNorm2d in eval mode is one convolution: the batch norm is a per-channel
 * affine map y = (z − mean)·γ/σ + β of the convolution's output z, so with s = γ/σ it folds
 * into the filters and the bias: W' = W·s, b' = (b − mean)·s + β (σ = √(running_var + eps), as
 * the batch-norm op computes it). Sequential and Tape.seq run such pairs folded under noGrad
 * (PyTorch offers the same as torch.nn.utils.fusion.fuse_conv_bn_eval, by hand).
 *
 * WHY: an eval forward of the efficient families spent a sixth to a fifth of its time in
 * batch norm, a full pass over every activation for a multiply-add per element that costs
 * nothing inside the convolution. The results differ from the two layers run one by one only
 * by float32 rounding (s is rounded to the dtype and the product W·s once, and the sum order
 * of the convolution is unchanged): a relative 1e-6 or so. Not under autograd: training-mode batch norm uses
 * the batch's statistics, and the layers' backward needs both caches.
 *
 * A conv followed directly by a ReLU, ReLU6 or SiLU (no batch norm: LeNet, cs231n's nets,
 * AlexNet) runs under noGrad with the activation as the convolution's epilogue likewise, the
 * same bits as the two layers one by one.
 */

/**
 * True when `m` and the module after it (`next`) can run as one folded convolution now: a
 * Conv2d followed by a BatchNorm2d of its channels in eval mode with running statistics, same
 * dtype, and no gradient being recorded.
 */
export function foldsWithBatchNorm(m: Module, next: Module | undefined): m is Conv2d {
  if (!(m instanceof Conv2d) || !(next instanceof BatchNorm2d) || isGradEnabled() || next.training) return false;
  const mean = next.getBuffer('running_mean');
  const variance = next.getBuffer('running_var');
  if (mean === null || variance === null || next.numFeatures !== m.outChannels) return false;
  const dtype = dtypeOf(m.weight.data);
  return dtypeOf(mean as Tensor) === dtype && (next.weight === null || dtypeOf(next.weight.data) === dtype);
}

/** conv2d's inference epilogue attributes. */
export type ConvEpilogue = { clamp: [number, number] } | { silu: true };

/**
 * The epilogue that runs `act` inside the folded convolution: clamp [0, ∞) for ReLU, [0, 6]
 * for ReLU6, SiLU for SiLU (plain instances, not subclasses); null for anything else.
 */
export function epilogueOf(act: Module | undefined): ConvEpilogue | null {
  if (act === undefined) return null;
  if (act.constructor === ReLU) return { clamp: [0, Infinity] };
  if (act.constructor === ReLU6) return { clamp: [0, 6] };
  if (act.constructor === SiLU) return { silu: true };
  return null;
}

/**
 * Under noGrad, runs the fold that starts at `ms[i]` on `x` — Conv2d → eval BatchNorm2d (→
 * ReLU / ReLU6 / SiLU) or Conv2d → ReLU / ReLU6 / SiLU — and returns its output and the index
 * of the last module it covered; null when no fold applies there (then nothing ran). Sequential
 * and Tape.seq both go through this one rule.
 */
export function forwardFolded(ms: readonly Module[], i: number, x: Tensor): [Tensor, number] | null {
  const m = ms[i];
  if (foldsWithBatchNorm(m, ms[i + 1])) {
    const epilogue = epilogueOf(ms[i + 2]);
    return [forwardConvBatchNorm(m, ms[i + 1] as BatchNorm2d, x, epilogue), epilogue ? i + 2 : i + 1];
  }
  if (m instanceof Conv2d && !isGradEnabled()) {
    const epilogue = epilogueOf(ms[i + 1]);
    if (epilogue === null) return null;
    const inputs = [x, m.weight.data, ...(m.bias ? [m.bias.data] : [])];
    const { out, cache } = conv2d.forward(inputs, { ...m.convAttrs(), ...epilogue });
    conv2d.release?.(cache);
    return [out, i + 1];
  }
  return null;
}

/**
 * The filters and bias of `conv` with `bn` folded in (see the file comment), as new stores of
 * the conv's dtype (the caller gives them back with recycleFloat); requires {@link foldsWithBatchNorm}.
 */
export function foldConvBatchNorm(conv: Conv2d, bn: BatchNorm2d): { w: FloatArray; b: FloatArray } {
  const w = ascontiguous(conv.weight.data);
  const dtype = dtypeOf(w);
  const F = conv.outChannels;
  const per = w.size / F;
  const mean = bn.getBuffer('running_mean') as Tensor;
  const variance = bn.getBuffer('running_var') as Tensor;
  const gamma = bn.weight?.data ?? null;
  const beta = bn.bias?.data ?? null;
  const b = conv.bias?.data ?? null;
  const wf = allocFloatUninit(dtype, w.size);
  const bf = allocFloatUninit(dtype, F);
  const sf = allocFloatUninit(dtype, F);
  for (let f = 0; f < F; f++) {
    const s = (gamma ? gamma.get(f) : 1) / Math.sqrt(variance.get(f) + bn.eps);
    sf[f] = s;
    bf[f] = ((b ? b.get(f) : 0) - mean.get(f)) * s + (beta ? beta.get(f) : 0);
  }
  // Each filter's row times its scale, on every thread (the squeeze-and-excitation gate's loop):
  // a loop here was ~5 % of a MobileNet V1 eval forward (3.2 M weights folded per forward).
  runPlanes('scale', F, per, w.data.subarray(w.offset, w.offset + w.size), sf, wf);
  recycleFloat(sf);
  return { w: wf, b: bf };
}

/**
 * `bn.forward(conv.forward(x))` as one convolution (see the file comment), and with an
 * epilogue the activation after them too (see {@link epilogueOf}); requires {@link foldsWithBatchNorm}.
 */
export function forwardConvBatchNorm(conv: Conv2d, bn: BatchNorm2d, x: Tensor, epilogue: ConvEpilogue | null = null): Tensor {
  const { w: wf, b: bf } = foldConvBatchNorm(conv, bn);
  const { out, cache } = conv2d.forward([x, ndarray(wf, conv.weight.data.shape.slice()), ndarray(bf, [conv.outChannels])], { ...conv.convAttrs(), ...epilogue });
  conv2d.release?.(cache);
  recycleFloat(wf);
  recycleFloat(bf);
  return out;
}
