import {
  BITSELECT, END, EVEN_LANES, F32, F32_GT, F32_LOAD, F32_STORE, F32X4_GT, I32, I32_ADD, I32_AND, I32_MUL, I32_OR, I32_SHL, I32_SUB, i32Const, IF, inc, localGet, localSet, locals, ODD_LANES, SELECT, simd, V128, v128Load, v128Store, whileLt, V128_OR, I32X4_SPLAT,
} from './wasmAsm';

/*
 * `maxPool2x2f32(xp, op, ap, planes, H, W, base, wantArgmax)`: the 2×2 stride-2 max pool without
 * padding over `planes` float32 planes of H×W (contiguous from byte address xp), giving
 * planes·⌊H/2⌋·⌊W/2⌋ maxima at op and, when wantArgmax ≠ 0, their flat indices (base + index
 * into the planes) as i32 at ap. Each window is visited in row-major order, a value replacing
 * the maximum when `v > max || v ≠ v` — the JS loop's order and PyTorch's CPU rule, so ties
 * keep the first, a NaN wins and a later NaN wins over an earlier one. Four windows per f32x4
 * (the even and odd lanes of two shifted loads), the comparisons as masks and selects; a row's
 * last ⌊W/2⌋ mod 4 windows one at a time with the same rule in scalars.
 *
 * WHY: the JS loop branches on every comparison, and on activations the branches are coin
 * flips — ≈ 23 ns a window measured (64·32 planes of 32×32: 9.4 ms); selects do not mispredict.
 */

const F32X4_NE = simd(0x42);
const I32X4_ADD = simd(0xae);
const F32_NE = [0x5c];
const I32_SHR_U = [0x76];
const I32_STORE = [0x36, 2, 0];
const i32x4Const = (a: number, b: number, c: number, d: number): number[] => simd(0x0c, ...new Uint8Array(new Int32Array([a, b, c, d]).buffer));
const g = localGet;
const set = localSet;
const c = i32Const;

export function maxPool2x2f32Func(): number[] {
  const XP = 0, OP = 1, AP = 2, PLANES = 3, H = 4, W = 5, BASE = 6, WANT = 7;
  const P = 8, OH = 9, R0 = 10, OW = 11, OUTW = 12, OUTH = 13, IDX = 14, O = 15, A = 16, OW4 = 17, W4 = 18, ADDR = 19, SAT = 20, SM = 21, SI0 = 22;
  const V = 23, BEST = 24, AT = 25, M = 26, I0 = 27, WV = 28, WV1 = 29;
  const SV = 30, SBEST = 31;

  // Vector window step: V against BEST; where it wins, BEST = V and AT = I0 + off.
  const vstep = (off: number[]): number[] => [
    ...g(V), ...g(BEST), ...F32X4_GT, ...g(V), ...g(V), ...F32X4_NE, ...V128_OR, ...set(M),
    ...g(V), ...g(BEST), ...g(M), ...BITSELECT, ...set(BEST),
    ...g(I0), ...off, ...I32X4_ADD, ...g(AT), ...g(M), ...BITSELECT, ...set(AT),
  ];
  // The even (a, c) or odd (b, d) lanes of the eight floats at ADDR (+ rowOff bytes).
  const pair = (rowOff: number[], lanes: number[]): number[] => [
    ...g(ADDR), ...rowOff, ...I32_ADD, ...v128Load(0), ...g(ADDR), ...rowOff, ...I32_ADD, ...v128Load(16), ...lanes, ...set(V),
  ];
  const noOff = c(0);
  const vectorLoop = whileLt(OW, OW4, [
    ...g(R0), ...g(OW), ...c(3), ...I32_SHL, ...I32_ADD, ...set(ADDR), // ADDR = R0 + 8·OW
    // I0 = IDX + 2·OW + (0, 2, 4, 6)
    ...g(IDX), ...g(OW), ...g(OW), ...I32_ADD, ...I32_ADD, ...I32X4_SPLAT, ...i32x4Const(0, 2, 4, 6), ...I32X4_ADD, ...set(I0),
    ...pair(noOff, EVEN_LANES), ...g(V), ...set(BEST), ...g(I0), ...set(AT),
    ...pair(noOff, ODD_LANES), ...vstep(i32x4Const(1, 1, 1, 1)),
    ...pair(g(W4), EVEN_LANES), ...vstep(g(WV)),
    ...pair(g(W4), ODD_LANES), ...vstep(g(WV1)),
    ...g(O), ...g(BEST), ...v128Store(0),
    ...g(WANT), ...IF, ...g(A), ...g(AT), ...v128Store(0), ...END,
    ...inc(O, c(16)), ...inc(A, c(16)), ...inc(OW, c(4)),
  ]);

  // Scalar window step: the float at ADDR + off against SBEST; where it wins, SAT = SI0 + idx.
  const sstep = (off: number[], idx: number[]): number[] => [
    ...g(ADDR), ...off, ...I32_ADD, ...F32_LOAD, ...set(SV),
    ...g(SV), ...g(SBEST), ...F32_GT, ...g(SV), ...g(SV), ...F32_NE, ...I32_OR, ...set(SM),
    ...g(SV), ...g(SBEST), ...g(SM), ...SELECT, ...set(SBEST),
    ...g(SI0), ...idx, ...I32_ADD, ...g(SAT), ...g(SM), ...SELECT, ...set(SAT),
  ];
  const scalarLoop = whileLt(OW, OUTW, [
    ...g(R0), ...g(OW), ...c(3), ...I32_SHL, ...I32_ADD, ...set(ADDR),
    ...g(IDX), ...g(OW), ...g(OW), ...I32_ADD, ...I32_ADD, ...set(SI0),
    ...g(ADDR), ...F32_LOAD, ...set(SBEST), ...g(SI0), ...set(SAT),
    ...sstep(c(4), c(1)),
    ...sstep(g(W4), g(W)),
    ...sstep([...g(W4), ...c(4), ...I32_ADD], [...g(W), ...c(1), ...I32_ADD]),
    ...g(O), ...g(SBEST), ...F32_STORE,
    ...g(WANT), ...IF, ...g(A), ...g(SAT), ...I32_STORE, ...END,
    ...inc(O, c(4)), ...inc(A, c(4)), ...inc(OW, c(1)),
  ]);

  const body = [
    ...g(H), ...c(1), ...I32_SHR_U, ...set(OUTH),
    ...g(W), ...c(1), ...I32_SHR_U, ...set(OUTW),
    ...g(OUTW), ...g(OUTW), ...c(3), ...I32_AND, ...I32_SUB, ...set(OW4),
    ...g(W), ...c(2), ...I32_SHL, ...set(W4),
    ...g(W), ...I32X4_SPLAT, ...set(WV),
    ...g(W), ...c(1), ...I32_ADD, ...I32X4_SPLAT, ...set(WV1),
    ...g(OP), ...set(O), ...g(AP), ...set(A),
    ...c(0), ...set(P),
    ...whileLt(P, PLANES, [
      ...c(0), ...set(OH),
      ...whileLt(OH, OUTH, [
        // IDX = (P·H + 2·OH)·W, the row's first index; R0 its byte address; IDX += base.
        ...g(P), ...g(H), ...I32_MUL, ...g(OH), ...g(OH), ...I32_ADD, ...I32_ADD, ...g(W), ...I32_MUL, ...set(IDX),
        ...g(XP), ...g(IDX), ...c(2), ...I32_SHL, ...I32_ADD, ...set(R0),
        ...inc(IDX, g(BASE)),
        ...c(0), ...set(OW),
        ...vectorLoop,
        ...scalarLoop,
        ...inc(OH, c(1)),
      ]),
      ...inc(P, c(1)),
    ]),
  ];
  return [...locals([[15, I32], [7, V128], [2, F32]]), ...body, ...END];
}

