import fc from 'fast-check';
import ndarray from 'ndarray';
import {
  arange, array, ascontiguous, concatRows, copy, isContiguous, linspace, reshape, sizeOf, takeRows, toArray,
  toNested, transpose, zeros, fromData, type Tensor,
} from '../src/core/tensor';
import { argmax, max, mean, min, std, sum } from '../src/core/reduce';
import { addCol, addRow, divCol, mulRow, subRow } from '../src/core/broadcast';
import { assertShape, ShapeError } from '../src/core/check';
import type { DType } from '../src/core/dtype';

const dtypes: DType[] = ['float64', 'float32'];

/** Random dense tensor from a fast-check shape + values. */
const tensorArb = (maxRank = 4, maxDim = 5) =>
  fc
    .tuple(fc.array(fc.integer({ min: 1, max: maxDim }), { minLength: 1, maxLength: maxRank }), fc.constantFrom(...dtypes))
    .chain(([shape, dtype]) =>
      fc
        .array(fc.double({ min: -100, max: 100, noNaN: true }), { minLength: sizeOf(shape), maxLength: sizeOf(shape) })
        .map((vals) => {
          const t = zeros(shape, dtype);
          t.data.set(vals);
          return t;
        }),
    );

/** Multi-index of flat position k in a row-major shape. */
function unravel(k: number, shape: number[]): number[] {
  const idx = new Array(shape.length).fill(0);
  for (let d = shape.length - 1; d >= 0; d--) {
    idx[d] = k % shape[d];
    k = Math.floor(k / shape[d]);
  }
  return idx;
}

describe('creation', () => {
  test('array() keeps nesting and rejects ragged input naming the path', () => {
    const a = array([[1, 2, 3], [4, 5, 6]]);
    expect(a.shape).toEqual([2, 3]);
    expect(a.get(1, 2)).toBe(6);
    expect(() => array([[1, 2], [3]])).toThrow(/array\[1\].*length 2.*length 1/);
  });
  test('linspace matches numpy for the notebook inputs', () => {
    const x = linspace(-0.1, 0.5, 240);
    expect(x.get(0)).toBe(-0.1);
    expect(x.get(239)).toBe(0.5);
    // numpy: np.linspace(-0.1, 0.5, 240)[1] == -0.09748953974895398
    expect(x.get(1)).toBe(-0.09748953974895398);
    expect(linspace(0, 1, 1).get(0)).toBe(0);
  });
  test('arange', () => {
    expect(toArray(arange(5))).toEqual([0, 1, 2, 3, 4]);
    expect(toArray(arange(1, 2, 0.25))).toEqual([1, 1.25, 1.5, 1.75]);
    expect(() => arange(0, 1, 0)).toThrow(/step/);
  });
  test('fromData checks the element count', () => {
    expect(() => fromData(new Float64Array(5), [2, 3])).toThrow(/data: expected 6 elements for shape \(2, 3\), got 5/);
  });
});

describe('views', () => {
  test('reshape with -1 is a view of contiguous data, a copy of strided data', () => {
    const a = arange(24);
    const r = reshape(a, [2, -1, 4]);
    expect(r.shape).toEqual([2, 3, 4]);
    expect(r.data).toBe(a.data);
    const t = transpose(reshape(a, [4, 6]));
    expect(isContiguous(t)).toBe(false);
    const flat = reshape(t, [-1]);
    expect(flat.get(1)).toBe(6);
    expect(() => reshape(a, [5, -1])).toThrow(/cannot reshape array of shape \(24,\)/);
  });
  test('transpose axes must be a permutation', () => {
    expect(() => transpose(zeros([2, 3]), [0, 0])).toThrow(/permutation/);
  });
  test('copy/ascontiguous of a strided view equals element access', () => {
    fc.assert(
      fc.property(tensorArb(3), (t) => {
        const v = transpose(t);
        const c = ascontiguous(v);
        expect(isContiguous(c)).toBe(true);
        for (let k = 0; k < c.data.length; k++) expect(c.data[k]).toBe(v.get(...unravel(k, v.shape)));
      }),
      { numRuns: 50 },
    );
  });
  test('takeRows and concatRows', () => {
    const a = reshape(arange(12), [4, 3]);
    expect(toNested(takeRows(a, [3, 0]))).toEqual([[9, 10, 11], [0, 1, 2]]);
    expect(() => takeRows(a, [4])).toThrow(/idx\[0\].*\[0, 4\).*4/);
    expect(concatRows([a, a]).shape).toEqual([8, 3]);
    expect(() => concatRows([a, zeros([1, 2])])).toThrow(ShapeError);
  });
});

describe('reductions equal loops', () => {
  test('sum/mean/max/min/argmax along every axis, both dtypes', () => {
    fc.assert(
      fc.property(tensorArb(), fc.nat(), fc.boolean(), (t, axSeed, keep) => {
        const ax = axSeed % t.shape.length;
        const s = sum(t, ax, { keepdims: keep });
        const m = mean(t, ax);
        const mx = max(t, ax);
        const mn = min(t, ax);
        const am = argmax(t, ax);
        const outShape = t.shape.filter((_, i) => i !== ax);
        expect(m.shape).toEqual(outShape);
        expect(s.shape).toEqual(keep ? t.shape.map((d, i) => (i === ax ? 1 : d)) : outShape);
        const n = sizeOf(outShape);
        for (let k = 0; k < n; k++) {
          const idx = unravel(k, outShape);
          let acc = 0;
          let best = -Infinity;
          let worst = Infinity;
          let bestIdx = 0;
          for (let j = 0; j < t.shape[ax]; j++) {
            const full = [...idx.slice(0, ax), j, ...idx.slice(ax)];
            const v = t.get(...full);
            acc += v;
            if (v > best) { best = v; bestIdx = j; }
            worst = Math.min(worst, v);
          }
          const tol = t.data instanceof Float32Array ? 1e-3 : 1e-9;
          expect(Math.abs(s.data[k] - acc)).toBeLessThanOrEqual(tol * (1 + Math.abs(acc)));
          expect(Math.abs(m.data[k] - acc / t.shape[ax])).toBeLessThanOrEqual(tol * (1 + Math.abs(acc)));
          expect(mx.data[k] === best).toBe(true); // == so that -0 and 0 count as equal
          expect(mn.data[k] === worst).toBe(true);
          expect(am.data[k]).toBe(bestIdx);
        }
      }),
      { numRuns: 100 },
    );
  });
  test('whole-array reductions and negative axes', () => {
    const a = array([[1, 5], [3, -2]]);
    expect(sum(a)).toBe(7);
    expect(mean(a)).toBe(1.75);
    expect(max(a)).toBe(5);
    expect(min(a)).toBe(-2);
    expect(toArray(sum(a, -1))).toEqual([6, 1]);
    expect(() => sum(a, 2)).toThrow(/axis: expected an integer in \[-2, 1\], got 2/);
  });
  test('argmax takes the first of equal maxima, as numpy', () => {
    expect(toArray(argmax(array([[1, 3, 3], [2, 2, 0]]), 1))).toEqual([1, 0]);
  });
});

describe('std', () => {
  test('biased std along an axis, two-pass (a large offset does not cancel the spread), in the input dtype', () => {
    const a = array([[1, 2], [3, 6]]);
    expect(Array.from(std(a, 0).data)).toEqual([1, 2]);
    expect(Array.from(std(a, 1).data)).toEqual([0.5, 1.5]);
    expect(std(a, -1, { keepdims: true }).shape).toEqual([2, 1]);
    expect(Array.from(std(array([[1e9 + 1], [1e9 + 3]]), 0).data)).toEqual([1]);
    expect(std(array([[1, 2]], 'float32'), 1).data).toBeInstanceOf(Float32Array);
    expect(() => std(a, 2)).toThrow(/axis: expected an integer in \[-2, 1\], got 2/);
  });
});

describe('broadcasting equals loops', () => {
  const matArb = fc
    .tuple(fc.integer({ min: 1, max: 7 }), fc.integer({ min: 1, max: 7 }), fc.constantFrom(...dtypes), fc.integer())
    .map(([n, d, dtype, seed]) => {
      const A = zeros([n, d], dtype);
      let s = seed;
      for (let i = 0; i < A.data.length; i++) A.data[i] = ((s = (s * 1103515245 + 12345) | 0) % 1000) / 37 + 0.5;
      return A;
    });
  test('(N,D)∘(D,) and (N,D)∘(N,1)', () => {
    fc.assert(
      fc.property(matArb, (A) => {
        const [n, d] = A.shape;
        const dt = A.data instanceof Float32Array ? 'float32' : 'float64';
        const v = arange(1, d + 1, 1, dt);
        const c = ndarray(Float64Array.from({ length: n }, (_, i) => i + 2), [n, 1]) as Tensor;
        const r1 = addRow(A, v), r2 = subRow(A, v), r3 = mulRow(A, v);
        const c1 = addCol(A, c), c2 = divCol(A, c);
        for (let i = 0; i < n; i++)
          for (let j = 0; j < d; j++) {
            const a = A.get(i, j);
            const round = (x: number) => (dt === 'float32' ? Math.fround(x) : x);
            expect(r1.get(i, j)).toBe(round(a + (j + 1)));
            expect(r2.get(i, j)).toBe(round(a - (j + 1)));
            expect(r3.get(i, j)).toBe(round(a * (j + 1)));
            expect(c1.get(i, j)).toBe(round(a + (i + 2)));
            expect(c2.get(i, j)).toBe(round(a / (i + 2)));
          }
      }),
      { numRuns: 60 },
    );
  });
  test('shape errors name the argument, the expected and the actual shape', () => {
    expect(() => addRow(zeros([2, 3]), zeros([4]))).toThrow(/v: expected shape \(3,\) or \(1, 3\), got \(4,\)/);
    expect(() => addCol(zeros([2, 3]), zeros([3, 1]))).toThrow(/v: expected shape \(2,\) or \(2, 1\), got \(3, 1\)/);
    expect(() => addRow(zeros([2, 3]), zeros([3]), zeros([3, 2]))).toThrow(/out: expected a dense array of shape \(2, 3\)/);
  });
});

describe('checks', () => {
  test('assertShape binds names and reports mismatches', () => {
    const b = assertShape('X', zeros([4, 7]), ['N', 'D']);
    expect(b).toEqual({ N: 4, D: 7 });
    expect(() => assertShape('W', zeros([6, 10]), ['D', 'C'], b)).toThrow(/W: expected shape \(D=7, C\), got \(6, 10\)/);
    expect(() => assertShape('x', zeros([2]), [2, 3])).toThrow(/x: expected shape \(2, 3\), got \(2,\)/);
  });
  test('copy converts dtype', () => {
    const a = array([1.1, 2.2]);
    expect(copy(a, 'float32').data).toBeInstanceOf(Float32Array);
  });
});
