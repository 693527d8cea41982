import ndarray from 'ndarray';
import { recycleFloat } from '../core/bufferPool';
import { assertNdim, ShapeError, shapeStr } from '../core/check';
import { allocFloat, allocFloatUninit, type FloatArray } from '../core/dtype';
import { dtypeOf, type Tensor } from '../core/tensor';
import { dense, denseAs } from '../layers/layerArgs';
import { registerKernel, selectKernel } from './kernelRegistry';
import { convDirectBackward, convDirectForward } from './kernels/convDirect';
import type { ConvKernelImpl, ConvProblem } from './kernels/convProblem';
import { depthwiseBackward, depthwiseForward, isDepthwise } from './kernels/depthwise';
import { gemmBackward, gemmForward, gemmSupports } from './kernels/convGemm';
import { winogradBackward, winogradForward, winogradPrefers, winogradSupports } from './kernels/winograd';
import { relu, relu6, silu } from './activations';
import { defineOp } from './op';

/** Settings of a 2-D convolution, as `torch.nn.functional.conv2d` (square windows only). */
export interface Conv2dAttrs {
  /** Step between windows (default 1). */
  stride?: number;
  /** Zero padding on every side (default 0). */
  padding?: number;
  /** Spacing between kernel taps (default 1). */
  dilation?: number;
  /** Channel groups (default 1; = channels for depthwise). */
  groups?: number;
  /**
   * Inference epilogue [lo, hi]: out = min(max(out, lo), hi), NaN passed through — [0, ∞) is a
   * fused ReLU, [0, 6] a ReLU6 (what Sequential's folded conv + batch norm + activation uses
   * under noGrad). A forward with it keeps nothing for a backward.
   */
  clamp?: readonly [number, number];
  /**
   * Inference epilogue: out = silu(out) = out·σ(out), the SiLU op's bits (EfficientNet's conv +
   * batch norm + SiLU under noGrad). Not with `clamp`; keeps nothing for a backward either.
   */
  silu?: boolean;
}

/** What conv2d keeps for backward. */
export interface Conv2dCache {
  problem: ConvProblem;
  x: Float64Array | Float32Array;
  w: Float64Array | Float32Array;
  hasBias: boolean;
}

registerKernel<ConvProblem, ConvKernelImpl>('conv2d', {
  name: 'direct', priority: 0, supports: () => true,
  impl: { forward: convDirectForward, backward: convDirectBackward },
});
registerKernel<ConvProblem, ConvKernelImpl>('conv2d', {
  name: 'gemm-fused', priority: 10, supports: gemmSupports,
  impl: { forward: gemmForward, backward: gemmBackward },
});
registerKernel<ConvProblem, ConvKernelImpl>('conv2d', {
  name: 'winograd', priority: 15, supports: winogradSupports, prefers: winogradPrefers,
  impl: { forward: winogradForward, backward: winogradBackward },
});
registerKernel<ConvProblem, ConvKernelImpl>('conv2d', {
  name: 'depthwise-direct', priority: 20, supports: isDepthwise,
  impl: { forward: depthwiseForward, backward: depthwiseBackward },
});

function attrInt(name: string, v: unknown, dflt: number, min: number): number {
  const val = v === undefined ? dflt : Array.isArray(v) && v.length === 2 && v[0] === v[1] ? v[0] : v;
  if (typeof val !== 'number' || !Number.isInteger(val) || val < min) {
    const what = min === 0 ? 'a non-negative integer' : 'a positive integer';
    throw new RangeError(`${name}: expected ${what} (or an equal pair), got ${JSON.stringify(v)}`);
  }
  return val;
}

/**
 * Checks x `(N, C, H, W)`, weight `(F, C/groups, kh, kw)`, bias `(F,)` or absent and the
 * attributes; the output size is PyTorch's floor((H + 2p − d(k−1) − 1)/s) + 1.
 */
export function convProblem(x: Tensor, w: Tensor, b: Tensor | undefined, attrs: Conv2dAttrs): ConvProblem {
  assertNdim('x', x, 4);
  assertNdim('weight', w, 4);
  const stride = attrInt('stride', attrs.stride, 1, 1);
  const pad = attrInt('padding', attrs.padding, 0, 0);
  const dilation = attrInt('dilation', attrs.dilation, 1, 1);
  const groups = attrInt('groups', attrs.groups, 1, 1);
  const [N, C, H, W] = x.shape;
  const [F, Cw, kh, kw] = w.shape;
  if (C % groups !== 0 || F % groups !== 0) {
    throw new ShapeError(`groups: ${groups} must divide both the ${C} input channels and the ${F} output channels`);
  }
  if (Cw !== C / groups) {
    throw new ShapeError(`weight: expected ${C / groups} input channels per group (axis 1) for ${C} channels in ${groups} group(s), got shape ${shapeStr(w.shape)}`);
  }
  if (b !== undefined && (b?.shape?.length !== 1 || b.shape[0] !== F)) {
    throw new ShapeError(`bias: expected shape (${F},) to match the ${F} filters, got ${b?.shape ? shapeStr(b.shape) : String(b)}`);
  }
  const outH = Math.floor((H + 2 * pad - dilation * (kh - 1) - 1) / stride) + 1;
  const outW = Math.floor((W + 2 * pad - dilation * (kw - 1) - 1) / stride) + 1;
  if (outH < 1 || outW < 1) {
    throw new ShapeError(
      `x: input ${H}×${W} is too small for a ${kh}×${kw} kernel with padding ${pad}, dilation ${dilation} and stride ${stride} (output would be ${outH}×${outW})`,
    );
  }
  const clamp = attrs.clamp;
  if (clamp !== undefined && !(Array.isArray(clamp) && clamp.length === 2 && clamp.every((v) => typeof v === 'number' && !Number.isNaN(v)) && clamp[0] <= clamp[1])) {
    throw new RangeError(`clamp: expected [lo, hi] with lo ≤ hi (numbers, not NaN), got ${JSON.stringify(clamp)}`);
  }
  if (attrs.silu !== undefined && typeof attrs.silu !== 'boolean') throw new RangeError(`silu: expected a boolean, got ${JSON.stringify(attrs.silu)}`);
  if (attrs.silu && clamp !== undefined) throw new RangeError('silu: expected at most one epilogue, got both `clamp` and `silu`');
  return {
    N, C, H, W, F, groups, kh, kw, stride, pad, dilation, outH, outW,
    ...(clamp ? { clamp: [clamp[0], clamp[1]] as const } : {}), ...(attrs.silu ? { silu: true } : {}),
  };
}

/** The clamp of a kernel that did not apply it itself: min(max(v, lo), hi) (Math.max orders −0 below +0 and passes NaN, as wasm's). */
function clampOutput(out: FloatArray, [lo, hi]: readonly [number, number]): void {
  for (let i = 0; i < out.length; i++) out[i] = Math.min(Math.max(out[i], lo), hi);
}

/**
 * 2-D convolution (cross-correlation, as PyTorch): inputs `[x, weight]` or `[x, weight, bias]`,
 * NCHW, any stride / padding / dilation / groups, floor output size. The computation is the
 * registered kernel's: depthwise direct for groups = C = F, fused im2col + GEMM otherwise,
 * plain loops for dilation > 1. Gradients: `[dx, dweight, dbias?]`, dx null (skipped where the
 * kernel can) when `needs.input` is false.
 */
export const conv2d = defineOp<Conv2dAttrs, Conv2dCache>({
  name: 'conv2d',
  forward(inputs, attrs) {
    const [x, w, b] = inputs;
    const problem = convProblem(x, w, b, attrs ?? {});
    const xd = dense('x', x);
    const dtype = dtypeOf(xd);
    const wd = denseAs('weight', w, dtype).data;
    const bd = b ? denseAs('bias', b, dtype).data : null;
    // Kernels write every element (ConvKernelImpl): no zero fill.
    const out = allocFloatUninit(dtype, problem.N * problem.F * problem.outH * problem.outW);
    const applied = selectKernel<ConvProblem, ConvKernelImpl>('conv2d', problem).impl.forward(problem, xd.data, wd, bd, out);
    const cache = { problem, x: xd.data, w: wd, hasBias: b !== undefined };
    if (applied !== true && (problem.clamp || problem.silu)) {
      // A kernel or path without the epilogue (the plain loops, the unfused GEMM, float64 or
      // JS-tile Winograd): the activation op of the same bits, on every thread — ReLU, ReLU6 or
      // SiLU — else a loop.
      const [lo, hi] = problem.clamp ?? [0, 0];
      const act = problem.silu ? silu : lo === 0 && hi === Infinity ? relu : lo === 0 && hi === 6 ? relu6 : null;
      if (act === null) {
        clampOutput(out, problem.clamp!);
      } else {
        const r = act.forward([ndarray(out, [problem.N, problem.F, problem.outH, problem.outW])], {});
        act.release?.(r.cache);
        recycleFloat(out);
        return { out: r.out, cache };
      }
    }
    return { out: ndarray(out, [problem.N, problem.F, problem.outH, problem.outW]), cache };
  },
  backward(dout, cache, needs) {
    const { problem: p, x, w, hasBias } = cache;
    if (p.clamp || p.silu) throw new Error(`conv2d: no backward for a forward with \`${p.clamp ? 'clamp' : 'silu'}\` (an inference-only epilogue)`);
    const dtype = x instanceof Float32Array ? 'float32' : 'float64';
    const s = dout?.shape;
    if (!Array.isArray(s) || s.length !== 4 || s[0] !== p.N || s[1] !== p.F || s[2] !== p.outH || s[3] !== p.outW) {
      throw new ShapeError(`dout: expected shape ${shapeStr([p.N, p.F, p.outH, p.outW])} (the forward output), got ${Array.isArray(s) ? shapeStr(s) : String(dout)}`);
    }
    const g = denseAs('dout', dout, dtype).data;
    const dx = needs?.input === false ? null : allocFloatUninit(dtype, p.N * p.C * p.H * p.W);
    const dw = allocFloatUninit(dtype, p.F * (p.C / p.groups) * p.kh * p.kw);
    const db = hasBias ? allocFloat(dtype, p.F) : null;
    selectKernel<ConvProblem, ConvKernelImpl>('conv2d', p).impl.backward(p, g, x, w, dx, dw, db);
    const grads: Array<Tensor | null> = [dx === null ? null : ndarray(dx, [p.N, p.C, p.H, p.W]), ndarray(dw, [p.F, p.C / p.groups, p.kh, p.kw])];
    if (db) grads.push(ndarray(db, [p.F]));
    return grads;
  },
});
