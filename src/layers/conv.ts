import ndarray from 'ndarray';
import { assertNdim, ShapeError, shapeStr, showValue } from '../core/check';
import { allocFloat, type DType } from '../core/dtype';
import { dtypeOf, type Tensor } from '../core/tensor';
import { windowGeometry, type WindowGeometry } from './im2col';
import { alloc, dense, denseAs } from './layerArgs';

/** cs231n's `conv_param`: window step and symmetric zero padding. */
export interface ConvParam {
  /** Step between receptive fields, in pixels (positive integer). */
  stride: number;
  /** Zero padding added on every side of the input (non-negative integer). */
  pad: number;
}

/** What the convolution forward passes keep for backward. */
export interface ConvCache {
  x: Tensor;
  w: Tensor;
  b: Tensor;
  convParam: ConvParam;
}

/** Checked shapes of a convolution's x, w, b and the resulting window geometry. */
export interface ConvShapes {
  geom: WindowGeometry;
  F: number;
  /** Channels each filter sees (C / groups). */
  Cg: number;
  dtype: DType;
  xd: Tensor;
  wd: Tensor;
  bd: Tensor;
}

/**
 * Validates x `(N, C, H, W)`, w `(F, C/groups, HH, WW)`, b `(F,)` and the stride/pad, naming the
 * argument at fault; returns dense copies in x's dtype and the window geometry (floor output size).
 */
export function checkConvArgs(x: Tensor, w: Tensor, b: Tensor, convParam: ConvParam, groups = 1): ConvShapes {
  if (!convParam || typeof convParam !== 'object') {
    throw new TypeError(`convParam: expected an object { stride, pad }, got ${String(convParam)}`);
  }
  assertNdim('x', x, 4);
  assertNdim('w', w, 4);
  const [, C] = x.shape;
  const [F, Cw, HH, WW] = w.shape;
  if (C % groups !== 0 || F % groups !== 0) {
    throw new ShapeError(`groups: ${groups} must divide both the ${C} input channels of x and the ${F} filters of w`);
  }
  const Cg = C / groups;
  if (Cw !== Cg) {
    const what = groups === 1 ? `the ${C} channels of x` : `${C} channels of x / ${groups} groups`;
    throw new ShapeError(`w: expected ${Cg} input channels (axis 1) to match ${what}, got shape ${shapeStr(w.shape)}`);
  }
  if (b?.shape?.length !== 1 || b.shape[0] !== F) {
    throw new ShapeError(`b: expected shape (${F},) to match the ${F} filters of w, got ${b?.shape ? shapeStr(b.shape) : String(b)}`);
  }
  const stride = convParam.stride;
  const pad = convParam.pad;
  if (!(typeof stride === 'number' && Number.isInteger(stride) && stride > 0)) {
    throw new RangeError(`convParam.stride: expected a positive integer, got ${showValue(stride)}`);
  }
  if (!(typeof pad === 'number' && Number.isInteger(pad) && pad >= 0)) {
    throw new RangeError(`convParam.pad: expected a non-negative integer, got ${showValue(pad)}`);
  }
  const geom = windowGeometry(x.shape, HH, WW, stride, pad);
  const xd = dense('x', x);
  const dtype = dtypeOf(xd);
  return { geom, F, Cg, dtype, xd, wd: denseAs('w', w, dtype), bd: denseAs('b', b, dtype) };
}

/**
 * Reference convolution with plain loops (cs231n's `conv_forward_naive`): x `(N, C, H, W)`,
 * w `(F, C, HH, WW)`, b `(F,)` → out `(N, F, H', W')`, H' = 1 + floor((H + 2·pad − HH)/stride).
 * Padding is virtual (x is not copied or modified).
 */
export function convForwardNaive(x: Tensor, w: Tensor, b: Tensor, convParam: ConvParam): { out: Tensor; cache: ConvCache } {
  const { geom, F, dtype, xd, wd, bd } = checkConvArgs(x, w, b, convParam);
  const { N, C, H, W, fh, fw, stride, pad, outH, outW } = geom;
  const xs = xd.data;
  const ws = wd.data;
  const out = allocFloat(dtype, N * F * outH * outW);
  for (let n = 0; n < N; n++) {
    for (let f = 0; f < F; f++) {
      for (let oh = 0; oh < outH; oh++) {
        for (let ow = 0; ow < outW; ow++) {
          let s = bd.data[f];
          for (let c = 0; c < C; c++) {
            for (let ki = 0; ki < fh; ki++) {
              const ih = oh * stride - pad + ki;
              if (ih < 0 || ih >= H) continue;
              for (let kj = 0; kj < fw; kj++) {
                const iw = ow * stride - pad + kj;
                if (iw < 0 || iw >= W) continue;
                s += xs[((n * C + c) * H + ih) * W + iw] * ws[((f * C + c) * fh + ki) * fw + kj];
              }
            }
          }
          out[((n * F + f) * outH + oh) * outW + ow] = s;
        }
      }
    }
  }
  return { out: ndarray(out, [N, F, outH, outW]), cache: { x, w, b, convParam: { ...convParam } } };
}

/** Checks dout against the forward output shape `(N, F, H', W')`. */
export function checkConvDout(dout: Tensor, N: number, F: number, outH: number, outW: number, dtype: DType): Tensor {
  const s = dout?.shape;
  if (!Array.isArray(s) || s.length !== 4 || s[0] !== N || s[1] !== F || s[2] !== outH || s[3] !== outW) {
    throw new ShapeError(`dout: expected shape ${shapeStr([N, F, outH, outW])} (the forward output), got ${Array.isArray(s) ? shapeStr(s) : String(dout)}`);
  }
  return denseAs('dout', dout, dtype);
}

/**
 * Backward of {@link convForwardNaive} with plain loops: each output gradient is scattered back
 * onto the inputs and weights of its receptive field. Returns `{ dx, dw, db }` shaped like
 * x, w, b.
 */
export function convBackwardNaive(dout: Tensor, cache: ConvCache): { dx: Tensor; dw: Tensor; db: Tensor } {
  const { geom, F, dtype, xd, wd } = checkConvArgs(cache.x, cache.w, cache.b, cache.convParam);
  const { N, C, H, W, fh, fw, stride, pad, outH, outW } = geom;
  const g = checkConvDout(dout, N, F, outH, outW, dtype).data;
  const xs = xd.data;
  const ws = wd.data;
  const dx = new Float64Array(N * C * H * W);
  const dw = new Float64Array(F * C * fh * fw);
  const db = new Float64Array(F);
  for (let n = 0; n < N; n++) {
    for (let f = 0; f < F; f++) {
      for (let oh = 0; oh < outH; oh++) {
        for (let ow = 0; ow < outW; ow++) {
          const d = g[((n * F + f) * outH + oh) * outW + ow];
          db[f] += d;
          for (let c = 0; c < C; c++) {
            for (let ki = 0; ki < fh; ki++) {
              const ih = oh * stride - pad + ki;
              if (ih < 0 || ih >= H) continue;
              for (let kj = 0; kj < fw; kj++) {
                const iw = ow * stride - pad + kj;
                if (iw < 0 || iw >= W) continue;
                const xi = ((n * C + c) * H + ih) * W + iw;
                const wi = ((f * C + c) * fh + ki) * fw + kj;
                dx[xi] += d * ws[wi];
                dw[wi] += d * xs[xi];
              }
            }
          }
        }
      }
    }
  }
  const out = (a: Float64Array, shape: number[]): Tensor => {
    const t = alloc(shape, dtype);
    t.data.set(a);
    return t;
  };
  return { dx: out(dx, [N, C, H, W]), dw: out(dw, [F, C, fh, fw]), db: out(db, [F]) };
}
