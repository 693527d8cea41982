import {
  BITSELECT, ELSE, END, I32_MUL, F32_ADD, F32_DEMOTE, F32_GT, F32_LOAD, F32_LT, F32_MUL, F32_STORE, f32Const, f32Const0, F32X4_GT, F32X4_MUL, F32X4_PMAX, F32X4_SPLAT, F32X4_SUB, F64, F64_ADD, F64_LOAD, F64_MUL, F64_PROMOTE, F64_STORE, F64_SUB, F64X2_ADD, F64X2_MUL, F64X2_SPLAT, F64X2_SUB, HIGH_TO_LOW, I32, I32_ADD, I32_AND, I32_EQ, I32_OR, I32_REM_U, I32_SUB, I32_SHL, i32Const, i32FuncType, IF, inc, localGet, locals, localSet, localTee, PROMOTE_LOW, SELECT, simd, V128, v128Load, v128Store, v128Zero, whileLt, F32X4_ADD, F32X4_LT, F32X4_PMIN, V128_AND, V128_OR, I32X4_SPLAT, F32_GE, I32_NE,
} from './wasmAsm';

/*
 * Batch-norm rows in SIMD for float32 tensors (ops/kernels/batchNormTasks.ts copies a task's
 * block into the arena and calls these), with exactly the operations and order of the task
 * runner's float32 JS span loops, so both give the same bits. The sums are float64 (two f64x2
 * per f32x4 vector); the elementwise steps are float32, one rounding each, four lanes at a
 * time. A block is `rows` rows of T floats; row r belongs to channel j = r mod nc. Addresses
 * are bytes. Per-channel values are float64 slots holding float32 values, at pp + 64j + 8k:
 * k = 0 μhi, 1 μlo (μ = μhi + μlo), 2 inv = 1/σ, 3 s = γ·inv, 4 β, 5 c2, 6 c3.
 *
 * `bnSum32(xp, rows, T, nc, accp, mup, mode)` — per row, mode 0: Σ x, mode 1: Σ (x − mu[j])²
 * (mu f64 at mup), added to acc[j] (f64 at accp). A row's sum is four partial sums over
 * t ≡ 0, 1, 2, 3 (mod 4) of its first 4⌊T/4⌋ values, ((s0 + s1) + (s2 + s3)), then the
 * remaining values one by one.
 * `bnNorm32(xp, op, rows, T, nc, pp, relu)` — d = (x − μhi) − μlo and out = d·s + β, stored at
 * op, through max(out, 0) + 0 with relu (the fused ReLU: NaN stays NaN, −0 becomes +0).
 * `bnGradSums32(gp, xp, rows, T, nc, accp, pp, relu)` — per row Σ m and Σ m·h in float64 with
 * h = d·inv and m = g, or with relu m = (o > 0 ? g : 0) for the forward's output o = d·s + β
 * (the same float32 operations, so the same mask); added to acc[2j] and acc[2j + 1]; in the
 * order above.
 * `bnDx32(gp, xp, dxp, rows, T, nc, pp, relu)` — dx = (s·m' − c2) − h·c3 with m' = g, or with
 * relu m + 0 (c2 = a·inv, c3 = b·inv: the batch-statistics terms, zero with running ones).
 *
 * WHY float32 steps: in float64 the rows were compute-bound (promote, two f64x2 per vector,
 * demote): batch norm + ReLU on 64×144×32×32, 2 threads, forward 13.2 → 10.6 ms and backward
 * 23.7 → 16.1 ms with them. μ as two floats keeps x − μ exact near the mean (a float32 μ alone
 * would lose |μ|·2⁻²⁴ there); the error bounds are tested in test/batchNormFloat32.test.ts.
 * WHY wasm: in JS a row pass costs 1.5–2.5 ns an element (float32 loads and stores converted
 * one by one); here it is a fraction of the copies into and out of the arena around it.
 */

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
 * Rows r < ROWS of channel J = r mod NC with RS = r·T, channel by channel: `setup` (the
 * channel's values) once per channel, then `perRow` for its rows in order — so each channel's
 * sums take its rows in the same order as row by row, and short rows (4×4 maps: 16 values) do
 * not reload the channel's values each time. VEC = 4⌊T/4⌋ is set first.
 */
function rows(l: { R: number; ROWS: number; J: number; NC: number; RS: number; T: number; VEC: number }, setup: number[], perRow: number[]): number[] {
  return [
    ...g(l.T), ...i32Const(0x7ffffffc), ...I32_AND, ...set(l.VEC),
    ...i32Const(0), ...set(l.J),
    ...whileLt(l.J, l.NC, [
      ...setup,
      ...g(l.J), ...set(l.R),
      ...whileLt(l.R, l.ROWS, [
        ...g(l.R), ...g(l.T), ...I32_MUL, ...set(l.RS),
        ...perRow,
        ...inc(l.R, g(l.NC)),
      ]),
      ...inc(l.J, i32Const(1)),
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
  return [...locals([[6, I32], [3, F64], [5, V128]]), ...rows({ R, ROWS, J, NC, RS, T, VEC }, [], perRow), ...END];
}

/**
 * Per-channel value k (stored as a float64 that is a float32, at pp + 64j + 8k) into the f32
 * local dst and, splatted, the v128 local splat.
 */
function param(PP: number, J: number, k: number, dst: number, splat: number): number[] {
  return [...perChannel(PP, J, 6, 8 * k), ...F64_LOAD, ...F32_DEMOTE, ...localTee(dst), ...F32X4_SPLAT, ...set(splat)];
}

const F32_SUB = [0x93];
/** d = (x − μhi) − μlo of the v128 local X (float32 lanes). */
const dOf = (X: number, MHV: number, MLV: number): number[] => [...g(X), ...g(MHV), ...F32X4_SUB, ...g(MLV), ...F32X4_SUB];
/** o = d·s + β of the v128 local D. */
const oOf = (D: number, SV: number, BEV: number): number[] => [...g(D), ...g(SV), ...F32X4_MUL, ...g(BEV), ...F32X4_ADD];
/** The same for one float32: d of the f32 value on the stack. */
const dOf1 = (MH: number, ML: number): number[] => [...g(MH), ...F32_SUB, ...g(ML), ...F32_SUB];
const oOf1 = (D: number, S: number, BE: number): number[] => [...g(D), ...g(S), ...F32_MUL, ...g(BE), ...F32_ADD];

/** `bnNorm32` (7 i32 parameters). */
export function bnNorm32Func(): number[] {
  const XP = 0, OP = 1, ROWS = 2, T = 3, NC = 4, PP = 5, RELU = 6;
  const R = 7, J = 8, RS = 9, I = 10, VEC = 11;
  const MH = 12, ML = 13, S = 14, BE = 15, D = 16, O = 17;
  const X = 18, MHV = 19, MLV = 20, SV = 21, BEV = 22, DV = 23, OV = 24, SIXV = 25;
  const setup = [...param(PP, J, 0, MH, MHV), ...param(PP, J, 1, ML, MLV), ...param(PP, J, 3, S, SV), ...param(PP, J, 4, BE, BEV)];
  const perRow = [
    ...i32Const(0), ...set(I),
    ...whileLt(I, VEC, [
      ...elem(XP, RS, I), ...v128Load(0), ...set(X),
      ...dOf(X, MHV, MLV), ...set(DV), ...oOf(DV, SV, BEV), ...set(OV),
      ...g(RELU), ...IF, ...g(OV), ...v128Zero, ...F32X4_PMAX, ...v128Zero, ...F32X4_ADD, ...set(OV), ...END,
      // ReLU6: pmin(o, 6) is (6 < o ? 6 : o), the relu6 op's o ≥ 6 ? 6 : o (NaN kept).
      ...g(RELU), ...i32Const(2), ...I32_EQ, ...IF, ...g(OV), ...g(SIXV), ...F32X4_PMIN, ...set(OV), ...END,
      ...elem(OP, RS, I), ...g(OV), ...v128Store(0),
      ...inc(I, i32Const(4)),
    ]),
    ...whileLt(I, T, [
      ...elem(XP, RS, I), ...F32_LOAD, ...dOf1(MH, ML), ...set(D), ...oOf1(D, S, BE), ...set(O),
      ...g(RELU), ...IF,
      // (o < 0 ? 0 : o) + 0, as pmax(o, 0) + 0 lane-wise.
      ...f32Const0, ...g(O), ...g(O), ...f32Const0, ...F32_LT, ...SELECT, ...f32Const0, ...F32_ADD, ...set(O),
      ...END,
      ...g(RELU), ...i32Const(2), ...I32_EQ, ...IF, ...f32Const(6), ...g(O), ...g(O), ...f32Const(6), ...F32_GE, ...SELECT, ...set(O), ...END,
      ...elem(OP, RS, I), ...g(O), ...F32_STORE,
      ...inc(I, i32Const(1)),
    ]),
  ];
  return [...locals([[5, I32], [6, 0x7d], [8, V128]]), ...sixes(SIXV), ...rows({ R, ROWS, J, NC, RS, T, VEC }, setup, perRow), ...END];
}

/** Locals of the backward's per-element start (see backVec / backScalar). */
interface Back {
  GP: number; XP: number; RS: number; I: number; RELU: number;
  MH: number; ML: number; IV: number; S: number; BE: number; D: number; H: number; M: number;
  X: number; MHV: number; MLV: number; IVV: number; SV: number; BEV: number; DV: number; HV: number; GV: number;
  /** The batch norm's output o (f32 and v128) for the mask, 6 in every lane, all-ones lanes unless ReLU6. */
  O: number; OV: number; SIXV: number; NOT6V: number;
}

/** The backward's per-channel values k = 0…4 (μhi, μlo, inv, s, β) of row J. */
const backParams = (PP: number, J: number, l: Back): number[] => [
  ...param(PP, J, 0, l.MH, l.MHV), ...param(PP, J, 1, l.ML, l.MLV), ...param(PP, J, 2, l.IV, l.IVV), ...param(PP, J, 3, l.S, l.SV), ...param(PP, J, 4, l.BE, l.BEV),
];

/** 6 in every float32 lane of the v128 local v (ReLU6's top). */
const sixes = (v: number): number[] => [...f32Const(6), ...F32X4_SPLAT, ...set(v)];
/** All-ones lanes in the v128 local v unless the i32 local relu is 2 (ReLU6), then zero lanes. */
const notSix = (relu: number, v: number): number[] => [...i32Const(0), ...g(relu), ...i32Const(2), ...I32_NE, ...I32_SUB, ...I32X4_SPLAT, ...set(v)];

/**
 * The backward's per-element start, shared by bnGradSums32 and bnDx32: d and h = d·inv of the
 * x vector at (RS + I) into DV, HV, and g there into GV — with RELU (the fused activation,
 * 1 ReLU, 2 ReLU6) (mask ? g : 0) + 0 for the mask o > 0 (and o < 6) of o = d·s + β, the
 * batch norm's output computed by the forward's float32 operations.
 */
function backVec(l: Back): number[] {
  return [
    ...elem(l.XP, l.RS, l.I), ...v128Load(0), ...set(l.X),
    ...dOf(l.X, l.MHV, l.MLV), ...set(l.DV), ...g(l.DV), ...g(l.IVV), ...F32X4_MUL, ...set(l.HV),
    ...elem(l.GP, l.RS, l.I), ...v128Load(0), ...set(l.GV),
    ...g(l.RELU), ...IF,
    ...oOf(l.DV, l.SV, l.BEV), ...set(l.OV),
    ...g(l.GV), ...v128Zero,
    // o > 0 and (o < 6 or not ReLU6)
    ...g(l.OV), ...v128Zero, ...F32X4_GT, ...g(l.OV), ...g(l.SIXV), ...F32X4_LT, ...g(l.NOT6V), ...V128_OR, ...V128_AND,
    ...BITSELECT, ...v128Zero, ...F32X4_ADD, ...set(l.GV),
    ...END,
  ];
}

/** The same for one element: h into the f32 local H, the (gated) g into the f32 local M. */
function backScalar(l: Back): number[] {
  return [
    ...elem(l.XP, l.RS, l.I), ...F32_LOAD, ...dOf1(l.MH, l.ML), ...set(l.D), ...g(l.D), ...g(l.IV), ...F32_MUL, ...set(l.H),
    ...elem(l.GP, l.RS, l.I), ...F32_LOAD, ...set(l.M),
    ...g(l.RELU), ...IF,
    ...oOf1(l.D, l.S, l.BE), ...set(l.O),
    ...g(l.M), ...f32Const0,
    ...g(l.O), ...f32Const0, ...F32_GT, ...g(l.O), ...f32Const(6), ...F32_LT, ...g(l.RELU), ...i32Const(2), ...I32_NE, ...I32_OR, ...I32_AND,
    ...SELECT, ...f32Const0, ...F32_ADD, ...set(l.M),
    ...END,
  ];
}

/**
 * `bnGradSums32` (8 i32 parameters); with `keep` (`bnGradSumsKeep32`) it also stores each
 * element's m over g and h over x, for {@link bnDxKept32Func}.
 */
export function bnGradSums32Func(keep = false): number[] {
  const GP = 0, XP = 1, ROWS = 2, T = 3, NC = 4, ACCP = 5, PP = 6, RELU = 7;
  const R = 8, J = 9, RS = 10, I = 11, VEC = 12, P = 13;
  const SA = 14, SB = 15;
  const MH = 16, ML = 17, IV = 18, S = 19, BE = 20, D = 21, H = 22, M = 23, O = 24;
  const A0 = 25, A1 = 26, B0 = 27, B1 = 28, L = 29, X = 30, MHV = 31, MLV = 32, IVV = 33, SV = 34, BEV = 35, DV = 36, HV = 37, GV = 38, OV = 39, SIXV = 40, NOT6V = 41;
  const l: Back = { GP, XP, RS, I, RELU, MH, ML, IV, S, BE, D, H, M, X, MHV, MLV, IVV, SV, BEV, DV, HV, GV, O, OV, SIXV, NOT6V };
  // Σ m and Σ m·h in float64: m and h promoted (their product is exact there).
  const half = (h: Half, a: number, b: number): number[] => [
    ...h(GV), ...set(L),
    ...g(a), ...g(L), ...F64X2_ADD, ...set(a),
    ...g(b), ...g(L), ...h(HV), ...F64X2_MUL, ...F64X2_ADD, ...set(b),
  ];
  const perRow = [
    ...v128Zero, ...set(A0), ...v128Zero, ...set(A1), ...v128Zero, ...set(B0), ...v128Zero, ...set(B1),
    ...i32Const(0), ...set(I),
    ...whileLt(I, VEC, [
      ...backVec(l), ...half(LO, A0, B0), ...half(HI, A1, B1),
      ...(keep ? [...elem(GP, RS, I), ...g(GV), ...v128Store(0), ...elem(XP, RS, I), ...g(HV), ...v128Store(0)] : []),
      ...inc(I, i32Const(4)),
    ]),
    ...fold(A0, A1), ...set(SA), ...fold(B0, B1), ...set(SB),
    ...whileLt(I, T, [
      ...backScalar(l),
      ...(keep ? [...elem(GP, RS, I), ...g(M), ...F32_STORE, ...elem(XP, RS, I), ...g(H), ...F32_STORE] : []),
      ...g(SA), ...g(M), ...F64_PROMOTE, ...F64_ADD, ...set(SA),
      ...g(SB), ...g(M), ...F64_PROMOTE, ...g(H), ...F64_PROMOTE, ...F64_MUL, ...F64_ADD, ...set(SB),
      ...inc(I, i32Const(1)),
    ]),
    ...perChannel(ACCP, J, 4), ...localTee(P), ...g(P), ...F64_LOAD, ...g(SA), ...F64_ADD, ...F64_STORE,
    ...perChannel(ACCP, J, 4, 8), ...localTee(P), ...g(P), ...F64_LOAD, ...g(SB), ...F64_ADD, ...F64_STORE,
  ];
  return [...locals([[6, I32], [2, F64], [9, 0x7d], [17, V128]]), ...sixes(SIXV), ...notSix(RELU, NOT6V), ...rows({ R, ROWS, J, NC, RS, T, VEC }, backParams(PP, J, l), perRow), ...END];
}

/** `bnDx32` (8 i32 parameters). */
export function bnDx32Func(): number[] {
  const GP = 0, XP = 1, DXP = 2, ROWS = 3, T = 4, NC = 5, PP = 6, RELU = 7;
  const R = 8, J = 9, RS = 10, I = 11, VEC = 12;
  const MH = 13, ML = 14, IV = 15, S = 16, BE = 17, C2 = 18, C3 = 19, D = 20, H = 21, M = 22, O = 23;
  const X = 24, MHV = 25, MLV = 26, IVV = 27, SV = 28, BEV = 29, C2V = 30, C3V = 31, DV = 32, HV = 33, GV = 34, OV = 35, SIXV = 36, NOT6V = 37;
  const l: Back = { GP, XP, RS, I, RELU, MH, ML, IV, S, BE, D, H, M, X, MHV, MLV, IVV, SV, BEV, DV, HV, GV, O, OV, SIXV, NOT6V };
  const setup = [...backParams(PP, J, l), ...param(PP, J, 5, C2, C2V), ...param(PP, J, 6, C3, C3V)];
  const perRow = [
    ...i32Const(0), ...set(I),
    ...whileLt(I, VEC, [
      ...backVec(l),
      // dx = (s·m − c2) − h·c3
      ...elem(DXP, RS, I), ...g(SV), ...g(GV), ...F32X4_MUL, ...g(C2V), ...F32X4_SUB, ...g(HV), ...g(C3V), ...F32X4_MUL, ...F32X4_SUB, ...v128Store(0),
      ...inc(I, i32Const(4)),
    ]),
    ...whileLt(I, T, [
      ...backScalar(l),
      ...elem(DXP, RS, I), ...g(S), ...g(M), ...F32_MUL, ...g(C2), ...F32_SUB, ...g(H), ...g(C3), ...F32_MUL, ...F32_SUB, ...F32_STORE,
      ...inc(I, i32Const(1)),
    ]),
  ];
  return [...locals([[5, I32], [11, 0x7d], [14, V128]]), ...sixes(SIXV), ...notSix(RELU, NOT6V), ...rows({ R, ROWS, J, NC, RS, T, VEC }, setup, perRow), ...END];
}

/** The type of bnSum32 and bnNorm32 (7 i32, no results); the others share the GEMM module's 8-i32 type. */
export const BN_SUM32_TYPE = i32FuncType(7);

/**
 * `bnDxKept32(mp, hp, dxp, rows, T, nc, pp)` (7 i32 parameters): bnDx32's dx = (s·m − c2) − h·c3
 * from the m and h that bnGradSumsKeep32 stored, so the same bits without computing them again.
 */
export function bnDxKept32Func(): number[] {
  const MP = 0, HP = 1, DXP = 2, ROWS = 3, T = 4, NC = 5, PP = 6;
  const R = 7, J = 8, RS = 9, I = 10, VEC = 11;
  const S = 12, C2 = 13, C3 = 14;
  const SV = 15, C2V = 16, C3V = 17;
  const setup = [...param(PP, J, 3, S, SV), ...param(PP, J, 5, C2, C2V), ...param(PP, J, 6, C3, C3V)];
  const perRow = [
    ...i32Const(0), ...set(I),
    ...whileLt(I, VEC, [
      ...elem(DXP, RS, I),
      ...g(SV), ...elem(MP, RS, I), ...v128Load(0), ...F32X4_MUL, ...g(C2V), ...F32X4_SUB,
      ...elem(HP, RS, I), ...v128Load(0), ...g(C3V), ...F32X4_MUL, ...F32X4_SUB, ...v128Store(0),
      ...inc(I, i32Const(4)),
    ]),
    ...whileLt(I, T, [
      ...elem(DXP, RS, I),
      ...g(S), ...elem(MP, RS, I), ...F32_LOAD, ...F32_MUL, ...g(C2), ...F32_SUB,
      ...elem(HP, RS, I), ...F32_LOAD, ...g(C3), ...F32_MUL, ...F32_SUB, ...F32_STORE,
      ...inc(I, i32Const(1)),
    ]),
  ];
  return [...locals([[5, I32], [3, 0x7d], [3, V128]]), ...rows({ R, ROWS, J, NC, RS, T, VEC }, setup, perRow), ...END];
}
