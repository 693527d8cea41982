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
 * reads. Float32 sources are widened to float64 here (for a float64 product), once, instead
 * of in the hot loop; a float32 product packs into the arena's float32 view as is.
 *
 * The source is read along its contiguous direction: when c is the short stride (A, or a
 * transposed B) each panel walks 4 rows side by side; when r is (a plain B, a transposed A
 * such as Xᵀ of a data matrix) the loop goes 4 columns at a time and sweeps r, so every
 * cache line read is used at once instead of half of it being fetched again a panel later.
 */
export function packPanels(v: StridedView, r0: number, rows: number, c0: number, cols: number, dst: FloatArray, dstOff: number): void {
  if (Math.abs(v.rs) < Math.abs(v.cs)) packAcross(v, r0, rows, c0, cols, dst, dstOff);
  else packAlong(v, r0, rows, c0, cols, dst, dstOff);
}

/** Panel by panel, c inner: for sources whose c stride is the short one. */
function packAlong(v: StridedView, r0: number, rows: number, c0: number, cols: number, dst: FloatArray, dstOff: number): void {
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
  packRest(v, r0, rows, c0, cols, dst, dstOff);
}

/** Four columns at a time across all panels: for sources whose r stride is the short one. */
function packAcross(v: StridedView, r0: number, rows: number, c0: number, cols: number, dst: FloatArray, dstOff: number): void {
  const { data, rs, cs } = v;
  const full = rows >> 2;
  const pstride = cols * 4;
  const rs4 = rs * 4;
  let c = 0;
  for (; c + 4 <= cols; c += 4) {
    let s = v.off + r0 * rs + (c0 + c) * cs;
    let d = dstOff + c * 4;
    for (let panel = 0; panel < full; panel++) {
      const s1 = s + cs;
      const s2 = s1 + cs;
      const s3 = s2 + cs;
      dst[d] = data[s]; dst[d + 1] = data[s + rs]; dst[d + 2] = data[s + 2 * rs]; dst[d + 3] = data[s + 3 * rs];
      dst[d + 4] = data[s1]; dst[d + 5] = data[s1 + rs]; dst[d + 6] = data[s1 + 2 * rs]; dst[d + 7] = data[s1 + 3 * rs];
      dst[d + 8] = data[s2]; dst[d + 9] = data[s2 + rs]; dst[d + 10] = data[s2 + 2 * rs]; dst[d + 11] = data[s2 + 3 * rs];
      dst[d + 12] = data[s3]; dst[d + 13] = data[s3 + rs]; dst[d + 14] = data[s3 + 2 * rs]; dst[d + 15] = data[s3 + 3 * rs];
      s += rs4;
      d += pstride;
    }
  }
  for (; c < cols; c++) {
    let s = v.off + r0 * rs + (c0 + c) * cs;
    let d = dstOff + c * 4;
    for (let panel = 0; panel < full; panel++) {
      dst[d] = data[s]; dst[d + 1] = data[s + rs]; dst[d + 2] = data[s + 2 * rs]; dst[d + 3] = data[s + 3 * rs];
      s += rs4;
      d += pstride;
    }
  }
  packRest(v, r0, rows, c0, cols, dst, dstOff);
}

/** The last, partly filled panel (rows not a multiple of 4), zero padded. */
function packRest(v: StridedView, r0: number, rows: number, c0: number, cols: number, dst: FloatArray, dstOff: number): void {
  const full = rows >> 2;
  const rest = rows - full * 4;
  if (rest === 0) return;
  const { data, rs, cs } = v;
  let s = v.off + (r0 + full * 4) * rs + c0 * cs;
  let d = dstOff + full * cols * 4;
  const end = d + cols * 4;
  if (rest === 1) {
    for (; d < end; d += 4, s += cs) {
      dst[d] = data[s]; dst[d + 1] = 0; dst[d + 2] = 0; dst[d + 3] = 0;
    }
  } else if (rest === 2) {
    for (; d < end; d += 4, s += cs) {
      dst[d] = data[s]; dst[d + 1] = data[s + rs]; dst[d + 2] = 0; dst[d + 3] = 0;
    }
  } else {
    for (; d < end; d += 4, s += cs) {
      dst[d] = data[s]; dst[d + 1] = data[s + rs]; dst[d + 2] = data[s + 2 * rs]; dst[d + 3] = 0;
    }
  }
}
