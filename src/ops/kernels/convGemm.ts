import { batchDwWins, convBackwardFused, convForwardFused, type FusedEpilogue } from '../../core/convFused';
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

/** True when the fused path ran and applied `p.clamp` / `p.silu` (the unfused one leaves them to the op). */
export function gemmForward(p: ConvProblem, x: FloatArray, w: FloatArray, b: FloatArray | null, out: FloatArray): boolean {
  const bias = b ?? new (out.constructor as Float64ArrayConstructor)(p.F);
  const g = geometry(p);
  const epilogue: FusedEpilogue = { clamp: p.clamp, silu: p.silu, applied: false };
  if (convForwardFused(x, w, bias, g, p.F, p.groups, out, undefined, epilogue)) return epilogue.applied;
  im2colForward(x, w, bias, g, p.F, p.groups, out);
  return false;
}

/**
 * True when the batch-wide (unfused) backward beats the fused one. WHY: the fused backward
 * forms one dW part (Fg × K) per sample and adds the parts up in sample order; when a sample
 * has few output positions P next to its filters (ResNet's 4×4 and 8×8 stages) that part is
 * bigger than the sample's own arithmetic, while the unfused path makes dW one GEMM with the
 * batch's N·P positions as its inner dimension. Measured on ResNet-18 (CIFAR) shapes, batch
 * 64, float32, 2 threads (scratch bench): 512→512 at 4×4 fused 889 ms against 376, 256→512
 * stride 2 413 against 187, 256→256 at 8×8 444 against 398, 128→128 at 16×16 314 against 563.
 * With 64 positions and a part that stays in L2 (MobileNet V2's pointwise 1×1 convolutions,
 * parts of 25–55 K values) the fused one wins again: 96→576 at 8×8, batch 64, 16.6 ms against
 * 27.4, 64→384 7.1 against 13.1 (scratch bench, same machine); at 4×4 it still loses
 * (160→960 21.1 against 12.7).
 */
export function preferUnfusedBackward(p: ConvProblem): boolean {
  const P = p.outH * p.outW;
  const Fg = p.F / p.groups;
  const part = Fg * (p.C / p.groups) * p.kh * p.kw;
  // Small pointwise maps: the fused backward's batch-wide dW wins (see batchDwWins), up to
  // parts the size of SMALL_PART (464→1024 at 4×4: fused 28 ms against 24).
  if (p.kh === 1 && p.kw === 1 && p.stride === 1 && p.pad === 0 && batchDwWins(P) && part <= SMALL_PART) return false;
  return 4 * P <= Fg && (P < 64 || part > SMALL_PART);
}

/** Values of a per-sample dW part that stay in L2 beside the sample's own operands. */
const SMALL_PART = 1 << 18;

/** dx (null: skipped, as for the Winograd kernel, which computes its own), dw and db of the convolution. */
export function gemmBackward(p: ConvProblem, dout: FloatArray, x: FloatArray, w: FloatArray, dx: FloatArray | null, dw: FloatArray, db: FloatArray | null): void {
  const dbuf = db ?? new (dw.constructor as Float64ArrayConstructor)(p.F);
  const g = geometry(p);
  if (!preferUnfusedBackward(p) && convBackwardFused(x, w, dout, g, p.F, p.groups, dx, dw, dbuf)) return;
  // The fused path writes every dx element; the unfused one adds its windows into dx.
  dx?.fill(0);
  im2colBackward(dout, undefined, x, w, g, p.F, p.groups, dx, dw, dbuf);
}
