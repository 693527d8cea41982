import * as fs from 'fs';
import * as path from 'path';
import fc from 'fast-check';
import ndarray from 'ndarray';
import { PNG } from 'pngjs';
import { visualizeGrid, writePng } from '../src/vis/grid';
import { tmpDir } from './dataFixtures';

describe('visualizeGrid (cs231n visualize_grid)', () => {
  test('square grid of ceil(sqrt(N)) tiles with padding; unused tiles and padding are zero', () => {
    const N = 5, H = 2, W = 3, C = 1;
    const data = new Float64Array(N * H * W * C).map((_, i) => i);
    const g = visualizeGrid(ndarray(data, [N, H, W, C]));
    expect(g.shape).toEqual([2 * 3 + 2, 3 * 3 + 2, 1]);
    // tile 0 is values 0..5 → scaled to 0, 51, ..., 255
    expect([g.get(0, 0, 0), g.get(0, 1, 0), g.get(0, 2, 0), g.get(1, 2, 0)]).toEqual([0, 51, 102, 255]);
    // tile 4 sits at grid row 1, column 1: starts at (3, 4)
    expect(g.get(3, 4, 0)).toBe(0);
    expect(g.get(4, 6, 0)).toBe(255);
    // padding row 2 and column 3 stay zero, tiles 5..8 stay zero
    for (let x = 0; x < 11; x++) expect(g.get(2, x, 0)).toBe(0);
    expect(g.get(6, 0, 0)).toBe(0);
    expect(g.get(7, 10, 0)).toBe(0);
  });

  test('property: every tile is its image min-max scaled to [0, ubound]', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 1, max: 7 }),
        fc.integer({ min: 1, max: 4 }),
        fc.integer({ min: 1, max: 4 }),
        fc.constantFrom(1, 3),
        fc.integer({ min: 0, max: 2 }),
        fc.double({ min: 1, max: 1000, noNaN: true }),
        fc.infiniteStream(fc.double({ min: -100, max: 100, noNaN: true })),
        (N, H, W, C, padding, ubound, values) => {
          const it = values[Symbol.iterator]();
          const data = Float64Array.from({ length: N * H * W * C }, () => it.next().value as number);
          const imgs = ndarray(data, [N, H, W, C]);
          const g = visualizeGrid(imgs, { ubound, padding });
          const gs = Math.ceil(Math.sqrt(N));
          expect(g.shape).toEqual([H * gs + padding * (gs - 1), W * gs + padding * (gs - 1), C]);
          for (let n = 0; n < N; n++) {
            const tile = data.subarray(n * H * W * C, (n + 1) * H * W * C);
            let lo = Infinity, hi = -Infinity;
            for (const v of tile) {
              lo = Math.min(lo, v);
              hi = Math.max(hi, v);
            }
            const y0 = Math.floor(n / gs) * (H + padding);
            const x0 = (n % gs) * (W + padding);
            for (let y = 0; y < H; y++)
              for (let x = 0; x < W; x++)
                for (let c = 0; c < C; c++) {
                  const want = hi > lo ? (ubound * (imgs.get(n, y, x, c) - lo)) / (hi - lo) : 0;
                  expect(g.get(y0 + y, x0 + x, c)).toBeCloseTo(want, 9);
                }
          }
        },
      ),
      { numRuns: 60 },
    );
  });

  test('uint8 input, cols layout (one class per row), raw values with normalize=false', () => {
    const imgs = ndarray(new Uint8Array(6 * 2 * 2 * 3).map((_, i) => (i * 11) % 256), [6, 2, 2, 3]);
    const g = visualizeGrid(imgs, { cols: 2, padding: 1, normalize: false });
    expect(g.shape).toEqual([3 * 2 + 2, 2 * 2 + 1, 3]);
    // tile 3 → grid row 1, col 1 at (3, 3); its first value is element 3*12
    expect(g.get(3, 3, 0)).toBe((36 * 11) % 256);
    expect(g.get(7, 4, 2)).toBe(imgs.get(5, 1, 1, 2));
  });

  test('a constant tile is zeros (numpy would give NaN), bad shapes are named', () => {
    const g = visualizeGrid(ndarray(new Float64Array(4).fill(3), [1, 2, 2, 1]));
    expect(Array.from(g.data)).toEqual([0, 0, 0, 0]);
    expect(() => visualizeGrid(ndarray(new Float64Array(4), [2, 2]))).toThrow(/images: expected a 4-d array, got shape \(2, 2\)/);
    expect(() => visualizeGrid(ndarray(new Float64Array(4), [1, 2, 2, 1]), { padding: -1 })).toThrow(/padding/);
  });
});

describe('writePng', () => {
  let t: ReturnType<typeof tmpDir>;
  beforeEach(() => {
    t = tmpDir('cs231n-png-');
  });
  afterEach(() => t.cleanup());

  test('RGB with clamping and rounding, read back pixel by pixel; no temp file left', () => {
    const f = path.join(t.dir, 'sub', 'a.png');
    const img = ndarray(Float64Array.from([0, 127.6, 300, -5, 10, 20]), [1, 2, 3]);
    writePng(f, img);
    const png = PNG.sync.read(fs.readFileSync(f));
    expect([png.width, png.height]).toEqual([2, 1]);
    expect(Array.from(png.data)).toEqual([0, 128, 255, 255, 0, 10, 20, 255]);
    expect(fs.readdirSync(path.dirname(f))).toEqual(['a.png']);
  });

  test('gray images and nearest-neighbour upscaling', () => {
    const f = path.join(t.dir, 'g.png');
    writePng(f, ndarray(Uint8Array.from([10, 200]), [1, 2, 1]), { scale: 3 });
    const png = PNG.sync.read(fs.readFileSync(f));
    expect([png.width, png.height]).toEqual([6, 3]);
    const px = (x: number, y: number) => Array.from(png.data.subarray((y * 6 + x) * 4, (y * 6 + x) * 4 + 4));
    expect(px(0, 0)).toEqual([10, 10, 10, 255]);
    expect(px(2, 2)).toEqual([10, 10, 10, 255]);
    expect(px(3, 0)).toEqual([200, 200, 200, 255]);
    expect(px(5, 2)).toEqual([200, 200, 200, 255]);
  });

  test('bad channel counts and scales are errors naming the argument', () => {
    const f = path.join(t.dir, 'x.png');
    expect(() => writePng(f, ndarray(new Float64Array(4), [1, 2, 2]))).toThrow(/image: expected shape \(H, W, 1\) or \(H, W, 3\), got \(1, 2, 2\)/);
    expect(() => writePng(f, ndarray(new Float64Array(3), [1, 1, 3]), { scale: 0 })).toThrow(/scale: expected a positive integer/);
    expect(fs.existsSync(f)).toBe(false);
  });
});
