import type { FloatArray } from '../dtype';

/**
 * A strided 2-D view of a store: element (r, c) is `data[off + r * rs + c * cs]`. Transposes
 * and slices are just other strides, so packing reads any view without a copy first.
 */
export interface StridedView {
  data: FloatArray;
  off: number;
  rs: number;
  cs: number;
}

/**
 * Copies rows [r0, r0 + rows) x columns [c0, c0 + cols) of `v` into `dst` from `dstOff` on,
 * as panels of 4 rows: dst[dstOff + panel * cols * 4 + c * 4 + rr] = v(r0 + panel * 4 + rr,
 * c0 + c). Missing rows of the last panel are zero, so the micro-kernel never branches on
 * the edge.
 *
 * op(A) is packed with r = row i and c = k index p. op(B) is packed through its transpose
 * (r = column j, c = p), which yields exactly the [panel][p][4 columns] order the kernel
 * reads. Float32 sources are widened to float64 here, once, instead of in the hot loop.
 */
export function packPanels(v: StridedView, r0: number, rows: number, c0: number, cols: number, dst: Float64Array, dstOff: number): void {
  const { data, rs, cs } = v;
  const full = rows >> 2;
  let d = dstOff;
  for (let panel = 0; panel < full; panel++) {
    let s = v.off + (r0 + panel * 4) * rs + c0 * cs;
    for (let c = 0; c < cols; c++) {
      dst[d] = data[s];
      dst[d + 1] = data[s + rs];
      dst[d + 2] = data[s + 2 * rs];
      dst[d + 3] = data[s + 3 * rs];
      d += 4;
      s += cs;
    }
  }
  const rest = rows - full * 4;
  if (rest > 0) {
    const base = v.off + (r0 + full * 4) * rs + c0 * cs;
    for (let c = 0; c < cols; c++) {
      const s = base + c * cs;
      for (let rr = 0; rr < 4; rr++) dst[d + rr] = rr < rest ? data[s + rr * rs] : 0;
      d += 4;
    }
  }
}
