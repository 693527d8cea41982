/*
 * The channel ops' block copies as threaded tasks (ops/kernels/copyTasks.ts), through the ops
 * (channel_shuffle, cat, narrow, cat_shuffle; forward and backward): each against index arithmetic written
 * here on random shapes (fast-check), and on tensors large enough to thread (shared stores)
 * the same result on 1, 2 and 4 threads, with the pool really used.
 */
import fc from 'fast-check';
import ndarray from 'ndarray';
import { allocFloat } from '../src/core/dtype';
import type { Tensor } from '../src/core/tensor';
import { catChannels, catShuffle, channelShuffle, narrowChannels, shuffleSplit, shuffleSplitBackward } from '../src/ops/channels';
import { copyCalls } from '../src/ops/kernels/copyTasks';
import { evalNumericalGradient, relError } from '../src/gradientCheck';
import { withThreads } from './threads';

/** A store of n distinct values (shared when `big`). */
function iota(n: number, big: boolean, from = 0): Float32Array {
  const a = (big ? allocFloat('float32', n) : new Float32Array(n)) as Float32Array;
  for (let i = 0; i < n; i++) a[i] = from + i;
  return a;
}

/** Every result of the three ops on (N, C, inner) with shuffle groups g and a narrow [s, s + l). */
function runAll(N: number, C: number, inner: number, g: number, s: number, l: number, big: boolean): Float32Array[] {
  const x = ndarray(iota(N * C * inner, big), [N, C, inner]);
  const y = ndarray(iota(N * 3 * inner, big, 1e6), [N, 3, inner]);
  const sh = channelShuffle.forward([x], { groups: g });
  const [dsh] = channelShuffle.backward(sh.out, sh.cache) as Tensor[];
  const cat = catChannels.forward([x, y], {});
  const dcat = catChannels.backward(cat.out, cat.cache) as Tensor[];
  const nar = narrowChannels.forward([x], { start: s, length: l });
  const [dnar] = narrowChannels.backward(nar.out, nar.cache) as Tensor[];
  // cat_shuffle: one pass for two inputs of C channels and groups 2; the two ops for [x, y] and groups 1.
  const z = ndarray(iota(N * C * inner, big, 2e6), [N, C, inner]);
  const cs = catShuffle.forward([x, z], { groups: 2 });
  const dcs = catShuffle.backward(cs.out, cs.cache) as Tensor[];
  const cs1 = catShuffle.forward([x, y], { groups: 1 });
  const dcs1 = catShuffle.backward(cs1.out, cs1.cache) as Tensor[];
  return [sh.out, dsh, cat.out, ...dcat, nar.out, dnar, cs.out, ...dcs, cs1.out, ...dcs1].map((t) => (t.data as Float32Array).slice());
}

/** The same results by index arithmetic. */
function reference(N: number, C: number, inner: number, g: number, s: number, l: number): Float32Array[] {
  const x = iota(N * C * inner, false);
  const y = iota(N * 3 * inner, false, 1e6);
  const n = C / g;
  const sh = new Float32Array(x.length);
  const cat = new Float32Array(N * (C + 3) * inner);
  const nar = new Float32Array(N * l * inner);
  const dnar = new Float32Array(x.length);
  for (let b = 0; b < N; b++) {
    for (let c = 0; c < C; c++) {
      for (let k = 0; k < inner; k++) {
        const v = x[(b * C + c) * inner + k];
        const i = Math.floor(c / n), j = c % n;
        sh[(b * C + j * g + i) * inner + k] = v;
        cat[(b * (C + 3) + c) * inner + k] = v;
        if (c >= s && c < s + l) {
          nar[(b * l + c - s) * inner + k] = v;
          dnar[(b * C + c) * inner + k] = v;
        }
      }
    }
    for (let c = 0; c < 3; c++) for (let k = 0; k < inner; k++) cat[(b * (C + 3) + C + c) * inner + k] = y[(b * 3 + c) * inner + k];
  }
  const z = iota(N * C * inner, false, 2e6);
  const cs = new Float32Array(2 * x.length);
  for (let b = 0; b < N; b++) {
    for (let j = 0; j < C; j++) {
      for (let k = 0; k < inner; k++) {
        cs[(b * 2 * C + 2 * j) * inner + k] = x[(b * C + j) * inner + k];
        cs[(b * 2 * C + 2 * j + 1) * inner + k] = z[(b * C + j) * inner + k];
      }
    }
  }
  // Shuffle's backward undoes it; cat's splits back into x and y; narrow's pads with zeros;
  // cat_shuffle's gives x and z back, and with groups 1 it is cat.
  return [sh, x, cat, x, y, nar, dnar, cs, x, z, cat, x, y];
}

describe('channel copies as tasks', () => {
  it('equal index arithmetic on random shapes', () => {
    fc.assert(
      fc.property(fc.integer({ min: 1, max: 3 }), fc.integer({ min: 1, max: 4 }), fc.integer({ min: 1, max: 4 }), fc.integer({ min: 1, max: 40 }), fc.nat(), fc.nat(), (N, g, n, inner, s0, l0) => {
        const C = g * n;
        const s = s0 % C;
        const l = 1 + (l0 % (C - s));
        const got = runAll(N, C, inner, g, s, l, false);
        const want = reference(N, C, inner, g, s, l);
        expect(got.length).toBe(want.length);
        got.forEach((a, k) => expect(Array.from(a)).toEqual(Array.from(want[k])));
      }),
      { numRuns: 80, seed: 5 },
    );
  });

  it.each([[116, 8 * 8], [464, 4 * 4]])('the same results on 1, 2 and 4 threads for 64 samples of %i channels of %i (pool used)', (C, inner) => {
    const args = [64, C, inner, 2, C / 2, C / 2] as const;
    const want = reference(...args);
    for (const t of ['1', '2', '4']) {
      const before = copyCalls().threaded;
      const got = withThreads(t, () => runAll(...args, true));
      if (t !== '1') expect(copyCalls().threaded).toBeGreaterThan(before);
      got.forEach((a, k) => expect(Buffer.compare(Buffer.from(a.buffer), Buffer.from(want[k].buffer))).toBe(0));
    }
  });
});

describe('shuffleSplit (ShuffleNet V2\'s join and the next split in one pass)', () => {
  /** p, q = the halves of catShuffle([a, b]) and the composite's backward, by the ops themselves. */
  function composite(a: Tensor, b: Tensor, dp: Tensor, dq: Tensor): Float32Array[] {
    const c = a.shape[1];
    const joined = catShuffle.forward([a, b], { groups: 2 });
    const p = narrowChannels.forward([joined.out], { start: 0, length: c }).out;
    const q = narrowChannels.forward([joined.out], { start: c, length: c }).out;
    const [da, db] = catShuffle.backward(catChannels.forward([dp, dq], {}).out, joined.cache) as Tensor[];
    return [p, q, da, db].map((t) => t.data as Float32Array);
  }

  it('equals catShuffle then the split, forward and backward, on random shapes (odd halves too)', () => {
    fc.assert(
      fc.property(fc.integer({ min: 1, max: 3 }), fc.integer({ min: 1, max: 9 }), fc.integer({ min: 1, max: 40 }), (N, c, inner) => {
        const t = (from: number) => ndarray(iota(N * c * inner, false, from), [N, c, inner]);
        const [a, b, dp, dq] = [t(0), t(1e6), t(2e6), t(3e6)];
        const [p, q] = shuffleSplit(a, b);
        const [da, db] = shuffleSplitBackward(dp, dq);
        const want = composite(a, b, dp, dq);
        [p, q, da, db].forEach((x, k) => expect(Array.from(x.data)).toEqual(Array.from(want[k])));
      }),
      { numRuns: 80, seed: 7 },
    );
  });

  it('backward is the adjoint of forward in float64: <F(a, b), (dp, dq)> = <(a, b), Fᵀ(dp, dq)>', () => {
    const N = 2, c = 7, inner = 5;
    const rnd = (seed: number) => ndarray(Float64Array.from({ length: N * c * inner }, (_, i) => Math.sin(seed * 1000 + i * 1.7)), [N, c, inner]);
    const [a, b, dp, dq] = [rnd(1), rnd(2), rnd(3), rnd(4)];
    const [p, q] = shuffleSplit(a, b);
    const [da, db] = shuffleSplitBackward(dp, dq);
    expect(p.data).toBeInstanceOf(Float64Array);
    const dot = (x: Tensor, y: Tensor) => (x.data as Float64Array).reduce((s, v, i) => s + v * (y.data as Float64Array)[i], 0);
    expect(Math.abs(dot(p, dp) + dot(q, dq) - (dot(a, da) + dot(b, db)))).toBeLessThan(1e-12);
  });

  it('passes a Float64 gradient check of both inputs (numerical gradients of <p, dp> + <q, dq>)', () => {
    const N = 2, c = 5, inner = 3;
    const rnd = (seed: number) => ndarray(Float64Array.from({ length: N * c * inner }, (_, i) => Math.cos(seed * 100 + i * 0.9)), [N, c, inner]);
    const [a, b, dp, dq] = [rnd(1), rnd(2), rnd(3), rnd(4)];
    const loss = (x: Tensor, y: Tensor): number => {
      const [p, q] = shuffleSplit(x, y);
      let s = 0;
      for (let i = 0; i < p.size; i++) s += p.data[i] * dp.data[i] + q.data[i] * dq.data[i];
      return s;
    };
    const [da, db] = shuffleSplitBackward(dp, dq);
    expect(relError(evalNumericalGradient((x) => loss(x, b), a), da)).toBeLessThan(1e-9);
    expect(relError(evalNumericalGradient((y) => loss(a, y), b), db)).toBeLessThan(1e-9);
  });

  it.each([[116, 8 * 8], [232, 4 * 4]])('the same bits on 1, 2 and 4 threads for 64 samples of 2 × %i channels of %i (pool used)', (c, inner) => {
    const t = (from: number) => ndarray(iota(64 * c * inner, true, from), [64, c, inner]);
    const [a, b, dp, dq] = [t(0), t(1e7), t(2e7), t(3e7)];
    const want = composite(a, b, dp, dq);
    for (const th of ['1', '2', '4']) {
      const before = copyCalls().threaded;
      const got = withThreads(th, () => [...shuffleSplit(a, b), ...shuffleSplitBackward(dp, dq)]);
      if (th !== '1') expect(copyCalls().threaded).toBeGreaterThan(before);
      got.forEach((x, k) => expect(Buffer.compare(Buffer.from((x.data as Float32Array).buffer), Buffer.from(want[k].buffer))).toBe(0));
    }
  });

  it('refuses inputs of different shapes or dtypes, naming them', () => {
    const a = ndarray(new Float32Array(12), [1, 3, 4]);
    expect(() => shuffleSplit(a, ndarray(new Float32Array(16), [1, 4, 4]))).toThrow(/b/);
    expect(() => shuffleSplit(a, ndarray(new Float64Array(12), [1, 3, 4]))).toThrow(/b: expected dtype float32/);
  });
});
