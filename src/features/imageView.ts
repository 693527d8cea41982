import type { NdArray } from 'ndarray';
import { ShapeError, shapeStr } from '../core/check';
import type { NumStore } from '../core/tensor';

/*
 * The feature functions read images of any numeric dtype (uint8 straight from the loader, or
 * floats) and any strides (a per-image view into an (N, H, W, C) batch), so they index the
 * store directly instead of copying each image first.
 */

/** Strided read access to an (H, W) or (H, W, C) image. */
export interface ImageView {
  /** Rows. */
  H: number;
  /** Columns. */
  W: number;
  /** Channels; 1 for a 2-d image. */
  C: number;
  /** The image's backing store (shared, never written). */
  data: ArrayLike<number>;
  /** Index of pixel (0, 0, 0) in `data`. */
  offset: number;
  /** Element stride along rows. */
  sH: number;
  /** Element stride along columns. */
  sW: number;
  /** Element stride along channels (0 for a 2-d image). */
  sC: number;
}

/** A numeric image ndarray: any typed-array store, any strides. */
export type Image = NdArray<NumStore>;

/** Checks that `im` is a 2-d or 3-d numeric ndarray (as `ndims` allows) and returns its view. */
export function imageView(name: string, im: Image, ndims: readonly number[]): ImageView {
  if (!im || !Array.isArray((im as { shape?: unknown }).shape) || !ArrayBuffer.isView((im as { data?: unknown }).data)) {
    throw new TypeError(`${name}: expected an image ndarray of shape ${ndims.map((n) => (n === 2 ? '(H, W)' : '(H, W, C)')).join(' or ')}, got ${describe(im)}`);
  }
  const nd = im.shape.length;
  if (!ndims.includes(nd)) {
    const exp = ndims.map((n) => (n === 2 ? '(H, W)' : '(H, W, C)')).join(' or ');
    throw new ShapeError(`${name}: expected an image of shape ${exp}, got ${shapeStr(im.shape)}`);
  }
  return {
    H: im.shape[0],
    W: im.shape[1],
    C: nd === 3 ? im.shape[2] : 1,
    data: im.data as ArrayLike<number>,
    offset: im.offset,
    sH: im.stride[0],
    sW: im.stride[1],
    sC: nd === 3 ? im.stride[2] : 0,
  };
}

function describe(a: unknown): string {
  if (a === null || a === undefined) return String(a);
  if (Array.isArray(a)) return `a plain Array of length ${a.length}`;
  if (ArrayBuffer.isView(a)) return `a bare ${(a as object).constructor.name} (wrap it with fromData)`;
  return typeof a === 'object' ? ((a as object).constructor?.name ?? 'object') : typeof a;
}
