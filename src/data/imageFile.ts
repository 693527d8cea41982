import fs from 'node:fs';
import ndarray, { type NdArray } from 'ndarray';
import { PNG } from 'pngjs';
import { DataFormatError } from './errors';

/** Largest image accepted (pixels): a bigger header is refused before any pixel is decoded. */
const MAX_PIXELS = 1 << 26;

/**
 * Reads a PNG file as `(H, W, 3)` uint8 RGB (grey is repeated, alpha dropped). The file is
 * untrusted: its header's size is checked before decoding, and every decoder complaint
 * becomes a {@link DataFormatError} naming the file.
 */
export function readPngRgb(file: string): NdArray<Uint8Array> {
  let bytes: Buffer;
  try {
    bytes = fs.readFileSync(file);
  } catch (e) {
    throw new DataFormatError(file, `cannot read the image (${(e as NodeJS.ErrnoException).code ?? (e as Error).message})`);
  }
  const sig = [0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a];
  if (bytes.length < 24 || sig.some((b, i) => bytes[i] !== b)) throw new DataFormatError(file, 'not a PNG file (bad signature)');
  const width = bytes.readUInt32BE(16);
  const height = bytes.readUInt32BE(20);
  if (width === 0 || height === 0 || width * height > MAX_PIXELS) {
    throw new DataFormatError(file, `PNG of ${width}×${height} pixels: expected a non-empty image of at most ${MAX_PIXELS} pixels`);
  }
  let png: PNG;
  try {
    png = PNG.sync.read(bytes);
  } catch (e) {
    throw new DataFormatError(file, `corrupt PNG (${(e as Error).message})`);
  }
  const out = new Uint8Array(png.width * png.height * 3);
  for (let i = 0, j = 0; i < out.length; i += 3, j += 4) {
    out[i] = png.data[j];
    out[i + 1] = png.data[j + 1];
    out[i + 2] = png.data[j + 2];
  }
  return ndarray(out, [png.height, png.width, 3]);
}
