import type { FloatArray } from '../../core/dtype';
import type { ConvProblem } from './convProblem';

/*
 * Depthwise convolution (groups = C = F: one k×k filter per channel) computed directly, one
 * (sample, channel) plane at a time. WHY not the GEMM path: a depthwise filter is a 1×9 or
 * 1×25 row, so im2col + GEMM would unfold the whole plane 9–25× to multiply it by one row —
 * all traffic, no reuse. Here each tap is one pass of `out[row] += w · x[row shifted]` over
 * the plane, which stays in L1/L2, and nothing is unfolded.
 *
 * Forward: each output element is one sum in double — bias, then the taps in (ki, kj) order,
 * the reference direct kernel's order — stored once, so results are bit-identical to it in
 * float32 and float64; the plane's rows stay in L1 across the kernel rows.
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
  // Columns whose every tap lies inside the row: no bounds checks there.
  const [inLo, inHi] = interior(kw, dilation, W, outW, stride, pad);
  const rowOff = new Int32Array(kh);
  const rowW = new Float64Array(kh * kw);
  const k3 = kw === 3 && dilation === 1;
  for (let n = 0; n < N; n++) {
    for (let c = 0; c < C; c++) {
      const xo = (n * C + c) * HW;
      const oo = (n * C + c) * P;
      const bias = b ? b[c] : 0;
      for (let oh = 0; oh < outH; oh++) {
        // The kernel rows that fall inside the image for this output row, with their weights.
        let rows = 0;
        for (let ki = 0; ki < kh; ki++) {
          const ih = oh * stride - pad + ki * dilation;
          if (ih < 0 || ih >= H) continue;
          rowOff[rows] = xo + ih * W - pad;
          for (let kj = 0; kj < kw; kj++) rowW[rows * kw + kj] = w[(c * kh + ki) * kw + kj];
          rows++;
        }
        const dst = oo + oh * outW;
        if (k3 && rows === 3) {
          // Interior rows of the 3×3 case: nine taps in registers, the reference's order of additions.
          const w0 = rowW[0], w1 = rowW[1], w2 = rowW[2], w3 = rowW[3], w4 = rowW[4], w5 = rowW[5], w6 = rowW[6], w7 = rowW[7], w8 = rowW[8];
          const r0 = rowOff[0], r1 = rowOff[1], r2 = rowOff[2];
          for (let ow = Math.max(inLo, 0); ow < inHi; ow++) {
            const x0 = ow * stride;
            let t = bias;
            t += x[r0 + x0] * w0;
            t += x[r0 + x0 + 1] * w1;
            t += x[r0 + x0 + 2] * w2;
            t += x[r1 + x0] * w3;
            t += x[r1 + x0 + 1] * w4;
            t += x[r1 + x0 + 2] * w5;
            t += x[r2 + x0] * w6;
            t += x[r2 + x0 + 1] * w7;
            t += x[r2 + x0 + 2] * w8;
            out[dst + ow] = t;
          }
        }
        for (let ow = 0; ow < outW; ow++) {
          if (k3 && rows === 3 && ow >= inLo && ow < inHi) {
            ow = inHi - 1;
            continue;
          }
          const x0 = ow * stride;
          let s = bias;
          if (ow >= inLo && ow < inHi) {
            if (k3) {
              // The common 3×3 undilated case, unrolled (same order of additions).
              for (let r = 0; r < rows; r++) {
                const base = rowOff[r] + x0;
                const wr = r * 3;
                s += x[base] * rowW[wr];
                s += x[base + 1] * rowW[wr + 1];
                s += x[base + 2] * rowW[wr + 2];
              }
            } else {
              for (let r = 0; r < rows; r++) {
                const base = rowOff[r] + x0;
                const wr = r * kw;
                for (let kj = 0; kj < kw; kj++) s += x[base + kj * dilation] * rowW[wr + kj];
              }
            }
          } else {
            for (let r = 0; r < rows; r++) {
              const base = rowOff[r] + x0;
              const wr = r * kw;
              for (let kj = 0; kj < kw; kj++) {
                const iw = x0 - pad + kj * dilation;
                if (iw >= 0 && iw < W) s += x[base + kj * dilation] * rowW[wr + kj];
              }
            }
          }
          out[dst + ow] = s;
        }
      }
    }
  }
}

/** Output columns [lo, hi) whose taps kj·dilation all fall inside [0, W). */
function interior(kw: number, dilation: number, W: number, outW: number, stride: number, pad: number): [number, number] {
  const lo = Math.max(0, Math.ceil(pad / stride));
  const hi = Math.min(outW, Math.floor((W - 1 + pad - (kw - 1) * dilation) / stride) + 1);
  return [lo, Math.max(lo, hi)];
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
