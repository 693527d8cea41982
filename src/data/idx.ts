import * as fs from 'fs';
import * as path from 'path';
import * as zlib from 'zlib';
import ndarray from 'ndarray';
import type { ByteTensor, IntTensor } from '../core/tensor';
import { DataFormatError } from './errors';

/** An IDX file's contents: its dimensions and the unsigned bytes (type 0x08, the only one MNIST uses). */
export interface IdxArray {
  shape: number[];
  data: Uint8Array;
}

/** Magic number of an IDX image file (ubyte, 3 dims). */
export const IDX_IMAGES_MAGIC = 0x00000803;
/** Magic number of an IDX label file (ubyte, 1 dim). */
export const IDX_LABELS_MAGIC = 0x00000801;

function readMaybeGzip(file: string): Buffer {
  let buf: Buffer;
  try {
    buf = fs.readFileSync(file);
  } catch (e) {
    const err = e as NodeJS.ErrnoException;
    throw new DataFormatError(file, err.code === 'ENOENT' ? 'missing file (no such file)' : `cannot read (${err.code ?? err.message})`);
  }
  // Decide by content, not by name: some mirrors serve gunzipped files under .gz names.
  if (buf.length >= 2 && buf[0] === 0x1f && buf[1] === 0x8b) {
    try {
      return zlib.gunzipSync(buf);
    } catch (e) {
      throw new DataFormatError(file, `corrupt or truncated gzip data (${(e as Error).message})`);
    }
  }
  return buf;
}

/**
 * Parses IDX bytes (`file` names the source in errors). `expectMagic`, when given, must
 * match the 4-byte magic exactly; the payload must be exactly as long as the dimensions say.
 */
export function parseIdx(buf: Uint8Array, file: string, expectMagic?: number): IdxArray {
  if (buf.length < 4) throw new DataFormatError(file, `truncated: ${buf.length} bytes, too short for the 4-byte IDX magic`);
  const view = new DataView(buf.buffer, buf.byteOffset, buf.byteLength);
  const magic = view.getUint32(0, false);
  const hex = (m: number) => `0x${m.toString(16).padStart(8, '0')}`;
  if (expectMagic !== undefined && magic !== expectMagic) {
    throw new DataFormatError(file, `bad IDX magic ${hex(magic)}, expected ${hex(expectMagic)}`);
  }
  if (buf[0] !== 0 || buf[1] !== 0) throw new DataFormatError(file, `bad IDX magic ${hex(magic)} (first two bytes must be 0)`);
  if (buf[2] !== 0x08) throw new DataFormatError(file, `IDX element type 0x${buf[2].toString(16)} is not supported (only 0x08, unsigned byte)`);
  const ndim = buf[3];
  const header = 4 + 4 * ndim;
  if (ndim === 0) throw new DataFormatError(file, 'IDX file declares 0 dimensions');
  if (buf.length < header) throw new DataFormatError(file, `truncated at offset ${buf.length}: header of ${ndim} dimensions needs ${header} bytes`);
  const shape: number[] = [];
  let n = 1;
  for (let i = 0; i < ndim; i++) {
    const d = view.getUint32(4 + 4 * i, false);
    shape.push(d);
    n *= d;
  }
  const have = buf.length - header;
  if (have < n) {
    throw new DataFormatError(file, `truncated at offset ${buf.length}: dimensions (${shape.join(', ')}) need ${n} data bytes, file has ${have}`);
  }
  if (have > n) throw new DataFormatError(file, `wrong size: dimensions (${shape.join(', ')}) need ${n} data bytes, file has ${have} (${have - n} extra)`);
  return { shape, data: new Uint8Array(buf.buffer, buf.byteOffset + header, n) };
}

/** Reads an IDX file, gzip-compressed or raw (detected from the content). */
export function readIdx(file: string, expectMagic?: number): IdxArray {
  return parseIdx(readMaybeGzip(file), file, expectMagic);
}

/** Options of {@link loadMnistLike}. */
export interface MnistLikeOptions {
  /** `train` or `t10k` (the official file-name prefixes). */
  kind: 'train' | 't10k';
  /** Labels must lie in [0, numClasses); default 10. */
  numClasses?: number;
}

/** The image and label files of one MNIST-format split, with or without `.gz`. */
export function findIdxFiles(dir: string, kind: 'train' | 't10k'): { images: string; labels: string } | null {
  const pick = (stem: string): string | null => {
    for (const sep of ['-', '.']) {
      for (const ext of ['.gz', '']) {
        const f = path.join(dir, `${kind}-${stem}${sep}${stem === 'images' ? 'idx3' : 'idx1'}-ubyte${ext}`);
        if (fs.existsSync(f)) return f;
      }
    }
    return null;
  };
  const images = pick('images');
  const labels = pick('labels');
  return images && labels ? { images, labels } : null;
}

/**
 * One split of an MNIST-format dataset (MNIST, Fashion-MNIST) in `dir`:
 * `{kind}-images-idx3-ubyte[.gz]` and `{kind}-labels-idx1-ubyte[.gz]` → images (N,H,W,1)
 * uint8 and labels (N,) int32. Bad magic, truncation, an image/label count mismatch or a
 * label out of range is a {@link DataFormatError} naming the file.
 */
export function loadMnistLike(dir: string, opts: MnistLikeOptions): { X: ByteTensor; y: IntTensor; files: { images: string; labels: string } } {
  const numClasses = opts.numClasses ?? 10;
  const files = findIdxFiles(dir, opts.kind);
  if (!files) {
    throw new DataFormatError(dir, `missing ${opts.kind}-images-idx3-ubyte(.gz) or ${opts.kind}-labels-idx1-ubyte(.gz)`);
  }
  const img = readIdx(files.images, IDX_IMAGES_MAGIC);
  const lab = readIdx(files.labels, IDX_LABELS_MAGIC);
  const [n, h, w] = img.shape;
  if (lab.shape[0] !== n) {
    throw new DataFormatError(files.labels, `holds ${lab.shape[0]} labels but ${path.basename(files.images)} holds ${n} images`);
  }
  const y = new Int32Array(n);
  for (let i = 0; i < n; i++) {
    const v = lab.data[i];
    if (v >= numClasses) throw new DataFormatError(files.labels, `label ${i} is ${v}, expected an integer in [0, ${numClasses - 1}]`);
    y[i] = v;
  }
  return { X: ndarray(img.data, [n, h, w, 1]), y: ndarray(y, [n]), files };
}
