/*
 * Tile sizes that keep every gpu.js call inside its limits. Browser-safe.
 *
 * gpu.js 2.24 computes flat array indices in float32 on some paths: past 2^24 elements an
 * argument reads the wrong elements (seen on WebAssembly), so no argument or output may hold
 * more than `maxElements`. GL backends also store a 2-d output as a texture of exactly the
 * output's width and height, so each output side stays at or below `maxOutputDim`.
 */

/** Per-call size limits. */
export interface TileLimits {
  /** Most elements in one kernel argument or output. Default 2^24. */
  maxElements: number;
  /** Longest side of one 2-d kernel output. */
  maxOutputDim: number;
}

/** 2^24: beyond it float32 index arithmetic skips elements. */
export const INDEX_LIMIT = 2 ** 24;

/** 4096: every WebGL2 implementation allows textures this large (SwiftShader: 8192). */
export const GL_OUTPUT_DIM = 4096;

/** Limits for a gpu.js mode unless the caller forces smaller ones. */
export function defaultLimits(glTextures: boolean): TileLimits {
  return { maxElements: INDEX_LIMIT, maxOutputDim: glTextures ? GL_OUTPUT_DIM : INDEX_LIMIT };
}

/** Checks caller-supplied limits. */
export function checkLimits(l: TileLimits): TileLimits {
  for (const key of ['maxElements', 'maxOutputDim'] as const) {
    const v = l[key];
    if (!Number.isInteger(v) || v < 1) throw new RangeError(`limits.${key}: expected a positive integer, got ${v}`);
  }
  if (l.maxElements > INDEX_LIMIT) {
    throw new RangeError(`limits.maxElements: expected at most 2^24 = ${INDEX_LIMIT} (gpu.js indexes in float32 past it), got ${l.maxElements}`);
  }
  return l;
}

/** Tile sides of a product (m, k)·(k, n). */
export interface GemmTiles {
  mt: number;
  nt: number;
  kt: number;
}

/**
 * Tiles for C (m, n) = A (m, k)·B (k, n) with A-tiles mt·kt, B-tiles kt·nt and C-tiles mt·nt
 * all within the limits. Keeps the reduction whole when a single row fits (a split reduction
 * costs an extra pass over C), then takes as many rows and columns as fit.
 */
export function gemmTiles(m: number, n: number, k: number, lim: TileLimits): GemmTiles {
  const L = lim.maxElements;
  const kt = Math.max(1, Math.min(k, Math.floor(L / Math.max(1, Math.min(m, n, lim.maxOutputDim)))));
  const byK = Math.max(1, Math.floor(L / Math.max(1, kt)));
  let mt = Math.max(1, Math.min(m, byK, lim.maxOutputDim));
  let nt = Math.max(1, Math.min(n, byK, lim.maxOutputDim));
  if (mt * nt > L) {
    // Keep the longer side long: fewer, squarer-in-count tiles.
    if (mt >= nt) mt = Math.max(1, Math.floor(L / nt));
    else nt = Math.max(1, Math.floor(L / mt));
  }
  return { mt, nt, kt };
}

/** Rows per chunk when each row holds `rowLen` elements. */
export function rowChunk(rowLen: number, lim: TileLimits): number {
  return Math.max(1, Math.floor(lim.maxElements / Math.max(1, rowLen)));
}
