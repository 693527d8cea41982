import {
  ELSE, END, F32, F32_ADD, F32_LOAD, F32_MUL, F32_STORE, f32Const0, F32X4_ADD, F32X4_MUL, F32X4_SPLAT, I32, I32_ADD, I32_AND, I32_LT_U, I32_MUL, I32_SHL, I32_SUB, i32Const, i32FuncType, IF, inc, localGet, locals, localSet, simd, V128, v128Load, v128Store, v128Zero, vec, whileDo,
  EVEN_LANES, extractLane, I32_EQ, I32_GE_S, I32_GT_S, I32_LE_S, I32_LT_S,
} from './wasmAsm';

/*
 * Depthwise convolution planes in float32 SIMD (ops/kernels/depthwise.ts drives them), as
 * functions of the GEMM module (wasm.ts), so every worker has them on the shared memory.
 *
 * `dw32(xp, wp, op, H, W, outH, outW, c0, c1, kh, kw, stride, pad, dil, bias)` — one output
 * plane. Columns [c0, c1) (the caller's interior: all kw taps inside the row) go four per
 * f32x4 vector (a last partial group overlaps the one before; below four columns, one by
 * one); the columns outside it one by one, each tap checking its column. Each output is bias, then + x·w for the taps
 * in (ki, kj) order whose row is inside the image, every product and sum rounded to float32
 * — so a scalar loop with Math.fround reproduces it bit for bit (the boundary columns and the
 * no-wasm path do). Stride 1 loads four neighbours; stride 2 loads eight and keeps the even
 * ones (reading up to one element past the row: callers leave slack after the last plane).
 *
 * `dwGrad32(xp, gp, tp, nt, dp, W, outW, stride)` — the weight gradient of one plane, tap by
 * tap: Σ dout[oh, ow]·x[oh·s + Δ, ow·s + Δ'] over the output positions where the tap is inside
 * the image, given per tap in a table at tp (five i32: ohLo, ohHi, owLo, owHi, and the byte
 * offset of the tap's input element from x[oh·s, ow·s]). Per row, groups of four columns go
 * to the four lanes from owLo on, the rest to a scalar sum; the result is
 * ((lane0 + lane1) + (lane2 + lane3)) + scalar, all in float32, stored at dp + 4·t.
 *
 * WHY: a depthwise tap is one multiply-add, so the JS loops were bound by scalar issue
 * (≈ 1.5 ns a tap forward, 4–6 backward); four lanes and no per-element type conversions
 * cut that several times. Float64 planes stay in JS, as their gradient checks want.
 */

const I32_LOAD = [0x28, 2, 0];
/** if … else … end producing a v128. */
const IF_V128 = [0x04, V128];

const lt = (a: number, b: number): number[] => [...localGet(a), ...localGet(b), ...I32_LT_S];


/** The `dw32` body (signature: 14 i32, then bias as f32). */
export function dw32Func(): number[] {
  const XP = 0, WP = 1, OP = 2, H = 3, W = 4, OUTH = 5, OUTW = 6, C0 = 7, C1 = 8, KH = 9, KW = 10, STRIDE = 11, PAD = 12, DIL = 13, BIAS = 14;
  const OH = 15, OW = 16, KI = 17, KJ = 18, IH = 19, RP = 20, WQ = 21, STEP = 22, WIDE = 23, XROW = 24, IW = 25;
  const S = 26, ACC = 27;
  // rp = xp + ((ih·W + ow·stride − pad) << 2) for the current ki, or skip the row's weights.
  const rowStart = (): number[] => [
    ...localGet(OH), ...localGet(STRIDE), ...I32_MUL, ...localGet(PAD), ...I32_SUB, ...localGet(KI), ...localGet(DIL), ...I32_MUL, ...I32_ADD, ...localSet(IH),
  ];
  const rowPtr = [
    ...localGet(XP), ...localGet(IH), ...localGet(W), ...I32_MUL, ...localGet(OW), ...localGet(STRIDE), ...I32_MUL, ...I32_ADD, ...localGet(PAD), ...I32_SUB,
    ...i32Const(2), ...I32_SHL, ...I32_ADD, ...localSet(RP),
  ];
  const skipRow = inc(WQ, [...localGet(KW), ...i32Const(2), ...I32_SHL]);
  // The taps of one output (vector: four) over the rows inside the image.
  const taps = (tap: number[]): number[] => [
    ...localGet(WP), ...localSet(WQ), ...i32Const(0), ...localSet(KI),
    ...whileDo(lt(KI, KH), [
      ...rowStart(),
      ...localGet(IH), ...localGet(H), ...I32_LT_U, ...IF,
      ...rowPtr, ...i32Const(0), ...localSet(KJ),
      ...whileDo(lt(KJ, KW), [...tap, ...inc(WQ, i32Const(4)), ...inc(RP, localGet(STEP)), ...inc(KJ, i32Const(1))]),
      ...ELSE, ...skipRow, ...END,
      ...inc(KI, i32Const(1)),
    ]),
  ];
  const load4 = [
    ...localGet(STRIDE), ...i32Const(1), ...I32_EQ, ...IF_V128,
    ...localGet(RP), ...v128Load(0),
    ...ELSE, ...localGet(RP), ...v128Load(0), ...localGet(RP), ...v128Load(16), ...EVEN_LANES, ...END,
  ];
  const vecTap = [...localGet(ACC), ...load4, ...localGet(WQ), ...F32_LOAD, ...F32X4_SPLAT, ...F32X4_MUL, ...F32X4_ADD, ...localSet(ACC)];
  // Boundary columns: every tap checks its column too.
  const checkedTaps = [
    ...localGet(WP), ...localSet(WQ), ...i32Const(0), ...localSet(KI),
    ...whileDo(lt(KI, KH), [
      ...rowStart(),
      ...localGet(IH), ...localGet(H), ...I32_LT_U, ...IF,
      ...localGet(XP), ...localGet(IH), ...localGet(W), ...I32_MUL, ...i32Const(2), ...I32_SHL, ...I32_ADD, ...localSet(XROW),
      ...i32Const(0), ...localSet(KJ),
      ...whileDo(lt(KJ, KW), [
        ...localGet(OW), ...localGet(STRIDE), ...I32_MUL, ...localGet(PAD), ...I32_SUB, ...localGet(KJ), ...localGet(DIL), ...I32_MUL, ...I32_ADD, ...localSet(IW),
        ...localGet(IW), ...localGet(W), ...I32_LT_U, ...IF,
        ...localGet(S), ...localGet(XROW), ...localGet(IW), ...i32Const(2), ...I32_SHL, ...I32_ADD, ...F32_LOAD, ...localGet(WQ), ...F32_LOAD, ...F32_MUL, ...F32_ADD, ...localSet(S),
        ...END,
        ...inc(WQ, i32Const(4)), ...inc(KJ, i32Const(1)),
      ]),
      ...ELSE, ...skipRow, ...END,
      ...inc(KI, i32Const(1)),
    ]),
  ];
  const scalarTap = [...localGet(S), ...localGet(RP), ...F32_LOAD, ...localGet(WQ), ...F32_LOAD, ...F32_MUL, ...F32_ADD, ...localSet(S)];
  const outAddr = [...localGet(OP), ...localGet(OH), ...localGet(OUTW), ...I32_MUL, ...localGet(OW), ...I32_ADD, ...i32Const(2), ...I32_SHL, ...I32_ADD];
  const boundary = (from: number[], to: number): number[] => [
    ...from, ...localSet(OW),
    ...whileDo(lt(OW, to), [
      ...localGet(BIAS), ...localSet(S),
      ...checkedTaps,
      ...outAddr, ...localGet(S), ...F32_STORE,
      ...inc(OW, i32Const(1)),
    ]),
  ];
  const body = [
    ...localGet(DIL), ...i32Const(2), ...I32_SHL, ...localSet(STEP),
    ...localGet(C1), ...localGet(C0), ...I32_SUB, ...i32Const(4), ...I32_GE_S, ...localSet(WIDE),
    ...i32Const(0), ...localSet(OH),
    ...whileDo(lt(OH, OUTH), [
      ...boundary(i32Const(0), C0),
      ...localGet(C0), ...localSet(OW),
      // With four or more columns, a last partial group is computed as the four ending at c1,
      // overlapping the previous group: those outputs are recomputed to the same bits.
      ...whileDo([...lt(OW, C1), ...localGet(WIDE), ...I32_AND], [
        ...localGet(OW), ...i32Const(4), ...I32_ADD, ...localGet(C1), ...I32_GT_S, ...IF,
        ...localGet(C1), ...i32Const(4), ...I32_SUB, ...localSet(OW), ...END,
        ...localGet(BIAS), ...F32X4_SPLAT, ...localSet(ACC),
        ...taps(vecTap),
        ...outAddr, ...localGet(ACC), ...v128Store(0),
        ...inc(OW, i32Const(4)),
      ]),
      ...whileDo(lt(OW, C1), [
        ...localGet(BIAS), ...localSet(S),
        ...taps(scalarTap),
        ...outAddr, ...localGet(S), ...F32_STORE,
        ...inc(OW, i32Const(1)),
      ]),
      ...boundary(localGet(C1), OUTW),
      ...inc(OH, i32Const(1)),
    ]),
  ];
  return [...locals([[11, I32], [1, F32], [1, V128]]), ...body, ...END];
}

/** The `dwGrad32` body (signature: 8 i32). */
export function dwGrad32Func(): number[] {
  const XP = 0, GP = 1, TP = 2, NT = 3, DP = 4, W = 5, OUTW = 6, STRIDE = 7;
  const T = 8, OH = 9, OW = 10, OHHI = 11, OWLO = 12, OWHI = 13, XD = 14, GR = 15, XR = 16, TQ = 17, XROW = 18, XS = 19;
  const S = 20, ACC = 21;
  const field = (k: number): number[] => [...localGet(TQ), ...i32Const(4 * k), ...I32_ADD, ...I32_LOAD];
  // x at xr + ow·stride·4: four elements (stride 1) or the even four of eight (stride 2).
  const xAddr = [...localGet(XR), ...localGet(OW), ...localGet(XS), ...I32_MUL, ...I32_ADD];
  const gAddr = [...localGet(GR), ...localGet(OW), ...i32Const(2), ...I32_SHL, ...I32_ADD];
  const load4 = [
    ...localGet(STRIDE), ...i32Const(1), ...I32_EQ, ...IF_V128,
    ...xAddr, ...v128Load(0),
    ...ELSE, ...xAddr, ...v128Load(0), ...xAddr, ...v128Load(16), ...EVEN_LANES, ...END,
  ];
  const body = [
    ...localGet(STRIDE), ...localGet(W), ...I32_MUL, ...i32Const(2), ...I32_SHL, ...localSet(XROW),
    ...localGet(STRIDE), ...i32Const(2), ...I32_SHL, ...localSet(XS),
    ...localGet(TP), ...localSet(TQ), ...i32Const(0), ...localSet(T),
    ...whileDo(lt(T, NT), [
      ...v128Zero, ...localSet(ACC), ...f32Const0, ...localSet(S),
      ...field(0), ...localSet(OH), ...field(1), ...localSet(OHHI), ...field(2), ...localSet(OWLO), ...field(3), ...localSet(OWHI), ...field(4), ...localSet(XD),
      ...whileDo(lt(OH, OHHI), [
        ...localGet(GP), ...localGet(OH), ...localGet(OUTW), ...I32_MUL, ...i32Const(2), ...I32_SHL, ...I32_ADD, ...localSet(GR),
        ...localGet(XP), ...localGet(OH), ...localGet(XROW), ...I32_MUL, ...I32_ADD, ...localGet(XD), ...I32_ADD, ...localSet(XR),
        ...localGet(OWLO), ...localSet(OW),
        ...whileDo([...localGet(OW), ...i32Const(4), ...I32_ADD, ...localGet(OWHI), ...I32_LE_S], [
          ...localGet(ACC), ...gAddr, ...v128Load(0), ...load4, ...F32X4_MUL, ...F32X4_ADD, ...localSet(ACC),
          ...inc(OW, i32Const(4)),
        ]),
        ...whileDo(lt(OW, OWHI), [
          ...localGet(S), ...gAddr, ...F32_LOAD, ...xAddr, ...F32_LOAD, ...F32_MUL, ...F32_ADD, ...localSet(S),
          ...inc(OW, i32Const(1)),
        ]),
        ...inc(OH, i32Const(1)),
      ]),
      ...localGet(DP), ...localGet(T), ...i32Const(2), ...I32_SHL, ...I32_ADD,
      ...localGet(ACC), ...extractLane(0), ...localGet(ACC), ...extractLane(1), ...F32_ADD,
      ...localGet(ACC), ...extractLane(2), ...localGet(ACC), ...extractLane(3), ...F32_ADD, ...F32_ADD,
      ...localGet(S), ...F32_ADD, ...F32_STORE,
      ...inc(TQ, i32Const(20)), ...inc(T, i32Const(1)),
    ]),
  ];
  return [...locals([[12, I32], [1, F32], [1, V128]]), ...body, ...END];
}

/** Function types of the two: [params], no results. */
export const DW32_TYPE = [0x60, ...vec([...new Array(14).fill([I32]), [F32]]), ...vec([])];
export const DWGRAD32_TYPE = i32FuncType(8);

/** `dw32` as JS sees it (byte addresses; see the file comment). */
export type Dw32Fn = (
  xp: number, wp: number, op: number, H: number, W: number, outH: number, outW: number, c0: number, c1: number,
  kh: number, kw: number, stride: number, pad: number, dil: number, bias: number,
) => void;
/** `dwGrad32` as JS sees it. */
export type DwGrad32Fn = (xp: number, gp: number, tp: number, nt: number, dp: number, W: number, outW: number, stride: number) => void;
