import {
  END, F32_LOAD, F64_ADD, F64_LOAD, F64_PROMOTE, F64_STORE, F64X2_ADD, I32, I32_ADD, I32_AND, I32_LT_U, I32_MUL, I32_SUB, i32Const, IF, inc, localGet, localSet, locals, PROMOTE_LOW, simd,
  v128Load, v128Store, whileDo, whileLt,
} from './wasmAsm';

/*
 * `accRows32(dst, src, len, count, srcStep, rows, dstRowStride, srcRowStride)`, byte addresses
 * and strides: for r < rows, then t < count in order, then i < len,
 *   dst64[r·dstRowStride + 8i] += float64(src32[r·srcRowStride + t·srcStep + 4i])
 * — float64 rows accumulating `count` float32 rows one after another, two lanes at a time (the
 * same float64 add per element as a JS loop, in the same order, so the same bits).
 *
 * WHY: the fused convolution's backward leaves one float32 dW / db partial per sample, summed
 * in float64 in sample order so the result does not depend on the schedule; that sum ran as a
 * JS loop on the main thread after the workers were done — a fifth to a third of the fused
 * backward of MobileNet V2 and ShuffleNet V2 (bench/profileStep.ts).
 */

const LOAD64_ZERO = (offset: number): number[] => simd(0x5d, 3, offset);
const g = localGet;
const set = localSet;
const c = i32Const;

export function accRows32Func(): number[] {
  const DST = 0, SRC = 1, LEN = 2, COUNT = 3, SSTEP = 4, ROWS = 5, DRS = 6, SRS = 7;
  const R = 8, T = 9, D = 10, S = 11, I = 12, LEN2 = 13;
  const row = [
    ...c(0), ...set(T),
    ...whileLt(T, COUNT, [
      ...g(DST), ...set(D),
      ...g(SRC), ...g(T), ...g(SSTEP), ...I32_MUL, ...I32_ADD, ...set(S),
      ...c(0), ...set(I),
      ...whileLt(I, LEN2, [
        ...g(D), ...g(D), ...v128Load(0), ...g(S), ...LOAD64_ZERO(0), ...PROMOTE_LOW, ...F64X2_ADD, ...v128Store(0),
        ...inc(D, c(16)), ...inc(S, c(8)), ...inc(I, c(2)),
      ]),
      ...g(I), ...g(LEN), ...I32_LT_U, ...IF,
      ...g(D), ...g(D), ...F64_LOAD, ...g(S), ...F32_LOAD, ...F64_PROMOTE, ...F64_ADD, ...F64_STORE,
      ...END,
      ...inc(T, c(1)),
    ]),
  ];
  const body = [
    ...g(LEN), ...g(LEN), ...c(1), ...I32_AND, ...I32_SUB, ...set(LEN2),
    ...c(0), ...set(R),
    ...whileDo([...g(R), ...g(ROWS), ...I32_LT_U], [
      ...row,
      ...inc(DST, g(DRS)), ...inc(SRC, g(SRS)), ...inc(R, c(1)),
    ]),
  ];
  return [...locals([[6, I32]]), ...body, ...END];
}
