import { bfloat16Bits, bfloat16FromBits, float16Bits, float16FromBits, roundToFloat16 } from '../src/core/float16';
import cases from './fixtures/float16/float16.json';

describe('binary16 rounding', () => {
  it("equals numpy's float64 → float16 cast bit for bit (ties to even, subnormals, overflow)", () => {
    for (const [v, bits] of cases as Array<[number, number]>) expect([v, float16Bits(v)]).toEqual([v, bits]);
  });
  it('decodes every finite pattern to a value that encodes back to the same pattern', () => {
    for (let h = 0; h < 0x10000; h++) {
      if ((h & 0x7c00) === 0x7c00) continue;
      expect(float16Bits(float16FromBits(h))).toBe(h);
    }
  });
  it('keeps NaN and the infinities', () => {
    expect(roundToFloat16(NaN)).toBeNaN();
    expect(roundToFloat16(1e6)).toBe(Infinity);
    expect(roundToFloat16(-1e6)).toBe(-Infinity);
  });
  it('bfloat16 keeps the top half of float32 with ties to even', () => {
    expect(bfloat16FromBits(bfloat16Bits(1))).toBe(1);
    expect(bfloat16FromBits(bfloat16Bits(1 + 2 ** -8))).toBe(1); // tie → even mantissa
    expect(bfloat16FromBits(bfloat16Bits(1 + 3 * 2 ** -8))).toBe(1 + 2 ** -6);
    expect(bfloat16FromBits(bfloat16Bits(-2.5))).toBe(-2.5);
  });
});
