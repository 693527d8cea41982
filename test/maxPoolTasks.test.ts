/*
 * The 2×2 stride-2 max pool as tasks of planes (ops/kernels/maxPoolTasks.ts): the float32
 * WebAssembly pool (core/gemm/wasmPool.ts) against the JS loop, and both against a plain
 * reference of PyTorch's rule (row-major windows, `v > max || v ≠ v`): the same maxima and
 * argmax on random shapes with odd sizes and ragged rows, with NaN, ±Inf, −0 and ties; the
 * same bits on 1, 2 and 4 threads for a pool large enough to thread.
 */
import fc from 'fast-check';
import ndarray from 'ndarray';
import { allocFloat } from '../src/core/dtype';
import { wasmAvailable } from '../src/core/gemm/arena';
import { RandomState } from '../src/core/random';
import { maxPoolCalls } from '../src/ops/kernels/maxPoolTasks';
import { maxPool2d } from '../src/ops/maxPool2d';
import { bitDiffs, withJsKernel, withThreads } from './threads';

/** PyTorch's rule written plainly: maxima and flat argmax of every 2×2 window. */
function reference(x: Float32Array, N: number, C: number, H: number, W: number): { out: Float32Array; at: Int32Array } {
  const oh = H >> 1, ow = W >> 1;
  const out = new Float32Array(N * C * oh * ow);
  const at = new Int32Array(out.length);
  let q = 0;
  for (let p = 0; p < N * C; p++) {
    for (let i = 0; i < oh; i++) {
      for (let j = 0; j < ow; j++, q++) {
        let best = -Infinity;
        let idx = -1;
        for (const [di, dj] of [[0, 0], [0, 1], [1, 0], [1, 1]]) {
          const k = p * H * W + (2 * i + di) * W + 2 * j + dj;
          if (idx < 0 || x[k] > best || Number.isNaN(x[k])) {
            best = x[k];
            idx = k;
          }
        }
        out[q] = best;
        at[q] = idx;
      }
    }
  }
  return { out, at };
}

function pool(x: Float32Array, shape: number[]): { out: Float32Array; at: Int32Array } {
  const f = maxPool2d.forward([ndarray(x, shape)], { kernelSize: 2, stride: 2 });
  return { out: (f.out.data as Float32Array).slice(), at: f.cache.argmax.slice() };
}

/** Random values rounded to a few levels (so windows tie), with special values sprinkled in. */
function input(rng: RandomState, n: number, specials: boolean, big = false): Float32Array {
  const x = big ? (allocFloat('float32', n) as Float32Array) : new Float32Array(n);
  const r = rng.randn(n).data;
  for (let i = 0; i < n; i++) x[i] = Math.round(r[i] * 2) / 2;
  if (specials) {
    const sp = [NaN, Infinity, -Infinity, -0, 0, NaN];
    for (let i = 0; i < Math.max(1, n >> 4); i++) x[rng.randint(0, n)] = sp[rng.randint(0, sp.length)];
  }
  return x;
}

describe('2×2 max pool tasks', () => {
  it('this runtime has the wasm pool (else the comparison below is JS against itself)', () => {
    expect(wasmAvailable()).toBe(true);
  });

  it('wasm and JS both give the reference maxima and argmax (random shapes, ties, NaN, ±Inf, −0)', () => {
    const before = maxPoolCalls();
    fc.assert(
      fc.property(
        fc.record({
          N: fc.integer({ min: 1, max: 3 }), C: fc.integer({ min: 1, max: 6 }), H: fc.integer({ min: 2, max: 21 }), W: fc.integer({ min: 2, max: 37 }),
          specials: fc.boolean(), seed: fc.nat(),
        }),
        (s) => {
          const x = input(new RandomState(s.seed), s.N * s.C * s.H * s.W, s.specials);
          const shape = [s.N, s.C, s.H, s.W];
          const ref = reference(x, s.N, s.C, s.H, s.W);
          const wasm = pool(x, shape);
          const js = withJsKernel(() => pool(x, shape));
          expect(bitDiffs([wasm.out], [ref.out])).toBe(0);
          expect(bitDiffs([js.out], [ref.out])).toBe(0);
          expect(Array.from(wasm.at)).toEqual(Array.from(ref.at));
          expect(Array.from(js.at)).toEqual(Array.from(ref.at));
        },
      ),
      { numRuns: 60 },
    );
    const after = maxPoolCalls();
    expect(after.wasm - before.wasm).toBe(60);
    expect(after.js - before.js).toBe(60);
  });

  it('a threaded pool gives the same bits on 1, 2 and 4 threads, wasm and JS', () => {
    const [N, C, H, W] = [16, 64, 34, 30]; // over THREAD_MIN_WORK elements, so 2 and 4 threads share it
    const x = input(new RandomState(7), N * C * H * W, true, true);
    const ref = reference(x, N, C, H, W);
    for (const js of [false, true]) {
      for (const t of ['1', '2', '4']) {
        const r = withThreads(t, () => (js ? withJsKernel(() => pool(x, [N, C, H, W])) : pool(x, [N, C, H, W])));
        expect(bitDiffs([r.out], [ref.out])).toBe(0);
        expect(Array.from(r.at)).toEqual(Array.from(ref.at));
      }
    }
  });

  it('backward routes each gradient to its maximum, and the argmax store goes back to the pool', () => {
    const x = input(new RandomState(3), 2 * 3 * 6 * 8, false);
    const f = maxPool2d.forward([ndarray(x, [2, 3, 6, 8])], { kernelSize: 2, stride: 2 });
    const dout = ndarray(Float32Array.from({ length: 2 * 3 * 3 * 4 }, (_, i) => i + 1), [2, 3, 3, 4]);
    const [dx] = maxPool2d.backward(dout, f.cache);
    const ref = reference(x, 2, 3, 6, 8);
    const want = new Float32Array(x.length);
    ref.at.forEach((k, q) => (want[k] += q + 1));
    expect(bitDiffs([dx!.data as Float32Array], [want])).toBe(0);
    expect(f.cache.argmax.buffer).toBe(f.cache.store.buffer);
  });
});
