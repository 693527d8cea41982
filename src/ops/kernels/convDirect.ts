import type { FloatArray } from '../../core/dtype';
import type { ConvProblem } from './convProblem';

/*
 * The reference convolution: plain loops over every output and every tap, with groups and
 * dilation. It supports every problem and is what the other kernels are tested against; it is
 * also the kernel of last resort for dilated convolutions, which no fast kernel takes yet.
 */

/** out (N, F, OH, OW) = conv(x, w) + b, any stride / padding / dilation / groups. */
export function convDirectForward(p: ConvProblem, x: FloatArray, w: FloatArray, b: FloatArray | null, out: FloatArray): void {
  const { N, C, H, W, F, groups, kh, kw, stride, pad, dilation, outH, outW } = p;
  const Cg = C / groups;
  const Fg = F / groups;
  for (let n = 0; n < N; n++) {
    for (let f = 0; f < F; f++) {
      const c0 = Math.floor(f / Fg) * Cg;
      for (let oh = 0; oh < outH; oh++) {
        for (let ow = 0; ow < outW; ow++) {
          let s = b ? b[f] : 0;
          for (let c = 0; c < Cg; c++) {
            for (let ki = 0; ki < kh; ki++) {
              const ih = oh * stride - pad + ki * dilation;
              if (ih < 0 || ih >= H) continue;
              for (let kj = 0; kj < kw; kj++) {
                const iw = ow * stride - pad + kj * dilation;
                if (iw < 0 || iw >= W) continue;
                s += x[((n * C + c0 + c) * H + ih) * W + iw] * w[((f * Cg + c) * kh + ki) * kw + kj];
              }
            }
          }
          out[((n * F + f) * outH + oh) * outW + ow] = s;
        }
      }
    }
  }
}

/** dx, dw, db of {@link convDirectForward} (written, not added; db may be null). */
export function convDirectBackward(
  p: ConvProblem, dout: FloatArray, x: FloatArray, w: FloatArray, dx: FloatArray | null, dw: FloatArray, db: FloatArray | null,
): void {
  const { N, C, H, W, F, groups, kh, kw, stride, pad, dilation, outH, outW } = p;
  const Cg = C / groups;
  const Fg = F / groups;
  // The reference loops: dx unwanted is computed all the same and dropped.
  const dxa = new Float64Array(N * C * H * W);
  const dwa = new Float64Array(dw.length);
  const dba = new Float64Array(F);
  for (let n = 0; n < N; n++) {
    for (let f = 0; f < F; f++) {
      const c0 = Math.floor(f / Fg) * Cg;
      for (let oh = 0; oh < outH; oh++) {
        for (let ow = 0; ow < outW; ow++) {
          const d = dout[((n * F + f) * outH + oh) * outW + ow];
          dba[f] += d;
          for (let c = 0; c < Cg; c++) {
            for (let ki = 0; ki < kh; ki++) {
              const ih = oh * stride - pad + ki * dilation;
              if (ih < 0 || ih >= H) continue;
              for (let kj = 0; kj < kw; kj++) {
                const iw = ow * stride - pad + kj * dilation;
                if (iw < 0 || iw >= W) continue;
                const xi = ((n * C + c0 + c) * H + ih) * W + iw;
                const wi = ((f * Cg + c) * kh + ki) * kw + kj;
                dxa[xi] += d * w[wi];
                dwa[wi] += d * x[xi];
              }
            }
          }
        }
      }
    }
  }
  dx?.set(dxa);
  dw.set(dwa);
  if (db) db.set(dba);
}
