import { convBackwardFused, convForwardFused } from '../../core/convFused';
import type { FloatArray } from '../../core/dtype';
import { im2colBackward, im2colForward } from '../../layers/convFast';
import type { WindowGeometry } from '../../layers/im2col';
import type { ConvProblem } from './convProblem';

/*
 * The im2col + GEMM convolution of the cs231n fast layers (fused per sample on the worker
 * pool, or unfused over the batch when one sample's working set is too large), as a kernel of
 * the conv2d op. It has no dilation.
 */

function geometry(p: ConvProblem): WindowGeometry {
  return { N: p.N, C: p.C, H: p.H, W: p.W, fh: p.kh, fw: p.kw, stride: p.stride, pad: p.pad, outH: p.outH, outW: p.outW };
}

export function gemmSupports(p: ConvProblem): boolean {
  return p.dilation === 1;
}

export function gemmForward(p: ConvProblem, x: FloatArray, w: FloatArray, b: FloatArray | null, out: FloatArray): void {
  const bias = b ?? new (out.constructor as Float64ArrayConstructor)(p.F);
  const g = geometry(p);
  if (!convForwardFused(x, w, bias, g, p.F, p.groups, out)) im2colForward(x, w, bias, g, p.F, p.groups, out);
}

export function gemmBackward(p: ConvProblem, dout: FloatArray, x: FloatArray, w: FloatArray, dx: FloatArray, dw: FloatArray, db: FloatArray | null): void {
  const dbuf = db ?? new (dx.constructor as Float64ArrayConstructor)(p.F);
  const g = geometry(p);
  dx.fill(0);
  if (!convBackwardFused(x, w, dout, g, p.F, p.groups, dx, dw, dbuf)) im2colBackward(dout, undefined, x, w, g, p.F, p.groups, dx, dw, dbuf);
}
