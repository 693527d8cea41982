import fc from 'fast-check';
import * as fs from 'fs';
import * as path from 'path';
import type { NdArray } from 'ndarray';
import { RandomState, random, defaultRandomState } from '../src/core/random';
import { fromData, toArray, transpose, type NumStore } from '../src/core/tensor';

interface Call {
  op: string;
  args: unknown[];
  out: unknown;
  shape: number[] | null;
}
interface Case {
  seed: number | number[];
  calls: Call[];
}
interface Fixture {
  numpy: string;
  normalOps: string[];
  cases: Case[];
  notebook: { x: number[]; w: number[]; b: number[]; dout: number[]; choiceSeed0: number[] };
}

const fixture: Fixture = JSON.parse(
  fs.readFileSync(path.join(__dirname, 'fixtures', 'random_vectors.json'), 'utf8'),
) as Fixture;

/** Normals may differ from numpy by an ulp or two (V8's Math.log is not glibc's). */
const NORMAL_RTOL = 1e-14;

function expectNormalsClose(ours: ArrayLike<number>, ref: ArrayLike<number>, label: string): void {
  expect(ours.length).toBe(ref.length);
  for (let i = 0; i < ref.length; i++) {
    const err = Math.abs(ours[i] - ref[i]);
    if (!(err <= NORMAL_RTOL * Math.max(1, Math.abs(ref[i])))) {
      throw new Error(`${label}[${i}]: ours ${ours[i]} vs numpy ${ref[i]} (error ${err})`);
    }
  }
}

const INT32 = (v: number): boolean => Number.isInteger(v) && v >= -(2 ** 31) && v < 2 ** 31;

/** Plays one recorded numpy call on our generator; returns the flat result and its shape. */
function play(rs: RandomState, call: Call): { out: number | number[]; shape: number[] | null; store?: NumStore } {
  const a = call.args.map((v) => (v === null ? undefined : v)) as any[];
  let res: number | NdArray<NumStore>;
  switch (call.op) {
    case 'rand':
      res = rs.rand(...(a as number[]));
      break;
    case 'randn':
      res = rs.randn(...(a as number[]));
      break;
    case 'randint': {
      const [low, high, size] = a as [number, number | undefined, number | number[] | undefined];
      if (size === undefined) res = rs.randint(low, high);
      else if (high === undefined || (INT32(low) && INT32(high - 1))) res = rs.randint(low, high, size);
      else res = rs.randint(low, high, size, 'float64');
      break;
    }
    case 'choice': {
      const [pop, size, replace, p] = a as [number | number[], number | number[] | undefined, boolean, number[] | undefined];
      res = rs.choice(pop as any, size as any, replace, p) as number | NdArray<NumStore>;
      break;
    }
    case 'permutation':
      res = rs.permutation(a[0] as number);
      break;
    case 'permutation_array': {
      const [values, shape] = a as [number[], number[]];
      const store = values.every(Number.isInteger) ? Int32Array.from(values) : Float64Array.from(values);
      res = rs.permutation(fromData(store as NumStore, shape));
      break;
    }
    case 'shuffle': {
      const [values, shape] = a as [number[], number[]];
      const x = fromData(Float64Array.from(values), shape);
      rs.shuffle(x);
      res = x;
      break;
    }
    case 'uniform':
      res = a[0] === undefined ? rs.uniform() : a[2] === undefined ? rs.uniform(a[0], a[1]) : rs.uniform(a[0], a[1], a[2]);
      break;
    case 'normal':
      res = a[0] === undefined ? rs.normal() : a[2] === undefined ? rs.normal(a[0], a[1]) : rs.normal(a[0], a[1], a[2]);
      break;
    case 'randomSample':
      res = a[0] === undefined ? rs.randomSample() : rs.randomSample(a[0]);
      break;
    default:
      throw new Error(`unknown op ${call.op}`);
  }
  if (typeof res === 'number') return { out: res, shape: null };
  return { out: toArray(res), shape: res.shape, store: res.data };
}

function checkCall(rs: RandomState, call: Call, label: string): void {
  if (call.op === 'state') {
    const st = rs.getState();
    const ref = call.out as { pos: number; hasGauss: boolean; gauss: number; keyHead: number[]; keyTail: number[] };
    expect({ pos: st.pos, hasGauss: st.hasGauss }).toEqual({ pos: ref.pos, hasGauss: ref.hasGauss });
    expectNormalsClose([st.gauss], [ref.gauss], `${label}.gauss`);
    expect(Array.from(st.key.subarray(0, 8))).toEqual(ref.keyHead);
    expect(Array.from(st.key.subarray(624 - 8))).toEqual(ref.keyTail);
    return;
  }
  const got = play(rs, call);
  expect(got.shape).toEqual(call.shape);
  const ours = typeof got.out === 'number' ? [got.out] : got.out;
  const ref = typeof call.out === 'number' ? [call.out] : (call.out as number[]);
  if (fixture.normalOps.includes(call.op)) {
    expectNormalsClose(ours, ref, label);
  } else {
    if (ours.length !== ref.length || ours.some((v, i) => v !== ref[i])) {
      throw new Error(`${label}: ours [${ours.slice(0, 10)}...] vs numpy [${ref.slice(0, 10)}...]`);
    }
  }
  const [low, high] = call.args as [number, number | null];
  const int32Range = high === null || (INT32(low) && INT32(high - 1));
  const integerOp = (call.op === 'randint' && int32Range) || call.op === 'permutation' || (call.op === 'choice' && typeof call.args[0] === 'number');
  if (integerOp && got.store) expect(got.store).toBeInstanceOf(Int32Array);
  if (call.op === 'randint' && !int32Range && got.store) expect(got.store).toBeInstanceOf(Float64Array);
  if ((call.op === 'rand' || fixture.normalOps.includes(call.op)) && got.store) expect(got.store).toBeInstanceOf(Float64Array);
}

describe('RandomState reproduces numpy legacy RandomState (fixture from numpy ' + fixture.numpy + ')', () => {
  test.each(fixture.cases.map((c) => [JSON.stringify(c.seed).slice(0, 20), c] as const))('seed %s, call by call', (_name, c) => {
    const rs = new RandomState(c.seed);
    c.calls.forEach((call, i) => checkCall(rs, call, `seed ${JSON.stringify(c.seed).slice(0, 20)} call ${i} ${call.op}(${JSON.stringify(call.args).slice(0, 60)})`));
  });

  test('the global functions replay the same sequence after random.seed', () => {
    const c = fixture.cases.find((k) => k.seed === 231)!;
    random.seed(231);
    c.calls.forEach((call, i) => checkCall(defaultRandomState(), call, `global call ${i} ${call.op}`));
  });

  test("notebook inputs: np.random.seed(231); x = randn(10, 2, 3); w = randn(6, 5); b = randn(5); dout = randn(10, 5)", () => {
    random.seed(231);
    const x = random.randn(10, 2, 3);
    const w = random.randn(6, 5);
    const b = random.randn(5);
    const dout = random.randn(10, 5);
    expect(x.shape).toEqual([10, 2, 3]);
    expectNormalsClose(x.data, fixture.notebook.x, 'x');
    expectNormalsClose(w.data, fixture.notebook.w, 'w');
    expectNormalsClose(b.data, fixture.notebook.b, 'b');
    expectNormalsClose(dout.data, fixture.notebook.dout, 'dout');
    random.seed(0);
    expect(Array.from(random.choice(49000, 200).data)).toEqual(fixture.notebook.choiceSeed0);
  });

  test('seed 0 first values match the well-known numpy numbers', () => {
    const rs = new RandomState(0);
    expect(rs.rand()).toBe(0.5488135039273248);
    const r2 = new RandomState(0);
    expect(r2.randn()).toBeCloseTo(1.764052345967664, 14);
    expect(new RandomState(0).getState().key.subarray(0, 3)).toEqual(Uint32Array.from([0, 1, 1812433255]));
  });
});

describe('RandomState properties', () => {
  const seedArb = fc.integer({ min: 0, max: 2 ** 32 - 1 });

  test('randint stays in [low, high) and gives integers, for small and huge ranges', () => {
    fc.assert(
      fc.property(
        seedArb,
        fc.integer({ min: -(2 ** 45), max: 2 ** 45 }),
        fc.oneof(fc.integer({ min: 1, max: 70 }), fc.integer({ min: 1, max: 2 ** 46 })),
        (seed, low, span) => {
          const rs = new RandomState(seed);
          const v = rs.randint(low, low + span, 20, 'float64');
          for (const x of v.data) {
            if (!Number.isInteger(x) || x < low || x >= low + span) return false;
          }
          const s = rs.randint(low, low + span);
          return Number.isInteger(s) && s >= low && s < low + span;
        },
      ),
      { numRuns: 200 },
    );
  });

  test('permutation(n) is a permutation of 0..n-1', () => {
    fc.assert(
      fc.property(seedArb, fc.integer({ min: 0, max: 300 }), (seed, n) => {
        const p = new RandomState(seed).permutation(n);
        const sorted = Array.from(p.data).sort((x, y) => x - y);
        return p.data instanceof Int32Array && sorted.every((v, i) => v === i) && sorted.length === n;
      }),
    );
  });

  test('same seed gives the same stream; different call chunking gives the same values', () => {
    fc.assert(
      fc.property(seedArb, fc.array(fc.integer({ min: 0, max: 9 }), { minLength: 1, maxLength: 8 }), (seed, chunks) => {
        const total = chunks.reduce((s, c) => s + c, 0);
        const whole = new RandomState(seed);
        const pieces = new RandomState(seed);
        const ref = Array.from(whole.randn(total).data);
        const got = chunks.flatMap((c) => Array.from(pieces.randn(c).data));
        const u1 = Array.from(whole.rand(5).data);
        const u2 = Array.from(pieces.rand(5).data);
        const i1 = Array.from(whole.randint(-3, 1000, 7).data);
        const i2 = Array.from(pieces.randint(-3, 1000, 7).data);
        return JSON.stringify([ref, u1, i1]) === JSON.stringify([got, u2, i2]);
      }),
    );
  });

  test('after an odd number of normals the next uniform is where numpy puts it', () => {
    fc.assert(
      fc.property(seedArb, fc.integer({ min: 0, max: 50 }), (seed, k) => {
        const odd = 2 * k + 1;
        const a = new RandomState(seed);
        a.randn(odd);
        const b = new RandomState(seed);
        b.randn(odd + 1); // the extra normal is the cached one: no words consumed
        return a.getState().hasGauss && !b.getState().hasGauss && a.rand() === b.rand();
      }),
    );
  });

  test('getState/setState round-trips, including a cached normal', () => {
    fc.assert(
      fc.property(seedArb, fc.integer({ min: 0, max: 700 }), (seed, skip) => {
        const rs = new RandomState(seed);
        rs.randn(skip % 2 === 0 ? skip + 1 : skip);
        const snap = rs.getState();
        const first = [rs.randn(), ...rs.rand(3).data, rs.randint(0, 97)];
        rs.setState(snap);
        const again = [rs.randn(), ...rs.rand(3).data, rs.randint(0, 97)];
        return JSON.stringify(first) === JSON.stringify(again);
      }),
    );
  });

  test('shuffle of an ndarray (dense or strided view) moves rows as permutation(n) orders them', () => {
    fc.assert(
      fc.property(seedArb, fc.integer({ min: 1, max: 12 }), fc.integer({ min: 1, max: 4 }), (seed, n, d) => {
        const order = Array.from(new RandomState(seed).permutation(n).data);
        const dense = fromData(Float64Array.from({ length: n * d }, (_, i) => i), [n, d]);
        new RandomState(seed).shuffle(dense);
        // A transposed view: rows of the view are columns of the store.
        const base = fromData(Float64Array.from({ length: n * d }, (_, i) => i), [d, n]);
        const view = transpose(base);
        const viewBefore = toArray(view);
        new RandomState(seed).shuffle(view);
        const plain = Array.from({ length: n }, (_, i) => i);
        new RandomState(seed).shuffle(plain);
        for (let r = 0; r < n; r++) {
          for (let c = 0; c < d; c++) {
            if (dense.get(r, c) !== order[r] * d + c) return false;
            if (view.get(r, c) !== viewBefore[order[r] * d + c]) return false;
          }
        }
        return JSON.stringify(plain) === JSON.stringify(order);
      }),
    );
  });

  test('choice without replacement never repeats; with p it never picks a zero-probability item', () => {
    fc.assert(
      fc.property(seedArb, fc.integer({ min: 1, max: 40 }), fc.integer({ min: 0, max: 40 }), (seed, pop, want) => {
        const size = Math.min(pop, want);
        const rs = new RandomState(seed);
        const a = Array.from(rs.choice(pop, size, false).data);
        const p: number[] = Array.from({ length: pop }, (_, i) => (i % 3 === 0 ? 0 : 1));
        const total = p.reduce((s, v) => s + v, 0);
        if (total === 0) return new Set(a).size === a.length;
        const probs = p.map((v) => v / total);
        const withP = Array.from(rs.choice(pop, 30, true, probs).data);
        const nz = probs.filter((v) => v > 0).length;
        const noRep = Array.from(rs.choice(pop, Math.min(size, nz), false, probs).data);
        return (
          new Set(a).size === a.length &&
          withP.every((i) => probs[i] > 0) &&
          noRep.every((i) => probs[i] > 0) &&
          new Set(noRep).size === noRep.length
        );
      }),
    );
  });

  test('choice over an array returns its values, typed like it', () => {
    const rs = new RandomState(3);
    const pool = Int32Array.from([7, 8, 9]);
    const got = rs.choice(pool, [2, 2]);
    expect(got.data).toBeInstanceOf(Int32Array);
    expect(got.shape).toEqual([2, 2]);
    expect(Array.from(got.data).every((v) => [7, 8, 9].includes(v))).toBe(true);
    expect([0.5, 1.5]).toContain(rs.choice([0.5, 1.5]));
  });

  test('shuffle and permutation keep the storage type of ndarrays and typed arrays', () => {
    const labels = fromData(Int32Array.from([0, 1, 2, 3, 4, 5]), [6]);
    new RandomState(1).shuffle(labels);
    expect(Array.from(labels.data).sort()).toEqual([0, 1, 2, 3, 4, 5]);
    const f32 = new RandomState(1).permutation(fromData(Float32Array.from([1, 2, 3, 4]), [2, 2]));
    expect(f32.data).toBeInstanceOf(Float32Array);
    expect(f32.shape).toEqual([2, 2]);
    const typed = new RandomState(1).permutation(Uint8Array.from([9, 8, 7]));
    expect(typed.data).toBeInstanceOf(Uint8Array);
    const words = ['a', 'b', 'c', 'd'];
    new RandomState(1).shuffle(words);
    expect(words.slice().sort()).toEqual(['a', 'b', 'c', 'd']);
  });

  test('unseeded generators draw from OS entropy (two of them differ)', () => {
    const a = Array.from(new RandomState().rand(4).data);
    const b = Array.from(new RandomState().rand(4).data);
    expect(a).not.toEqual(b);
  });

  test('rand, randn, uniform, normal without size return numbers; with size, Float64 ndarrays', () => {
    const rs = new RandomState(5);
    expect(typeof rs.rand()).toBe('number');
    expect(typeof rs.randn()).toBe('number');
    expect(typeof rs.uniform(2, 3)).toBe('number');
    expect(typeof rs.normal(2, 3)).toBe('number');
    const u = rs.uniform(2, 3, [4, 5]);
    expect(u.data).toBeInstanceOf(Float64Array);
    expect(u.shape).toEqual([4, 5]);
    expect(Array.from(u.data).every((v) => v >= 2 && v < 3)).toBe(true);
    expect(rs.randn(0, 3).shape).toEqual([0, 3]);
  });
});

describe('RandomState rejects bad input with errors naming the argument', () => {
  test.each([-1, 2 ** 32, 1.5, NaN, Infinity])('seed %p', (s) => {
    expect(() => new RandomState(s)).toThrow(/seed: expected an integer in \[0, 2\*\*32 - 1\]/);
    expect(() => random.seed(s)).toThrow(RangeError);
  });

  test('array seeds are validated element by element', () => {
    expect(() => new RandomState([1, -2])).toThrow(/seed\[1\]/);
    expect(() => new RandomState([])).toThrow(/seed: .*non-empty/);
  });

  test('randint needs low < high, integers, and an int32 range for int32 output', () => {
    const rs = new RandomState(0);
    expect(() => rs.randint(5, 5)).toThrow(/low, high: expected low < high, got low=5, high=5/);
    expect(() => rs.randint(0)).toThrow(/low < high/);
    expect(() => rs.randint(7, 2, 3)).toThrow(/low < high/);
    expect(() => rs.randint(0.5, 3)).toThrow(/low: expected a safe integer/);
    expect(() => rs.randint(0, 2 ** 33, 4)).toThrow(/dtype 'float64'/);
    expect(() => rs.randint(-(2 ** 53) + 1, 2 ** 53 - 1)).toThrow(/high - low/);
  });

  test('choice validates p, the population and the sample size', () => {
    const rs = new RandomState(0);
    expect(() => rs.choice(3, 2, true, [0.5, 0.4, 0.05])).toThrow(/p: expected probabilities summing to 1, got a sum of 0.95/);
    expect(() => rs.choice(3, 2, true, [0.5, 0.5])).toThrow(/p: expected 3 probabilities/);
    expect(() => rs.choice(3, 2, true, [1.5, -0.5, 0])).toThrow(/p: expected non-negative/);
    expect(() => rs.choice(3, 2, true, [NaN, 0.5, 0.5])).toThrow(/NaN/);
    expect(() => rs.choice(5, 6, false)).toThrow(/size: expected at most 5 samples without replacement/);
    expect(() => rs.choice(4, 3, false, [0.5, 0.5, 0, 0])).toThrow(/at least 3 non-zero probabilities/);
    expect(() => rs.choice(0, 1)).toThrow(/a: expected a population size > 0/);
    expect(() => rs.choice(fromData(new Float64Array(4), [2, 2]), 1)).toThrow(/a: expected a 1-D array, got shape/);
  });

  test('shapes, scales and ranges', () => {
    const rs = new RandomState(0);
    expect(() => rs.rand(2, -1)).toThrow(/shape: expected a non-negative integer/);
    expect(() => rs.randomSample([2.5])).toThrow(/size: expected a non-negative integer/);
    expect(() => rs.normal(0, -1, 3)).toThrow(/scale: expected a non-negative number, got -1/);
    expect(() => rs.uniform(-Infinity, 0)).toThrow(/high - low: expected a finite range/);
    expect(() => rs.permutation(-1)).toThrow(/x: expected a non-negative integer/);
    expect(() => rs.shuffle(fromData(new Float64Array(1), []))).toThrow(/0-d/);
  });

  test('a failed call consumes nothing', () => {
    const a = new RandomState(9);
    const b = new RandomState(9);
    expect(() => a.choice(5, 6, false)).toThrow();
    expect(a.rand()).toBe(b.rand());
  });
});
