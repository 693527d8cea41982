import {
  DEMOTE_ZERO, END, F32, F32_LOAD, F32_STORE, F32X4_SPLAT, F64X2_ADD, F64X2_MUL, F64X2_SUB, f64x2Const, HIGH_TO_LOW, I32, I32_ADD, I32_AND, I32_LT_U, I32_SHL, I32_SUB, i32Const, i32FuncType, inc, JOIN_LOW, localGet, locals, localSet, PROMOTE_LOW, simd, V128, v128Load, v128Store, vec, whileDo, whileLt,
} from './wasmAsm';

/*
 * The sigmoid family for float32 stores in SIMD (ops/kernels/elementwise.ts copies a task's
 * range into the arena and calls these): float32 data, float64 arithmetic in f64x2 lanes, with
 * e^x computed exactly as ElementwiseMath.expf does in JS — the same clamp, k = ⌊t·log₂e + ½⌋,
 * r = t − k·ln 2, the same Taylor polynomial in the same order — so the results are the JS
 * loops' bits. Only 2^k is built differently (from exponent bits, as 2^⌊k/2⌋·2^(k−⌊k/2⌋), where
 * the JS reads a table): the same value wherever 1 + e^x can tell (below 2^−1074 the table gives
 * 0 and the product may give the smallest subnormal; 1 + either is 1).
 *
 * `sigmoidFwd32(xp, op, n)`: o = 1/(1 + e^−x). `siluFwd32(xp, op, n)`: o = x·(1/(1 + e^−x)).
 * `siluBwd32(gp, xp, dxp, n)`: s = 1/(1 + e^−x), dx = g·s·(1 + x·(1 − s)). Byte addresses; the
 * loops run over ⌈n/4⌉·4 elements (the caller's scratch has room; the extra lanes are ignored).
 *
 * WHY: e^x was most of a float32 SiLU in JS (≈ 3 ns an element); in lanes it is a fraction of
 * the copies into and out of the arena around it.
 */

const F64X2_DIV = simd(0xf3);
const F64X2_NEG = simd(0xed);
const F64X2_PMIN = simd(0xf6);
const F64X2_PMAX = simd(0xf7);
const F64X2_FLOOR = simd(0x75);
const F64X2_TRUNC = simd(0x7a);
const TRUNC_SAT_ZERO = simd(0xfc);
const EXTEND_LOW_S = simd(0xc7);
const I64X2_ADD = simd(0xce);
const I64X2_SHL = simd(0xcb);
const i64x2Const = (v: number): number[] => simd(0x0c, ...new Uint8Array(new BigInt64Array([BigInt(v), BigInt(v)]).buffer));
const g = localGet;
const set = localSet;

/** 2^k for the integer-valued f64x2 on the stack, |k| ≤ 1022: exponent bits (k + 1023) << 52. */
const pow2 = (): number[] => [...TRUNC_SAT_ZERO, ...EXTEND_LOW_S, ...i64x2Const(1023), ...I64X2_ADD, ...i32Const(52), ...I64X2_SHL];

/**
 * e^t of the f64x2 local T (ElementwiseMath.expf's steps), left on the stack. Uses the v128
 * locals U, K, R, R2, K1.
 */
function expf(T: number, U: number, K: number, R: number, R2: number, K1: number): number[] {
  const c = f64x2Const;
  // (a + r·b) for constants a, b
  const lin = (a: number, b: number): number[] => [...c(a), ...g(R), ...c(b), ...F64X2_MUL, ...F64X2_ADD];
  return [
    // u = t > 750 ? 750 : t < −750 ? −750 : t (NaN stays NaN)
    ...g(T), ...c(750), ...F64X2_PMIN, ...c(-750), ...F64X2_PMAX, ...set(U),
    ...g(U), ...c(1.4426950408889634), ...F64X2_MUL, ...c(0.5), ...F64X2_ADD, ...F64X2_FLOOR, ...set(K),
    ...g(U), ...g(K), ...c(0.6931471805599453), ...F64X2_MUL, ...F64X2_SUB, ...set(R),
    ...g(R), ...g(R), ...F64X2_MUL, ...set(R2),
    // p = (1 + r) + r2·((1/2 + r/6) + r2·((1/24 + r/120) + r2·((1/720 + r/5040) + r2/40320)))
    ...c(1), ...g(R), ...F64X2_ADD,
    ...g(R2),
    ...lin(0.5, 1 / 6),
    ...g(R2),
    ...lin(1 / 24, 1 / 120),
    ...g(R2),
    ...lin(1 / 720, 1 / 5040),
    ...g(R2), ...c(1 / 40320), ...F64X2_MUL, ...F64X2_ADD,
    ...F64X2_MUL, ...F64X2_ADD,
    ...F64X2_MUL, ...F64X2_ADD,
    ...F64X2_MUL, ...F64X2_ADD,
    // · 2^k1 · 2^(k − k1), k1 = trunc(k/2)
    ...g(K), ...c(0.5), ...F64X2_MUL, ...F64X2_TRUNC, ...set(K1),
    ...g(K1), ...pow2(), ...F64X2_MUL,
    ...g(K), ...g(K1), ...F64X2_SUB, ...pow2(), ...F64X2_MUL,
  ];
}

type Kind = 'sigmoid' | 'silu' | 'siluBwd';

/** The body of one of the three (sigmoid, silu: 3 i32 parameters; siluBwd: 4). */
function body(kind: Kind): number[] {
  const bwd = kind === 'siluBwd';
  const [GP, XP, OP, N] = bwd ? [0, 1, 2, 3] : [-1, 0, 1, 2];
  const I = bwd ? 4 : 3;
  const V0 = I + 1;
  const XV = V0, GV = V0 + 1, T = V0 + 2, U = V0 + 3, K = V0 + 4, R = V0 + 5, R2 = V0 + 6, K1 = V0 + 7, S = V0 + 8, X = V0 + 9, LO = V0 + 10;
  const addr = (base: number): number[] => [...g(base), ...g(I), ...I32_ADD];
  // One f64x2 half: x (and g) promoted from the lanes `half` selects, result left on the stack.
  const half = (h: number[]): number[] => [
    ...g(XV), ...h, ...PROMOTE_LOW, ...set(X),
    ...g(X), ...F64X2_NEG, ...set(T),
    // s = 1/(1 + e^−x)
    ...f64x2Const(1), ...f64x2Const(1), ...expf(T, U, K, R, R2, K1), ...F64X2_ADD, ...F64X2_DIV, ...set(S),
    ...(kind === 'sigmoid'
      ? g(S)
      : kind === 'silu'
        ? [...g(X), ...g(S), ...F64X2_MUL]
        : [...g(GV), ...h, ...PROMOTE_LOW, ...g(S), ...F64X2_MUL, ...f64x2Const(1), ...g(X), ...f64x2Const(1), ...g(S), ...F64X2_SUB, ...F64X2_MUL, ...F64X2_ADD, ...F64X2_MUL]),
    ...DEMOTE_ZERO,
  ];
  const lowOf: number[] = [];
  // half() reads XV (and GV): for the high half they are first shuffled down to lanes 0, 1.
  const step = [
    ...addr(XP), ...v128Load(0), ...set(XV),
    ...(bwd ? [...addr(GP), ...v128Load(0), ...set(GV)] : []),
    ...half(lowOf), ...set(LO),
    // High half: shift lanes 2, 3 down in both inputs, then the same steps.
    ...g(XV), ...g(XV), ...HIGH_TO_LOW, ...set(XV),
    ...(bwd ? [...g(GV), ...g(GV), ...HIGH_TO_LOW, ...set(GV)] : []),
    ...addr(OP), ...g(LO), ...half(lowOf), ...JOIN_LOW, ...v128Store(0),
    ...g(I), ...i32Const(16), ...I32_ADD, ...set(I),
  ];
  const n4 = [...g(N), ...i32Const(2), ...I32_SHL]; // n·4 bytes
  return [
    ...locals([[1, I32], [11, V128]]),
    ...i32Const(0), ...set(I),
    ...whileDo([...g(I), ...n4, ...I32_LT_U], step),
    ...END,
  ];
}

/**
 * `reluFwd32(xp, op, n)`: o = max(x, 0) + 0 (NaN kept, −0 → +0). `reluBwd32(gp, xp, dxp, n)`:
 * dx = (x > 0 ? g : 0) + 0. Plain f32x4 lanes: selects and one exact addition, the JS row
 * functions' results (ops/reluMath.ts).
 */
function reluBody(bwd: boolean): number[] {
  const [GP, XP, OP, N] = bwd ? [0, 1, 2, 3] : [-1, 0, 1, 2];
  const I = bwd ? 4 : 3;
  const addr = (base: number): number[] => [...g(base), ...g(I), ...I32_ADD];
  const zero = simd(0x0c, ...new Array<number>(16).fill(0));
  const value = bwd
    ? [...addr(GP), ...v128Load(0), ...zero, ...addr(XP), ...v128Load(0), ...zero, ...simd(0x44), ...simd(0x52)]
    : [...addr(XP), ...v128Load(0), ...zero, ...simd(0xeb)];
  const step = [...addr(OP), ...value, ...zero, ...simd(0xe4), ...v128Store(0), ...g(I), ...i32Const(16), ...I32_ADD, ...set(I)];
  return [
    ...locals([[1, I32]]),
    ...i32Const(0), ...set(I),
    ...whileDo([...g(I), ...g(N), ...i32Const(2), ...I32_SHL, ...I32_LT_U], step),
    ...END,
  ];
}

export const reluFwd32Func = (): number[] => reluBody(false);
export const reluBwd32Func = (): number[] => reluBody(true);
export const sigmoidFwd32Func = (): number[] => body('sigmoid');
export const siluFwd32Func = (): number[] => body('silu');
export const siluBwd32Func = (): number[] => body('siluBwd');

/** Function types: 3 i32 (forward), 4 i32 (backward); no results. */
export const SIG3_TYPE = i32FuncType(3);
export const SIG4_TYPE = i32FuncType(4);

/**
 * `clampRows32(dst, src, len, count, dstStride, srcStride, lo, hi)`: for r < count and i < len,
 * dst[r·dstStride + i] = min(max(src[r·srcStride + i], lo), hi) on float32 (byte addresses and
 * strides; four lanes at a time, a scalar tail; dst may be src). wasm's max and min pass NaN
 * through and order −0 below +0, so lo = 0 gives ReLU's and ReLU6's values (NaN's sign aside):
 * the inference epilogue of conv2d's `clamp` attribute.
 */
export function clampRows32Func(): number[] {
  const DST = 0, SRC = 1, LEN = 2, COUNT = 3, DS = 4, SS = 5, LO = 6, HI = 7;
  const R = 8, I = 9, D = 10, S = 11, END4 = 12;
  const LOV = 13, HIV = 14;
  const F32X4_MIN = simd(0xe8);
  const F32X4_MAX = simd(0xe9);
  const F32_MIN = [0x96];
  const F32_MAX = [0x97];
  const body = [
    ...g(LO), ...F32X4_SPLAT, ...set(LOV), ...g(HI), ...F32X4_SPLAT, ...set(HIV),
    ...g(LEN), ...g(LEN), ...i32Const(3), ...I32_AND, ...I32_SUB, ...set(END4),
    ...i32Const(0), ...set(R),
    ...whileLt(R, COUNT, [
      ...g(DST), ...set(D), ...g(SRC), ...set(S), ...i32Const(0), ...set(I),
      ...whileLt(I, END4, [
        ...g(D), ...g(S), ...v128Load(0), ...g(LOV), ...F32X4_MAX, ...g(HIV), ...F32X4_MIN, ...v128Store(0),
        ...inc(D, i32Const(16)), ...inc(S, i32Const(16)), ...inc(I, i32Const(4)),
      ]),
      ...whileLt(I, LEN, [
        ...g(D), ...g(S), ...F32_LOAD, ...g(LO), ...F32_MAX, ...g(HI), ...F32_MIN, ...F32_STORE,
        ...inc(D, i32Const(4)), ...inc(S, i32Const(4)), ...inc(I, i32Const(1)),
      ]),
      ...inc(DST, g(DS)), ...inc(SRC, g(SS)), ...inc(R, i32Const(1)),
    ]),
  ];
  return [...locals([[5, I32], [2, V128]]), ...body, ...END];
}

/** `clampRows32`'s type: 6 i32 then 2 f32, no results. */
export const CLAMP_ROWS32_TYPE = [0x60, ...vec([...new Array(6).fill([I32]), [F32], [F32]]), ...vec([])];
