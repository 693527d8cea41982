/*
 * Fast layers against the naive ones, im2col/col2im, max-pool tie and overlap rules, Float32
 * support, and the bad-input errors of the layer set.
 */
import fc from 'fast-check';
import { RandomState } from '../src/core/random';
import { astype, concatRows, fromData, transpose, copy, type Tensor } from '../src/core/tensor';
import { relError } from '../src/gradientCheck';
import {
  affineForward,
  batchnormForward,
  col2im,
  conv2dBackward,
  conv2dForward,
  convBackwardFast,
  convBackwardNaive,
  convForwardFast,
  convForwardNaive,
  dropoutForward,
  im2col,
  layernormForward,
  maxPoolBackwardFast,
  maxPoolBackwardNaive,
  maxPoolForwardFast,
  maxPoolForwardNaive,
  reluForward,
  softmaxLoss,
  spatialBatchnormForward,
  spatialGroupnormForward,
  svmLoss,
  type BatchnormParam,
} from '../src/layers';
import { t64 } from './layerTestUtils';

const same = (a: Tensor, b: Tensor): void => {
  expect(a.shape).toEqual(b.shape);
  expect(Array.from(copy(a).data)).toEqual(Array.from(copy(b).data));
};

describe('fast conv equals naive conv', () => {
  test('notebook case: x 100×3×31×31, w 25×3×3×3, stride 2, pad 1 — relative error < 1e-9', () => {
    const rng = new RandomState(231);
    const x = rng.randn(100, 3, 31, 31);
    const w = rng.randn(25, 3, 3, 3);
    const b = rng.randn(25);
    const dout = rng.randn(100, 25, 16, 16);
    const cp = { stride: 2, pad: 1 };
    const naive = convForwardNaive(x, w, b, cp);
    const fast = convForwardFast(x, w, b, cp);
    expect(relError(naive.out, fast.out)).toBeLessThan(1e-9);
    const gn = convBackwardNaive(dout, naive.cache);
    const gf = convBackwardFast(dout, fast.cache);
    expect(relError(gn.dx, gf.dx)).toBeLessThan(1e-9);
    expect(relError(gn.dw, gf.dw)).toBeLessThan(1e-9);
    expect(relError(gn.db, gf.db)).toBeLessThan(1e-9);
  });

  test('random shapes, strides and pads (floor output size through conv2dForward)', () => {
    const cases = fc
      .record({ N: fc.integer({ min: 1, max: 3 }), C: fc.integer({ min: 1, max: 4 }), F: fc.integer({ min: 1, max: 4 }), H: fc.integer({ min: 1, max: 9 }), W: fc.integer({ min: 1, max: 9 }), HH: fc.integer({ min: 1, max: 4 }), WW: fc.integer({ min: 1, max: 4 }), stride: fc.integer({ min: 1, max: 4 }), pad: fc.integer({ min: 0, max: 3 }), s: fc.nat() })
      .filter((c) => c.H + 2 * c.pad >= c.HH && c.W + 2 * c.pad >= c.WW);
    fc.assert(fc.property(cases, ({ N, C, F, H, W, HH, WW, stride, pad, s }) => {
      const rng = new RandomState(s);
      const x = rng.randn(N, C, H, W);
      const w = rng.randn(F, C, HH, WW);
      const b = rng.randn(F);
      const cp = { stride, pad };
      const naive = convForwardNaive(x, w, b, cp);
      const fast = conv2dForward(x, w, b, cp);
      expect(relError(naive.out, fast.out)).toBeLessThan(1e-9);
      const dout = rng.randn(...naive.out.shape);
      const gn = convBackwardNaive(dout, naive.cache);
      const gf = conv2dBackward(dout, fast.cache);
      expect(relError(gn.dx, gf.dx)).toBeLessThan(1e-9);
      expect(relError(gn.dw, gf.dw)).toBeLessThan(1e-9);
      expect(relError(gn.db, gf.db)).toBeLessThan(1e-9);
    }), { numRuns: 40 });
  });

  test('conv2dBackward accepts a naive cache (re-unfolds x) and matches the naive backward', () => {
    const rng = new RandomState(9);
    const x = rng.randn(2, 3, 5, 4);
    const w = rng.randn(4, 3, 2, 3);
    const b = rng.randn(4);
    const { out, cache } = convForwardNaive(x, w, b, { stride: 1, pad: 2 });
    const dout = rng.randn(...out.shape);
    const gn = convBackwardNaive(dout, cache);
    const gf = conv2dBackward(dout, cache);
    expect(relError(gn.dx, gf.dx)).toBeLessThan(1e-12);
    expect(relError(gn.dw, gf.dw)).toBeLessThan(1e-12);
    expect(relError(gn.db, gf.db)).toBeLessThan(1e-12);
  });

  test('grouped conv equals one naive conv per channel group, concatenated', () => {
    const rng = new RandomState(5);
    const [N, g, Cg, Fg, H, W] = [2, 3, 2, 2, 6, 5];
    const x = rng.randn(N, g * Cg, H, W);
    const w = rng.randn(g * Fg, Cg, 3, 3);
    const b = rng.randn(g * Fg);
    const cp = { stride: 2, pad: 1 };
    const { out } = conv2dForward(x, w, b, { ...cp, groups: g });
    // Per group: x[:, g·Cg:(g+1)·Cg] with filters g·Fg:(g+1)·Fg; stack the outputs on the channel axis.
    const parts: Tensor[] = [];
    for (let k = 0; k < g; k++) {
      const xg = copy(x.hi(N, (k + 1) * Cg, H, W).lo(0, k * Cg, 0, 0) as Tensor);
      const wg = copy(w.hi((k + 1) * Fg, Cg, 3, 3).lo(k * Fg, 0, 0, 0) as Tensor);
      const bg = copy(b.hi((k + 1) * Fg).lo(k * Fg) as Tensor);
      parts.push(copy(transpose(convForwardNaive(xg, wg, bg, cp).out, [1, 0, 2, 3])));
    }
    const expected = copy(transpose(concatRows(parts), [1, 0, 2, 3]));
    expect(relError(out, expected)).toBeLessThan(1e-12);
  });
});

describe('im2col / col2im', () => {
  test('columns hold the padded receptive fields in the documented order', () => {
    const x = fromData(Float64Array.from({ length: 2 * 2 * 3 * 3 }, (_, i) => i + 1), [2, 2, 3, 3]);
    const cols = im2col(x, 2, 2, { stride: 2, pad: 1 });
    // H' = W' = 2, so 2·2·2 = 8 rows (c, ki, kj) and 2·2·2 = 8 columns (n, oh, ow).
    expect(cols.shape).toEqual([8, 8]);
    const xpad = (n: number, c: number, i: number, j: number): number => (i < 1 || j < 1 || i > 3 || j > 3 ? 0 : x.get(n, c, i - 1, j - 1));
    for (let c = 0; c < 2; c++) for (let ki = 0; ki < 2; ki++) for (let kj = 0; kj < 2; kj++) {
      for (let n = 0; n < 2; n++) for (let oh = 0; oh < 2; oh++) for (let ow = 0; ow < 2; ow++) {
        expect(cols.get((c * 2 + ki) * 2 + kj, (n * 2 + oh) * 2 + ow)).toBe(xpad(n, c, oh * 2 + ki, ow * 2 + kj));
      }
    }
  });

  test('col2im is the adjoint of im2col: Σ im2col(x)·y = Σ x·col2im(y)', () => {
    const cases = fc
      .record({ N: fc.integer({ min: 1, max: 3 }), C: fc.integer({ min: 1, max: 3 }), H: fc.integer({ min: 1, max: 8 }), W: fc.integer({ min: 1, max: 8 }), fh: fc.integer({ min: 1, max: 4 }), fw: fc.integer({ min: 1, max: 4 }), stride: fc.integer({ min: 1, max: 3 }), pad: fc.integer({ min: 0, max: 2 }), s: fc.nat() })
      .filter((c) => c.H + 2 * c.pad >= c.fh && c.W + 2 * c.pad >= c.fw);
    fc.assert(fc.property(cases, ({ N, C, H, W, fh, fw, stride, pad, s }) => {
      const rng = new RandomState(s);
      const x = rng.randn(N, C, H, W);
      const cols = im2col(x, fh, fw, { stride, pad });
      const y = rng.randn(...cols.shape);
      const back = col2im(y, x.shape, fh, fw, { stride, pad });
      let lhs = 0;
      let rhs = 0;
      for (let i = 0; i < cols.data.length; i++) lhs += cols.data[i] * y.data[i];
      for (let i = 0; i < x.data.length; i++) rhs += x.data[i] * back.data[i];
      expect(Math.abs(lhs - rhs)).toBeLessThan(1e-9 * (1 + Math.abs(lhs)));
    }), { numRuns: 40 });
  });

  test('a channel range unfolds only those channels', () => {
    const x = new RandomState(1).randn(2, 4, 5, 5);
    const all = im2col(x, 3, 3, { pad: 1 });
    const part = im2col(x, 3, 3, { pad: 1, channelStart: 1, channelCount: 2 });
    expect(part.shape).toEqual([18, all.shape[1]]);
    expect(Array.from(part.data)).toEqual(Array.from(all.data.subarray(9 * all.shape[1], 27 * all.shape[1])));
  });
});

describe('fast max pool equals naive max pool', () => {
  test('notebook case: x 100×3×32×32, 2×2 stride 2 — exactly equal', () => {
    const rng = new RandomState(231);
    const x = rng.randn(100, 3, 32, 32);
    const dout = rng.randn(100, 3, 16, 16);
    const pp = { poolHeight: 2, poolWidth: 2, stride: 2 };
    const naive = maxPoolForwardNaive(x, pp);
    const fast = maxPoolForwardFast(x, pp);
    expect(fast.cache.method).toBe('reshape');
    same(naive.out, fast.out);
    same(maxPoolBackwardNaive(dout, naive.cache).dx, maxPoolBackwardFast(dout, fast.cache).dx);
  });

  test('random pools incl. overlapping windows (im2col path) — exactly equal, also with ties', () => {
    const cases = fc
      .record({ N: fc.integer({ min: 1, max: 3 }), C: fc.integer({ min: 1, max: 3 }), H: fc.integer({ min: 1, max: 9 }), W: fc.integer({ min: 1, max: 9 }), ph: fc.integer({ min: 1, max: 4 }), pw: fc.integer({ min: 1, max: 4 }), stride: fc.integer({ min: 1, max: 3 }), ties: fc.boolean(), s: fc.nat() })
      .filter((c) => c.H >= c.ph && c.W >= c.pw && (c.H - c.ph) % c.stride === 0 && (c.W - c.pw) % c.stride === 0);
    fc.assert(fc.property(cases, ({ N, C, H, W, ph, pw, stride, ties, s }) => {
      const rng = new RandomState(s);
      // Small integers make ties common; the im2col path then picks the same first maximum.
      const x = ties ? rng.randint(0, 3, [N, C, H, W], 'float64') : rng.randn(N, C, H, W);
      const pp = { poolHeight: ph, poolWidth: pw, stride };
      const naive = maxPoolForwardNaive(x, pp);
      const fast = maxPoolForwardFast(x, pp);
      same(naive.out, fast.out);
      const dout = rng.randn(...naive.out.shape);
      const tiles = ph === pw && pw === stride && H % ph === 0 && W % pw === 0;
      if (!ties || !tiles) same(maxPoolBackwardNaive(dout, naive.cache).dx, maxPoolBackwardFast(dout, fast.cache).dx);
    }), { numRuns: 60 });
  });

  test('overlapping windows accumulate: one shared maximum collects every window\'s gradient', () => {
    const x = t64([1, 2, 3, 4, 9, 5, 6, 7, 8], [1, 1, 3, 3]);
    const pp = { poolHeight: 2, poolWidth: 2, stride: 1 };
    const dout = t64([1, 10, 100, 1000], [1, 1, 2, 2]);
    for (const [fwd, bwd] of [[maxPoolForwardNaive, maxPoolBackwardNaive], [maxPoolForwardFast, maxPoolBackwardFast]] as const) {
      const { out, cache } = fwd(x, pp);
      expect(Array.from(out.data)).toEqual([9, 9, 9, 9]);
      const { dx } = bwd(dout, cache as never);
      expect(Array.from(dx.data)).toEqual([0, 0, 0, 0, 1111, 0, 0, 0, 0]);
    }
  });

  test('ties: naive and im2col give everything to the first maximum, the reshape path splits evenly', () => {
    const x = fromData(new Float64Array(16).fill(1), [1, 1, 4, 4]);
    const dout = t64([4, 8, 12, 16], [1, 1, 2, 2]);
    const pp = { poolHeight: 2, poolWidth: 2, stride: 2 };
    const naive = maxPoolBackwardNaive(dout, maxPoolForwardNaive(x, pp).cache).dx;
    expect(Array.from(naive.data)).toEqual([4, 0, 8, 0, 0, 0, 0, 0, 12, 0, 16, 0, 0, 0, 0, 0]);
    const fast = maxPoolForwardFast(x, pp);
    expect(fast.cache.method).toBe('reshape');
    expect(Array.from(maxPoolBackwardFast(dout, fast.cache).dx.data)).toEqual([1, 1, 2, 2, 1, 1, 2, 2, 3, 3, 4, 4, 3, 3, 4, 4]);
    // Overlapping windows go through im2col: one winner, accumulated.
    const ov = maxPoolForwardFast(fromData(new Float64Array(9).fill(1), [1, 1, 3, 3]), { poolHeight: 2, poolWidth: 2, stride: 1 });
    expect(ov.cache.method).toBe('im2col');
    expect(Array.from(maxPoolBackwardFast(t64([1, 2, 3, 4], [1, 1, 2, 2]), ov.cache).dx.data)).toEqual([1, 2, 0, 3, 4, 0, 0, 0, 0]);
  });
});

describe('Float32 in, Float32 out', () => {
  test('each forward keeps float32 and agrees with float64 to float32 precision', () => {
    const rng = new RandomState(3);
    const x4 = rng.randn(2, 4, 6, 6);
    const w4 = rng.randn(3, 4, 3, 3);
    const b = rng.randn(3);
    const x2 = rng.randn(5, 6);
    const w2 = rng.randn(6, 4);
    const b2 = rng.randn(4);
    const g6 = rng.randn(6);
    const b6 = rng.randn(6);
    const g4 = rng.randn(4);
    const be4 = rng.randn(4);
    const f = (t: Tensor) => astype(t, 'float32');
    const pairs: Array<[string, (cast: (t: Tensor) => Tensor) => Tensor]> = [
      ['affine', (c) => affineForward(c(x2), c(w2), c(b2)).out],
      ['relu', (c) => reluForward(c(x2)).out],
      ['batchnorm', (c) => batchnormForward(c(x2), c(g6), c(b6), { mode: 'train' }).out],
      ['layernorm', (c) => layernormForward(c(x2), c(g6), c(b6)).out],
      ['dropout', (c) => dropoutForward(c(x2), { mode: 'train', p: 0.5, seed: 1 }).out],
      ['convNaive', (c) => convForwardNaive(c(x4), c(w4), c(b), { stride: 1, pad: 1 }).out],
      ['convFast', (c) => convForwardFast(c(x4), c(w4), c(b), { stride: 1, pad: 1 }).out],
      ['poolNaive', (c) => maxPoolForwardNaive(c(x4), { poolHeight: 2, poolWidth: 2, stride: 2 }).out],
      ['poolFast', (c) => maxPoolForwardFast(c(x4), { poolHeight: 3, poolWidth: 3, stride: 1 }).out],
      ['spatialBatchnorm', (c) => spatialBatchnormForward(c(x4), c(g4), c(be4), { mode: 'train' }).out],
      ['spatialGroupnorm', (c) => spatialGroupnormForward(c(x4), c(g4), c(be4), 2, {}).out],
      ['softmaxLoss dx', (c) => softmaxLoss(c(x2), fromData(Int32Array.from([0, 1, 2, 3, 4]), [5])).dx],
      ['svmLoss dx', (c) => svmLoss(c(x2), fromData(Int32Array.from([0, 1, 2, 3, 4]), [5])).dx],
    ];
    for (const [name, run] of pairs) {
      const lo = run(f);
      const hi = run((t) => t);
      expect([name, lo.data instanceof Float32Array]).toEqual([name, true]);
      let scale = 0;
      for (const v of hi.data) scale = Math.max(scale, Math.abs(v));
      let diff = 0;
      for (let i = 0; i < hi.data.length; i++) diff = Math.max(diff, Math.abs(lo.data[i] - hi.data[i]));
      expect([name, diff <= 1e-5 * Math.max(1, scale)]).toEqual([name, true]);
    }
  });

  test('backward gradients come back float32 for float32 inputs', () => {
    const rng = new RandomState(4);
    const x = astype(rng.randn(2, 3, 5, 5), 'float32');
    const w = astype(rng.randn(2, 3, 3, 3), 'float32');
    const b = astype(rng.randn(2), 'float32');
    const { out, cache } = convForwardFast(x, w, b, { stride: 1, pad: 1 });
    const g = convBackwardFast(astype(rng.randn(...out.shape), 'float32'), cache);
    expect([g.dx, g.dw, g.db].every((t) => t.data instanceof Float32Array)).toBe(true);
  });
});

describe('bad inputs give clear errors naming the argument', () => {
  const rng = new RandomState(0);
  const x = rng.randn(1, 3, 5, 5);
  const w = rng.randn(2, 3, 2, 2);
  const b = rng.randn(2);

  test('fast conv with windows that do not tile the padded input', () => {
    expect(() => convForwardFast(x, w, b, { stride: 2, pad: 0 })).toThrow(/convParam\.stride.*not divisible by stride 2/);
    // The same shapes are fine for the naive conv and the general im2col conv (floor semantics).
    const naive = convForwardNaive(x, w, b, { stride: 2, pad: 0 });
    expect(naive.out.shape).toEqual([1, 2, 2, 2]);
    expect(relError(conv2dForward(x, w, b, { stride: 2, pad: 0 }).out, naive.out)).toBeLessThan(1e-12);
  });

  test('mismatched channel counts', () => {
    const w2 = rng.randn(2, 4, 2, 2);
    expect(() => convForwardNaive(x, w2, b, { stride: 1, pad: 0 })).toThrow(/^w: expected 3 input channels/);
    expect(() => convForwardFast(x, w2, b, { stride: 1, pad: 0 })).toThrow(/^w: expected 3 input channels/);
    expect(() => convForwardFast(x, w, rng.randn(3), { stride: 1, pad: 0 })).toThrow(/^b: expected shape \(2,\)/);
    expect(() => conv2dForward(x, w, b, { stride: 1, pad: 0, groups: 2 })).toThrow(/groups/);
    expect(() => spatialBatchnormForward(x, rng.randn(4), rng.randn(3), { mode: 'train' })).toThrow(/^gamma: expected shape \(3,\) or \(1, 3, 1, 1\)/);
    expect(() => spatialGroupnormForward(x, rng.randn(3), rng.randn(3), 2, {})).toThrow(/^G: expected a positive integer dividing the 3 channels/);
    expect(() => affineForward(rng.randn(2, 3), rng.randn(4, 2), rng.randn(2))).toThrow(/^w: expected shape \(3, M\)/);
  });

  test('bad stride / pad / pool parameters', () => {
    expect(() => convForwardNaive(x, w, b, { stride: 0, pad: 0 })).toThrow(/convParam\.stride: expected a positive integer/);
    expect(() => convForwardNaive(x, w, b, { stride: 1, pad: -1 })).toThrow(/convParam\.pad/);
    expect(() => maxPoolForwardNaive(x, { poolHeight: 2, poolWidth: 0, stride: 1 })).toThrow(/poolParam\.poolWidth/);
    expect(() => maxPoolForwardNaive(x, { poolHeight: 6, poolWidth: 2, stride: 1 })).toThrow(/window of 6 does not fit/);
    // 5×5 with 2×2 / stride 2: not a tiling, and (5 − 2) % 2 ≠ 0 for the im2col path.
    expect(() => maxPoolForwardFast(x, { poolHeight: 2, poolWidth: 2, stride: 2 })).toThrow(/poolParam\.stride.*not divisible by stride 2/);
  });

  test('unknown batch-norm mode', () => {
    expect(() => batchnormForward(rng.randn(4, 3), rng.randn(3), rng.randn(3), { mode: 'eval' } as unknown as BatchnormParam)).toThrow(
      /^bnParam\.mode: expected 'train' or 'test', got "eval"/,
    );
    expect(() => spatialBatchnormForward(x, rng.randn(3), rng.randn(3), {} as BatchnormParam)).toThrow(/bnParam\.mode/);
  });

  test('dropout keep probability outside (0, 1]', () => {
    for (const p of [0, -0.1, 1.5, Number.NaN]) {
      expect(() => dropoutForward(x, { mode: 'train', p })).toThrow(/^dropoutParam\.p: expected a keep probability in \(0, 1\]/);
    }
    // p = 1 keeps everything.
    same(dropoutForward(x, { mode: 'train', p: 1 }).out, x);
    expect(() => dropoutForward(x, { mode: 'infer', p: 0.5 } as never)).toThrow(/dropoutParam\.mode/);
  });

  test('labels out of range for the losses', () => {
    const scores = rng.randn(2, 3);
    expect(() => softmaxLoss(scores, fromData(Int32Array.from([0, 3]), [2]))).toThrow(/^y\[1\]: expected an integer in \[0, 3\)/);
    expect(() => svmLoss(scores, fromData(Int32Array.from([0]), [1]))).toThrow(/^y: expected shape \(2,\)/);
  });
});
