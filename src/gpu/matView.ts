/*
 * Strided 2-d views over flat arrays and the packing of blocks into the dense float32 arrays
 * gpu.js uploads. Browser-safe: no Node or ndarray imports (the browser test loads this file).
 */

/** Anything indexable that holds floats: Float64Array or Float32Array. */
export type Floats = Float64Array | Float32Array;

/** A logical (rows, cols) matrix: element (i, j) is data[offset + i·rs + j·cs]. */
export interface MatView {
  data: Floats;
  offset: number;
  rows: number;
  cols: number;
  rs: number;
  cs: number;
}

/** A dense row-major view. */
export function denseView(data: Floats, rows: number, cols: number, offset = 0): MatView {
  return { data, offset, rows, cols, rs: cols, cs: 1 };
}

/** The transposed view (no copy). */
export function transposed(v: MatView): MatView {
  return { data: v.data, offset: v.offset, rows: v.cols, cols: v.rows, rs: v.cs, cs: v.rs };
}

/** Rows [r0, r1) as a view (no copy). */
export function rowRange(v: MatView, r0: number, r1: number): MatView {
  return { ...v, offset: v.offset + r0 * v.rs, rows: r1 - r0 };
}

/**
 * Block [r0, r1) × [c0, c1) of v as a dense float32 array, row-major ((r1−r0)·(c1−c0)). A
 * float32 view whose block is already dense comes back as a subarray, without a copy.
 */
export function packBlock(v: MatView, r0: number, r1: number, c0: number, c1: number): Float32Array {
  const h = r1 - r0;
  const w = c1 - c0;
  const start = v.offset + r0 * v.rs + c0 * v.cs;
  if (v.data instanceof Float32Array && (w === 1 || v.cs === 1) && (h === 1 || v.rs === w)) {
    return v.data.subarray(start, start + h * w);
  }
  const out = new Float32Array(h * w);
  const src = v.data;
  if (v.cs === 1) {
    for (let i = 0; i < h; i++) {
      const s = start + i * v.rs;
      const o = i * w;
      for (let j = 0; j < w; j++) out[o + j] = src[s + j];
    }
    return out;
  }
  // Transposing copy: walk the source in its own memory order, in small column strips so the
  // writes stay within a few cache lines.
  const strip = 16;
  for (let j0 = 0; j0 < w; j0 += strip) {
    const j1 = Math.min(w, j0 + strip);
    for (let i = 0; i < h; i++) {
      const s = start + i * v.rs;
      for (let j = j0; j < j1; j++) out[i * w + j] = src[s + j * v.cs];
    }
  }
  return out;
}

/** A dense float32 copy of a vector slice [i0, i1) (float32 input slices are not copied). */
export function packVector(data: ArrayLike<number>, i0: number, i1: number): Float32Array {
  if (data instanceof Float32Array) return data.subarray(i0, i1);
  const out = new Float32Array(i1 - i0);
  for (let i = i0; i < i1; i++) out[i - i0] = data[i];
  return out;
}
