import {
  END, F32_ADD, F32_LOAD, F32_STORE, F32X4_ADD, F32X4_MUL, I32, I32_ADD, I32_LT_U, I32_MUL, I32_SHL, I32_SUB, i32Const, IF, ELSE, inc, localGet, localSet, locals, simd, uleb, V128, F64, F64_ADD, F64_PROMOTE, f64Const0, v128Load, v128Load32Splat, v128Store, v128Zero, whileDo, whileLt, i32FuncType, EVEN_LANES, extractLane, I32_EQ, I32_GE_S, I32_GT_S, I32_LE_S, I32_LT_S, ODD_LANES, I32X4_SPLAT, V128_AND,
} from './wasmAsm';

/*
 * Depthwise k×k planes (k = 3 or 5, dilation 1, stride 1 or 2) in float32 SIMD with the taps
 * unrolled, many planes per call, each plane first copied into a zero-padded scratch plane.
 * ops/kernels/depthwise.ts drives them; they join the GEMM module (wasm.ts) so every worker
 * has them on the shared memory.
 *
 * `dw{k}f32(xp, wp, bp, op, np, H, W, outH, outW, stride, spread, pad, sp, pitch, zlen, xstep, ostep, hasBias)`
 *   For each of np planes (x planes xstep bytes apart, out planes ostep apart, k·k filters
 *   and one bias per plane): place x[i, j] at scratch row pad + i·spread, column
 *   pad + j·spread (rows `pitch` bytes apart; the scratch's first zlen bytes are zeroed once
 *   per call, and only those places are written afterwards), then
 *     out[oh, ow] = bias + Σ over (ki, kj) in order of scratch[oh·stride + ki, ow·stride + kj]·w[ki, kj]
 *   each product and sum rounded to float32, four columns per f32x4 vector (a last partial
 *   group overlaps the one before; under four columns, the lanes past outW are not stored).
 *   The forward pass is spread 1; dx is the same correlation of dout, spread by the stride,
 *   with the filter turned 180° and padding k − 1 − pad.
 *
 * `dw{k}g32(xp, gp, dp, np, H, W, outH, outW, stride, pad, sp, pitch, zlen, xstep, gstep)`
 *   The weight and bias gradients of np planes: x placed as above (spread 1), then for each
 *   tap t four lane sums, lane j taking the products dout[oh, ow]·scratch[oh·stride + ki, ow·stride + kj]
 *   with ow ≡ j (mod 4) in (oh, ow) order (past outW, a product masked to +0), and
 *   dp[t] = ((lane0 + lane1) + (lane2 + lane3)), all in float32, stored as a float64; then
 *   dp[k·k] = Σ dout in (oh, ow) order in float64. k·k + 1 float64 per plane (the driver's
 *   per-(sample, channel) partials).
 *
 * The zero padding is the only difference from skipping the taps outside the image: ±0
 * products, which leave every float32 sum as it was (a lane sum never becomes −0), so the
 * scalar replicas in depthwise.ts skip them and give the same bits for finite data.
 *
 * WHY: the generic planes (wasmDepthwise.ts) fetch and splat a weight for every tap and
 * branch per row, ≈ 0.8–2 ns a tap on these cores; with the taps unrolled, the filter in
 * registers and no bounds left after padding, a tap is a load, a multiply and an add. One
 * call per block of channels rather than per plane also removes the JS↔wasm crossing that
 * dominated 4×4 and 2×2 planes.
 */

const I32X4_LT_S = simd(0x39);
const LANE_INDEX = simd(0x0c, ...new Uint8Array(new Int32Array([0, 1, 2, 3]).buffer));
/** f32.store at a constant byte offset from the address. */
const F32_STORE_AT = (offset: number): number[] => [0x38, 2, ...uleb(offset)];
/** f64.store at a constant byte offset from the address. */
const F64_STORE_AT = (offset: number): number[] => [0x39, 3, ...uleb(offset)];
const g = localGet;
const set = localSet;
const c = i32Const;

/** Zeroes zlen bytes (a multiple of 16) from sp, using local a. */
const zero = (sp: number, zlen: number, a: number): number[] => [
  ...g(sp), ...set(a),
  ...whileDo([...g(a), ...g(sp), ...g(zlen), ...I32_ADD, ...I32_LT_U], [...g(a), ...v128Zero, ...v128Store(0), ...inc(a, c(16))]),
];

/**
 * Places the H×W plane at x into the scratch: row i at sp + (pad + i·spread)·pitch + pad·4,
 * columns `spread` apart (four at a time when 1). Locals i, j, src, dst.
 */
function place(x: number, H: number, W: number, spread: number, pad: number, sp: number, pitch: number, [i, j, src, dst]: number[]): number[] {
  return [
    ...c(0), ...set(i),
    ...whileLt(i, H, [
      ...g(sp), ...g(pad), ...g(i), ...g(spread), ...I32_MUL, ...I32_ADD, ...g(pitch), ...I32_MUL, ...I32_ADD, ...g(pad), ...c(2), ...I32_SHL, ...I32_ADD, ...set(dst),
      ...g(x), ...g(i), ...g(W), ...I32_MUL, ...c(2), ...I32_SHL, ...I32_ADD, ...set(src),
      ...c(0), ...set(j),
      ...g(spread), ...c(1), ...I32_EQ, ...IF,
      ...whileDo([...g(j), ...c(4), ...I32_ADD, ...g(W), ...I32_LE_S], [
        ...g(dst), ...g(src), ...v128Load(0), ...v128Store(0), ...inc(dst, c(16)), ...inc(src, c(16)), ...inc(j, c(4)),
      ]),
      ...whileLt(j, W, [...g(dst), ...g(src), ...F32_LOAD, ...F32_STORE, ...inc(dst, c(4)), ...inc(src, c(4)), ...inc(j, c(1))]),
      ...ELSE,
      ...whileLt(j, W, [
        ...g(dst), ...g(src), ...F32_LOAD, ...F32_STORE, ...inc(dst, [...g(spread), ...c(2), ...I32_SHL]), ...inc(src, c(4)), ...inc(j, c(1)),
      ]),
      ...END,
      ...inc(i, c(1)),
    ]),
  ];
}

/**
 * The k·k scratch vectors of one output group, in (ki, kj) order, handed to `use(t, xExpr)`:
 * row ki starts at local `ra` (advanced by pitch per row); stride 1 loads at kj·4 bytes,
 * stride 2 keeps the even or odd lanes of two loads (temps t0…, loaded once per row).
 */
function taps(k: number, stride: 1 | 2, ra: number, pitch: number, temps: number, use: (t: number, x: number[]) => number[]): number[] {
  const out: number[] = [];
  for (let ki = 0; ki < k; ki++) {
    if (stride === 2) {
      const m = ((k - 1) >> 1) + 3;
      for (let i = 0; i < m; i++) out.push(...g(ra), ...v128Load(8 * i), ...set(temps + i));
    }
    for (let kj = 0; kj < k; kj++) {
      const x = stride === 1
        ? [...g(ra), ...v128Load(4 * kj)]
        : [...g(temps + (kj >> 1)), ...g(temps + (kj >> 1) + 2), ...((kj & 1) === 0 ? EVEN_LANES : ODD_LANES)];
      out.push(...use(ki * k + kj, x));
    }
    if (ki < k - 1) out.push(...inc(ra, g(pitch)));
  }
  return out;
}

/**
 * For oh < outH: local r = the scratch row oh·stride (sp + oh·stride·pitch), local o = row oh
 * of the plane at local `plane` (outW floats a row), then `row(1)` or `row(2)` by the stride.
 */
function outputRows(
  L: { oh: number; outH: number; sp: number; stride: number; pitch: number; r: number; plane: number; outW: number; o: number },
  row: (stride: 1 | 2) => number[],
): number[] {
  return [
    ...c(0), ...set(L.oh),
    ...whileLt(L.oh, L.outH, [
      ...g(L.sp), ...g(L.oh), ...g(L.stride), ...I32_MUL, ...g(L.pitch), ...I32_MUL, ...I32_ADD, ...set(L.r),
      ...g(L.plane), ...g(L.oh), ...g(L.outW), ...I32_MUL, ...c(2), ...I32_SHL, ...I32_ADD, ...set(L.o),
      ...g(L.stride), ...c(1), ...I32_EQ, ...IF, ...row(1), ...ELSE, ...row(2), ...END,
      ...inc(L.oh, c(1)),
    ]),
  ];
}

/** The `dw{k}f32` body (18 i32 parameters; see the file comment). */
export function dwKf32Func(k: number): number[] {
  const XP = 0, WP = 1, BP = 2, OP = 3, NP = 4, H = 5, W = 6, OUTH = 7, OUTW = 8, STRIDE = 9, SPREAD = 10, PAD = 11, SP = 12, PITCH = 13, ZLEN = 14, XSTEP = 15, OSTEP = 16, HASB = 17;
  const PL = 18, I = 19, J = 20, SRC = 21, DST = 22, OH = 23, OW = 24, R = 25, O = 26, A = 27, X = 28, OO = 29, WQ = 30, BQ = 31, RA = 32;
  const K = k * k;
  const WV = 33, BV = WV + K, ACC = BV + 1, T = ACC + 1;
  const nTemps = ((k - 1) >> 1) + 3;
  // One output row at this stride: groups of four columns, the last one overlapping.
  const group = (stride: 1 | 2): number[] => [
    ...g(R), ...g(OW), ...c(stride === 1 ? 2 : 3), ...I32_SHL, ...I32_ADD, ...set(RA),
    ...g(BV), ...set(ACC),
    ...taps(k, stride, RA, PITCH, T, (t, x) => [...g(ACC), ...x, ...g(WV + t), ...F32X4_MUL, ...F32X4_ADD, ...set(ACC)]),
  ];
  const row = (stride: 1 | 2): number[] => [
    ...g(OUTW), ...c(4), ...I32_GE_S, ...IF,
    ...c(0), ...set(OW),
    ...whileLt(OW, OUTW, [
      ...g(OW), ...c(4), ...I32_ADD, ...g(OUTW), ...I32_GT_S, ...IF, ...g(OUTW), ...c(4), ...I32_SUB, ...set(OW), ...END,
      ...group(stride),
      ...g(O), ...g(OW), ...c(2), ...I32_SHL, ...I32_ADD, ...g(ACC), ...v128Store(0),
      ...inc(OW, c(4)),
    ]),
    ...ELSE,
    ...c(0), ...set(OW),
    ...group(stride),
    ...[0, 1, 2].flatMap((l) => [
      ...c(l), ...g(OUTW), ...I32_LT_S, ...IF, ...g(O), ...g(ACC), ...extractLane(l), ...F32_STORE, ...END, ...inc(O, c(4)),
    ]),
    ...END,
  ];
  const body = [
    ...zero(SP, ZLEN, A),
    ...g(XP), ...set(X), ...g(OP), ...set(OO), ...g(WP), ...set(WQ), ...g(BP), ...set(BQ),
    ...c(0), ...set(PL),
    ...whileLt(PL, NP, [
      ...place(X, H, W, SPREAD, PAD, SP, PITCH, [I, J, SRC, DST]),
      ...Array.from({ length: K }, (_, t) => [...g(WQ), ...v128Load32Splat(4 * t), ...set(WV + t)]).flat(),
      ...g(HASB), ...IF, ...g(BQ), ...v128Load32Splat(0), ...set(BV), ...ELSE, ...v128Zero, ...set(BV), ...END,
      ...outputRows({ oh: OH, outH: OUTH, sp: SP, stride: STRIDE, pitch: PITCH, r: R, plane: OO, outW: OUTW, o: O }, row),
      ...inc(X, g(XSTEP)), ...inc(OO, g(OSTEP)), ...inc(WQ, c(4 * K)), ...inc(BQ, c(4)), ...inc(PL, c(1)),
    ]),
  ];
  return [...locals([[15, I32], [K + 2 + nTemps, V128]]), ...body, ...END];
}

/** The `dw{k}g32` body (15 i32 parameters; see the file comment). */
export function dwKg32Func(k: number): number[] {
  const XP = 0, GP = 1, DP = 2, NP = 3, H = 4, W = 5, OUTH = 6, OUTW = 7, STRIDE = 8, PAD = 9, SP = 10, PITCH = 11, ZLEN = 12, XSTEP = 13, GSTEP = 14;
  const PL = 15, I = 16, J = 17, SRC = 18, DST = 19, OH = 20, OW = 21, R = 22, GR = 23, A = 24, X = 25, G = 26, DQ = 27, RA = 28, ONE = 29, GE = 30;
  const K = k * k;
  const DB = 31;
  const ACC = 32, GV = ACC + K, MASK = GV + 1, T = MASK + 1;
  const nTemps = ((k - 1) >> 1) + 3;
  // acc_t += dout·x over one group; `masked`: lanes past outW contribute +0.
  const group = (stride: 1 | 2, masked: boolean): number[] => [
    ...g(R), ...g(OW), ...c(stride === 1 ? 2 : 3), ...I32_SHL, ...I32_ADD, ...set(RA),
    ...g(GR), ...g(OW), ...c(2), ...I32_SHL, ...I32_ADD, ...v128Load(0), ...set(GV),
    ...taps(k, stride, RA, PITCH, T, (t, x) => [
      ...g(ACC + t), ...g(GV), ...x, ...F32X4_MUL, ...(masked ? [...g(MASK), ...V128_AND] : []), ...F32X4_ADD, ...set(ACC + t),
    ]),
  ];
  const row = (stride: 1 | 2): number[] => [
    ...c(0), ...set(OW),
    ...whileDo([...g(OW), ...c(4), ...I32_ADD, ...g(OUTW), ...I32_LE_S], [...group(stride, false), ...inc(OW, c(4))]),
    ...g(OW), ...g(OUTW), ...I32_LT_S, ...IF,
    ...LANE_INDEX, ...g(OUTW), ...g(OW), ...I32_SUB, ...I32X4_SPLAT, ...I32X4_LT_S, ...set(MASK),
    ...group(stride, true),
    ...END,
  ];
  const body = [
    ...zero(SP, ZLEN, A),
    ...g(XP), ...set(X), ...g(GP), ...set(G), ...g(DP), ...set(DQ), ...c(1), ...set(ONE),
    ...c(0), ...set(PL),
    ...whileLt(PL, NP, [
      ...place(X, H, W, ONE, PAD, SP, PITCH, [I, J, SRC, DST]),
      ...Array.from({ length: K }, (_, t) => [...v128Zero, ...set(ACC + t)]).flat(),
      ...outputRows({ oh: OH, outH: OUTH, sp: SP, stride: STRIDE, pitch: PITCH, r: R, plane: G, outW: OUTW, o: GR }, row),
      ...Array.from({ length: K }, (_, t) => [
        ...g(DQ),
        ...g(ACC + t), ...extractLane(0), ...g(ACC + t), ...extractLane(1), ...F32_ADD,
        ...g(ACC + t), ...extractLane(2), ...g(ACC + t), ...extractLane(3), ...F32_ADD, ...F32_ADD,
        ...F64_PROMOTE, ...F64_STORE_AT(8 * t),
      ]).flat(),
      // db: the plane's dout summed in float64, in order (the JS partials' sum).
      ...f64Const0, ...set(DB), ...g(G), ...set(A),
      ...g(G), ...g(OUTH), ...g(OUTW), ...I32_MUL, ...c(2), ...I32_SHL, ...I32_ADD, ...set(GE),
      ...whileLt(A, GE, [...g(DB), ...g(A), ...F32_LOAD, ...F64_PROMOTE, ...F64_ADD, ...set(DB), ...inc(A, c(4))]),
      ...g(DQ), ...g(DB), ...F64_STORE_AT(8 * K),
      ...inc(X, g(XSTEP)), ...inc(G, g(GSTEP)), ...inc(DQ, c(8 * (K + 1))), ...inc(PL, c(1)),
    ]),
  ];
  return [...locals([[16, I32], [1, F64], [K + 2 + nTemps, V128]]), ...body, ...END];
}


export const DWKF32_TYPE = i32FuncType(18);
export const DWKG32_TYPE = i32FuncType(15);

/** `dw{k}f32` as JS sees it (byte addresses; see the file comment). */
export type DwKf32Fn = (
  xp: number, wp: number, bp: number, op: number, np: number, H: number, W: number, outH: number, outW: number,
  stride: number, spread: number, pad: number, sp: number, pitch: number, zlen: number, xstep: number, ostep: number, hasBias: number,
) => void;
/** `dw{k}g32` as JS sees it. */
export type DwKg32Fn = (
  xp: number, gp: number, dp: number, np: number, H: number, W: number, outH: number, outW: number,
  stride: number, pad: number, sp: number, pitch: number, zlen: number, xstep: number, gstep: number,
) => void;
