import {
  BITSELECT, ELSE, END, F32, f32Const, F32_LOAD, I32_EQ, IF, F32_STORE, F32X4_ADD, F32X4_MUL, F32X4_PMAX, F32X4_SPLAT, F32X4_SUB, I32, I32_ADD, I32_AND, I32_LT_U, I32_SHL, I32_SUB, i32Const, i32FuncType, inc, localGet, locals, localSet, simd, V128, v128Load, v128Store, vec, whileDo, whileLt, V128_OR,
} from './wasmAsm';

/*
 * The sigmoid family for float32 stores in SIMD (ops/kernels/elementwise.ts copies a task's
 * range into the arena and calls these): four float32 lanes, every step one float32 operation
 * in the order ElementwiseMath.expNegAbs32 and the float32 loops of ops/activations.ts take
 * (each rounded there by Math.fround), so wasm and JS give the same bits.
 *
 * The one exponential is e = e^−|x| ∈ [0, 1], so nothing overflows and nothing cancels:
 * d = 1/(1 + e) is σ(|x|), and σ(x) = d for x ≥ 0, e·d for x < 0; 1 − σ(x) is the other one.
 * e^t for t = −|x| clamped at −104 (e^−104 rounds to 0 in float32): k = t·log₂e rounded to
 * the nearest integer (ties to even) by adding and subtracting 1.5·2²³, r = (t − k·C₁) − k·C₂
 * with ln 2 = C₁ + C₂ split so k·C₁ is exact, e^r by Taylor to r⁷ in Horner's order, then
 * ·2^(k+24)·2^−24, so a subnormal result is rounded once.
 *
 * `sigmoidFwd32(xp, op, n)`: o = σ(x). `siluFwd32(xp, op, n)`: o = x·σ(x).
 * `siluBwd32(gp, xp, dxp, n)`: dx = (g·σ(x))·(1 + x·(1 − σ(x))). Byte addresses; the loops run
 * over ⌈n/4⌉·4 elements (the caller's scratch has room; the extra lanes are ignored).
 *
 * WHY float32 lanes: the float64-lane version (e^x to float64 accuracy, then rounded) held every
 * result within one ulp but ran at ≈ 5 ns an element, and the SiLU of EfficientNet's expansions
 * was most of their time. Here the results are within a few ulps (test/elementwiseMath.test.ts
 * states the bound).
 */

const F32X4_DIV = simd(0xe7);
const F32X4_GE = simd(0x46);
const I32X4_SHL = simd(0xab);
const I32X4_ADD = simd(0xae);
const g = localGet;
const set = localSet;
const c = (v: number): number[] => simd(0x0c, ...new Uint8Array(new Float32Array([v, v, v, v]).buffer));

/** The float32 constants of e^−|x| (ElementwiseMath.expNegAbs32 uses the same values). */
export const EXP32 = {
  lo: -104,
  log2e: Math.fround(Math.LOG2E),
  c1: 0.693359375,
  c2: Math.fround(Math.LN2 - 0.693359375),
  /** 1.5·2²³: adding it rounds a float32 below 2²² in magnitude to an integer (see expNegAbs). */
  round: 12582912,
  /** 1/7!, 1/6!, …, 1/2!: the Taylor coefficients of e^r past 1 + r, highest first (Horner's order; Estrin's, tried, was no faster and 2 ulps off). */
  poly: [1 / 5040, 1 / 720, 1 / 120, 1 / 24, 1 / 6, 1 / 2].map(Math.fround),
};

/**
 * Splatted constants held in v128 locals from `first` on, set once before the loop: a
 * v128.const in the loop body costs V8 a few instructions to build, each time round.
 */
class Consts {
  readonly values: number[] = [];
  constructor(private readonly first: number) {}
  /** local.get of the local holding v in all four lanes. */
  get(v: number): number[] {
    let i = this.values.findIndex((u) => Object.is(u, v));
    if (i < 0) i = this.values.push(v) - 1;
    return g(this.first + i);
  }
  /** The stores into the locals. */
  init(): number[] {
    return this.values.flatMap((v, i) => [...c(v), ...set(this.first + i)]);
  }
}

/** e^−|x| of the f32x4 local X, left on the stack; uses the v128 locals T, Y, K, R. */
function expNegAbs(X: number, T: number, Y: number, K: number, R: number, k: Consts): number[] {
  const c = (v: number): number[] => k.get(v);
  const ci = (v: number): number[] => k.get(new Float32Array(new Int32Array([v]).buffer)[0]); // an int's lanes, held as the float of its bits
  const horner: number[] = [...c(EXP32.poly[0])];
  for (const a of [...EXP32.poly.slice(1), 1, 1]) horner.push(...g(R), ...F32X4_MUL, ...c(a), ...F32X4_ADD);
  return [
    // t = max(−|x|, −104), NaN kept (−|x|: the sign bit set; pmax returns its first operand unless it is below)
    ...g(X), ...c(-0), ...V128_OR, ...c(EXP32.lo), ...F32X4_PMAX, ...set(T),
    // y = t·log₂e + 1.5·2²³ holds k in its low mantissa bits; k = y − 1.5·2²³ exactly.
    ...g(T), ...c(EXP32.log2e), ...F32X4_MUL, ...c(EXP32.round), ...F32X4_ADD, ...set(Y),
    ...g(Y), ...c(EXP32.round), ...F32X4_SUB, ...set(K),
    ...g(T), ...g(K), ...c(EXP32.c1), ...F32X4_MUL, ...F32X4_SUB, ...g(K), ...c(EXP32.c2), ...F32X4_MUL, ...F32X4_SUB, ...set(R),
    ...horner,
    // ·2^(k + 24) (exact: the exponent stays normal), then ·2^−24 (one rounding if subnormal).
    // 2^(k + 24)'s bits are (k + 151) << 23: y's bits plus 151, shifted (y's own exponent
    // bits leave at the top).
    ...g(Y), ...ci(151), ...I32X4_ADD, ...i32Const(23), ...I32X4_SHL, ...F32X4_MUL, ...c(2 ** -24), ...F32X4_MUL,
  ];
}

type Kind = 'sigmoid' | 'silu' | 'siluBwd';

/** The body of one of the three (sigmoid, silu: 3 i32 parameters; siluBwd: 4). */
function body(kind: Kind): number[] {
  const bwd = kind === 'siluBwd';
  const [GP, XP, OP, N] = bwd ? [0, 1, 2, 3] : [-1, 0, 1, 2];
  const I = bwd ? 4 : 3;
  const V0 = I + 1;
  const X = V0, T = V0 + 1, K = V0 + 2, R = V0 + 3, P = V0 + 4, E = V0 + 5, D = V0 + 6, ED = V0 + 7, M = V0 + 8;
  const consts = new Consts(V0 + 9);
  const c = (v: number): number[] => consts.get(v);
  const addr = (base: number): number[] => [...g(base), ...g(I), ...I32_ADD];
  const s = [...g(D), ...g(ED), ...g(M), ...BITSELECT]; // σ(x)
  const value =
    kind === 'sigmoid'
      ? s
      : kind === 'silu'
        ? [...g(X), ...s, ...F32X4_MUL]
        : [...addr(GP), ...v128Load(0), ...s, ...F32X4_MUL, ...c(1), ...g(X), ...g(ED), ...g(D), ...g(M), ...BITSELECT, ...F32X4_MUL, ...F32X4_ADD, ...F32X4_MUL];
  const step = [
    ...addr(XP), ...v128Load(0), ...set(X),
    ...expNegAbs(X, T, P, K, R, consts), ...set(E),
    ...c(1), ...c(1), ...g(E), ...F32X4_ADD, ...F32X4_DIV, ...set(D),
    ...g(E), ...g(D), ...F32X4_MUL, ...set(ED),
    ...g(X), ...c(0), ...F32X4_GE, ...set(M),
    ...addr(OP), ...value, ...v128Store(0),
    ...g(I), ...i32Const(16), ...I32_ADD, ...set(I),
  ];
  const n4 = [...g(N), ...i32Const(2), ...I32_SHL]; // n·4 bytes
  return [
    ...locals([[1, I32], [9 + consts.values.length, V128]]),
    ...consts.init(),
    ...i32Const(0), ...set(I),
    ...whileDo([...g(I), ...n4, ...I32_LT_U], step),
    ...END,
  ];
}

/** f32x4 zeros. */
const ZERO = simd(0x0c, ...new Array<number>(16).fill(0));
/** Byte address base + i, i the local holding the loop's byte offset. */
const at = (base: number, I: number): number[] => [...g(base), ...g(I), ...I32_ADD];

/**
 * The loop of the plain lane functions (ReLU's, the join's): for byte offsets i < 4·n, 16 at a
 * time, the f32x4 `value` (read through at(·, I)) stored at op + i. I is the only local.
 */
function lanes(N: number, I: number, OP: number, value: number[]): number[] {
  const step = [...at(OP, I), ...value, ...v128Store(0), ...g(I), ...i32Const(16), ...I32_ADD, ...set(I)];
  return [
    ...locals([[1, I32]]),
    ...i32Const(0), ...set(I),
    ...whileDo([...g(I), ...g(N), ...i32Const(2), ...I32_SHL, ...I32_LT_U], step),
    ...END,
  ];
}

/**
 * `reluFwd32(xp, op, n)`: o = max(x, 0) + 0 (NaN kept, −0 → +0). `reluBwd32(gp, xp, dxp, n)`:
 * dx = (x > 0 ? g : 0) + 0. Plain f32x4 lanes: selects and one exact addition, the JS row
 * functions' results (ops/reluMath.ts). `relu6Fwd32` then takes pmin(o, 6) (6 < o ? 6 : o,
 * NaN kept) and `relu6Bwd32` masks by 0 < x < 6: the relu6 op's JS rows (ops/activations.ts).
 */
function reluBody(bwd: boolean, six: boolean): number[] {
  const [GP, XP, OP, N] = bwd ? [0, 1, 2, 3] : [-1, 0, 1, 2];
  const I = bwd ? 4 : 3;
  const addr = (base: number): number[] => at(base, I);
  const sixes = simd(0x0c, ...new Uint8Array(new Float32Array([6, 6, 6, 6]).buffer));
  // f32x4.gt 0x44, f32x4.lt 0x43, v128.and 0x4e, bitselect 0x52, pmax 0xeb, pmin 0xea, add 0xe4.
  const mask = six
    ? [...addr(XP), ...v128Load(0), ...ZERO, ...simd(0x44), ...addr(XP), ...v128Load(0), ...sixes, ...simd(0x43), ...simd(0x4e)]
    : [...addr(XP), ...v128Load(0), ...ZERO, ...simd(0x44)];
  const value = bwd
    ? [...addr(GP), ...v128Load(0), ...ZERO, ...mask, ...simd(0x52)]
    : [...addr(XP), ...v128Load(0), ...ZERO, ...simd(0xeb)];
  const clamp = six && !bwd ? [...ZERO, ...simd(0xe4), ...sixes, ...simd(0xea)] : [...ZERO, ...simd(0xe4)];
  return lanes(N, I, OP, [...value, ...clamp]);
}

/**
 * `add32(ap, bp, op, n)`: o = a + b; `addRelu32(ap, bp, op, n)`: o = pmax(a + b, 0) + 0 — the
 * residual join of ops/add.ts, its JS loops' bits: a float32 sum rounded once (the JS loop's
 * float64 sum of two float32 values, rounded to float32, is the same number), then ReLU's
 * max(·, 0) with NaN kept and +0 for −0 (ops/reluMath.ts sumReluRow). Byte addresses; ⌈n/4⌉·4
 * elements, as the others.
 */
function addBody(relu: boolean): number[] {
  const AP = 0, BP = 1, OP = 2, N = 3, I = 4;
  const sum = [...at(AP, I), ...v128Load(0), ...at(BP, I), ...v128Load(0), ...F32X4_ADD];
  return lanes(N, I, OP, relu ? [...sum, ...ZERO, ...F32X4_PMAX, ...ZERO, ...F32X4_ADD] : sum);
}

export const add32Func = (): number[] => addBody(false);
export const addRelu32Func = (): number[] => addBody(true);
export const reluFwd32Func = (): number[] => reluBody(false, false);
export const reluBwd32Func = (): number[] => reluBody(true, false);
export const relu6Fwd32Func = (): number[] => reluBody(false, true);
export const relu6Bwd32Func = (): number[] => reluBody(true, true);
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
  const R = 8, I = 9, D = 10, S = 11, END4 = 12, FAST = 13;
  const LOV = 14, HIV = 15;
  const F32X4_MIN = simd(0xe8);
  const F32X4_MAX = simd(0xe9);
  const F32X4_PMIN = simd(0xea);
  const F32_MIN = [0x96];
  const F32_MAX = [0x97];
  const I32_REINTERPRET_F32 = [0xbc];
  const F32_GT = [0x5e];
  const body = [
    ...g(LO), ...F32X4_SPLAT, ...set(LOV), ...g(HI), ...F32X4_SPLAT, ...set(HIV),
    ...g(LEN), ...g(LEN), ...i32Const(3), ...I32_AND, ...I32_SUB, ...set(END4),
    // lo = +0 and hi > 0 (ReLU, ReLU6): the relu ops' pmax(x, 0) + 0 then pmin(·, hi), the same
    // values as max then min (+0 for −0, NaN kept) in three instructions, where V8 spells
    // f32x4.max and .min out in about eight each on x86 to order −0 and pass NaN: the clamp was
    // 7 % of a MobileNet V2 eval forward's CPU time.
    ...g(LO), ...I32_REINTERPRET_F32, ...i32Const(0), ...I32_EQ, ...g(HI), ...f32Const(0), ...F32_GT, ...I32_AND, ...set(FAST),
    ...i32Const(0), ...set(R),
    ...whileLt(R, COUNT, [
      ...g(DST), ...set(D), ...g(SRC), ...set(S), ...i32Const(0), ...set(I),
      ...g(FAST), ...IF,
      ...whileLt(I, END4, [
        ...g(D), ...g(S), ...v128Load(0), ...g(LOV), ...F32X4_PMAX, ...g(LOV), ...F32X4_ADD, ...g(HIV), ...F32X4_PMIN, ...v128Store(0),
        ...inc(D, i32Const(16)), ...inc(S, i32Const(16)), ...inc(I, i32Const(4)),
      ]),
      ...ELSE,
      ...whileLt(I, END4, [
        ...g(D), ...g(S), ...v128Load(0), ...g(LOV), ...F32X4_MAX, ...g(HIV), ...F32X4_MIN, ...v128Store(0),
        ...inc(D, i32Const(16)), ...inc(S, i32Const(16)), ...inc(I, i32Const(4)),
      ]),
      ...END,
      ...whileLt(I, LEN, [
        ...g(D), ...g(S), ...F32_LOAD, ...g(LO), ...F32_MAX, ...g(HI), ...F32_MIN, ...F32_STORE,
        ...inc(D, i32Const(4)), ...inc(S, i32Const(4)), ...inc(I, i32Const(1)),
      ]),
      ...inc(DST, g(DS)), ...inc(SRC, g(SS)), ...inc(R, i32Const(1)),
    ]),
  ];
  return [...locals([[6, I32], [2, V128]]), ...body, ...END];
}

/** `clampRows32`'s type: 6 i32 then 2 f32, no results. */
export const CLAMP_ROWS32_TYPE = [0x60, ...vec([...new Array(6).fill([I32]), [F32], [F32]]), ...vec([])];
