import type { FloatArray } from '../../core/dtype';
import type { ConvProblem } from './convProblem';

/*
 * Depthwise convolution (groups = C = F: one k×k filter per channel) computed directly, one
 * (sample, channel) plane at a time. WHY not the GEMM path: a depthwise filter is a 1×9 or
 * 1×25 row, so im2col + GEMM would unfold the whole plane 9–25× to multiply it by one row —
 * all traffic, no reuse. Here each tap is one pass of `out[row] += w · x[row shifted]` over
 * the plane, which stays in L1/L2, and nothing is unfolded.
 *
 * Per output element the sum runs bias, then taps in (ki, kj) order: the reference direct
 * kernel's order, so float64 results are bit-identical to it.
 */

/** First and one-past-last output index o with o·stride − pad + k inside [0, size). */
function span(k: number, size: number, out: number, stride: number, pad: number): [number, number] {
  const lo = Math.max(0, Math.ceil((pad - k) / stride));
  const hi = Math.min(out, Math.floor((size - 1 + pad - k) / stride) + 1);
  return [lo, Math.max(lo, hi)];
}

/** True when `p` is a depthwise convolution this kernel computes. */
export function isDepthwise(p: ConvProblem): boolean {
  return p.groups === p.C && p.F === p.C;
}

export function depthwiseForward(p: ConvProblem, x: FloatArray, w: FloatArray, b: FloatArray | null, out: FloatArray): void {
  const { N, C, H, W, kh, kw, stride, pad, dilation, outH, outW } = p;
  const HW = H * W;
  const P = outH * outW;
  for (let n = 0; n < N; n++) {
    for (let c = 0; c < C; c++) {
      const xo = (n * C + c) * HW;
      const oo = (n * C + c) * P;
      out.fill(b ? b[c] : 0, oo, oo + P);
      for (let ki = 0; ki < kh; ki++) {
        const [ohLo, ohHi] = span(ki * dilation, H, outH, stride, pad);
        for (let kj = 0; kj < kw; kj++) {
          const [owLo, owHi] = span(kj * dilation, W, outW, stride, pad);
          const wv = w[(c * kh + ki) * kw + kj];
          for (let oh = ohLo; oh < ohHi; oh++) {
            const src = xo + (oh * stride - pad + ki * dilation) * W + kj * dilation - pad;
            const dst = oo + oh * outW;
            if (stride === 1) {
              for (let ow = owLo; ow < owHi; ow++) out[dst + ow] += wv * x[src + ow];
            } else {
              for (let ow = owLo; ow < owHi; ow++) out[dst + ow] += wv * x[src + ow * stride];
            }
          }
        }
      }
    }
  }
}

export function depthwiseBackward(
  p: ConvProblem, dout: FloatArray, x: FloatArray, w: FloatArray, dx: FloatArray, dw: FloatArray, db: FloatArray | null,
): void {
  const { N, C, H, W, kh, kw, stride, pad, dilation, outH, outW } = p;
  const HW = H * W;
  const P = outH * outW;
  const K = kh * kw;
  const dwa = new Float64Array(C * K);
  const dba = new Float64Array(C);
  dx.fill(0);
  for (let n = 0; n < N; n++) {
    for (let c = 0; c < C; c++) {
      const xo = (n * C + c) * HW;
      const oo = (n * C + c) * P;
      let sb = 0;
      for (let i = oo; i < oo + P; i++) sb += dout[i];
      dba[c] += sb;
      for (let ki = 0; ki < kh; ki++) {
        const [ohLo, ohHi] = span(ki * dilation, H, outH, stride, pad);
        for (let kj = 0; kj < kw; kj++) {
          const [owLo, owHi] = span(kj * dilation, W, outW, stride, pad);
          const wv = w[(c * kh + ki) * kw + kj];
          let sw = 0;
          for (let oh = ohLo; oh < ohHi; oh++) {
            const src = xo + (oh * stride - pad + ki * dilation) * W + kj * dilation - pad;
            const dst = oo + oh * outW;
            if (stride === 1) {
              for (let ow = owLo; ow < owHi; ow++) {
                const g = dout[dst + ow];
                dx[src + ow] += wv * g;
                sw += g * x[src + ow];
              }
            } else {
              for (let ow = owLo; ow < owHi; ow++) {
                const g = dout[dst + ow];
                dx[src + ow * stride] += wv * g;
                sw += g * x[src + ow * stride];
              }
            }
          }
          dwa[c * K + ki * kw + kj] += sw;
        }
      }
    }
  }
  dw.set(dwa);
  if (db) db.set(dba);
}
