/*
 * A minimal WebAssembly assembler: just the encodings the SIMD modules here need (the GEMM
 * tiles of wasm.ts, the depthwise planes of wasmDepthwise.ts), so no toolchain is needed.
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
export const F32X4_MUL = simd(0xe6);
/** Relaxed SIMD: a·b + c, fused or not as the hardware does it (one rounding with FMA). */
export const F32X4_RELAXED_MADD = simd(0x105);

export const F64_LOAD = [0x2b, 3, 0];
export const F64_STORE = [0x39, 3, 0];
export const F64_ADD = [0xa0];
export const F32_LOAD = [0x2a, 2, 0];
export const F32_STORE = [0x38, 2, 0];
export const F32_ADD = [0x92];
