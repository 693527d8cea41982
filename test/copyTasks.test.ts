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
import { catChannels, catShuffle, channelShuffle, narrowChannels } from '../src/ops/channels';
import { copyCalls } from '../src/ops/kernels/copyTasks';
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
