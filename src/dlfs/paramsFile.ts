import { ShapeError, shapeStr } from '../core/check';
import { readArrayFile, writeArrayFile, type StoredArray } from '../solver/arrayFile';
import type { BookNet } from './bookNet';

/*
 * The book's `save_params` / `load_params` (params.pkl), in the package's checksummed array
 * file format (src/solver/arrayFile.ts): one float64 array per parameter name.
 */

/** Writes `net.params` (atomically) with a little metadata. */
export function saveParams(net: BookNet, file: string, meta: Record<string, unknown> = {}): void {
  const arrays: Record<string, StoredArray> = {};
  for (const [k, v] of Object.entries(net.params)) arrays[k] = v as StoredArray;
  writeArrayFile(file, { kind: 'dlfs-params', ...meta }, arrays);
}

/**
 * Reads parameters saved by {@link saveParams} into `net.params`, in place (the layers keep
 * their references). Every parameter of the net must be in the file with the same shape.
 */
export function loadParams(net: BookNet, file: string): Record<string, unknown> {
  const { meta, arrays } = readArrayFile(file);
  for (const [k, p] of Object.entries(net.params)) {
    const a = arrays[k];
    if (!a) throw new RangeError(`${file}: no parameter ${k} (file holds ${Object.keys(arrays).join(', ')})`);
    if (a.shape.length !== p.shape.length || a.shape.some((d, i) => d !== p.shape[i])) {
      throw new ShapeError(`${file}: parameter ${k} has shape ${shapeStr(a.shape)}, the net expects ${shapeStr(p.shape)}`);
    }
    for (let i = 0; i < a.data.length; i++) p.data[p.offset + i] = a.data[i];
  }
  return (meta ?? {}) as Record<string, unknown>;
}
