/*
 * The wasm strided row copies and adds (`rows`, `rows32` in core/gemm/wasm.ts), which every
 * convolution's unfold and fold go through, against the loop they stand for: on random
 * lengths (vector bodies and scalar tails), steps of one and two elements (the contiguous rows
 * take a 16-byte path), copies and adds, float64 and float32, with special values.
 */
import fc from 'fast-check';
import { getArena } from '../src/core/gemm/arena';

describe('wasm rows / rows32', () => {
  const arena = getArena('wasm', 1 << 14);

  it('this runtime has the wasm arena', () => {
    expect(arena).not.toBeNull();
  });

  for (const f32 of [false, true]) {
    it(`${f32 ? 'rows32' : 'rows'} equals dst[r·dStride + i·dStep] (+)= src[r·sStride + i·sStep]`, () => {
      const a = arena!;
      const rows = a.exports![f32 ? 'rows32' : 'rows'] as (...args: number[]) => void;
      const eb = f32 ? 4 : 8;
      fc.assert(
        fc.property(
          fc.record({
            len: fc.integer({ min: 0, max: 23 }), count: fc.integer({ min: 0, max: 5 }), dStep: fc.constantFrom(1, 1, 2), sStep: fc.constantFrom(1, 1, 2),
            pad: fc.integer({ min: 0, max: 5 }), add: fc.boolean(), seed: fc.integer({ min: 1, max: 1 << 30 }),
          }),
          (s) => {
            const V = f32 ? a.F32 : a.F;
            const n = 4096;
            let r = s.seed;
            const rand = (): number => ((r = (r * 1103515245 + 12345) & 0x7fffffff) / 0x7fffffff) * 4 - 2;
            for (let i = 0; i < 2 * n; i++) V[i] = rand();
            V[n + 3] = NaN;
            V[n + 5] = -0;
            const dStride = s.dStep * s.len + s.pad;
            const sStride = s.sStep * s.len + s.pad + 1;
            const want = (f32 ? Float32Array : Float64Array).from(V.subarray(0, n));
            const src = V.subarray(n, 2 * n);
            for (let k = 0; k < s.count; k++) {
              for (let i = 0; i < s.len; i++) {
                const d = k * dStride + i * s.dStep;
                const v = src[k * sStride + i * s.sStep];
                want[d] = s.add ? want[d] + v : v;
              }
            }
            rows(0, n * eb, s.len, s.count, s.dStep * eb, s.sStep * eb, dStride * eb, sStride * eb, s.add ? 1 : 0);
            const got = V.subarray(0, n);
            for (let i = 0; i < n; i++) if (!Object.is(got[i], want[i])) throw new Error(`element ${i}: ${got[i]} ≠ ${want[i]}`);
          },
        ),
        { numRuns: 200 },
      );
    });
  }
});

describe('wasm clampRows32', () => {
  const arena = getArena('wasm', 1 << 14);

  // min(max(x, lo), hi) as IEEE max / min: NaN stays NaN, max(−0, +0) is +0.
  const clamp = (x: number, lo: number, hi: number): number => {
    if (Number.isNaN(x)) return NaN;
    const m = x > lo || (x === lo && Object.is(lo, -0)) ? x : lo;
    const v = Object.is(m, -0) && Object.is(lo, 0) ? 0 : m;
    return v < hi || (v === hi && Object.is(hi, 0)) ? v : hi;
  };

  it('equals min(max(x, lo), hi) on every lane and tail, with ±0, NaN and ±Inf, for ReLU-like and other bounds', () => {
    const a = arena!;
    const run = a.exports!.clampRows32 as (...args: number[]) => void;
    const specials = [-0, 0, NaN, Infinity, -Infinity, 6, -1, 1e30, -1e-30, 5.9999995];
    fc.assert(
      fc.property(
        fc.record({
          len: fc.integer({ min: 0, max: 23 }), count: fc.integer({ min: 1, max: 4 }), pad: fc.integer({ min: 0, max: 5 }),
          bounds: fc.constantFrom<[number, number]>([0, Infinity], [0, 6], [-1, 2], [-0, 6], [0, 0], [-Infinity, 0.5]),
          inPlace: fc.boolean(), seed: fc.integer({ min: 1, max: 1 << 30 }),
        }),
        (s) => {
          const V = a.F32;
          const n = 2048;
          let r = s.seed;
          const rand = (): number => ((r = (r * 1103515245 + 12345) & 0x7fffffff) / 0x7fffffff) * 16 - 8;
          for (let i = 0; i < 2 * n; i++) V[i] = r % 5 === 0 ? specials[(r >> 3) % specials.length] : rand();
          const stride = s.len + s.pad;
          const src = V.slice(n, 2 * n);
          const dst = s.inPlace ? n : 0;
          run(4 * dst, 4 * n, s.len, s.count, 4 * stride, 4 * stride, s.bounds[0], s.bounds[1]);
          for (let k = 0; k < s.count; k++) {
            for (let i = 0; i < s.len; i++) {
              const want = Math.fround(clamp(src[k * stride + i], s.bounds[0], s.bounds[1]));
              const got = V[dst + k * stride + i];
              if (!Object.is(got, want)) return false;
            }
          }
          return true;
        },
      ),
      { numRuns: 300 },
    );
  });
});
