import {
  END, F32_LOAD, f32Const, F32X4_ADD, F32X4_MUL, F32X4_SPLAT, F32X4_SUB, I32, I32_ADD, I32_LT_U, I32_MUL, I32_SHL, i32Const, i32FuncType, IF, inc, localGet, locals, localSet, shuffle, V128, v128Load, v128Store, whileLt,
} from './wasmAsm';

/*
 * The float32 transforms of Winograd F(4×4, 3×3) (ops/kernels/winogradTasks.ts drives them), as
 * functions of the GEMM module (wasm.ts), so every worker has them on the shared memory. The
 * four lanes of a vector are four tiles: the four columns of one packed panel of V and M.
 *
 * `wgIn32(a0, a1, a2, a3, vp, C, plane, row, vStep)` — V = Bᵀ d B of four tiles for C channels:
 * lane k's 6×6 input block of channel c starts at a_k + c·plane (rows `row` bytes apart, the
 * input zero padded so every block is inside it; each row is read as 8 floats, so 8 bytes of
 * slack follow the input). Result ξ of channel c goes to vp + ξ·vStep + 16·c.
 *
 * With lanes = four channels of one tile and `plane` = 16 (the next tile of a row), `wgIn32`
 * writes V with the tiles along k instead: the layout the weight gradient's products want.
 *
 * `wgGrad32(a0, a1, a2, a3, vp, n, step, row, vStep)` — dM = A·dY·Aᵀ (the adjoint of the
 * output transform) of n groups of four 4×4 blocks, for the weight gradient (see wgGrad32Func).
 *
 * `wgOut32(mp, mStep, fStep, F, o0, o1, o2, o3, nl, row, oStep, bp, hasBias)` — Y = Aᵀ M A (+ bias)
 * of four tiles for F filters: M_ξ of filter f at mp + ξ·mStep + f·fStep (four lanes = four
 * tiles); lane k's 4×4 output block of filter f goes to o_k + f·oStep, rows `row` bytes apart
 * (a padded output: whole blocks), for lanes k < nl. Bias f at bp + 4f when hasBias.
 *
 * Both compute in float32 in a fixed order (rows of the block first, then columns), so the
 * result is the same on every thread. WHY in wasm: the transforms are a few dozen additions
 * per value, which in JS (typed-array loads, float64 temporaries) took as long as the 36
 * products themselves; in f32x4 lanes they are a small part.
 */


/** Expressions over v128 locals. */
type Expr = number[];
const g = (l: number): Expr => localGet(l);
const add = (a: Expr, b: Expr): Expr => [...a, ...b, ...F32X4_ADD];
const sub = (a: Expr, b: Expr): Expr => [...a, ...b, ...F32X4_SUB];
const mul = (a: Expr, b: Expr): Expr => [...a, ...b, ...F32X4_MUL];

/**
 * 4×4 transpose of the v128 locals r[0..3] into out[0..3] (through t[0..3]): out[j] lane i =
 * r[i] lane j. The first stage interleaves pairs of rows, the second pairs of those.
 */
const transpose4 = (r: number[], t: number[], out: number[]): number[] => [
  ...g(r[0]), ...g(r[1]), ...shuffle(0, 4, 1, 5), ...localSet(t[0]),
  ...g(r[2]), ...g(r[3]), ...shuffle(0, 4, 1, 5), ...localSet(t[1]),
  ...g(r[0]), ...g(r[1]), ...shuffle(2, 6, 3, 7), ...localSet(t[2]),
  ...g(r[2]), ...g(r[3]), ...shuffle(2, 6, 3, 7), ...localSet(t[3]),
  ...g(t[0]), ...g(t[1]), ...shuffle(0, 1, 4, 5), ...localSet(out[0]),
  ...g(t[0]), ...g(t[1]), ...shuffle(2, 3, 6, 7), ...localSet(out[1]),
  ...g(t[2]), ...g(t[3]), ...shuffle(0, 1, 4, 5), ...localSet(out[2]),
  ...g(t[2]), ...g(t[3]), ...shuffle(2, 3, 6, 7), ...localSet(out[3]),
];

/** The six rows of Bᵀ·x for locals x[0..5], given constants 2, 4, 5 as locals. */
function btRows(x: number[], k2: number, k4: number, k5: number): Expr[] {
  const [x0, x1, x2, x3, x4, x5] = x.map(g);
  return [
    add(sub(mul(g(k4), x0), mul(g(k5), x2)), x4),
    sub(add(x3, x4), mul(g(k4), add(x1, x2))),
    add(sub(x4, x3), mul(g(k4), sub(x1, x2))),
    add(sub(x4, x2), mul(g(k2), sub(x3, x1))),
    add(sub(x4, x2), mul(g(k2), sub(x1, x3))),
    add(sub(mul(g(k4), x1), mul(g(k5), x3)), x5),
  ];
}

/** The `wgIn32` body (9 i32 parameters). */
export function wgIn32Func(): number[] {
  const A = [0, 1, 2, 3], VP = 4, C = 5, PLANE = 6, ROW = 7, VSTEP = 8;
  const CI = 9, OFF = 10, VQ = 11;
  // v128 locals
  const V0 = 12;
  const R = [V0, V0 + 1, V0 + 2, V0 + 3];
  const S = [V0 + 4, V0 + 5, V0 + 6, V0 + 7];
  const T = [V0 + 8, V0 + 9, V0 + 10, V0 + 11];
  const X = [V0 + 12, V0 + 13, V0 + 14, V0 + 15, V0 + 16, V0 + 17];
  const Y0 = V0 + 18; // Y[a][b] at Y0 + 6a + b (36)
  const K2 = Y0 + 36, K4 = K2 + 1, K5 = K2 + 2;
  const nV = K5 + 1 - V0;
  const body: number[] = [
    ...f32Const(2), ...F32X4_SPLAT, ...localSet(K2),
    ...f32Const(4), ...F32X4_SPLAT, ...localSet(K4),
    ...f32Const(5), ...F32X4_SPLAT, ...localSet(K5),
    ...i32Const(0), ...localSet(CI), ...i32Const(0), ...localSet(OFF), ...localGet(VP), ...localSet(VQ),
  ];
  const perChannel: number[] = [];
  for (let a = 0; a < 6; a++) {
    // Row a of the four blocks: floats 0–3 and 4–5 of each lane's row.
    for (let k = 0; k < 4; k++) {
      const addr = [...localGet(A[k]), ...localGet(OFF), ...I32_ADD, ...(a > 0 ? [...localGet(ROW), ...i32Const(a), ...I32_MUL, ...I32_ADD] : [])];
      perChannel.push(...addr, ...v128Load(0), ...localSet(R[k]), ...addr, ...v128Load(16), ...localSet(S[k]));
    }
    // Transpose: X[b] = (lane 0's b, lane 1's b, lane 2's b, lane 3's b).
    perChannel.push(
      ...transpose4(R, T, X),
      ...g(S[0]), ...g(S[1]), ...shuffle(0, 4, 1, 5), ...localSet(T[0]),
      ...g(S[2]), ...g(S[3]), ...shuffle(0, 4, 1, 5), ...localSet(T[1]),
      ...g(T[0]), ...g(T[1]), ...shuffle(0, 1, 4, 5), ...localSet(X[4]),
      ...g(T[0]), ...g(T[1]), ...shuffle(2, 3, 6, 7), ...localSet(X[5]),
    );
    // B along the row: Y[a][·] = Bᵀ·X.
    btRows(X, K2, K4, K5).forEach((e, b) => perChannel.push(...e, ...localSet(Y0 + 6 * a + b)));
  }
  // Bᵀ along the columns, stored as ξ = 6a + b.
  for (let b = 0; b < 6; b++) {
    const col = [0, 1, 2, 3, 4, 5].map((a) => Y0 + 6 * a + b);
    btRows(col, K2, K4, K5).forEach((e, a) => {
      const xi = 6 * a + b;
      const addr = xi === 0 ? localGet(VQ) : [...localGet(VQ), ...localGet(VSTEP), ...i32Const(xi), ...I32_MUL, ...I32_ADD];
      perChannel.push(...addr, ...e, ...v128Store(0));
    });
  }
  body.push(...whileLt(CI, C, [
    ...perChannel,
    ...inc(OFF, localGet(PLANE)), ...inc(VQ, i32Const(16)), ...inc(CI, i32Const(1)),
  ]));
  return [...locals([[3, I32], [nV, V128]]), ...body, ...END];
}

/** The `wgOut32` body (13 i32 parameters). */
export function wgOut32Func(): number[] {
  const MP = 0, MSTEP = 1, FSTEP = 2, NF = 3, O = [4, 5, 6, 7], NL = 8, ROW = 9, OSTEP = 10, BP = 11, HASB = 12;
  const FI = 13, MQ = 14, OQ = 15;
  const V0 = 16;
  const M = V0; // M[ξ] at V0 + ξ (36)
  const Z = V0 + 36; // Z[r][b] at Z + 6r + b (24)
  const Yv = Z + 24; // y[r][s] at Yv + 4r + s (16)
  const T = [Yv + 16, Yv + 17, Yv + 18, Yv + 19];
  const K2 = Yv + 20, K4 = K2 + 1, K8 = K2 + 2, BIAS = K2 + 3;
  const S12 = BIAS + 1, D12 = S12 + 1, S34 = S12 + 2, D34 = S12 + 3;
  const nV = D34 + 1 - V0;
  // Aᵀ·x for locals x[0..5] into the four locals out[0..3].
  const at = (x: number[], out: number[], bias: boolean): number[] => [
    ...add(g(x[1]), g(x[2])), ...localSet(S12),
    ...sub(g(x[1]), g(x[2])), ...localSet(D12),
    ...add(g(x[3]), g(x[4])), ...localSet(S34),
    ...sub(g(x[3]), g(x[4])), ...localSet(D34),
    ...[
      add(add(g(x[0]), g(S12)), g(S34)),
      add(g(D12), mul(g(K2), g(D34))),
      add(g(S12), mul(g(K4), g(S34))),
      add(add(g(D12), mul(g(K8), g(D34))), g(x[5])),
    ].flatMap((e, i) => [...(bias ? add(e, g(BIAS)) : e), ...localSet(out[i])]),
  ];
  const perFilter: number[] = [];
  for (let xi = 0; xi < 36; xi++) {
    const addr = xi === 0 ? localGet(MQ) : [...localGet(MQ), ...localGet(MSTEP), ...i32Const(xi), ...I32_MUL, ...I32_ADD];
    perFilter.push(...addr, ...v128Load(0), ...localSet(M + xi));
  }
  perFilter.push(
    ...localGet(HASB), ...IF, ...localGet(BP), ...localGet(FI), ...i32Const(2), ...I32_SHL, ...I32_ADD, ...F32_LOAD, ...F32X4_SPLAT, ...localSet(BIAS), ...END,
  );
  // Aᵀ along the columns (a → r), then along the rows (b → s), adding the bias last.
  for (let b = 0; b < 6; b++) perFilter.push(...at([0, 1, 2, 3, 4, 5].map((a) => M + 6 * a + b), [0, 1, 2, 3].map((r) => Z + 6 * r + b), false));
  for (let r = 0; r < 4; r++) perFilter.push(...at([0, 1, 2, 3, 4, 5].map((b) => Z + 6 * r + b), [0, 1, 2, 3].map((s) => Yv + 4 * r + s), true));
  // Per output row r: transpose (lanes = tiles → lanes = columns), one store per tile.
  for (let r = 0; r < 4; r++) {
    const y = [0, 1, 2, 3].map((s) => Yv + 4 * r + s);
    // y[0..3] back in place (lanes = columns now), one store per tile.
    perFilter.push(...transpose4(y, T, y));
    y.forEach((yk, k) => {
      const e = g(yk);
      const addr = [...localGet(O[k]), ...localGet(OQ), ...I32_ADD, ...(r > 0 ? [...localGet(ROW), ...i32Const(r), ...I32_MUL, ...I32_ADD] : [])];
      const store = [...addr, ...e, ...v128Store(0)];
      // Lane 0 always exists; the others only below nl.
      perFilter.push(...(k === 0 ? store : [...i32Const(k), ...localGet(NL), ...I32_LT_U, ...IF, ...store, ...END]));
    });
  }
  const body: number[] = [
    ...f32Const(2), ...F32X4_SPLAT, ...localSet(K2),
    ...f32Const(4), ...F32X4_SPLAT, ...localSet(K4),
    ...f32Const(8), ...F32X4_SPLAT, ...localSet(K8),
    ...f32Const(0), ...F32X4_SPLAT, ...localSet(BIAS),
    ...i32Const(0), ...localSet(FI), ...localGet(MP), ...localSet(MQ), ...i32Const(0), ...localSet(OQ),
    ...whileLt(FI, NF, [
      ...perFilter,
      ...inc(MQ, localGet(FSTEP)), ...inc(OQ, localGet(OSTEP)), ...inc(FI, i32Const(1)),
    ]),
  ];
  return [...locals([[3, I32], [nV, V128]]), ...body, ...END];
}

/**
 * The `wgGrad32` body (9 i32 parameters): dM = A·dY·Aᵀ, the adjoint of the output transform,
 * for `n` groups of four lanes — lane k's 4×4 block of group i at a_k + i·step (rows `row`
 * bytes apart); result ξ of group i at vp + ξ·vStep + 16·i.
 */
export function wgGrad32Func(): number[] {
  const A = [0, 1, 2, 3], VP = 4, NG = 5, STEP = 6, ROW = 7, VSTEP = 8;
  const I = 9, OFF = 10, VQ = 11;
  const V0 = 12;
  const R = [V0, V0 + 1, V0 + 2, V0 + 3];
  const T = [V0 + 4, V0 + 5, V0 + 6, V0 + 7];
  const X = [V0 + 8, V0 + 9, V0 + 10, V0 + 11];
  const Y0 = V0 + 12; // E[a][s] at Y0 + 4a + s (24): A along the rows' first index
  const K2 = Y0 + 24, K4 = K2 + 1, K8 = K2 + 2;
  const nV = K8 + 1 - V0;
  // A·x for locals x[0..3]: the six rows of A = [1 0 0 0; 1 1 1 1; 1 −1 1 −1; 1 2 4 8; 1 −2 4 −8; 0 0 0 1].
  const aRows = (x: number[]): Expr[] => {
    const [x0, x1, x2, x3] = x.map(g);
    const even = (k: number): Expr => (k === 1 ? add(x0, x2) : add(x0, mul(g(K4), x2)));
    const odd = (k: number): Expr => (k === 1 ? add(x1, x3) : add(mul(g(K2), x1), mul(g(K8), x3)));
    return [x0, add(even(1), odd(1)), sub(even(1), odd(1)), add(even(2), odd(2)), sub(even(2), odd(2)), x3];
  };
  const perGroup: number[] = [];
  for (let r = 0; r < 4; r++) {
    for (let k = 0; k < 4; k++) {
      perGroup.push(...localGet(A[k]), ...localGet(OFF), ...I32_ADD, ...(r > 0 ? [...localGet(ROW), ...i32Const(r), ...I32_MUL, ...I32_ADD] : []), ...v128Load(0), ...localSet(R[k]));
    }
    // Transpose: X[s] = (lane 0's column s, …, lane 3's column s) of row r.
    perGroup.push(...transpose4(R, T, X));
    // Aᵀ on the right: row r of dY·Aᵀ, six columns b, kept as E[b][r].
    aRows(X).forEach((e, b) => perGroup.push(...e, ...localSet(Y0 + 4 * b + r)));
  }
  // A on the left: column b of A·(dY·Aᵀ), stored as ξ = 6a + b.
  for (let b = 0; b < 6; b++) {
    aRows([0, 1, 2, 3].map((r) => Y0 + 4 * b + r)).forEach((e, a) => {
      const xi = 6 * a + b;
      const addr = xi === 0 ? localGet(VQ) : [...localGet(VQ), ...localGet(VSTEP), ...i32Const(xi), ...I32_MUL, ...I32_ADD];
      perGroup.push(...addr, ...e, ...v128Store(0));
    });
  }
  const body: number[] = [
    ...f32Const(2), ...F32X4_SPLAT, ...localSet(K2),
    ...f32Const(4), ...F32X4_SPLAT, ...localSet(K4),
    ...f32Const(8), ...F32X4_SPLAT, ...localSet(K8),
    ...i32Const(0), ...localSet(I), ...i32Const(0), ...localSet(OFF), ...localGet(VP), ...localSet(VQ),
    ...whileLt(I, NG, [...perGroup, ...inc(OFF, localGet(STEP)), ...inc(VQ, i32Const(16)), ...inc(I, i32Const(1))]),
  ];
  return [...locals([[3, I32], [nV, V128]]), ...body, ...END];
}

/** Function types: wgIn32 and wgGrad32 take 9 i32, wgOut32 13; no results. */
export const WGIN32_TYPE = i32FuncType(9);
export const WGOUT32_TYPE = i32FuncType(13);

/** `wgIn32` as JS sees it (byte addresses; see the file comment). */
export type WgIn32Fn = (a0: number, a1: number, a2: number, a3: number, vp: number, C: number, plane: number, row: number, vStep: number) => void;
/** `wgGrad32` as JS sees it (the same signature as wgIn32's). */
export type WgGrad32Fn = WgIn32Fn;
/** `wgOut32` as JS sees it. */
export type WgOut32Fn = (
  mp: number, mStep: number, fStep: number, F: number, o0: number, o1: number, o2: number, o3: number, nl: number, row: number, oStep: number, bp: number, hasBias: number,
) => void;
