/*
 * The optional native float32 tiles (native/sgemm.c, src/core/gemm/native.ts). Where they are
 * built (CI installs a C compiler, so they are there), they must give every element the
 * wasm FMA tile's sequence — s = fma(a, b, s) over k from 0, then C = s or C += s — which the
 * tests check against an exact software FMA (and against the wasm tiles themselves where the
 * runtime has relaxed SIMD), on packed and strided operands, edge panels and both C modes; and
 * must refuse operands outside the memory instead of touching them. Where they are not built,
 * the status says why and float32 FMA comes from relaxed SIMD alone.
 */
import fc from 'fast-check';
import { getArena } from '../src/core/gemm/arena';
import { gemmFma } from '../src/core/gemm/gemm';
import { nativeStatus, nativeTiles } from '../src/core/gemm/native';
import { relaxedSimdAvailable } from '../src/core/gemm/wasm';

const f32 = new Float32Array(1);
const u32 = new Uint32Array(f32.buffer);
/** The float32 next to x (a float32) towards +Inf (up) or −Inf. */
function nextF32(x: number, up: boolean): number {
  f32[0] = x;
  if (x === 0) {
    u32[0] = 1;
    return up ? f32[0] : -f32[0];
  }
  u32[0] += (x > 0) === up ? 1 : -1;
  return f32[0];
}

/** fma(a, b, c) rounded once to float32 (a, b, c float32, no underflow), from exact float64 steps. */
function fmaf(a: number, b: number, c: number): number {
  const p = a * b; // exact: 24 + 24 bits
  const s = p + c;
  // TwoSum: s + t is exactly p + c.
  const v = s - p;
  const t = p - (s - v) + (c - v);
  const r = Math.fround(s);
  // s a float32, or exact: r is the rounding of p + c (|t| is below half a float64 ulp of s).
  if (t === 0 || r === s) return r;
  // s lies strictly between two float32; only an exact midpoint can round the wrong way.
  const other = nextF32(r, s > r);
  if (Math.abs(s - r) !== Math.abs(other - s)) return r;
  return (t > 0) === (other > r) ? other : r;
}

/** What a tile computes, element by element (see the file comment). */
function reference(a: (ip: number, i: number, p: number) => number, b: (jp: number, p: number, j: number) => number, kc: number, mp: number, np: number, c: (row: number, col: number) => number, acc: boolean): Float32Array {
  const out = new Float32Array(4 * mp * 4 * np);
  for (let r = 0; r < 4 * mp; r++) {
    for (let col = 0; col < 4 * np; col++) {
      let s = 0;
      for (let p = 0; p < kc; p++) s = fmaf(a(r >> 2, r & 3, p), b(col >> 2, p, col & 3), s);
      out[r * 4 * np + col] = acc ? Math.fround(c(r, col) + s) : s;
    }
  }
  return out;
}

const native = nativeTiles();

describe('native float32 tiles', () => {
  it('are either in use or say why not; float32 FMA follows', () => {
    expect(nativeStatus()).toMatch(native !== null ? /^on \((avx512f|avx2), / : /^(off|not built|built, but|could not be loaded)/);
    expect(gemmFma()).toBe(relaxedSimdAvailable() || native !== null);
    if (native !== null) expect(getArena('wasm', 1)?.f32fma?.block).toBe(native.block32);
  });

  if (native === null) return;
  const arena = getArena('wasm', 1 << 21);
  if (arena === null) throw new Error('no wasm arena');
  const F = arena.F32;
  const ex = arena.exports as Record<string, (...a: number[]) => void>;
  const rnd = (seed: number) => {
    let s = seed >>> 0;
    return (): number => {
      s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
      return Math.fround((s / 2 ** 32) * 4 - 2);
    };
  };

  const widths = (['avx512f', 'avx2'] as const).filter((w) => {
    try {
      return native.isa(w) === w;
    } catch {
      return false;
    } finally {
      native.isa();
    }
  });

  it.each(widths)('compute each element as the wasm FMA tile does (%s): packed, strided, row-major and column-major operands, edge panels, C = s and C += s', (width) => {
    expect(native.isa(width)).toBe(width);
    try {
      tiles();
    } finally {
      native.isa();
    }
  });

  const tiles = (): void => fc.assert(fc.property(
      fc.integer({ min: 1, max: 7 }), fc.integer({ min: 1, max: 9 }), fc.integer({ min: 1, max: 70 }), fc.boolean(), fc.constantFrom('packed', 'strided', 'row-major B', 'A by columns'), fc.integer({ min: 0, max: 2 }), fc.integer(),
      (mp, np, kc, acc, layout, pad, seed) => {
        const strided = layout !== 'packed';
        const r = rnd(seed);
        const ldc = 4 * np + 4 * pad; // floats
        // Layout (float offsets): A at 256, B after it, then C twice (native, wasm).
        // A by columns: rows 1 float apart, a step 4·mp + 1 + pad floats (op(A) stored transposed).
        const byCols = layout === 'A by columns';
        const ars = byCols ? 1 : strided ? kc + 3 : 1, acs = byCols ? 4 * mp + 1 + pad : strided ? 1 : 4; // floats
        const aps = byCols ? 4 : strided ? 4 * ars + 5 : 4 * kc;
        // Row-major B: the panels side by side, a row of 4·np floats (+ pad) a step (the tiles read it in place).
        const brs = layout === 'row-major B' ? 4 * np + pad : strided ? 4 + pad : 4;
        const bps = layout === 'row-major B' ? 4 : strided ? kc * brs + 7 : 4 * kc;
        const A0 = 256, B0 = A0 + mp * aps + 4 * ars + kc * acs + 16, C0 = B0 + np * bps + kc * brs + 16, C1 = C0 + 4 * mp * ldc + 16;
        const aAt = (ip: number, i: number, p: number): number => A0 + ip * aps + i * ars + p * acs;
        const bAt = (jp: number, p: number, j: number): number => B0 + jp * bps + p * brs + j;
        for (let ip = 0; ip < mp; ip++) for (let i = 0; i < 4; i++) for (let p = 0; p < kc; p++) F[aAt(ip, i, p)] = r();
        for (let jp = 0; jp < np; jp++) for (let p = 0; p < kc; p++) for (let j = 0; j < 4; j++) F[bAt(jp, p, j)] = r();
        for (let i = 0; i < 4 * mp * ldc; i++) F[C0 + i] = F[C1 + i] = r();
        const cBefore = F.slice(C0, C0 + 4 * mp * ldc);
        const args = [4 * A0, 4 * B0, kc, 4 * C0, 4 * ldc, acc ? 1 : 0, mp, np];
        const sargs = [4 * ars, 4 * acs, 4 * brs, 4 * aps, 4 * bps];
        if (strided) native.blockS32(...(args as [number, number, number, number, number, number, number, number]), ...(sargs as [number, number, number, number, number]));
        else native.block32(...(args as [number, number, number, number, number, number, number, number]));
        const want = reference((ip, i, p) => F[aAt(ip, i, p)], (jp, p, j) => F[bAt(jp, p, j)], kc, mp, np, (row, col) => cBefore[row * ldc + col], acc);
        for (let row = 0; row < 4 * mp; row++) {
          for (let col = 0; col < ldc; col++) {
            const got = F[C0 + row * ldc + col];
            // Columns past the panels are untouched.
            const expected = col < 4 * np ? want[row * 4 * np + col] : cBefore[row * ldc + col];
            if (!Object.is(got, expected)) throw new Error(`element (${row}, ${col}): ${got} against ${expected}`);
          }
        }
        if (relaxedSimdAvailable()) {
          if (strided) ex.blockS32f(4 * A0, 4 * B0, kc, 4 * C1, 4 * ldc, acc ? 1 : 0, mp, np, ...sargs);
          else ex.block32f(4 * A0, 4 * B0, kc, 4 * C1, 4 * ldc, acc ? 1 : 0, mp, np);
          for (let i = 0; i < 4 * mp * ldc; i++) if (!Object.is(F[C0 + i], F[C1 + i])) throw new Error(`wasm tile differs at ${i}`);
        }
      },
    ), { numRuns: 60 });

  it.each(widths)('take k-slices in one call with the bits of one call a slice (%s), row-major or panel-packed A', (width) => {
    expect(native.isa(width)).toBe(width);
    expect((native.blockS32 as unknown as { slices?: boolean }).slices).toBe(true);
    const sliced = native.blockS32 as unknown as (...a: number[]) => void;
    try {
      fc.assert(fc.property(
        fc.integer({ min: 1, max: 6 }), fc.integer({ min: 1, max: 9 }), fc.integer({ min: 1, max: 40 }), fc.integer({ min: 2, max: 5 }), fc.boolean(), fc.boolean(), fc.integer(),
        (mp, np, kc, slices, acc, panels, seed) => {
          const r = rnd(seed);
          const ldc = 4 * np + 4;
          // Panel-packed A through the strided entry (the fused convolutions' filters) is read in place.
          const ars = panels ? 1 : kc + 1, acs = panels ? 4 : 1, aps = panels ? 4 * kc : 4 * ars + 3;
          const brs = 4 * np + 2, bps = 4;
          const aSlice = mp * aps + 4 * ars + kc * acs + 8, bSlice = kc * brs + 4 * np + 8;
          const A0 = 256, B0 = A0 + slices * aSlice + 16, C0 = B0 + slices * bSlice + 16, C1 = C0 + 4 * mp * ldc + 16;
          for (let i = A0; i < C0; i++) F[i] = r();
          for (let i = 0; i < 4 * mp * ldc; i++) F[C0 + i] = F[C1 + i] = r();
          const strides = [4 * ars, 4 * acs, 4 * brs, 4 * aps, 4 * bps];
          sliced(4 * A0, 4 * B0, kc, 4 * C0, 4 * ldc, acc ? 1 : 0, mp, np, ...strides, slices, 4 * aSlice, 4 * bSlice);
          for (let s = 0; s < slices; s++) native.blockS32(4 * (A0 + s * aSlice), 4 * (B0 + s * bSlice), kc, 4 * C1, 4 * ldc, acc || s > 0 ? 1 : 0, mp, np, ...(strides as [number, number, number, number, number]));
          for (let i = 0; i < 4 * mp * ldc; i++) if (!Object.is(F[C0 + i], F[C1 + i])) throw new Error(`element ${i}: ${F[C0 + i]} against ${F[C1 + i]}`);
        },
      ), { numRuns: 40 });
    } finally {
      native.isa();
    }
  });

  it('run at least the AVX2 width, and the widest the CPU has by default', () => {
    expect(widths).toContain('avx2');
    expect(native.isa()).toBe(native.features);
  });

  it('refuse operands outside the memory, and bad arguments, with an error', () => {
    const len = F.byteLength;
    expect(() => native.block32(len - 32, 0, 4, 0, 16, 0, 1, 1)).toThrow(/block32: operands outside the bound memory/);
    expect(() => native.block32(0, 0, 4, len - 16, 16, 0, 1, 1)).toThrow(/outside the bound memory/);
    expect(() => native.blockS32(0, 0, 4, 0, 16, 0, 1, 1, -4, 4, 16, 64, 64)).toThrow(/outside the bound memory/);
    const sliced = native.blockS32 as unknown as (...a: number[]) => void;
    // The last of many slices past the end is caught before the first is computed.
    expect(() => sliced(0, 0, 4, 0, 16, 0, 1, 1, 4, 16, 16, 64, 64, 1000, len / 500, 0)).toThrow(/outside the bound memory/);
    expect(() => sliced(0, 0, 4, 0, 16, 0, 1, 1, 4, 16, 16, 64, 64, 0, 64, 64)).toThrow(/slices must be ≥ 1/);
    expect(() => (native.block32 as unknown as (...a: number[]) => void)(0, 0, 4)).toThrow(/expected 8 integer arguments/);
    expect(() => native.bind(new Float64Array(4) as unknown as Float32Array)).toThrow(/bind: expected a Float32Array/);
  });
});
