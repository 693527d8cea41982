import fc from 'fast-check';
import ndarray from 'ndarray';
import os from 'node:os';
import path from 'node:path';
import { spawnSync } from 'node:child_process';
import { matmul, gemmPlan, float32ErrorBound } from '../src/core/matmul';
import { workerStats, threadCount, MAX_THREADS } from '../src/core/gemm/workers';
import { gemmKernel, setGemmFma, setGemmKernel, GEMM_KC, type GemmPlan } from '../src/core/gemm/gemm';
import { STREAM_COLS, STREAM_ROWS, STREAM_SLICES } from '../src/core/gemm/kernel';
import { relaxedSimdAvailable } from '../src/core/gemm/wasm';
import type { Tensor } from '../src/core/tensor';
import type { DType } from '../src/core/dtype';

/** Small deterministic generator so big operands do not go through fast-check shrinking. */
function prng(seed: number): () => number {
  let s = seed >>> 0;
  return () => {
    s = (s + 0x6d2b79f5) >>> 0;
    let t = s;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

type Layout = 'c' | 'f' | 'slice' | 'neg';
const LAYOUTS: Layout[] = ['c', 'f', 'slice', 'neg'];

/** A (rows, cols) tensor with random entries laid out in memory as `layout` says. */
function makeTensor(rows: number, cols: number, dtype: DType, layout: Layout, rand: () => number): Tensor {
  const fill = (n: number) => {
    const d = dtype === 'float64' ? new Float64Array(n) : new Float32Array(n);
    for (let i = 0; i < n; i++) d[i] = rand() * 2 - 1;
    return d;
  };
  switch (layout) {
    case 'c':
      return ndarray(fill(rows * cols), [rows, cols]);
    case 'f':
      // Column-major: the transpose of a dense (cols, rows) array.
      return ndarray(fill(rows * cols), [cols, rows]).transpose(1, 0);
    case 'slice':
      // Every other column of a padded array, starting at an offset: no unit stride at all.
      return ndarray(fill((rows + 2) * (2 * cols + 3)), [rows + 2, 2 * cols + 3]).lo(1, 1).step(1, 2).hi(rows, cols);
    case 'neg':
      // Rows in reverse order: a negative row stride.
      return ndarray(fill(rows * cols), [rows, cols]).step(-1, 1);
  }
}

/** A float64 reference: C, the sums Σ|a||b| an error bound scales with, and k. */
interface Ref { C: Float64Array; mag: Float64Array; k: number }

/** op(A) (m×k) and op(B)ᵀ (n×k) as dense row-major float64 copies. */
function dense(A: Tensor, B: Tensor, transA: boolean, transB: boolean): { ad: Float64Array; bd: Float64Array; m: number; n: number; k: number } {
  const a = transA ? A.transpose(1, 0) : A;
  const b = transB ? B.transpose(1, 0) : B;
  const [m, k] = a.shape;
  const n = b.shape[1];
  // Dense copies first: the loop below then sees only Float64Arrays, so V8 keeps it optimised
  // (.get on the many ndarray view classes would be megamorphic and slow it 100x).
  const ad = new Float64Array(m * k);
  const bd = new Float64Array(k * n);
  for (let i = 0; i < m; i++) for (let p = 0; p < k; p++) ad[i * k + p] = a.get(i, p);
  for (let p = 0; p < k; p++) for (let j = 0; j < n; j++) bd[j * k + p] = b.get(p, j);
  return { ad, bd, m, n, k };
}

/** op(A) · op(B) by the textbook triple loop, plus the sum of |a||b| for an error bound. */
function naive(A: Tensor, B: Tensor, transA: boolean, transB: boolean): Ref {
  const { ad, bd, m, n, k } = dense(A, B, transA, transB);
  return tripleLoop(ad, bd, m, n, k);
}

/**
 * The float32 product as matmul documents it, one scalar at a time: per element, each
 * GEMM_KC-long k-slice summed as s = f32(s + f32(a·b)) in p order, the slice sums then added
 * in order in float32. Rounds through a Float32Array rather than Math.fround (a Math call
 * keeps this loop from being optimised inside jest's VM context).
 */
function float32Emulated(A: Tensor, B: Tensor, transA: boolean, transB: boolean): Float32Array {
  const { ad, bd, m, n, k } = dense(A, B, transA, transB);
  const C = new Float32Array(m * n);
  const r = new Float32Array(3);
  for (let i = 0; i < m; i++) {
    for (let j = 0; j < n; j++) {
      r[1] = 0;
      for (let p0 = 0; p0 < k; p0 += GEMM_KC) {
        r[0] = 0;
        for (let p = p0; p < Math.min(k, p0 + GEMM_KC); p++) {
          r[2] = ad[i * k + p] * bd[j * k + p]; // the float32 product, rounded once
          r[0] = r[0] + r[2];
        }
        r[1] = p0 === 0 ? r[0] : r[1] + r[0];
      }
      C[i * n + j] = r[1];
    }
  }
  return C;
}

/** C[i][j] = Σ_p a[i][p] · bᵀ[j][p] on dense row-major arrays. */
function tripleLoop(ad: Float64Array, bd: Float64Array, m: number, n: number, k: number): Ref {
  const C = new Float64Array(m * n);
  const mag = new Float64Array(m * n);
  for (let i = 0; i < m; i++) {
    for (let j = 0; j < n; j++) {
      let s = 0;
      let g = 0;
      for (let p = 0; p < k; p++) {
        const x = ad[i * k + p] * bd[j * k + p];
        s += x;
        // Not Math.abs: inside jest's VM context that call keeps this loop from being
        // optimised (measured 70x slower), and the reference loop is most of the test time.
        g += x < 0 ? -x : x;
      }
      C[i * n + j] = s;
      mag[i * n + j] = g;
    }
  }
  return { C, mag, k };
}

/**
 * Asserts |C - ref| ≤ bound elementwise: float64, 1e-12 · Σ|a||b| (the natural bound for dot
 * products); float32, the documented float32ErrorBound(k, Σ|a||b|) — the reference is exact
 * to float64 on the very float32 inputs, so this is the whole float32 error.
 */
function expectClose(C: Tensor, ref: Ref, dtype: DType): void {
  const [m, n] = C.shape;
  let worst = 0;
  for (let i = 0; i < m; i++) {
    for (let j = 0; j < n; j++) {
      const err = Math.abs(C.get(i, j) - ref.C[i * n + j]);
      const mag = ref.mag[i * n + j];
      const bound = (dtype === 'float64' ? 1e-12 * mag : float32ErrorBound(ref.k, mag)) + 1e-300;
      worst = Math.max(worst, err / bound);
    }
  }
  expect(worst).toBeLessThanOrEqual(1);
}

/** Runs `f` with CS231N_THREADS set to `value` (undefined removes it), restoring it after. */
function withThreads<T>(value: string | undefined, f: () => T): T {
  const saved = process.env.CS231N_THREADS;
  if (value === undefined) delete process.env.CS231N_THREADS;
  else process.env.CS231N_THREADS = value;
  try {
    return f();
  } finally {
    if (saved === undefined) delete process.env.CS231N_THREADS;
    else process.env.CS231N_THREADS = saved;
  }
}

describe.each(['wasm', 'js'] as const)('matmul with the %s tile equals the naive triple loop', (kernel) => {
  beforeAll(() => {
    expect(setGemmKernel(kernel)).toBe(kernel);
  });
  afterAll(() => {
    setGemmKernel(null);
  });

  const dim = fc.oneof(fc.constantFrom(0, 1, 2, 3, 4, 5), fc.integer({ min: 0, max: 41 }));
  const caseArb = fc.record({
    m: dim,
    k: dim,
    n: dim,
    transA: fc.boolean(),
    transB: fc.boolean(),
    dtype: fc.constantFrom<DType>('float64', 'float32'),
    layoutA: fc.constantFrom(...LAYOUTS),
    layoutB: fc.constantFrom(...LAYOUTS),
    outKind: fc.constantFrom('none', 'dense', 'strided'),
    seed: fc.integer(),
  });

  test('all transpose flags, both dtypes, odd and empty sizes, strided inputs and out', () => {
    fc.assert(
      fc.property(caseArb, (c) => {
        const rand = prng(c.seed);
        const A = c.transA ? makeTensor(c.k, c.m, c.dtype, c.layoutA, rand) : makeTensor(c.m, c.k, c.dtype, c.layoutA, rand);
        const B = c.transB ? makeTensor(c.n, c.k, c.dtype, c.layoutB, rand) : makeTensor(c.k, c.n, c.dtype, c.layoutB, rand);
        const Ctor = c.dtype === 'float64' ? Float64Array : Float32Array;
        let out: Tensor | undefined;
        if (c.outKind === 'dense') out = ndarray(new Ctor(c.m * c.n).fill(NaN), [c.m, c.n]);
        // A transposed view: column stride n·1 ≠ 1, pre-filled with garbage that must vanish.
        if (c.outKind === 'strided') out = ndarray(new Ctor(c.m * c.n).fill(NaN), [c.n, c.m]).transpose(1, 0);
        const C = matmul(A, B, { transA: c.transA, transB: c.transB, out });
        if (out) expect(C).toBe(out);
        expect(C.shape).toEqual([c.m, c.n]);
        expect(C.data).toBeInstanceOf(Ctor);
        expectClose(C, naive(A, B, c.transA, c.transB), c.dtype);
      }),
      { numRuns: 250 },
    );
  });

  test('long k (several k-slices) and sizes past the packing chunk in m and in n', () => {
    const rand = prng(7);
    for (const [m, k, n] of [[9, 600, 7], [4101, 3, 5], [3, 5, 4103], [66, 300, 70]]) {
      for (const dtype of ['float64', 'float32'] as DType[]) {
        const A = makeTensor(m, k, dtype, 'c', rand);
        const B = makeTensor(k, n, dtype, 'slice', rand);
        expectClose(matmul(A, B), naive(A, B, false, false), dtype);
      }
    }
  });

  test('k = 0 gives zeros (overwriting out), m = 0 or n = 0 an empty result', () => {
    const out = ndarray(new Float64Array(6).fill(7), [2, 3]);
    const z = matmul(ndarray(new Float64Array(0), [2, 0]), ndarray(new Float64Array(0), [0, 3]), { out });
    expect(Array.from(z.data)).toEqual([0, 0, 0, 0, 0, 0]);
    const e = matmul(ndarray(new Float32Array(0), [0, 4]), ndarray(new Float32Array(12), [4, 3]));
    expect(e.shape).toEqual([0, 3]);
    expect(e.data).toBeInstanceOf(Float32Array);
    expect(matmul(ndarray(new Float64Array(8), [2, 4]), ndarray(new Float64Array(0), [4, 0])).shape).toEqual([2, 0]);
  });

  test('result has A dtype when B is the other float dtype', () => {
    const rand = prng(3);
    const A = makeTensor(20, 30, 'float32', 'c', rand);
    const B = makeTensor(30, 25, 'float64', 'f', rand);
    const C = matmul(A, B);
    expect(C.data).toBeInstanceOf(Float32Array);
    expectClose(C, naive(A, B, false, false), 'float32');
  });

  test('out may alias an input', () => {
    const rand = prng(11);
    const A = makeTensor(40, 40, 'float64', 'c', rand);
    const B = makeTensor(40, 40, 'float64', 'c', rand);
    const ref = naive(A, B, false, true);
    const C = matmul(A, B, { transB: true, out: A });
    expect(C).toBe(A);
    expectClose(C, ref, 'float64');
  });
});

describe('threaded path', () => {
  test('300x300x300 on the worker pool equals the naive loop (sampled rows) and the one-thread result bit for bit', () => {
    const rand = prng(2024);
    for (const [dtype, transA, transB] of [['float64', false, false], ['float32', true, true]] as const) {
      const A = makeTensor(300, 300, dtype, transA ? 'f' : 'c', rand);
      const B = makeTensor(300, 300, dtype, transB ? 'slice' : 'neg', rand);
      const before = workerStats().threadedJobs;
      const C = withThreads('2', () => matmul(A, B, { transA, transB }));
      // Proves the product really went through the workers (SharedArrayBuffer is available in node).
      expect(workerStats().threadedJobs).toBeGreaterThan(before);
      expect(workerStats().workers).toBeGreaterThanOrEqual(1);
      // Every 5th row (5 is odd, so rows land in every lane of the 4-row register tile): the
      // full reference loop is 27M steps, which takes seconds when the shared machine is
      // loaded. All of C is still tied bit for bit to the one-thread path just below.
      const rowsOfA = transA ? A.step(1, 5) : A.step(5, 1);
      expectClose(C.step(5, 1), naive(rowsOfA, B, transA, transB), dtype);
      const one = withThreads('1', () => matmul(A, B, { transA, transB }));
      // Each element sees the same sequence of operations whichever thread computes it.
      let differ = 0;
      for (let i = 0; i < C.data.length; i++) if (!Object.is(one.data[i], C.data[i])) differ++;
      expect(differ).toBe(0);
    }
  });

  test('property: threaded = one-thread bit for bit = naive (sampled rows), random layouts and flags', () => {
    const big = fc.integer({ min: 100, max: 140 });
    fc.assert(
      fc.property(
        fc.record({
          m: big, k: big, n: big, transA: fc.boolean(), transB: fc.boolean(),
          dtype: fc.constantFrom<DType>('float64', 'float32'),
          layoutA: fc.constantFrom(...LAYOUTS), layoutB: fc.constantFrom(...LAYOUTS), seed: fc.integer(),
        }),
        (c) => {
          const rand = prng(c.seed);
          const A = c.transA ? makeTensor(c.k, c.m, c.dtype, c.layoutA, rand) : makeTensor(c.m, c.k, c.dtype, c.layoutA, rand);
          const B = c.transB ? makeTensor(c.n, c.k, c.dtype, c.layoutB, rand) : makeTensor(c.k, c.n, c.dtype, c.layoutB, rand);
          const opts = { transA: c.transA, transB: c.transB };
          const before = workerStats().threadedJobs;
          const C = withThreads('2', () => matmul(A, B, opts));
          expect(workerStats().threadedJobs).toBeGreaterThan(before);
          const one = withThreads('1', () => matmul(A, B, opts));
          let differ = 0;
          for (let i = 0; i < C.data.length; i++) if (!Object.is(one.data[i], C.data[i])) differ++;
          expect(differ).toBe(0);
          const rowsOfA = c.transA ? A.step(1, 7) : A.step(7, 1);
          expectClose(C.step(7, 1), naive(rowsOfA, B, c.transA, c.transB), c.dtype);
        },
      ),
      { numRuns: 8 },
    );
  });

  test('the worker threads really compute tiles (kernel source shipped to them works)', () => {
    const rand = prng(9);
    const A = makeTensor(200, 200, 'float64', 'c', rand);
    const B = makeTensor(200, 200, 'float64', 'c', rand);
    const ref = withThreads('1', () => matmul(A, B));
    const before = workerStats().workerTasks;
    // The main thread takes tiles too, so a worker still booting may get none: retry a while.
    for (let i = 0; i < 200 && workerStats().workerTasks === before; i++) {
      const C = withThreads('2', () => matmul(A, B));
      expect(C.data).toEqual(ref.data);
    }
    expect(workerStats().workerTasks).toBeGreaterThan(before);
  });

  test('threaded product into a strided float64 out', () => {
    const rand = prng(5);
    const A = makeTensor(130, 257, 'float64', 'c', rand);
    const B = makeTensor(257, 140, 'float64', 'c', rand);
    const out = ndarray(new Float64Array(130 * 140).fill(NaN), [140, 130]).transpose(1, 0);
    const C = withThreads('2', () => matmul(A, B, { out }));
    expect(C).toBe(out);
    expectClose(C, naive(A, B, false, false), 'float64');
  });

  test('the WebAssembly SIMD tile is the default here, and the JS tile matches it bit for bit', () => {
    expect(gemmKernel()).toBe('wasm');
    const rand = prng(77);
    const A = makeTensor(130, 257, 'float64', 'f', rand);
    const B = makeTensor(257, 141, 'float64', 'slice', rand);
    const results: Tensor[] = [];
    try {
      for (const kernel of ['wasm', 'js'] as const) {
        setGemmKernel(kernel);
        for (const threads of ['1', '2']) results.push(withThreads(threads, () => matmul(A, B)));
      }
    } finally {
      setGemmKernel(null);
    }
    for (const r of results.slice(1)) {
      let differ = 0;
      for (let i = 0; i < r.data.length; i++) if (!Object.is(r.data[i], results[0].data[i])) differ++;
      expect(differ).toBe(0);
    }
    expectClose(results[0], naive(A, B, false, false), 'float64');
  });

  test('CS231N_THREADS picks the thread count; the default is every core; junk values fall back to it', () => {
    expect(withThreads('1', threadCount)).toBe(1);
    expect(withThreads('3', threadCount)).toBe(3);
    expect(withThreads('1000', threadCount)).toBe(MAX_THREADS);
    const dflt = withThreads(undefined, threadCount);
    const cores = typeof os.availableParallelism === 'function' ? os.availableParallelism() : os.cpus().length;
    expect(dflt).toBe(Math.min(cores, MAX_THREADS));
    expect(withThreads('zero', threadCount)).toBe(dflt);
    expect(withThreads('0', threadCount)).toBe(dflt);
  });
});

describe('float32 products are computed in float32', () => {
  // The FMA tiles (where the runtime has relaxed SIMD) round once per step: off here, so
  // every float32 result below is the documented mul-then-add sequence, on either tile.
  beforeAll(() => {
    expect(setGemmFma(false)).toBe(false);
  });
  afterAll(() => {
    setGemmFma(null);
  });

  // Each path of the schedule: packed both, split-k, copied rows / columns, streamed chunks.
  const shapes: Array<[number, number, number, boolean, boolean]> = [
    [70, 300, 50, false, false], [130, 600, 90, true, true], [9, 900, 13, false, true], [1500, 300, 12, false, false],
    [27, 32, 3000, true, false], [300, 20, 260, false, true],
  ];

  test.each(['wasm', 'js'] as const)('the %s tile gives exactly the float32 slice sums, on 1, 2 and 4 threads', (kernel) => {
    const rand = prng(404);
    try {
      expect(setGemmKernel(kernel)).toBe(kernel);
      for (const [m, k, n, transA, transB] of shapes) {
        const { A, B } = operands(m, k, n, transA, transB, 'float32', 'c', transB ? 'slice' : 'c', rand);
        const want = float32Emulated(A, B, transA, transB);
        for (const threads of ['1', '2', '4']) {
          const C = withThreads(threads, () => matmul(A, B, { transA, transB }));
          let differ = 0;
          for (let i = 0; i < want.length; i++) if (!Object.is(C.data[i], want[i])) differ++;
          expect({ m, k, n, threads, differ }).toEqual({ m, k, n, threads, differ: 0 });
        }
      }
    } finally {
      setGemmKernel(null);
    }
  });

  test('float32 accumulation really is float32: it differs from float64 sums rounded once, within the documented bound', () => {
    const rand = prng(17);
    const { A, B } = operands(64, 2000, 64, false, false, 'float32', 'c', 'c', rand);
    const C = matmul(A, B);
    const ref = naive(A, B, false, false);
    expectClose(C, ref, 'float32');
    const roundedOnce = Float32Array.from(ref.C);
    let differ = 0;
    for (let i = 0; i < roundedOnce.length; i++) if (C.data[i] !== roundedOnce[i]) differ++;
    // k = 2000 float32 roundings per element leave most elements some ulps off the exact sum.
    expect(differ).toBeGreaterThan(roundedOnce.length / 2);
  });

  test('property: float32 and float64 give the same bits on 1, 2 and 4 threads, random shapes, flags and layouts', () => {
    fc.assert(
      fc.property(
        fc.record({
          m: fc.integer({ min: 20, max: 160 }), k: fc.integer({ min: 20, max: 700 }), n: fc.integer({ min: 20, max: 160 }),
          transA: fc.boolean(), transB: fc.boolean(), dtype: fc.constantFrom<DType>('float64', 'float32'),
          layoutA: fc.constantFrom(...LAYOUTS), layoutB: fc.constantFrom(...LAYOUTS), seed: fc.integer(),
        }),
        (c) => {
          const { A, B } = operands(c.m, c.k, c.n, c.transA, c.transB, c.dtype, c.layoutA, c.layoutB, prng(c.seed));
          const opts = { transA: c.transA, transB: c.transB };
          const one = withThreads('1', () => matmul(A, B, opts));
          for (const threads of ['2', '4']) expect(bitDiffs(withThreads(threads, () => matmul(A, B, opts)), one)).toBe(0);
          const rowsOfA = c.transA ? A.step(1, 7) : A.step(7, 1);
          expectClose(one.step(7, 1), naive(rowsOfA, B, c.transA, c.transB), c.dtype);
        },
      ),
      { numRuns: 12 },
    );
  });

  test.each([
    ['--experimental-wasm-relaxed-simd', {}],
    ['CS231N_RELAXED_SIMD=1', { CS231N_RELAXED_SIMD: '1' }],
  ])('with relaxed SIMD (a child node with %s) the FMA tiles run: same bits on 1, 2 and 4 threads, within the bound', (how, env) => {
    const script = path.join(__dirname, 'gemmFmaChild.ts');
    // Node 22 has relaxed SIMD without the flag, and refuses the flag ("bad option").
    const flags = how.startsWith('--') && !relaxedSimdAvailable() ? [how] : [];
    const r = spawnSync(process.execPath, [...flags, '--import', 'tsx', script], {
      cwd: path.join(__dirname, '..'), encoding: 'utf8', env: { ...process.env, ...env, CS231N_THREADS: '' }, timeout: 110_000,
    });
    expect(r.stderr).toBe('');
    const out = JSON.parse(r.stdout.trim().split('\n').pop() ?? '{}') as Record<string, unknown>;
    expect(out).toMatchObject({ fma: true, fmaOff: false, threadDiffs: 0, convThreadDiffs: 0, withinBound: true, convWithinBound: true });
  });
});

/** Counts elements that differ in bits (NaN-safe). */
function bitDiffs(x: Tensor, y: Tensor): number {
  let differ = 0;
  for (let i = 0; i < x.data.length; i++) if (!Object.is(x.data[i], y.data[i])) differ++;
  return differ;
}

/** The operands of op(A) (m x k) · op(B) (k x n) stored per the flags and layouts. */
function operands(m: number, k: number, n: number, transA: boolean, transB: boolean, dtype: DType, layoutA: Layout, layoutB: Layout, rand: () => number): { A: Tensor; B: Tensor } {
  const A = transA ? makeTensor(k, m, dtype, layoutA, rand) : makeTensor(m, k, dtype, layoutA, rand);
  const B = transB ? makeTensor(n, k, dtype, layoutB, rand) : makeTensor(k, n, dtype, layoutB, rand);
  return { A, B };
}

/**
 * Checks one product on the thin-shape paths: equal to the naive loop within tolerance, the
 * 2-thread result (which really went through the pool when big enough) equal bit for bit to
 * the 1-thread one, and the same whichever operand layout / schedule produced it.
 */
function checkThin(A: Tensor, B: Tensor, transA: boolean, transB: boolean, dtype: DType): Tensor {
  const opts = { transA, transB };
  const before = workerStats().threadedJobs;
  const two = withThreads('2', () => matmul(A, B, opts));
  const [m, k] = transA ? [A.shape[1], A.shape[0]] : A.shape;
  const n = transB ? B.shape[0] : B.shape[1];
  const plan = gemmPlan(A, B, opts);
  if (m * n * k >= 1e6 && (m * n >= 512 || plan?.split === true)) expect(workerStats().threadedJobs).toBeGreaterThan(before);
  const one = withThreads('1', () => matmul(A, B, opts));
  expect(bitDiffs(two, one)).toBe(0);
  expectClose(two, naive(A, B, transA, transB), dtype);
  return two;
}

describe('thin shapes: split-k, operands copied in their own layout, streamed steps', () => {
  const cases: Array<{ what: string; m: number; k: number; n: number; transA: boolean; transB: boolean; expect: Partial<GemmPlan> }> = [
    { what: 'conv forward W · cols', m: 32, k: 27, n: 4000, transA: false, transB: false, expect: { split: false, aMode: 'rows', bMode: 'cols', stream: STREAM_COLS } },
    { what: 'conv dcols Wᵀ · dout', m: 27, k: 32, n: 4000, transA: true, transB: false, expect: { split: false, aMode: 'cols', bMode: 'cols', stream: STREAM_COLS } },
    { what: 'conv dW dout · colsᵀ', m: 32, k: 4000, n: 27, transA: false, transB: true, expect: { split: true, aMode: 'rows', bMode: 'pack', stream: STREAM_SLICES } },
    { what: 'X · W with few classes', m: 1500, k: 300, n: 12, transA: false, transB: false, expect: { split: false, aMode: 'rows', bMode: 'cols', stream: STREAM_ROWS } },
    { what: 'Xᵀ · dS, few rows (split-k)', m: 300, k: 1200, n: 10, transA: true, transB: false, expect: { split: true, aMode: 'cols', bMode: 'cols', stream: STREAM_SLICES } },
    { what: 'Xᵀ · dS, many rows, short k', m: 1500, k: 300, n: 12, transA: true, transB: false, expect: { split: false, aMode: 'cols', bMode: 'cols', stream: STREAM_ROWS } },
    { what: 'short k, both sides big', m: 300, k: 20, n: 700, transA: false, transB: true, expect: { split: false, aMode: 'rows', bMode: 'pack', stream: STREAM_COLS } },
    { what: 'square, packed both', m: 300, k: 600, n: 300, transA: false, transB: false, expect: { split: false, aMode: 'pack', bMode: 'pack', stream: STREAM_COLS } },
    { what: 'tall, packed both', m: 700, k: 300, n: 140, transA: true, transB: true, expect: { split: false, aMode: 'pack', bMode: 'pack', stream: STREAM_ROWS } },
  ];

  test.each(cases)('$what ($m x $k x $n) takes its path and matches the naive loop, both dtypes', (c) => {
    const rand = prng(c.m * 7 + c.k * 13 + c.n);
    for (const dtype of ['float64', 'float32'] as DType[]) {
      const { A, B } = operands(c.m, c.k, c.n, c.transA, c.transB, dtype, 'c', 'c', rand);
      expect(gemmPlan(A, B, { transA: c.transA, transB: c.transB })).toMatchObject(c.expect);
      const C = checkThin(A, B, c.transA, c.transB, dtype);
      // The same product with every operand packed (strided views force packing) is the same bits.
      const packedA = c.transA ? makeTensor(c.k, c.m, dtype, 'slice', prng(1)) : makeTensor(c.m, c.k, dtype, 'slice', prng(1));
      for (let i = 0; i < packedA.shape[0]; i++) for (let j = 0; j < packedA.shape[1]; j++) packedA.set(i, j, A.get(i, j));
      expect(gemmPlan(packedA, B, { transA: c.transA, transB: c.transB })?.aMode).toBe('pack');
      expect(bitDiffs(matmul(packedA, B, { transA: c.transA, transB: c.transB }), C)).toBe(0);
    }
  });

  test('C bigger than one workspace chunk: chunks in m and in n, copied out while the next one computes', () => {
    const rand = prng(99);
    for (const [m, k, n] of [[8, 3, 140000], [15000, 300, 3]]) {
      const { A, B } = operands(m, k, n, false, false, 'float64', 'c', 'c', rand);
      const plan = gemmPlan(A, B) as GemmPlan;
      expect(Math.ceil(m / plan.mc) * Math.ceil(n / plan.nc)).toBeGreaterThan(1);
      checkThin(A, B, false, false, 'float64');
    }
  });

  test('property: tiny m or n with a huge other side, short or long k, all flags, dtypes and layouts', () => {
    const small = fc.integer({ min: 1, max: 24 });
    const big = fc.integer({ min: 200, max: 1500 });
    fc.assert(
      fc.property(
        fc.record({
          wide: fc.boolean(), s: small, b: big, k: fc.oneof(fc.integer({ min: 1, max: 64 }), fc.integer({ min: 65, max: 280 })),
          transA: fc.boolean(), transB: fc.boolean(), dtype: fc.constantFrom<DType>('float64', 'float32'),
          layoutA: fc.constantFrom(...LAYOUTS), layoutB: fc.constantFrom(...LAYOUTS), seed: fc.integer(),
        }),
        (c) => {
          const [m, n] = c.wide ? [c.s, c.b] : [c.b, c.s];
          const { A, B } = operands(m, c.k, n, c.transA, c.transB, c.dtype, c.layoutA, c.layoutB, prng(c.seed));
          checkThin(A, B, c.transA, c.transB, c.dtype);
        },
      ),
      { numRuns: 20 },
    );
  });

  test('property: split-k (small C, k of 3 to 9 slices), all flags, dtypes and layouts', () => {
    fc.assert(
      fc.property(
        fc.record({
          m: fc.integer({ min: 1, max: 40 }), n: fc.integer({ min: 1, max: 40 }), k: fc.integer({ min: 513, max: 2300 }),
          transA: fc.boolean(), transB: fc.boolean(), dtype: fc.constantFrom<DType>('float64', 'float32'),
          layoutA: fc.constantFrom(...LAYOUTS), layoutB: fc.constantFrom(...LAYOUTS), seed: fc.integer(),
        }),
        (c) => {
          const { A, B } = operands(c.m, c.k, c.n, c.transA, c.transB, c.dtype, c.layoutA, c.layoutB, prng(c.seed));
          const plan = gemmPlan(A, B, { transA: c.transA, transB: c.transB });
          if (plan !== null) expect(plan.split).toBe(true);
          checkThin(A, B, c.transA, c.transB, c.dtype);
        },
      ),
      { numRuns: 30 },
    );
  });

  test('the JS tile gives the same bits as the wasm tile on copied (strided) operands, threaded', () => {
    const rand = prng(31);
    const shapes: Array<[number, number, number, boolean, boolean]> = [[32, 27, 6000, false, false], [27, 32, 6000, true, false], [32, 3000, 27, false, true], [2000, 300, 12, false, false], [2000, 300, 12, true, false]];
    try {
      for (const [m, k, n, transA, transB] of shapes) {
        const { A, B } = operands(m, k, n, transA, transB, 'float64', 'c', 'c', rand);
        setGemmKernel('wasm');
        const w = withThreads('2', () => matmul(A, B, { transA, transB }));
        setGemmKernel('js');
        const j = withThreads('2', () => matmul(A, B, { transA, transB }));
        expect(bitDiffs(w, j)).toBe(0);
      }
    } finally {
      setGemmKernel(null);
    }
  });
});

describe('matmul errors name the argument and the shapes', () => {
  const t = (r: number, c: number, dtype: DType = 'float64') =>
    ndarray(dtype === 'float64' ? new Float64Array(r * c) : new Float32Array(r * c), [r, c]);

  test('mismatched inner dimensions', () => {
    expect(() => matmul(t(2, 3), t(4, 5))).toThrow(/B: expected B to have 3 rows to match A \(2, 3\), got B \(4, 5\)/);
    expect(() => matmul(t(3, 2), t(4, 5), { transA: true, transB: true })).toThrow(/Bᵀ .*\(5, 4\)/);
  });

  test('inputs that are not 2-D or not float', () => {
    expect(() => matmul(ndarray(new Float64Array(3), [3]), t(3, 2))).toThrow(/A: expected a 2-d array, got shape \(3,\)/);
    expect(() => matmul(t(2, 3), ndarray(new Float64Array(24), [3, 4, 2]))).toThrow(/B: expected a 2-d array, got shape \(3, 4, 2\)/);
    expect(() => matmul(ndarray(new Int32Array(6), [2, 3]) as unknown as Tensor, t(3, 2))).toThrow(/A: expected dtype float64 or float32, got int32/);
  });

  test('wrong out shape or dtype', () => {
    expect(() => matmul(t(2, 3), t(3, 4), { out: t(4, 2) })).toThrow(/out: expected shape \(2, 4\), got \(4, 2\)/);
    expect(() => matmul(t(2, 3), t(3, 4), { out: t(2, 4, 'float32') })).toThrow(/out: expected dtype float64, got float32/);
    expect(() => matmul(t(2, 3), t(3, 4), { out: ndarray(new Float64Array(8), [8]) })).toThrow(/out: expected a 2-d array/);
  });
});
