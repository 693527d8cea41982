import {
  BITSELECT, DEMOTE_ZERO, ELSE, END, F32_ADD, F32_DEMOTE, F32_GT, F32_LOAD, F32_LT, F32_STORE, f32Const0, F32X4_GT, F32X4_PMAX, F64, F64_ADD, F64_LOAD, F64_MUL, F64_PROMOTE, F64_STORE, F64_SUB, f64Const0, F64X2_ADD, F64X2_MUL, F64X2_SPLAT, F64X2_SUB, HIGH_TO_LOW, I32, I32_ADD, I32_AND, I32_REM_U, I32_SHL, i32Const, i32FuncType, IF, inc, JOIN_LOW, localGet, locals, localSet, localTee, PROMOTE_LOW, SELECT, simd, V128, v128Load, v128Store, v128Zero, whileLt,
} from './wasmAsm';

/*
 * Batch-norm rows in SIMD for float32 tensors (ops/kernels/batchNormTasks.ts copies a task's
 * block into the arena and calls these). Data are float32, arithmetic float64 (two f64x2 per
 * f32x4 vector), with exactly the operations and order of the task runner's JS span loops, so
 * both give the same bits. A block is `rows` rows of T floats; row r belongs to channel
 * j = r mod nc. Addresses are bytes.
 *
 * `bnSum32(xp, rows, T, nc, accp, mup, mode)` — per row, mode 0: Σ x, mode 1: Σ (x − mu[j])²
 * (mu f64 at mup), added to acc[j] (f64 at accp). A row's sum is four partial sums over
 * t ≡ 0, 1, 2, 3 (mod 4) of its first 4⌊T/4⌋ values, ((s0 + s1) + (s2 + s3)), then the
 * remaining values one by one.
 * `bnNorm32(xp, op, rows, T, nc, pp, relu)` — h = (x − mu)·inv and out = γ·h + β with
 * [mu, inv, γ, β] of channel j at pp + 64j (f64), out stored at op, through max(out, 0) + 0
 * with relu (the fused ReLU: NaN stays NaN, −0 becomes +0).
 * `bnGradSums32(gp, xp, rows, T, nc, accp, pp, relu)` — per row Σ m and Σ m·h, with h computed
 * again from x as above and m = g, or with relu m = (o > 0 ? g : 0) for the forward's output
 * o = γ·h + β rounded to float32; added to acc[2j] and acc[2j + 1]; in the order above.
 * `bnDx32(gp, xp, dxp, rows, T, nc, pp, relu)` — dx = (γ·m' − a − h·b)·inv with
 * [mu, inv, γ, β, a, b] of channel j at pp + 64j, m' = g, or with relu m + 0.
 *
 * WHY: in JS a row pass costs 1.5–2.5 ns an element (float32 loads and stores converted one
 * by one); here it is a fraction of the copies into and out of the arena around it.
 */

const F32X4_ADD = simd(0xe4);
const extractF64 = (lane: number): number[] => simd(0x21, lane);
/** The low (float lanes 0, 1) or high (2, 3) half of the v128 local v, promoted to f64x2. */
type Half = (v: number) => number[];
const LO: Half = (v) => [...g(v), ...PROMOTE_LOW];
const HI: Half = (v) => [...g(v), ...g(v), ...HIGH_TO_LOW, ...PROMOTE_LOW];

const g = localGet;
const set = localSet;
/** Byte address base + 4·(rs + i). */
const elem = (base: number, rs: number, i: number): number[] => [...g(base), ...g(rs), ...g(i), ...I32_ADD, ...i32Const(2), ...I32_SHL, ...I32_ADD];
/** Byte address base + stride·j. */
const perChannel = (base: number, j: number, shift: number, offset = 0): number[] => [
  ...g(base), ...g(j), ...i32Const(shift), ...I32_SHL, ...I32_ADD, ...(offset > 0 ? [...i32Const(offset), ...I32_ADD] : []),
];
/** Sum of the two lanes of each of a and b: ((a0 + a1) + (b0 + b1)). */
const fold = (a: number, b: number): number[] => [
  ...g(a), ...extractF64(0), ...g(a), ...extractF64(1), ...F64_ADD, ...g(b), ...extractF64(0), ...g(b), ...extractF64(1), ...F64_ADD, ...F64_ADD,
];

/**
 * Rows r < ROWS with J = r mod NC and RS = r·T; VEC = 4⌊T/4⌋ set first. `perRow` runs per row.
 */
function rows(l: { R: number; ROWS: number; J: number; NC: number; RS: number; T: number; VEC: number }, perRow: number[]): number[] {
  return [
    ...g(l.T), ...i32Const(0x7ffffffc), ...I32_AND, ...set(l.VEC),
    ...i32Const(0), ...set(l.R), ...i32Const(0), ...set(l.RS),
    ...whileLt(l.R, l.ROWS, [
      ...g(l.R), ...g(l.NC), ...I32_REM_U, ...set(l.J),
      ...perRow,
      ...inc(l.RS, g(l.T)), ...inc(l.R, i32Const(1)),
    ]),
  ];
}

/** `bnSum32` (7 i32 parameters). */
export function bnSum32Func(): number[] {
  const XP = 0, ROWS = 1, T = 2, NC = 3, ACCP = 4, MUP = 5, MODE = 6;
  const R = 7, J = 8, RS = 9, I = 10, VEC = 11, P = 12;
  const S = 13, MU = 14, DS = 15;
  const A0 = 16, A1 = 17, X = 18, MUV = 19, D = 20;
  const lanes = (squared: boolean): number[] => {
    const half = (h: Half, acc: number): number[] => [
      ...g(acc), ...h(X),
      ...(squared ? [...g(MUV), ...F64X2_SUB, ...localTee(D), ...g(D), ...F64X2_MUL] : []),
      ...F64X2_ADD, ...set(acc),
    ];
    return whileLt(I, VEC, [...elem(XP, RS, I), ...v128Load(0), ...set(X), ...half(LO, A0), ...half(HI, A1), ...inc(I, i32Const(4))]);
  };
  const tail = (squared: boolean): number[] =>
    whileLt(I, T, [
      ...g(S), ...elem(XP, RS, I), ...F32_LOAD, ...F64_PROMOTE,
      ...(squared ? [...g(MU), ...F64_SUB, ...localTee(DS), ...g(DS), ...F64_MUL] : []),
      ...F64_ADD, ...set(S), ...inc(I, i32Const(1)),
    ]);
  const perRow = [
    ...v128Zero, ...set(A0), ...v128Zero, ...set(A1), ...i32Const(0), ...set(I),
    ...g(MODE), ...IF,
    ...perChannel(MUP, J, 3), ...F64_LOAD, ...localTee(MU), ...F64X2_SPLAT, ...set(MUV),
    ...lanes(true), ...fold(A0, A1), ...set(S), ...tail(true),
    ...ELSE,
    ...lanes(false), ...fold(A0, A1), ...set(S), ...tail(false),
    ...END,
    ...perChannel(ACCP, J, 3), ...localTee(P), ...g(P), ...F64_LOAD, ...g(S), ...F64_ADD, ...F64_STORE,
  ];
  return [...locals([[6, I32], [3, F64], [5, V128]]), ...rows({ R, ROWS, J, NC, RS, T, VEC }, perRow), ...END];
}

/** Per-channel value k (f64 at pp + 64j + 8k) into the f64 local dst and, splatted, the v128 local splat. */
function param(PP: number, J: number, k: number, dst: number, splat: number): number[] {
  return [...perChannel(PP, J, 6, 8 * k), ...F64_LOAD, ...localTee(dst), ...F64X2_SPLAT, ...set(splat)];
}

/** h = (x − mu)·inv of one half of the v128 local X, as f64x2. */
const hOf = (h: Half, X: number, MUV: number, IVV: number): number[] => [...h(X), ...g(MUV), ...F64X2_SUB, ...g(IVV), ...F64X2_MUL];
/** γ·h + β of the f64x2 local hv, demoted to the low float32 lanes. */
const oOf = (hv: number, GAV: number, BEV: number): number[] => [...g(GAV), ...g(hv), ...F64X2_MUL, ...g(BEV), ...F64X2_ADD, ...DEMOTE_ZERO];

/** `bnNorm32` (7 i32 parameters). */
export function bnNorm32Func(): number[] {
  const XP = 0, OP = 1, ROWS = 2, T = 3, NC = 4, PP = 5, RELU = 6;
  const R = 7, J = 8, RS = 9, I = 10, VEC = 11;
  const MU = 12, IV = 13, GA = 14, BE = 15, H = 16, O = 17;
  const X = 18, MUV = 19, IVV = 20, GAV = 21, BEV = 22, HL = 23, HH = 24, OV = 25;
  const perRow = [
    ...param(PP, J, 0, MU, MUV), ...param(PP, J, 1, IV, IVV), ...param(PP, J, 2, GA, GAV), ...param(PP, J, 3, BE, BEV),
    ...i32Const(0), ...set(I),
    ...whileLt(I, VEC, [
      ...elem(XP, RS, I), ...v128Load(0), ...set(X),
      ...hOf(LO, X, MUV, IVV), ...set(HL), ...hOf(HI, X, MUV, IVV), ...set(HH),
      ...oOf(HL, GAV, BEV), ...oOf(HH, GAV, BEV), ...JOIN_LOW, ...set(OV),
      ...g(RELU), ...IF, ...g(OV), ...v128Zero, ...F32X4_PMAX, ...v128Zero, ...F32X4_ADD, ...set(OV), ...END,
      ...elem(OP, RS, I), ...g(OV), ...v128Store(0),
      ...inc(I, i32Const(4)),
    ]),
    ...whileLt(I, T, [
      ...elem(XP, RS, I), ...F32_LOAD, ...F64_PROMOTE, ...g(MU), ...F64_SUB, ...g(IV), ...F64_MUL, ...set(H),
      ...g(GA), ...g(H), ...F64_MUL, ...g(BE), ...F64_ADD, ...F32_DEMOTE, ...set(O),
      ...g(RELU), ...IF,
      // (o < 0 ? 0 : o) + 0, as pmax(o, 0) + 0 lane-wise.
      ...f32Const0, ...g(O), ...g(O), ...f32Const0, ...F32_LT, ...SELECT, ...f32Const0, ...F32_ADD, ...set(O),
      ...END,
      ...elem(OP, RS, I), ...g(O), ...F32_STORE,
      ...inc(I, i32Const(1)),
    ]),
  ];
  return [...locals([[5, I32], [5, F64], [1, 0x7d], [8, V128]]), ...rows({ R, ROWS, J, NC, RS, T, VEC }, perRow), ...END];
}

/**
 * The backward's per-element start, shared by bnGradSums32 and bnDx32: the x vector at
 * (RS + I), its halves' h (HL, HH), and g there into GV — with RELU, (o > 0 ? g : 0) + 0 for
 * o = γ·h + β rounded to float32, the forward's output.
 */
function backVec(l: { GP: number; XP: number; RS: number; I: number; RELU: number; X: number; MUV: number; IVV: number; GAV: number; BEV: number; HL: number; HH: number; GV: number }): number[] {
  return [
    ...elem(l.XP, l.RS, l.I), ...v128Load(0), ...set(l.X),
    ...hOf(LO, l.X, l.MUV, l.IVV), ...set(l.HL), ...hOf(HI, l.X, l.MUV, l.IVV), ...set(l.HH),
    ...elem(l.GP, l.RS, l.I), ...v128Load(0), ...set(l.GV),
    ...g(l.RELU), ...IF,
    ...g(l.GV), ...v128Zero, ...oOf(l.HL, l.GAV, l.BEV), ...oOf(l.HH, l.GAV, l.BEV), ...JOIN_LOW, ...v128Zero, ...F32X4_GT, ...BITSELECT, ...v128Zero, ...F32X4_ADD, ...set(l.GV),
    ...END,
  ];
}

/** The same for one element: h into the f64 local H, the (gated) g into the f64 local M. */
function backScalar(l: { GP: number; XP: number; RS: number; I: number; RELU: number; MU: number; IV: number; GA: number; BE: number; H: number; M: number }): number[] {
  return [
    ...elem(l.XP, l.RS, l.I), ...F32_LOAD, ...F64_PROMOTE, ...g(l.MU), ...F64_SUB, ...g(l.IV), ...F64_MUL, ...set(l.H),
    ...elem(l.GP, l.RS, l.I), ...F32_LOAD, ...F64_PROMOTE, ...set(l.M),
    ...g(l.RELU), ...IF,
    ...g(l.M), ...f64Const0, ...g(l.GA), ...g(l.H), ...F64_MUL, ...g(l.BE), ...F64_ADD, ...F32_DEMOTE, ...f32Const0, ...F32_GT, ...SELECT, ...f64Const0, ...F64_ADD, ...set(l.M),
    ...END,
  ];
}

/** `bnGradSums32` (8 i32 parameters). */
export function bnGradSums32Func(): number[] {
  const GP = 0, XP = 1, ROWS = 2, T = 3, NC = 4, ACCP = 5, PP = 6, RELU = 7;
  const R = 8, J = 9, RS = 10, I = 11, VEC = 12, P = 13;
  const SA = 14, SB = 15, M = 16, MU = 17, IV = 18, GA = 19, BE = 20, H = 21;
  const A0 = 22, A1 = 23, B0 = 24, B1 = 25, GV = 26, X = 27, L = 28, MUV = 29, IVV = 30, GAV = 31, BEV = 32, HL = 33, HH = 34;
  const half = (h: Half, hv: number, a: number, b: number): number[] => [
    ...h(GV), ...set(L),
    ...g(a), ...g(L), ...F64X2_ADD, ...set(a),
    ...g(b), ...g(L), ...g(hv), ...F64X2_MUL, ...F64X2_ADD, ...set(b),
  ];
  const perRow = [
    ...param(PP, J, 0, MU, MUV), ...param(PP, J, 1, IV, IVV), ...param(PP, J, 2, GA, GAV), ...param(PP, J, 3, BE, BEV),
    ...v128Zero, ...set(A0), ...v128Zero, ...set(A1), ...v128Zero, ...set(B0), ...v128Zero, ...set(B1),
    ...i32Const(0), ...set(I),
    ...whileLt(I, VEC, [
      ...backVec({ GP, XP, RS, I, RELU, X, MUV, IVV, GAV, BEV, HL, HH, GV }),
      ...half(LO, HL, A0, B0), ...half(HI, HH, A1, B1),
      ...inc(I, i32Const(4)),
    ]),
    ...fold(A0, A1), ...set(SA), ...fold(B0, B1), ...set(SB),
    ...whileLt(I, T, [
      ...backScalar({ GP, XP, RS, I, RELU, MU, IV, GA, BE, H, M }),
      ...g(SA), ...g(M), ...F64_ADD, ...set(SA),
      ...g(SB), ...g(M), ...g(H), ...F64_MUL, ...F64_ADD, ...set(SB),
      ...inc(I, i32Const(1)),
    ]),
    ...perChannel(ACCP, J, 4), ...localTee(P), ...g(P), ...F64_LOAD, ...g(SA), ...F64_ADD, ...F64_STORE,
    ...perChannel(ACCP, J, 4, 8), ...localTee(P), ...g(P), ...F64_LOAD, ...g(SB), ...F64_ADD, ...F64_STORE,
  ];
  return [...locals([[6, I32], [8, F64], [13, V128]]), ...rows({ R, ROWS, J, NC, RS, T, VEC }, perRow), ...END];
}

/** `bnDx32` (8 i32 parameters). */
export function bnDx32Func(): number[] {
  const GP = 0, XP = 1, DXP = 2, ROWS = 3, T = 4, NC = 5, PP = 6, RELU = 7;
  const R = 8, J = 9, RS = 10, I = 11, VEC = 12;
  const MU = 13, IV = 14, GA = 15, BE = 16, A = 17, B = 18, M = 19, H = 20;
  const GV = 21, X = 22, MUV = 23, IVV = 24, GAV = 25, BEV = 26, AV = 27, BV = 28, HL = 29, HH = 30;
  const dxHalf = (h: Half, hv: number): number[] => [
    ...g(GAV), ...h(GV),
    ...F64X2_MUL, ...g(AV), ...F64X2_SUB,
    ...g(hv), ...g(BV), ...F64X2_MUL, ...F64X2_SUB,
    ...g(IVV), ...F64X2_MUL, ...DEMOTE_ZERO,
  ];
  const perRow = [
    ...param(PP, J, 0, MU, MUV), ...param(PP, J, 1, IV, IVV), ...param(PP, J, 2, GA, GAV), ...param(PP, J, 3, BE, BEV),
    ...param(PP, J, 4, A, AV), ...param(PP, J, 5, B, BV),
    ...i32Const(0), ...set(I),
    ...whileLt(I, VEC, [
      ...backVec({ GP, XP, RS, I, RELU, X, MUV, IVV, GAV, BEV, HL, HH, GV }),
      ...elem(DXP, RS, I), ...dxHalf(LO, HL), ...dxHalf(HI, HH), ...JOIN_LOW, ...v128Store(0),
      ...inc(I, i32Const(4)),
    ]),
    ...whileLt(I, T, [
      ...backScalar({ GP, XP, RS, I, RELU, MU, IV, GA, BE, H, M }),
      ...elem(DXP, RS, I),
      ...g(GA), ...g(M), ...F64_MUL, ...g(A), ...F64_SUB, ...g(H), ...g(B), ...F64_MUL, ...F64_SUB, ...g(IV), ...F64_MUL,
      ...F32_DEMOTE, ...F32_STORE,
      ...inc(I, i32Const(1)),
    ]),
  ];
  return [...locals([[5, I32], [8, F64], [10, V128]]), ...rows({ R, ROWS, J, NC, RS, T, VEC }, perRow), ...END];
}

/** The type of bnSum32 and bnNorm32 (7 i32, no results); the others share the GEMM module's 8-i32 type. */
export const BN_SUM32_TYPE = i32FuncType(7);
