/**
 * The SIMD micro-kernel, as a WebAssembly module assembled here byte by byte (no toolchain).
 *
 * WHY: JS has no SIMD, and V8 emits one scalar multiply and one add per flop, which caps a
 * JS kernel near 5 GFLOP/s per core. The same 4x4 tile written with f64x2 vectors runs about
 * 5x faster (measured 27 GFLOP/s per core on the dev machine), with the same packed layout.
 *
 * Exported function `block(ap, bp, kc, cp, ldc, acc, mp, np)`, all i32, addresses in bytes:
 * for every panel pair (ip < mp, jp < np), with Ap = ap + ip·kc·32 and Bp = bp + jp·kc·32,
 *   s[i][j] = Σ_{p<kc} Ap[p*4 + i] · Bp[p*4 + j]  (i, j < 4, summed in p order from 0), then
 *   C[i][j] = s[i][j] (acc = 0) or C[i][j] += s[i][j] (acc ≠ 0), C row i at
 *   cp + (4·ip + i)·ldc + 32·jp.
 * Panels of B are the outer loop, so one B panel (kc x 4, ≤ 8 KiB) stays in L1 while the
 * A panels of the task stream from L2. The loop over tiles is inside wasm because with short
 * k (e.g. 27 for a 3x3x3 convolution) one JS → wasm call per 4x4 tile cost as much as the
 * tile. Products and sums are float64, lane by lane, in the same order as the scalar JS
 * kernel, so both give bit-identical results.
 *
 * A second export, `blockS`, runs the same tiles over operands copied in their own layout
 * (see blockFunc): A rows at any strides, B rows of 4 contiguous columns at any row stride.
 *
 * Float32 operands have their own tiles (`block32`, `blockS32`; see block32Func): the same
 * contracts on 4-byte elements, products and sums in float32 (as numpy's and PyTorch's
 * sgemm), f32x4 lanes, and 4x8 tiles (two B panels at once) so the 8 accumulators hold twice
 * the flops of the float64 tile's. Without relaxed SIMD each step is a float32 multiply then
 * a float32 add, which the scalar JS tile reproduces bit for bit with Math.fround (an f32
 * operation computed in float64 and rounded to float32 is the f32 operation: 53 ≥ 2·24 + 2).
 * Where relaxed SIMD validates, `block32f` / `blockS32f` use f32x4.relaxed_madd instead
 * (one rounding per step on FMA hardware); those bits are the machine's, not the JS tile's.
 */

import {
  uleb, vec, section, name, I32, V128, I32_OR, localGet, localSet, localTee, i32Const, I32_ADD, I32_SUB, I32_SHL, I32_EQZ, BLOCK, LOOP, IF, ELSE, END, brIf, simd, v128Load, v128Store, v128Load64Splat, F64X2_ADD, F64X2_MUL, I32_LT_U, BR, v128Load32Splat, F32X4_ADD, F32X4_MUL, F32X4_RELAXED_MADD, F64_LOAD, F64_STORE, F64_ADD, F32_LOAD, F32_STORE, F32_ADD,
} from './wasmAsm';
import { setFlagsFromString } from 'v8';
import { DW32_TYPE, dw32Func, DWGRAD32_TYPE, dwGrad32Func } from './wasmDepthwise';
import { DWKF32_TYPE, dwKf32Func, DWKG32_TYPE, dwKg32Func } from './wasmDepthwiseK';
import { accRows32Func } from './wasmPartials';
import { maxPool2x2f32Func } from './wasmPool';
import { add32Func, addRelu32Func, CLAMP_ROWS32_TYPE, clampRows32Func, relu6Bwd32Func, relu6Fwd32Func, reluBwd32Func, reluFwd32Func, SIG3_TYPE, SIG4_TYPE, sigmoidFwd32Func, siluBwd32Func, siluFwd32Func } from './wasmActivations';
import { BN_SUM32_TYPE, bnDx32Func, bnDxKept32Func, bnGradSums32Func, bnNorm32Func, bnSum32Func } from './wasmBatchNorm';
import { wgGrad32Func, WGIN32_TYPE, wgIn32Func, WGOUT32_TYPE, wgOut32Func } from './wasmWinograd';

/** Local indices the tile body works with (see {@link tileBody}). */
interface TileLocals {
  ap: number; bp: number; kc: number; cp: number; ldc: number; acc: number;
  /**
   * Strided A: rows 1..3 start at locals a1..a3 (row 0 at ap) and every pointer moves by
   * local acs per k step; B moves by local brs. Null: packed panels (A and B move 32 bytes).
   */
  strided: { a1: number; a2: number; a3: number; acs: number; brs: number } | null;
  /** First of 8 consecutive v128 accumulators (row i, column pair h at first + 2i + h). */
  acc0: number;
  b0: number; b1: number; a: number; row: number;
}

/**
 * One 4x4 tile: C(cp, ldc) (+)= Ap · Bp over kc. Destroys ap, bp, kc and the accumulators,
 * which it zeroes first, so it can run repeatedly inside a loop.
 */
function tileBody(L: TileLocals): number[] {
  const accL = (i: number, h: number) => L.acc0 + i * 2 + h;
  const body: number[] = [];
  for (let i = 0; i < 4; i++) {
    for (let h = 0; h < 2; h++) body.push(...simd(0x0c, ...new Array<number>(16).fill(0)), ...localSet(accL(i, h)));
  }
  body.push(...BLOCK, ...localGet(L.kc), ...I32_EQZ, ...brIf(0), ...LOOP);
  body.push(...localGet(L.bp), ...v128Load(0), ...localSet(L.b0));
  body.push(...localGet(L.bp), ...v128Load(16), ...localSet(L.b1));
  const S = L.strided;
  const rowPtr = S === null ? [L.ap, L.ap, L.ap, L.ap] : [L.ap, S.a1, S.a2, S.a3];
  for (let i = 0; i < 4; i++) {
    body.push(...localGet(rowPtr[i]), ...v128Load64Splat(S === null ? 8 * i : 0), ...localSet(L.a));
    for (let h = 0; h < 2; h++) {
      body.push(...localGet(accL(i, h)), ...localGet(L.a), ...localGet(h === 0 ? L.b0 : L.b1), ...F64X2_MUL, ...F64X2_ADD, ...localSet(accL(i, h)));
    }
  }
  if (S === null) {
    body.push(...localGet(L.ap), ...i32Const(32), ...I32_ADD, ...localSet(L.ap));
    body.push(...localGet(L.bp), ...i32Const(32), ...I32_ADD, ...localSet(L.bp));
  } else {
    for (const r of rowPtr) body.push(...localGet(r), ...localGet(S.acs), ...I32_ADD, ...localSet(r));
    body.push(...localGet(L.bp), ...localGet(S.brs), ...I32_ADD, ...localSet(L.bp));
  }
  body.push(...localGet(L.kc), ...i32Const(1), ...I32_SUB, ...localTee(L.kc), ...brIf(0));
  body.push(...END, ...END);
  const stores = (add: boolean): number[] => {
    const s: number[] = [...localGet(L.cp), ...localSet(L.row)];
    for (let i = 0; i < 4; i++) {
      if (i > 0) s.push(...localGet(L.row), ...localGet(L.ldc), ...I32_ADD, ...localSet(L.row));
      for (let h = 0; h < 2; h++) {
        s.push(...localGet(L.row));
        if (add) s.push(...localGet(L.row), ...v128Load(16 * h), ...localGet(accL(i, h)), ...F64X2_ADD);
        else s.push(...localGet(accL(i, h)));
        s.push(...v128Store(16 * h));
      }
    }
    return s;
  };
  body.push(...localGet(L.acc), ...IF, ...stores(true), ...ELSE, ...stores(false), ...END);
  return body;
}

/**
 * The loop over tiles: B panels outer, A panels inner. Packed: parameters (ap, bp, kc, cp,
 * ldc, acc, mp, np), panels kc·32 bytes apart. Strided: five more parameters (ars, acs, brs,
 * aps, bps): A row r of a tile starts r·ars after its panel start and moves acs per k step,
 * B moves brs per k step, and consecutive A / B panels start aps / bps bytes apart.
 */
function blockFunc(strided: boolean): number[] {
  const AP = 0, BP = 1, KC = 2, CP = 3, LDC = 4, ACC = 5, MP = 6, NP = 7;
  const ARS = 8, ACS = 9, BRS = 10, APS = 11, BPS = 12;
  const P = strided ? 13 : 8;
  // i32 locals: panel steps (A, B), 4-row C step, a, b, c, ip, the tile's copies of a and
  // kc, its row pointer, and (strided) rows 1..3 of A; then v128 locals: 8 accumulators,
  // 2 B vectors, 1 A splat.
  const PA = P, PB = P + 1, STEP = P + 2, A = P + 3, B = P + 4, C = P + 5, IP = P + 6, K = P + 7, AT = P + 8, ROW = P + 9;
  const A1 = P + 10, A2 = P + 11, A3 = P + 12;
  const nI32 = strided ? 13 : 10;
  const V0 = P + nI32;
  const body: number[] = [];
  if (strided) {
    body.push(...localGet(APS), ...localSet(PA), ...localGet(BPS), ...localSet(PB));
  } else {
    body.push(...localGet(KC), ...i32Const(5), ...I32_SHL, ...localTee(PA), ...localSet(PB));
  }
  body.push(...localGet(LDC), ...i32Const(2), ...I32_SHL, ...localSet(STEP));
  body.push(...LOOP); // over B panels (jp)
  body.push(...localGet(AP), ...localSet(A), ...localGet(CP), ...localSet(C), ...localGet(MP), ...localSet(IP));
  body.push(...LOOP); // over A panels (ip)
  body.push(...localGet(BP), ...localSet(B), ...localGet(KC), ...localSet(K));
  // The tile consumes its pointer and count locals, so it gets copies.
  body.push(...localGet(A), ...localSet(AT));
  if (strided) {
    body.push(...localGet(A), ...localGet(ARS), ...I32_ADD, ...localTee(A1));
    body.push(...localGet(ARS), ...I32_ADD, ...localTee(A2));
    body.push(...localGet(ARS), ...I32_ADD, ...localSet(A3));
  }
  body.push(...tileBody({
    ap: AT, bp: B, kc: K, cp: C, ldc: LDC, acc: ACC, acc0: V0, b0: V0 + 8, b1: V0 + 9, a: V0 + 10, row: ROW,
    strided: strided ? { a1: A1, a2: A2, a3: A3, acs: ACS, brs: BRS } : null,
  }));
  body.push(...localGet(A), ...localGet(PA), ...I32_ADD, ...localSet(A));
  body.push(...localGet(C), ...localGet(STEP), ...I32_ADD, ...localSet(C));
  body.push(...localGet(IP), ...i32Const(1), ...I32_SUB, ...localTee(IP), ...brIf(0), ...END);
  body.push(...localGet(BP), ...localGet(PB), ...I32_ADD, ...localSet(BP));
  body.push(...localGet(CP), ...i32Const(32), ...I32_ADD, ...localSet(CP));
  body.push(...localGet(NP), ...i32Const(1), ...I32_SUB, ...localTee(NP), ...brIf(0), ...END);
  body.push(...END);
  return [...vec([[...uleb(nI32), I32], [...uleb(11), V128]]), ...body];
}

/** Local indices of the float32 tile (see {@link tile32Body}). */
interface Tile32Locals {
  ap: number; bp: number; bq: number; kc: number; cp: number; ldc: number; acc: number;
  strided: { a1: number; a2: number; a3: number; acs: number; brs: number } | null;
  /** First of 8 consecutive v128 accumulators (row i, B panel h at first + 2i + h). */
  acc0: number;
  b0: number; b1: number; a: number; row: number;
}

/**
 * One float32 tile of 4 rows by 4·halves columns: C(cp, ldc) (+)= Ap · [Bp | Bq] over kc,
 * with B panel 0 at bp and (halves = 2) panel 1 at bq. Each row of a 4-column panel is one
 * f32x4, so the 4x8 tile keeps 8 accumulators, as the float64 4x4 tile does with f64x2:
 * the same instruction count for twice the flops. Every element still sees s += a·b in p
 * order from 0 (fma: s = fma(a, b, s)), whichever tile width computes it. Destroys ap, bp,
 * bq, kc and the accumulators.
 */
function tile32Body(L: Tile32Locals, halves: 1 | 2, fma: boolean): number[] {
  const accL = (i: number, h: number) => L.acc0 + i * 2 + h;
  const body: number[] = [];
  for (let i = 0; i < 4; i++) {
    for (let h = 0; h < halves; h++) body.push(...simd(0x0c, ...new Array<number>(16).fill(0)), ...localSet(accL(i, h)));
  }
  const S = L.strided;
  const rowPtr = S === null ? [L.ap, L.ap, L.ap, L.ap] : [L.ap, S.a1, S.a2, S.a3];
  const bPtrs = halves === 2 ? [L.bp, L.bq] : [L.bp];
  /** One k step. */
  const step = (): number[] => {
    const b: number[] = [...localGet(L.bp), ...v128Load(0), ...localSet(L.b0)];
    if (halves === 2) b.push(...localGet(L.bq), ...v128Load(0), ...localSet(L.b1));
    for (let i = 0; i < 4; i++) {
      b.push(...localGet(rowPtr[i]), ...v128Load32Splat(S === null ? 4 * i : 0), ...localSet(L.a));
      for (let h = 0; h < halves; h++) {
        const bv = h === 0 ? L.b0 : L.b1;
        if (fma) b.push(...localGet(L.a), ...localGet(bv), ...localGet(accL(i, h)), ...F32X4_RELAXED_MADD, ...localSet(accL(i, h)));
        else b.push(...localGet(accL(i, h)), ...localGet(L.a), ...localGet(bv), ...F32X4_MUL, ...F32X4_ADD, ...localSet(accL(i, h)));
      }
    }
    return b;
  };
  /** Moves the pointers one k step on. */
  const advance = (): number[] => {
    const b: number[] = [];
    if (S === null) {
      for (const r of [L.ap, ...bPtrs]) b.push(...localGet(r), ...i32Const(16), ...I32_ADD, ...localSet(r));
    } else {
      for (const r of rowPtr) b.push(...localGet(r), ...localGet(S.acs), ...I32_ADD, ...localSet(r));
      for (const r of bPtrs) b.push(...localGet(r), ...localGet(S.brs), ...I32_ADD, ...localSet(r));
    }
    return b;
  };
  // One step per iteration: unrolled by 2, 4 or 8 (constant offsets) it measured 30-65%
  // slower here (41 against 29 GFLOP/s per core at 4), V8 spilling accumulators.
  body.push(...BLOCK, ...localGet(L.kc), ...I32_EQZ, ...brIf(0), ...LOOP);
  body.push(...step(), ...advance());
  body.push(...localGet(L.kc), ...i32Const(1), ...I32_SUB, ...localTee(L.kc), ...brIf(0));
  body.push(...END, ...END);
  const stores = (add: boolean): number[] => {
    const s: number[] = [...localGet(L.cp), ...localSet(L.row)];
    for (let i = 0; i < 4; i++) {
      if (i > 0) s.push(...localGet(L.row), ...localGet(L.ldc), ...I32_ADD, ...localSet(L.row));
      for (let h = 0; h < halves; h++) {
        s.push(...localGet(L.row));
        if (add) s.push(...localGet(L.row), ...v128Load(16 * h), ...localGet(accL(i, h)), ...F32X4_ADD);
        else s.push(...localGet(accL(i, h)));
        s.push(...v128Store(16 * h));
      }
    }
    return s;
  };
  body.push(...localGet(L.acc), ...IF, ...stores(true), ...ELSE, ...stores(false), ...END);
  return body;
}

/**
 * The float32 loop over tiles, with the parameters of {@link blockFunc} (addresses in bytes;
 * packed panels are kc·16 bytes apart). B panels go two at a time (4x8 tiles), an odd last
 * one alone (4x4), A panels inner.
 */
function block32Func(strided: boolean, fma: boolean): number[] {
  const AP = 0, BP = 1, KC = 2, CP = 3, LDC = 4, ACC = 5, MP = 6, NP = 7;
  const ARS = 8, ACS = 9, BRS = 10, APS = 11, BPS = 12;
  const P = strided ? 13 : 8;
  const PA = P, PB = P + 1, STEP = P + 2, A = P + 3, B = P + 4, BQ = P + 5, C = P + 6, IP = P + 7, K = P + 8, AT = P + 9, ROW = P + 10;
  const A1 = P + 11, A2 = P + 12, A3 = P + 13;
  const nI32 = 14;
  const V0 = P + nI32;
  const L: Tile32Locals = {
    ap: AT, bp: B, bq: BQ, kc: K, cp: C, ldc: LDC, acc: ACC, acc0: V0, b0: V0 + 8, b1: V0 + 9, a: V0 + 10, row: ROW,
    strided: strided ? { a1: A1, a2: A2, a3: A3, acs: ACS, brs: BRS } : null,
  };
  const ipLoop = (halves: 1 | 2): number[] => {
    const b: number[] = [...localGet(AP), ...localSet(A), ...localGet(CP), ...localSet(C), ...localGet(MP), ...localSet(IP)];
    b.push(...LOOP);
    b.push(...localGet(BP), ...localTee(B), ...localGet(PB), ...I32_ADD, ...localSet(BQ), ...localGet(KC), ...localSet(K));
    b.push(...localGet(A), ...localSet(AT));
    if (strided) {
      b.push(...localGet(A), ...localGet(ARS), ...I32_ADD, ...localTee(A1));
      b.push(...localGet(ARS), ...I32_ADD, ...localTee(A2));
      b.push(...localGet(ARS), ...I32_ADD, ...localSet(A3));
    }
    b.push(...tile32Body(L, halves, fma));
    b.push(...localGet(A), ...localGet(PA), ...I32_ADD, ...localSet(A));
    b.push(...localGet(C), ...localGet(STEP), ...I32_ADD, ...localSet(C));
    b.push(...localGet(IP), ...i32Const(1), ...I32_SUB, ...localTee(IP), ...brIf(0), ...END);
    return b;
  };
  const body: number[] = [];
  if (strided) body.push(...localGet(APS), ...localSet(PA), ...localGet(BPS), ...localSet(PB));
  else body.push(...localGet(KC), ...i32Const(4), ...I32_SHL, ...localTee(PA), ...localSet(PB));
  body.push(...localGet(LDC), ...i32Const(2), ...I32_SHL, ...localSet(STEP));
  body.push(...BLOCK, ...LOOP); // pairs of B panels while np ≥ 2
  body.push(...localGet(NP), ...i32Const(2), ...I32_LT_U, ...brIf(1));
  body.push(...ipLoop(2));
  body.push(...localGet(BP), ...localGet(PB), ...i32Const(1), ...I32_SHL, ...I32_ADD, ...localSet(BP));
  body.push(...localGet(CP), ...i32Const(32), ...I32_ADD, ...localSet(CP));
  body.push(...localGet(NP), ...i32Const(2), ...I32_SUB, ...localSet(NP));
  body.push(...BR(0), ...END, ...END);
  body.push(...localGet(NP), ...IF, ...ipLoop(1), ...END);
  body.push(...END);
  return [...vec([[...uleb(nI32), I32], [...uleb(11), V128]]), ...body];
}


/**
 * `rows(dst, src, len, count, dstStep, srcStep, dstStride, srcStride, add)`, all i32, addresses
 * and steps in bytes: for r < count and i < len,
 *   dst[r·dstStride + i·dstStep] = src[r·srcStride + i·srcStep]            (add = 0)
 *   dst[r·dstStride + i·dstStep] += src[r·srcStride + i·srcStep]           (add ≠ 0)
 * on float64 elements (`rows32`: float32, the same single IEEE add in float32) — the strided copies and adds of a convolution's unfold and fold
 * (im2col / col2im), one call per kernel offset instead of one JS loop per output row. A JS
 * loop over a typed array on the shared wasm memory costs ~1.6 ns per element here; this one
 * a fraction of that, with the same single IEEE add, so the results are identical. Rows whose
 * steps are both one element (a stride-1 unfold, the fold's adds) go 16 bytes at a time.
 */
function rowsFunc(f32 = false): number[] {
  const LOAD = f32 ? F32_LOAD : F64_LOAD;
  const STORE = f32 ? F32_STORE : F64_STORE;
  const ADDOP = f32 ? F32_ADD : F64_ADD;
  const VADD = f32 ? F32X4_ADD : F64X2_ADD;
  const eb = f32 ? 4 : 8;
  const DST = 0, SRC = 1, LEN = 2, COUNT = 3, DSTEP = 4, SSTEP = 5, DSTRIDE = 6, SSTRIDE = 7, ADD = 8;
  const D = 9, S = 10, I = 11, DENSE = 12;
  const inner = (add: boolean): number[] => {
    const b: number[] = [...LOOP, ...localGet(D)];
    if (add) b.push(...localGet(D), ...LOAD, ...localGet(S), ...LOAD, ...ADDOP);
    else b.push(...localGet(S), ...LOAD);
    b.push(...STORE);
    b.push(...localGet(D), ...localGet(DSTEP), ...I32_ADD, ...localSet(D));
    b.push(...localGet(S), ...localGet(SSTEP), ...I32_ADD, ...localSet(S));
    b.push(...localGet(I), ...i32Const(1), ...I32_SUB, ...localTee(I), ...brIf(0), ...END);
    return b;
  };
  // Both sides contiguous: 16 bytes at a time while a whole vector is left (the same single
  // IEEE add per element in the lanes), then the scalar loop for the rest.
  const vector = (add: boolean): number[] => {
    const b: number[] = [...BLOCK, ...LOOP, ...localGet(I), ...i32Const(16 / eb), ...I32_LT_U, ...brIf(1), ...localGet(D)];
    if (add) b.push(...localGet(D), ...v128Load(0), ...localGet(S), ...v128Load(0), ...VADD);
    else b.push(...localGet(S), ...v128Load(0));
    b.push(...v128Store(0));
    b.push(...localGet(D), ...i32Const(16), ...I32_ADD, ...localSet(D));
    b.push(...localGet(S), ...i32Const(16), ...I32_ADD, ...localSet(S));
    b.push(...localGet(I), ...i32Const(16 / eb), ...I32_SUB, ...localSet(I), ...BR(0), ...END, ...END);
    return b;
  };
  const row = (add: boolean): number[] => [
    ...localGet(DENSE), ...IF, ...vector(add), ...END,
    ...localGet(I), ...IF, ...inner(add), ...END,
  ];
  const body: number[] = [
    ...BLOCK,
    ...localGet(COUNT), ...I32_EQZ, ...brIf(0),
    ...localGet(LEN), ...I32_EQZ, ...brIf(0),
    ...localGet(DSTEP), ...i32Const(eb), ...I32_SUB, ...localGet(SSTEP), ...i32Const(eb), ...I32_SUB, ...I32_OR, ...I32_EQZ, ...localSet(DENSE),
    ...LOOP,
    ...localGet(DST), ...localSet(D), ...localGet(SRC), ...localSet(S), ...localGet(LEN), ...localSet(I),
    ...localGet(ADD), ...IF, ...row(true), ...ELSE, ...row(false), ...END,
    ...localGet(DST), ...localGet(DSTRIDE), ...I32_ADD, ...localSet(DST),
    ...localGet(SRC), ...localGet(SSTRIDE), ...I32_ADD, ...localSet(SRC),
    ...localGet(COUNT), ...i32Const(1), ...I32_SUB, ...localTee(COUNT), ...brIf(0),
    ...END,
    ...END,
  ];
  return [...vec([[...uleb(4), I32]]), ...body, ...END];
}

/**
 * The module's bytes; `shared` selects a shared (threads) or plain imported memory, `relaxed`
 * adds the relaxed-SIMD float32 tiles (`block32f`, `blockS32f`: fused multiply-add), which
 * only validate where the runtime has relaxed SIMD (see {@link relaxedSimdAvailable}).
 *
 * Exports: `block`, `blockS`, `rows` (float64), `block32`, `blockS32`, `rows32` (float32,
 * same contracts with 4-byte elements: packed panels are kc·16 bytes apart, a 4-column C
 * panel 16 bytes wide), `dw32`, `dwGrad32` (depthwise float32 planes, see wasmDepthwise.ts),
 * `wgIn32`, `wgOut32`, `wgGrad32` (Winograd float32 transforms, see wasmWinograd.ts),
 * `bnSum32`, `bnNorm32`, `bnGradSums32`, `bnDx32`, `bnGradSumsKeep32`, `bnDxKept32` (batch-norm rows, see wasmBatchNorm.ts),
 * `sigmoidFwd32`, `siluFwd32`, `siluBwd32`, `reluFwd32`, `reluBwd32`, `relu6Fwd32`, `relu6Bwd32` (activations, see wasmActivations.ts),
 * `add32`, `addRelu32` (the residual join, see wasmActivations.ts),
 * `clampRows32` (conv2d's inference clamp, see wasmActivations.ts),
 * `dw3f32`, `dw5f32`, `dw3g32`, `dw5g32` (unrolled 3×3 / 5×5 depthwise planes, see wasmDepthwiseK.ts),
 * `maxPool2x2f32` (the 2×2 stride-2 max pool, see wasmPool.ts), `accRows32` (float64 sums of float32 rows, see wasmPartials.ts),
 * and with `relaxed` `block32f`, `blockS32f`.
 */
export function gemmWasmBytes(shared: boolean, maxPages: number, relaxed = false): Uint8Array {
  // [type index, export name, code]
  const funcs: Array<[number, string, number[]]> = [
    [0, 'block', blockFunc(false)],
    [1, 'blockS', blockFunc(true)],
    [2, 'rows', rowsFunc()],
    [0, 'block32', block32Func(false, false)],
    [1, 'blockS32', block32Func(true, false)],
    [2, 'rows32', rowsFunc(true)],
    [3, 'dw32', dw32Func()],
    [4, 'dwGrad32', dwGrad32Func()],
    [5, 'wgIn32', wgIn32Func()],
    [6, 'wgOut32', wgOut32Func()],
    [5, 'wgGrad32', wgGrad32Func()],
    [7, 'bnSum32', bnSum32Func()],
    [7, 'bnNorm32', bnNorm32Func()],
    [0, 'bnGradSums32', bnGradSums32Func()],
    [0, 'bnDx32', bnDx32Func()],
    [0, 'bnGradSumsKeep32', bnGradSums32Func(true)],
    [7, 'bnDxKept32', bnDxKept32Func()],
    [8, 'sigmoidFwd32', sigmoidFwd32Func()],
    [8, 'siluFwd32', siluFwd32Func()],
    [9, 'siluBwd32', siluBwd32Func()],
    [8, 'reluFwd32', reluFwd32Func()],
    [9, 'reluBwd32', reluBwd32Func()],
    [8, 'relu6Fwd32', relu6Fwd32Func()],
    [9, 'relu6Bwd32', relu6Bwd32Func()],
    [9, 'add32', add32Func()],
    [9, 'addRelu32', addRelu32Func()],
    [10, 'dw3f32', dwKf32Func(3)],
    [10, 'dw5f32', dwKf32Func(5)],
    [11, 'dw3g32', dwKg32Func(3)],
    [11, 'dw5g32', dwKg32Func(5)],
    [12, 'clampRows32', clampRows32Func()],
    [0, 'maxPool2x2f32', maxPool2x2f32Func()],
    [0, 'accRows32', accRows32Func()],
  ];
  if (relaxed) funcs.push([0, 'block32f', block32Func(false, true)], [1, 'blockS32f', block32Func(true, true)]);
  const limits = shared ? [0x03, ...uleb(1), ...uleb(maxPages)] : [0x01, ...uleb(1), ...uleb(maxPages)];
  return new Uint8Array([
    0x00, 0x61, 0x73, 0x6d, 0x01, 0x00, 0x00, 0x00,
    ...section(1, vec([
      [0x60, ...vec(new Array(8).fill([I32])), ...vec([])],
      [0x60, ...vec(new Array(13).fill([I32])), ...vec([])],
      [0x60, ...vec(new Array(9).fill([I32])), ...vec([])],
      DW32_TYPE,
      DWGRAD32_TYPE,
      WGIN32_TYPE,
      WGOUT32_TYPE,
      BN_SUM32_TYPE,
      SIG3_TYPE,
      SIG4_TYPE,
      DWKF32_TYPE,
      DWKG32_TYPE,
      CLAMP_ROWS32_TYPE,
    ])),
    ...section(2, vec([[...name('env'), ...name('mem'), 0x02, ...limits]])),
    ...section(3, vec(funcs.map(([t]) => [t]))),
    ...section(7, vec(funcs.map(([, n], i) => [...name(n), 0x00, ...uleb(i)]))),
    ...section(10, vec(funcs.map(([, , code]) => [...uleb(code.length), ...code]))),
  ]);
}

/**
 * A one-function module using f32x4.relaxed_madd: it validates exactly where the runtime
 * has relaxed SIMD (V8 ≥ 11.4, i.e. node 22; node 20 with --experimental-wasm-relaxed-simd).
 */
function relaxedProbeBytes(): Uint8Array {
  // () → f32: lane 0 of relaxed_madd(2, 3, 1), which is 2·3 + 1 = 7 (the probe also runs it:
  // an engine whose experimental prototype gave the opcode another meaning would not say 7).
  const splat = (v: number): number[] => simd(0x0c, ...new Uint8Array(new Float32Array([v, v, v, v]).buffer));
  const body = [...vec([]), ...splat(2), ...splat(3), ...splat(1), ...F32X4_RELAXED_MADD, ...simd(0x1f, 0), ...END];
  return new Uint8Array([
    0x00, 0x61, 0x73, 0x6d, 0x01, 0x00, 0x00, 0x00,
    ...section(1, vec([[0x60, ...vec([]), ...vec([[0x7d]])]])),
    ...section(3, vec([[0]])),
    ...section(7, vec([[...name('probe'), 0x00, ...uleb(0)]])),
    ...section(10, vec([[...uleb(body.length), ...body]])),
  ]);
}

/** Whether relaxed_madd validates here and computes a multiply-add. */
function relaxedProbe(): boolean {
  if (wasmApi === null) return false;
  const bytes = relaxedProbeBytes();
  if (!wasmApi.validate(bytes)) return false;
  const probe = new wasmApi.Instance(new wasmApi.Module(bytes), {}).exports.probe as () => number;
  return probe() === 7;
}

let relaxed: boolean | undefined;

/**
 * `CS231N_RELAXED_SIMD=1`: turns on node 20's `--experimental-wasm-relaxed-simd` from here,
 * when the first probe fails (node 22 has no such flag any more, and V8 would print an error
 * for it), then probes again. WHY: node refuses that flag in NODE_OPTIONS, and `npx tsx` users
 * cannot easily pass it; the FMA tiles make node 20's float32 eval forwards 1.1–1.2× faster
 * (bench/RESULTS.md, eighth session). Opt-in, because a library should not switch on an
 * engine's experimental feature by itself; node 22 and later have relaxed SIMD anyway.
 */
function optInRelaxedSimd(): boolean {
  const v = typeof process === 'object' ? process.env?.CS231N_RELAXED_SIMD : undefined;
  if (v === undefined || !/^(1|on|true|yes)$/i.test(v.trim())) return false;
  try {
    setFlagsFromString('--experimental-wasm-relaxed-simd');
    return true;
  } catch {
    return false; // Not node's V8.
  }
}

/**
 * True when this runtime has relaxed SIMD: feature detection by compiling and running a probe
 * (and, with CS231N_RELAXED_SIMD=1 where it is missing, once more after turning it on).
 */
export function relaxedSimdAvailable(): boolean {
  if (relaxed === undefined) {
    const probe = (): boolean => {
      try {
        return relaxedProbe();
      } catch {
        return false;
      }
    };
    relaxed = probe() || (optInRelaxedSimd() && probe());
  }
  return relaxed;
}

/** The `block` export of an instance (see the file comment for its contract). */
export type BlockFn = (ap: number, bp: number, kc: number, cp: number, ldc: number, acc: number, mp: number, np: number) => void;
/** The `blockS` export: {@link BlockFn} over strided operands (see blockFunc). */
export type BlockSFn = (
  ap: number, bp: number, kc: number, cp: number, ldc: number, acc: number, mp: number, np: number,
  ars: number, acs: number, brs: number, aps: number, bps: number,
) => void;

/** The `rows` / `rows32` exports: strided float64 / float32 row copies and adds (see rowsFunc). */
export type RowsFn = (
  dst: number, src: number, len: number, count: number, dstStep: number, srcStep: number, dstStride: number, srcStride: number, add: number,
) => void;

/** A WebAssembly.Memory, typed here because the project's TS lib set has no WebAssembly. */
export interface WasmMemory {
  readonly buffer: ArrayBufferLike;
  grow(pages: number): number;
}
/** A compiled WebAssembly.Module (opaque; only instantiated and posted to workers). */
export type WasmModule = object;
interface WasmApi {
  validate(bytes: Uint8Array): boolean;
  Module: new (bytes: Uint8Array) => WasmModule;
  Instance: new (module: WasmModule, imports: object) => { exports: Record<string, unknown> };
  Memory: new (desc: { initial: number; maximum?: number; shared?: boolean }) => WasmMemory;
}

/** The runtime's WebAssembly object, or null where there is none. */
export const wasmApi: WasmApi | null = (globalThis as { WebAssembly?: WasmApi }).WebAssembly ?? null;

const modules = new Map<boolean, WasmModule | null>();

/**
 * Compiles the module (with the relaxed-SIMD tiles where the runtime has them), or returns
 * null when this runtime has no WebAssembly or no SIMD (the scalar JS kernel is used then).
 * Cached per memory kind.
 */
export function gemmWasmModule(shared: boolean, maxPages: number): WasmModule | null {
  if (!modules.has(shared)) {
    let mod: WasmModule | null = null;
    try {
      const bytes = gemmWasmBytes(shared, maxPages, relaxedSimdAvailable());
      if (wasmApi !== null && wasmApi.validate(bytes)) mod = new wasmApi.Module(bytes);
    } catch {
      mod = null;
    }
    modules.set(shared, mod);
  }
  return modules.get(shared) ?? null;
}
