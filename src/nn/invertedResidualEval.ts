import ndarray from 'ndarray';
import { recycleFloat } from '../core/bufferPool';
import { allocFloatUninit, type FloatArray } from '../core/dtype';
import { ascontiguous, dtypeOf, type Tensor } from '../core/tensor';
import { invertedResidualAvailable, invertedResidualForward, type BlockActivation, type FoldedConv, type InvResPlacement, type InvResSpec } from '../ops/kernels/invertedResidual';
import { Sigmoid } from './activation';
import { AdaptiveAvgPool2d } from './pooling';
import type { SqueezeExcitation } from './squeezeExcitation';
import { BatchNorm2d } from './batchNorm';
import { Conv2d } from './conv2d';
import { epilogueOf, foldConvBatchNorm, foldsWithBatchNorm } from './convBnFold';
import { forwardHooksActive, type Module } from './module';
import { Sequential } from './sequential';

/*
 * An inverted residual block's eval forward as one fused kernel (ops/kernels/invertedResidual.ts)
 * when its layers allow it: under noGrad, batch norms in eval mode, float32, a 1×1 expansion (or
 * none) and projection, a 3×3 or 5×5 depthwise with padding k >> 1 and stride 1 or 2, each conv
 * followed by ReLU, ReLU6, SiLU or nothing, and optionally squeeze-and-excitation (global average,
 * 1×1 convs, Sigmoid gate) after the depthwise (EfficientNet's MBConv). The result has the bits of the layers run one by one (as Tape.seq
 * runs them under noGrad: each conv with its batch norm folded in and its activation as the
 * epilogue). Not while forward hooks are registered, so `nn.summary` still sees every layer.
 */

/**
 * The layers of an inverted residual block, in order; each conv with its batch norm and its
 * activation (null: none). Without the expansion it is a depthwise-separable pair (MobileNet
 * V1's block, ShuffleNet V2's stride-2 `branch1`).
 */
export interface InvertedResidualLayers {
  expand: readonly [Conv2d, BatchNorm2d, Module | null] | null;
  depthwise: readonly [Conv2d, BatchNorm2d, Module | null];
  project: readonly [Conv2d, BatchNorm2d, Module | null];
  /** Squeeze-and-excitation after the depthwise (EfficientNet's MBConv): global average, fc1, SiLU or ReLU, fc2, Sigmoid. */
  se?: SqueezeExcitation | null;
  /** Added to the projection: the block's input, a 1×1 conv + batch norm of it, or nothing. */
  shortcut: 'identity' | readonly [Conv2d, BatchNorm2d] | null;
}

let enabled = true;
const calls = { fused: 0, declined: 0 };

/**
 * Turns the fused block on or off (default on); returns the previous setting. Off, blocks run
 * their layers one by one (folded, as Tape.seq runs them) — for tests and benchmarks.
 */
export function setInvertedResidualFusion(on: boolean): boolean {
  const prev = enabled;
  enabled = on;
  return prev;
}

/** Blocks run by the fused kernel, and those it was asked for but declined (tests). */
export function invertedResidualCalls(): { fused: number; declined: number } {
  return { ...calls };
}

/**
 * A conv → batch norm (→ activation) Sequential (`nn.ConvNormActivation`, as torchvision's
 * MobileNet V2 and EfficientNet blocks hold their layers) as one entry of
 * {@link InvertedResidualLayers}; null when `m` is not exactly that.
 */
export function convNormActLayers(m: Module | null): readonly [Conv2d, BatchNorm2d, Module | null] | null {
  if (!(m instanceof Sequential) || (m.length !== 2 && m.length !== 3)) return null;
  const [c, b] = [m.at(0), m.at(1)];
  return c instanceof Conv2d && b instanceof BatchNorm2d ? [c, b, m.length === 3 ? m.at(2) : null] : null;
}

const pointwise = (c: Conv2d): boolean => c.kernelSize === 1 && c.stride === 1 && c.padding === 0 && c.groups === 1 && c.dilation === 1;

/** A conv's own filters and bias (zeros without one), not copies: for layers with no batch norm to fold. */
function filtersOf(c: Conv2d): FoldedConv {
  const w = ascontiguous(c.weight.data);
  const b = c.bias ? ascontiguous(c.bias.data) : null;
  return {
    w: w.data.subarray(w.offset, w.offset + w.size) as FloatArray,
    b: b ? (b.data.subarray(b.offset, b.offset + b.size) as FloatArray) : new Float32Array(c.outChannels),
  };
}

/** What the kernel runs `act` as (ReLU, ReLU6: a clamp; SiLU); null for none; undefined when it cannot. */
function activationOf(act: Module | null): BlockActivation | null | undefined {
  if (act === null) return null;
  return epilogueOf(act) ?? undefined;
}

/**
 * Where the block reads and writes when it is part of a larger join (ShuffleNet V2): it reads
 * x's channels [inC0, inC0 + Cin) and writes its channel f as channel outC0 + f·outStep of
 * `out`; `pass` more channels of x (from 0) go as they are to channels passC0 + k·outStep.
 */
export interface BlockPlacement {
  out: Tensor;
  inC0: number;
  outC0: number;
  outStep: number;
  pass?: number;
  passC0?: number;
}

/**
 * The block's output for `x` by the fused kernel, or null when it does not apply here (then
 * nothing ran and the caller runs the layers). With `place`, the block writes into
 * `place.out` (see {@link BlockPlacement}) and returns it.
 */
export function invertedResidualEval(x: Tensor, l: InvertedResidualLayers, place?: BlockPlacement): Tensor | null {
  if (!enabled || forwardHooksActive() || !invertedResidualAvailable()) return null;
  const y = fusedOrNull(x, l, place);
  if (y === null) calls.declined++;
  else calls.fused++;
  return y;
}

function fusedOrNull(x: Tensor, l: InvertedResidualLayers, place?: BlockPlacement): Tensor | null {
  const [c2, b2, a2] = l.depthwise;
  const [c3, b3, a3] = l.project;
  const ex = l.expand;
  const sc = l.shortcut;
  // foldsWithBatchNorm also asks for noGrad and eval-mode batch norms.
  if ((ex !== null && !foldsWithBatchNorm(ex[0], ex[1])) || !foldsWithBatchNorm(c2, b2) || !foldsWithBatchNorm(c3, b3)) return null;
  if (sc !== null && sc !== 'identity' && (!foldsWithBatchNorm(sc[0], sc[1]) || !pointwise(sc[0]))) return null;
  const act1 = ex === null ? null : activationOf(ex[2]);
  const act2 = activationOf(a2);
  const act3 = activationOf(a3);
  if (act1 === undefined || act2 === undefined || act3 === undefined) return null;
  if (x.shape.length !== 4 || dtypeOf(x) !== 'float32' || dtypeOf(c2.weight.data) !== 'float32') return null;
  const [N, xC, H, W] = x.shape;
  const Cin = ex !== null ? ex[0].inChannels : c2.inChannels;
  const planes = c2.inChannels;
  const Cout = c3.outChannels;
  const inC0 = place?.inC0 ?? 0;
  if (inC0 + Cin > xC || (place === undefined && Cin !== xC)) return null;
  if (ex !== null && (!pointwise(ex[0]) || ex[0].inChannels !== Cin || ex[0].outChannels !== planes)) return null;
  if (ex === null && planes !== Cin) return null;
  if (!pointwise(c3) || c3.inChannels !== planes) return null;
  const k = c2.kernelSize;
  if ((k !== 3 && k !== 5) || c2.padding !== k >> 1 || c2.dilation !== 1 || c2.groups !== planes || c2.outChannels !== planes || c2.stride > 2) return null;
  const se = l.se ?? null;
  let seSpec: InvResSpec['se'] = null;
  if (se !== null) {
    const pool = se.avgpool;
    const size = pool instanceof AdaptiveAvgPool2d ? pool.outputSize : null;
    const act = activationOf(se.activation);
    const sq = se.fc1.outChannels;
    const fcOk = (c: Conv2d, cin: number, cout: number): boolean => pointwise(c) && c.inChannels === cin && c.outChannels === cout && dtypeOf(c.weight.data) === 'float32';
    if ((size !== 1 && !(Array.isArray(size) && size[0] === 1 && size[1] === 1)) || act === undefined || act === null) return null;
    if (se.scaleActivation.constructor !== Sigmoid || !fcOk(se.fc1, planes, sq) || !fcOk(se.fc2, sq, planes)) return null;
    seSpec = { fc1: filtersOf(se.fc1), fc2: filtersOf(se.fc2), squeeze: sq, act };
  }
  if (sc === 'identity' && (Cin !== Cout || c2.stride !== 1)) return null;
  if (sc !== null && sc !== 'identity' && (sc[0].inChannels !== Cin || sc[0].outChannels !== Cout || c2.stride !== 1)) return null;
  const stride = c2.stride;
  const outH = Math.floor((H - 1) / stride) + 1;
  const outW = Math.floor((W - 1) / stride) + 1;
  let placement: InvResPlacement | undefined;
  let target: Tensor;
  if (place !== undefined) {
    const o = place.out;
    const pass = place.pass ?? 0;
    const last = Math.max(place.outC0 + (Cout - 1) * place.outStep, pass > 0 ? (place.passC0 ?? 0) + (pass - 1) * place.outStep : 0);
    const ok = o.shape.length === 4 && o.shape[0] === N && o.shape[2] === outH && o.shape[3] === outW && last < o.shape[1] && dtypeOf(o) === 'float32' && (pass === 0 || stride === 1) && pass <= xC;
    if (!ok || o.offset !== 0 || o.size !== o.data.length) return null;
    placement = { xC, xC0: inC0, outC: o.shape[1], outC0: place.outC0, outStep: place.outStep, pass, passC0: place.passC0 ?? 0 };
    target = o;
  } else target = ndarray(allocFloatUninit('float32', N * Cout * outH * outW), [N, Cout, outH, outW]);
  const expand = ex === null ? null : foldConvBatchNorm(ex[0], ex[1]);
  const folded: FoldedConv[] = [foldConvBatchNorm(c2, b2), foldConvBatchNorm(c3, b3)];
  const shortcut = sc !== null && sc !== 'identity' ? foldConvBatchNorm(sc[0], sc[1]) : null;
  if (expand) folded.push(expand);
  if (shortcut) folded.push(shortcut);
  const xd = ascontiguous(x);
  const ran = invertedResidualForward({
    N, Cin, H, W, planes, Cout, stride, expand, depthwise: folded[0], project: folded[1],
    residual: sc === 'identity' ? 'identity' : shortcut, act1, act2, act3, k, se: seSpec,
  }, (xd.data as Float32Array).subarray(xd.offset, xd.offset + xd.size), target.data as Float32Array, placement);
  for (const f of folded) {
    recycleFloat(f.w);
    recycleFloat(f.b);
  }
  if (!ran) {
    if (place === undefined) recycleFloat(target.data);
    return null;
  }
  return target;
}
