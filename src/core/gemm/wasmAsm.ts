/*
 * A minimal WebAssembly assembler: just the encodings the SIMD modules here need (the GEMM
 * tiles of wasm.ts, the depthwise planes, Winograd transforms, batch-norm rows and activations of
 * wasmDepthwise.ts, wasmWinograd.ts, wasmBatchNorm.ts and wasmActivations.ts), so no toolchain is needed.
 */

export const uleb = (v: number): number[] => {
  const out: number[] = [];
  do {
    let b = v & 0x7f;
    v >>>= 7;
    if (v !== 0) b |= 0x80;
    out.push(b);
  } while (v !== 0);
  return out;
};
export const vec = (items: number[][]): number[] => [...uleb(items.length), ...items.flat()];
export const section = (id: number, body: number[]): number[] => [id, ...uleb(body.length), ...body];
export const name = (s: string): number[] => vec(Array.from(s, (c) => [c.charCodeAt(0)]));
export const I32 = 0x7f;
export const V128 = 0x7b;
export const localGet = (i: number) => [0x20, ...uleb(i)];
export const localSet = (i: number) => [0x21, ...uleb(i)];
export const localTee = (i: number) => [0x22, ...uleb(i)];
/** i32.const with its signed LEB128 immediate (non-negative values here). */
export const i32Const = (v: number) => {
  const out: number[] = [];
  for (;;) {
    const b = v & 0x7f;
    v >>= 7;
    // Done once the rest is zero and the sign bit of this byte is clear.
    if (v === 0 && (b & 0x40) === 0) {
      out.push(b);
      return [0x41, ...out];
    }
    out.push(b | 0x80);
  }
};
export const I32_ADD = [0x6a];
export const I32_SUB = [0x6b];
export const I32_SHL = [0x74];
export const I32_EQZ = [0x45];
export const BLOCK = [0x02, 0x40];
export const LOOP = [0x03, 0x40];
export const IF = [0x04, 0x40];
export const ELSE = [0x05];
export const END = [0x0b];
export const brIf = (depth: number) => [0x0d, ...uleb(depth)];
export const simd = (code: number, ...imm: number[]) => [0xfd, ...uleb(code), ...imm];
export const v128Load = (offset: number) => simd(0x00, 4, ...uleb(offset));
export const v128Store = (offset: number) => simd(0x0b, 4, ...uleb(offset));
export const v128Load64Splat = (offset: number) => simd(0x0a, 3, ...uleb(offset));
export const F64X2_ADD = simd(0xf0);
export const F64X2_MUL = simd(0xf2);

export const I32_LT_U = [0x49];
export const BR = (depth: number) => [0x0c, ...uleb(depth)];
export const v128Load32Splat = (offset: number) => simd(0x09, 2, ...uleb(offset));
export const F32X4_ADD = simd(0xe4);
export const F32X4_LT = simd(0x43);
export const F32X4_PMIN = simd(0xea);
export const V128_AND = simd(0x4e);
export const V128_OR = simd(0x50);
export const I32X4_SPLAT = simd(0x11);
export const F32_GE = [0x60];
export const I32_NE = [0x47];
export const F32X4_MUL = simd(0xe6);
/** Relaxed SIMD: a·b + c, fused or not as the hardware does it (one rounding with FMA). */
export const F32X4_RELAXED_MADD = simd(0x105);

export const F64_LOAD = [0x2b, 3, 0];
export const F64_STORE = [0x39, 3, 0];
export const F64_ADD = [0xa0];
export const F32_LOAD = [0x2a, 2, 0];
export const F32_STORE = [0x38, 2, 0];
export const F32_ADD = [0x92];

// Shared by the SIMD modules (depthwise, Winograd, batch norm, activations).
export const F32 = 0x7d;
export const F64 = 0x7c;
export const I32_MUL = [0x6c];
export const I32_AND = [0x71];
export const I32_OR = [0x72];
export const I32_REM_U = [0x70];
export const SELECT = [0x1b];
export const F32_MUL = [0x94];
export const F32_LT = [0x5d];
export const F32_GT = [0x5e];
export const F32_DEMOTE = [0xb6];
export const F64_SUB = [0xa1];
export const F64_MUL = [0xa2];
export const F64_PROMOTE = [0xbb];
export const f32Const0 = [0x43, 0, 0, 0, 0];
export const f64Const0 = [0x44, 0, 0, 0, 0, 0, 0, 0, 0];
export const f32Const = (v: number): number[] => [0x43, ...new Uint8Array(new Float32Array([v]).buffer)];
export const v128Zero = simd(0x0c, ...new Array<number>(16).fill(0));
/** v128.const of two equal float64 lanes. */
export const f64x2Const = (v: number): number[] => simd(0x0c, ...new Uint8Array(new Float64Array([v, v]).buffer));
export const F32X4_SPLAT = simd(0x13);
export const F32X4_SUB = simd(0xe5);
export const F32X4_GT = simd(0x44);
export const F32X4_PMAX = simd(0xeb);
export const F64X2_SPLAT = simd(0x14);
export const F64X2_SUB = simd(0xf1);
export const BITSELECT = simd(0x52);
/** f64x2.promote_low_f32x4 and f32x4.demote_f64x2_zero. */
export const PROMOTE_LOW = simd(0x5f);
export const DEMOTE_ZERO = simd(0x5e);
/** i8x16.shuffle picking float lanes of (a ‖ b): lanes 0–3 are a's, 4–7 b's. */
export const shuffle = (l0: number, l1: number, l2: number, l3: number): number[] =>
  simd(0x0d, ...[l0, l1, l2, l3].flatMap((l) => [4 * l, 4 * l + 1, 4 * l + 2, 4 * l + 3]));
/** Float lanes 2, 3 of a moved to lanes 0, 1 (a shuffle of a with itself). */
export const HIGH_TO_LOW = shuffle(2, 3, 2, 3);
/** Float lanes 0, 1 of a, then 0, 1 of b (two demoted f64x2 joined into one f32x4). */
export const JOIN_LOW = shuffle(0, 1, 4, 5);

/** Signed i32 comparisons and equality (the depthwise planes' loop bounds). */
export const I32_LT_S = [0x48];
export const I32_GT_S = [0x4a];
export const I32_LE_S = [0x4c];
export const I32_GE_S = [0x4e];
export const I32_EQ = [0x46];
/** f32x4.extract_lane. */
export const extractLane = (lane: number): number[] => simd(0x1f, lane);
/** The even (0, 2, 4, 6) or odd float lanes of (a ‖ b): stride-2 loads. */
export const EVEN_LANES = shuffle(0, 2, 4, 6);
export const ODD_LANES = shuffle(1, 3, 5, 7);

/** `while (cond) body`: cond leaves an i32; body must not branch out of itself. */
export const whileDo = (cond: number[], body: number[]): number[] => [...BLOCK, ...LOOP, ...cond, ...I32_EQZ, ...brIf(1), ...body, ...BR(0), ...END, ...END];
/** `while (i < n) body`, unsigned. */
export const whileLt = (i: number, n: number, body: number[]): number[] => whileDo([...localGet(i), ...localGet(n), ...I32_LT_U], body);
/** local l += by (an i32 expression). */
export const inc = (l: number, by: number[]): number[] => [...localGet(l), ...by, ...I32_ADD, ...localSet(l)];
/** Function bodies declare locals as runs of one type: [count, type]. */
export const locals = (runs: Array<[number, number]>): number[] => vec(runs.map(([n, t]) => [...uleb(n), t]));
/** The type of a function of `n` i32 parameters and no results. */
export const i32FuncType = (n: number): number[] => [0x60, ...vec(new Array(n).fill([I32])), ...vec([])];
