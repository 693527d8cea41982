/*
 * IEEE 754 binary16 ("half") conversions, for half-precision experiments and for reading and
 * writing F16/BF16 tensors. Rounding is round-to-nearest-even with subnormals and overflow to
 * ±Infinity, done on the float64 value directly (rounding through float32 first would round
 * twice and differ in rare ties).
 */

const f64 = new Float64Array(1);
const f32 = new Float32Array(1);
const u32 = new Uint32Array(f32.buffer);

/** The binary16 bit pattern nearest to `x` (round-to-nearest-even; NaN → 0x7e00). */
export function float16Bits(x: number): number {
  if (Number.isNaN(x)) return 0x7e00;
  f64[0] = x;
  const sign = x < 0 || Object.is(x, -0) ? 0x8000 : 0;
  const a = Math.abs(x);
  if (a >= 65520) return sign | 0x7c00; // 65520 = max half (65504) + half an ulp: rounds up to Infinity
  if (a < 2 ** -25) {
    // Below half the smallest subnormal (2^-24): rounds to zero, except exactly-tie 2^-25 → even (0).
    return sign;
  }
  if (a < 2 ** -14) {
    // Subnormal: value = m · 2^-24 with m in [0, 1024).
    const m = roundHalfEven(a * 2 ** 24);
    return sign | m; // m may reach 1024, which is the smallest normal's pattern
  }
  let e = Math.floor(Math.log2(a));
  if (2 ** e > a) e--;
  if (2 ** (e + 1) <= a) e++;
  const m = roundHalfEven((a / 2 ** e - 1) * 1024);
  // m === 1024 carries into the exponent, which the bit layout handles by addition.
  return sign | (((e + 15) << 10) + m);
}

/** The number a binary16 bit pattern stands for. */
export function float16FromBits(h: number): number {
  const sign = h & 0x8000 ? -1 : 1;
  const e = (h >> 10) & 0x1f;
  const m = h & 0x3ff;
  if (e === 0) return sign * m * 2 ** -24;
  if (e === 31) return m ? NaN : sign * Infinity;
  return sign * (1 + m / 1024) * 2 ** (e - 15);
}

/** `x` rounded to the nearest binary16 value (as numpy's `np.float16(x)`), returned as a number. */
export function roundToFloat16(x: number): number {
  return float16FromBits(float16Bits(x));
}

/** Rounds every element of `a` to binary16 in place; returns `a`. */
export function roundArrayToFloat16<T extends Float64Array | Float32Array>(a: T): T {
  for (let i = 0; i < a.length; i++) a[i] = roundToFloat16(a[i]);
  return a;
}

/** The bfloat16 bit pattern of `x` (the top half of its float32, round-to-nearest-even; NaN → 0x7fc0). */
export function bfloat16Bits(x: number): number {
  if (Number.isNaN(x)) return 0x7fc0;
  f32[0] = x;
  const b = u32[0];
  return ((b + 0x7fff + ((b >>> 16) & 1)) >>> 16) & 0xffff;
}

/** The number a bfloat16 bit pattern stands for. */
export function bfloat16FromBits(h: number): number {
  u32[0] = (h & 0xffff) << 16;
  return f32[0];
}

function roundHalfEven(v: number): number {
  const f = Math.floor(v);
  const r = v - f;
  if (r > 0.5) return f + 1;
  if (r < 0.5) return f;
  return f % 2 === 0 ? f : f + 1;
}
