/*
 * The Winograd filter transform as threaded tasks (ops/kernels/winogradFilters.ts): U = G g Gᵀ
 * of every filter, packed as the products read it, equal to the textbook formula in float64
 * (random banks, flipped or not, ragged 4-filter panels), and the same bits on 1, 2 and 4
 * threads for a bank large enough to thread, in the wasm arena and in the JS one.
 */
import fc from 'fast-check';
import { allocFloat } from '../src/core/dtype';
import { getArena, type Arena } from '../src/core/gemm/arena';
import { RandomState } from '../src/core/random';
import { winogradFilterCalls, writeWinogradFilters } from '../src/ops/kernels/winogradFilters';
import { withThreads } from './threads';

const G = [[1 / 4, 0, 0], [-1 / 6, -1 / 6, -1 / 6], [-1 / 6, 1 / 6, -1 / 6], [1 / 24, 1 / 12, 1 / 6], [1 / 24, -1 / 12, 1 / 6], [0, 0, 1]];

/** U_ξ[o, i] of the formula, ξ = 6a + b; filter (o, i) is w[o, i] or, flipped, w[i, o] turned by 180°. */
function reference(w: Float64Array, Cout: number, Cin: number, flip: boolean, o: number, i: number, xi: number): number {
  const g = (r: number, c: number): number => (flip ? w[(i * Cout + o) * 9 + (2 - r) * 3 + (2 - c)] : w[(o * Cin + i) * 9 + r * 3 + c]);
  const a = Math.floor(xi / 6), b = xi % 6;
  let s = 0;
  for (let r = 0; r < 3; r++) for (let c = 0; c < 3; c++) s += G[a][r] * g(r, c) * G[b][c];
  return s;
}

/** The packed element of U_ξ[o, i] (rows of 4-filter panels; see WinogradJob.uOff). */
const at = (Cout: number, Cin: number, o: number, i: number, xi: number): number => xi * ((Cout + 3) & ~3) * Cin + (o >> 2) * 4 * Cin + 4 * i + (o & 3);

function transform(kind: 'wasm' | 'js', f32: boolean, w: Float32Array | Float64Array, Cout: number, Cin: number, flip: boolean, threads: number): Float32Array | Float64Array {
  const n = 36 * ((Cout + 3) & ~3) * Cin;
  const arena = getArena(kind, f32 ? Math.ceil(n / 2) + 8 : n + 8) as Arena;
  const A = f32 ? arena.F32 : arena.F;
  A.fill(NaN, 0, n); // every element must be written, the padding rows' zeros too
  writeWinogradFilters(arena, f32, 0, w, Cout, Cin, flip, threads);
  return A.slice(0, n);
}

describe('Winograd filter transform tasks', () => {
  it('equal G g Gᵀ in float64 on random banks (flipped or not), zero rows past the filters', () => {
    fc.assert(
      fc.property(fc.integer({ min: 1, max: 11 }), fc.integer({ min: 1, max: 7 }), fc.boolean(), fc.integer({ min: 0, max: 1000 }), (Cout, Cin, flip, seed) => {
        const w = Float64Array.from(new RandomState(seed).randn(Cout * Cin * 9).data);
        const U = transform('js', false, w, Cout, Cin, flip, 1);
        for (let xi = 0; xi < 36; xi++) {
          for (let i = 0; i < Cin; i++) {
            for (let o = 0; o < ((Cout + 3) & ~3); o++) {
              const v = U[at(Cout, Cin, o, i, xi)];
              if (o >= Cout) expect(v).toBe(0);
              else expect(Math.abs(v - reference(w, Cout, Cin, flip, o, i, xi))).toBeLessThan(1e-14 * 16);
            }
          }
        }
      }),
      { numRuns: 40, seed: 3 },
    );
  });

  it.each([['wasm', true], ['wasm', false], ['js', true]] as const)('%s arena, float32 %s: the same bits on 1, 2 and 4 threads (a 194 × 150 bank)', (kind, f32) => {
    const [Cout, Cin] = [194, 150];
    const w = allocFloat(f32 ? 'float32' : 'float64', Cout * Cin * 9);
    w.set(new RandomState(9).randn(Cout * Cin * 9).data);
    for (const flip of [false, true]) {
      const one = withThreads('1', () => transform(kind, f32, w, Cout, Cin, flip, 1));
      for (const t of [2, 4]) {
        const before = winogradFilterCalls().threaded;
        const many = withThreads(String(t), () => transform(kind, f32, w, Cout, Cin, flip, t));
        expect(winogradFilterCalls().threaded).toBe(before + 1);
        expect(many.some(Number.isNaN)).toBe(false);
        expect(Buffer.compare(Buffer.from(many.buffer, many.byteOffset, many.byteLength), Buffer.from(one.buffer, one.byteOffset, one.byteLength))).toBe(0);
      }
      // Spot checks against the formula (float32: its rounding).
      for (const [o, i, xi] of [[0, 0, 0], [193, 149, 35], [64, 17, 20], [150, 90, 7]]) {
        const want = reference(Float64Array.from(w), Cout, Cin, flip, o, i, xi);
        expect(Math.abs(one[at(Cout, Cin, o, i, xi)] - want)).toBeLessThanOrEqual((f32 ? 1e-6 : 1e-14) * (1 + Math.abs(want)));
      }
    }
  });
});
