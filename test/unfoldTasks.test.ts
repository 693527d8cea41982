/*
 * im2col / col2im as tasks on every thread (ops/kernels/unfoldTasks.ts): equal to the
 * layout written out index by index on random geometries (strides, padding, 1×1, channel
 * ranges; col2im's overlapping sums in float64 bit for bit, as it adds in (ki, kj, oh, ow)
 * order per plane), and the same bits on 1, 2 and 4 threads at a size the pool takes; the same
 * for the backward's dout transpose with its bias sums.
 */
import fc from 'fast-check';
import ndarray from 'ndarray';
import { allocFloat } from '../src/core/dtype';
import { RandomState } from '../src/core/random';
import { col2im, im2col } from '../src/layers/im2col';
import { runDoutRows, unfoldCalls } from '../src/ops/kernels/unfoldTasks';
import { bitDiffs, withThreads } from './threads';

interface Geo { N: number; C: number; H: number; W: number; k: number; s: number; p: number; c0: number; cn: number }

const out = (n: number, k: number, s: number, p: number): number => Math.floor((n + 2 * p - k) / s) + 1;

/** The columns and the fold of `d` (the columns' shape), index by index. */
function reference(x: Float64Array, d: Float64Array, g: Geo): [Float64Array, Float64Array] {
  const oh = out(g.H, g.k, g.s, g.p), ow = out(g.W, g.k, g.s, g.p);
  const NP = g.N * oh * ow;
  const cols = new Float64Array(g.cn * g.k * g.k * NP);
  const dx = new Float64Array(x.length);
  for (let c = 0; c < g.cn; c++) {
    for (let n = 0; n < g.N; n++) {
      for (let ki = 0; ki < g.k; ki++) {
        for (let kj = 0; kj < g.k; kj++) {
          for (let a = 0; a < oh; a++) {
            for (let b = 0; b < ow; b++) {
              const i = a * g.s - g.p + ki, j = b * g.s - g.p + kj;
              const r = ((c * g.k + ki) * g.k + kj) * NP + (n * oh + a) * ow + b;
              const inside = i >= 0 && i < g.H && j >= 0 && j < g.W;
              cols[r] = inside ? x[((n * g.C + g.c0 + c) * g.H + i) * g.W + j] : 0;
            }
          }
        }
      }
      // The fold per plane in (ki, kj, oh, ow) order.
      for (let ki = 0; ki < g.k; ki++) {
        for (let kj = 0; kj < g.k; kj++) {
          for (let a = 0; a < oh; a++) {
            for (let b = 0; b < ow; b++) {
              const i = a * g.s - g.p + ki, j = b * g.s - g.p + kj;
              if (i < 0 || i >= g.H || j < 0 || j >= g.W) continue;
              dx[((n * g.C + g.c0 + c) * g.H + i) * g.W + j] += d[((c * g.k + ki) * g.k + kj) * NP + (n * oh + a) * ow + b];
            }
          }
        }
      }
    }
  }
  return [cols, dx];
}

function run(g: Geo, seed: number, shared: boolean): Float64Array[] {
  const rng = new RandomState(seed);
  const n = g.N * g.C * g.H * g.W;
  const xs = shared ? (allocFloat('float64', n) as Float64Array) : new Float64Array(n);
  xs.set(rng.randn(n).data as Float64Array);
  const x = ndarray(xs, [g.N, g.C, g.H, g.W]);
  const opts = { stride: g.s, pad: g.p, channelStart: g.c0, channelCount: g.cn };
  const cols = im2col(x, g.k, g.k, opts);
  const ds = shared ? (allocFloat('float64', cols.size) as Float64Array) : new Float64Array(cols.size);
  ds.set(rng.randn(cols.size).data as Float64Array);
  const dx = col2im(ndarray(ds, cols.shape.slice()), x.shape, g.k, g.k, opts);
  return [xs, ds, Float64Array.from(cols.data), Float64Array.from(dx.data)];
}

const f32view = (a: Float64Array): Float32Array => new Float32Array(a.buffer, a.byteOffset, a.length * 2);

describe('im2col / col2im tasks', () => {
  it('equal the layout index by index on random geometries (float64, bit for bit)', () => {
    const geo = fc
      .record({
        N: fc.integer({ min: 1, max: 3 }), C: fc.integer({ min: 1, max: 4 }), H: fc.integer({ min: 1, max: 7 }), W: fc.integer({ min: 1, max: 7 }),
        k: fc.integer({ min: 1, max: 3 }), s: fc.integer({ min: 1, max: 3 }), p: fc.nat(1), c0: fc.nat(3), cn: fc.integer({ min: 1, max: 4 }),
      })
      .map((g) => ({ ...g, c0: g.c0 % g.C, cn: 1 + ((g.cn - 1) % (g.C - (g.c0 % g.C))) }))
      .filter((g) => g.H + 2 * g.p >= g.k && g.W + 2 * g.p >= g.k);
    fc.assert(fc.property(geo, fc.integer({ min: 0, max: 1e6 }), (g, seed) => {
      const [x, d, cols, dx] = run(g, seed, false);
      const [rc, rdx] = reference(x, d, g);
      expect(bitDiffs([f32view(cols), f32view(dx)], [f32view(rc), f32view(rdx)])).toBe(0);
    }), { numRuns: 80 });
  });

  it.each([
    ['3×3 stride 2 at 16×16', { N: 32, C: 24, H: 16, W: 16, k: 3, s: 2, p: 1, c0: 0, cn: 24 }],
    ['1×1 at 4×4', { N: 64, C: 384, H: 4, W: 4, k: 1, s: 1, p: 0, c0: 0, cn: 384 }],
  ])('%s: the same bits on 1, 2 and 4 threads, the pool used', (_name, g) => {
    const one = withThreads('1', () => run(g, 3, true)).map(f32view);
    const [rc, rdx] = reference(new Float64Array(one[0].buffer, one[0].byteOffset, one[0].length / 2), new Float64Array(one[1].buffer, one[1].byteOffset, one[1].length / 2), g);
    expect(bitDiffs(one.slice(2), [f32view(rc), f32view(rdx)])).toBe(0);
    for (const t of ['2', '4']) {
      const before = unfoldCalls().threaded;
      expect(bitDiffs(one, withThreads(t, () => run(g, 3, true)).map(f32view))).toBe(0);
      expect(unfoldCalls().threaded).toBeGreaterThan(before);
    }
  });
});

describe('dout rows (N, F, P) → (F, N·P) with the bias sums', () => {
  /** The transpose, and each filter's sum: rows from 0 in order, added in sample order. */
  function reference(d: Float64Array, N: number, F: number, P: number): [Float64Array, Float64Array] {
    const rows = new Float64Array(d.length);
    const db = new Float64Array(F);
    for (let n = 0; n < N; n++) {
      for (let f = 0; f < F; f++) {
        let s = 0;
        for (let i = 0; i < P; i++) {
          rows[f * N * P + n * P + i] = d[(n * F + f) * P + i];
          s += d[(n * F + f) * P + i];
        }
        db[f] += s;
      }
    }
    return [rows, db];
  }

  function run(N: number, F: number, P: number, seed: number, shared: boolean): Float64Array[] {
    const n = N * F * P;
    const d = shared ? (allocFloat('float64', n) as Float64Array) : new Float64Array(n);
    d.set(new RandomState(seed).randn(n).data as Float64Array);
    const rows = shared ? (allocFloat('float64', n) as Float64Array) : new Float64Array(n);
    const db = runDoutRows(N, F, P, d, rows);
    return [d, rows, Float64Array.from(db)];
  }

  it('equals the transpose and the sums in order (random sizes, short and long rows)', () => {
    fc.assert(fc.property(fc.integer({ min: 1, max: 4 }), fc.integer({ min: 1, max: 9 }), fc.integer({ min: 1, max: 80 }), fc.nat(), (N, F, P, seed) => {
      const [d, rows, db] = run(N, F, P, seed, false);
      const [rr, rdb] = reference(d, N, F, P);
      expect(bitDiffs([f32view(rows), f32view(db)], [f32view(rr), f32view(rdb)])).toBe(0);
    }), { numRuns: 60 });
  });

  it.each([[64, 960, 16], [64, 128, 256]])('%i × %i × %i: the same bits on 1, 2 and 4 threads, the pool used', (N, F, P) => {
    const one = withThreads('1', () => run(N, F, P, 4, true));
    const [rr, rdb] = reference(one[0], N, F, P);
    expect(bitDiffs([f32view(one[1]), f32view(one[2])], [f32view(rr), f32view(rdb)])).toBe(0);
    for (const t of ['2', '4']) {
      const before = unfoldCalls().threaded;
      expect(bitDiffs(one.map(f32view), withThreads(t, () => run(N, F, P, 4, true)).map(f32view))).toBe(0);
      expect(unfoldCalls().threaded).toBeGreaterThan(before);
    }
  });
});
