/*
 * The float32 batch-norm rows — in WebAssembly (core/gemm/wasmBatchNorm.ts) and, where the
 * optional native module is built, in native code (native/batchnorm.c), both driven by
 * ops/kernels/batchNormTasks.ts — against the JS span loops they replace: the same bits for
 * every output — forward in training, eval, backward with batch or running statistics, with
 * and without the fused ReLU or ReLU6 — on random
 * shapes whose rows are not multiples of four, with NaN, ±Inf and −0 sprinkled in, in one
 * copy of a task's block or in several.
 */
import fc from 'fast-check';
import ndarray from 'ndarray';
import { RandomState } from '../src/core/random';
import { astype, type Tensor } from '../src/core/tensor';
import { batchNorm } from '../src/ops/batchNorm';
import { batchNormCalls } from '../src/ops/kernels/batchNormTasks';
import { nativeBatchNormRows, nativeStatus, setNativeRows } from '../src/core/gemm/native';
import { bitDiffs, withJsKernel, withThreads } from './threads';

interface Case { N: number; C: number; H: number; W: number; training: boolean; relu: boolean | 'relu6'; inference: boolean; specials: boolean; seed: number }

function run(s: Case): Float32Array[] {
  const rng = new RandomState(s.seed);
  const shape = s.H === 0 ? [s.N, s.C] : [s.N, s.C, s.H, s.W];
  const x = astype(rng.randn(...shape), 'float32');
  const dout = astype(rng.randn(...shape), 'float32');
  if (s.specials) {
    const sp = [NaN, Infinity, -Infinity, -0, 0];
    for (let i = 0; i < 4; i++) {
      x.data[rng.randint(0, x.data.length)] = sp[rng.randint(0, 5)];
      dout.data[rng.randint(0, dout.data.length)] = sp[rng.randint(0, 5)];
    }
  }
  const gamma0 = rng.randn(s.C);
  // ReLU6's upper kink needs outputs past 6: a wide γ.
  if (s.relu === 'relu6') for (let i = 0; i < s.C; i++) gamma0.data[i] *= 6;
  const gamma = astype(gamma0, 'float32');
  const beta = astype(rng.randn(s.C), 'float32');
  const state = { runningMean: new Float32Array(s.C).fill(0.25), runningVar: new Float32Array(s.C).fill(1.5), numBatchesTracked: 0 };
  const f = batchNorm.forward([x, gamma, beta], { training: s.training, relu: s.relu, state, inference: s.inference });
  const outs: Float32Array[] = [(f.out.data as Float32Array).slice(), state.runningMean.slice(), state.runningVar.slice()];
  if (s.inference) return outs;
  const g = batchNorm.backward(dout, f.cache);
  return outs.concat(g.map((t) => (t as Tensor).data.slice() as Float32Array));
}

/** f with the native rows on or off. */
function withRows<T>(native: boolean, f: () => T): T {
  const old = setNativeRows(native);
  try {
    return f();
  } finally {
    setNativeRows(old);
  }
}

// The native rows where this install built them (see nativeStatus()); the wasm rows always.
const engines: Array<['native' | 'wasm', boolean]> = nativeBatchNormRows() !== null ? [['native', true], ['wasm', false]] : [['wasm', false]];

describe.each(engines)('float32 batch-norm rows (%s)', (engine, native) => {
  beforeAll(() => setNativeRows(native));
  afterAll(() => setNativeRows(true));

  it('give the JS loops\' bits (random shapes, train / eval / inference, fused ReLU, special values, 1 and 2 threads)', () => {
    fc.assert(
      fc.property(
        fc.record({
          N: fc.integer({ min: 2, max: 9 }), C: fc.integer({ min: 1, max: 40 }), H: fc.integer({ min: 0, max: 11 }), W: fc.integer({ min: 1, max: 11 }),
          training: fc.boolean(), relu: fc.constantFrom<boolean | 'relu6'>(false, true, 'relu6'), inference: fc.boolean(), specials: fc.boolean(), seed: fc.nat(),
        }),
        (s) => {
          const js = withJsKernel(() => withThreads('1', () => run(s)));
          expect(bitDiffs(withThreads('1', () => run(s)), js)).toBe(0);
          expect(bitDiffs(withThreads('2', () => run(s)), js)).toBe(0);
        },
      ),
      { numRuns: 80 },
    );
  });

  it('give the same bits when a task\'s block is copied in several pieces (large planes)', () => {
    // 48 samples of 3 × 72 × 72: a block of one channel is 5,184 floats a sample, copied 12 samples at a time.
    const s: Case = { N: 48, C: 3, H: 72, W: 72, training: true, relu: true, inference: false, specials: false, seed: 7 };
    const js = withJsKernel(() => run(s));
    expect(bitDiffs(run(s), js)).toBe(0);
    expect(bitDiffs(withThreads('2', () => run(s)), js)).toBe(0);
    expect(bitDiffs(run({ ...s, training: false }), withJsKernel(() => run({ ...s, training: false })))).toBe(0);
  });

  it('are what runs for float32 on the wasm kernel, and not for float64 or the JS kernel', () => {
    const before = batchNormCalls();
    run({ N: 4, C: 6, H: 5, W: 7, training: true, relu: true, inference: false, specials: false, seed: 1 });
    const mid = batchNormCalls();
    expect(mid[engine] - before[engine]).toBe(2);
    expect(mid[engine === 'native' ? 'wasm' : 'native']).toBe(before[engine === 'native' ? 'wasm' : 'native']);
    expect(mid.js).toBe(before.js);
    batchNorm.forward([astype(new RandomState(2).randn(4, 6, 5, 7), 'float64')], { training: true });
    withJsKernel(() => run({ N: 4, C: 6, H: 5, W: 7, training: false, relu: false, inference: true, specials: false, seed: 1 }));
    const after = batchNormCalls();
    expect(after.js - mid.js).toBe(2);
    expect(after[engine]).toBe(mid[engine]);
  });

  it('give a fused ReLU6 the relu6 op\'s kinks: gradient 0 at exactly 0 and 6, in the lanes and the tail', () => {
    // Running statistics with var = 1 − eps: the batch norm's output is x itself.
    const vals = [6, 5.5, 0, 7, 6, 0.5, -1, 6, 2, 6, 0, 3, 8, 6];
    const x = ndarray(Float32Array.from(vals), [2, 1, 1, 7]);
    const dout = ndarray(Float32Array.from(vals.map(() => 1)), [2, 1, 1, 7]);
    const one = ndarray(Float32Array.from([1]), [1]);
    const zero = ndarray(Float32Array.from([0]), [1]);
    const run = (): Float32Array[] => {
      const state = { runningMean: new Float32Array([0]), runningVar: new Float32Array([1 - 1e-5]), numBatchesTracked: 0 };
      const f = batchNorm.forward([x, one, zero], { training: false, relu: 'relu6', state });
      const [dx] = batchNorm.backward(dout, f.cache);
      return [f.out.data as Float32Array, dx!.data as Float32Array];
    };
    for (const [out, dx] of [run(), withJsKernel(run)]) {
      expect(Array.from(out)).toEqual(vals.map((v) => Math.min(Math.max(v, 0), 6)));
      expect(Array.from(dx)).toEqual(vals.map((v) => (v > 0 && v < 6 ? 1 : 0)));
    }
  });

  it('keep NaN through the fused ReLU and turn −0 into +0, as relu(batch_norm(x))', () => {
    const x = ndarray(Float32Array.from([NaN, -0, 2, -3, 0.5, -0.5, 4, 1]), [2, 1, 2, 2]);
    const one = ndarray(Float32Array.from([1]), [1]);
    const zero = ndarray(Float32Array.from([0]), [1]);
    const state = { runningMean: new Float32Array([0]), runningVar: new Float32Array([1 - 1e-5]), numBatchesTracked: 0 };
    const out = batchNorm.forward([x, one, zero], { training: false, relu: true, state }).out.data as Float32Array;
    expect(Number.isNaN(out[0])).toBe(true);
    expect(Object.is(out[1], 0)).toBe(true);
    expect(Object.is(out[3], 0)).toBe(true);
    expect(out[2]).toBeCloseTo(2, 4);
  });
});

describe('native batch-norm rows', () => {
  it('are in use wherever the native module is, or the status says why not', () => {
    if (nativeBatchNormRows() === null) expect(nativeStatus()).not.toMatch(/^on /);
    else {
      expect(nativeStatus()).toMatch(/^on /);
      expect(withRows(false, () => nativeBatchNormRows())).toBeNull();
    }
  });

  it('check their arguments before reading anything', () => {
    const rows = nativeBatchNormRows();
    if (rows === null) return;
    const x = new Float32Array(2 * 3 * 5);
    const acc = new Float64Array(6);
    const pr = new Float64Array(24);
    rows(3, x, x, x, acc, pr, 2, 3, 5, 0, 3, 1);
    expect(() => rows(0, x, x, x, acc, pr, 2, 3, 6, 0, 3, 0)).toThrow(/shorter than the job needs/);
    expect(() => rows(3, x, x, x, new Float64Array(5), pr, 2, 3, 5, 0, 3, 0)).toThrow(/shorter/);
    expect(() => rows(4, x, x, x, acc, new Float64Array(23), 2, 3, 5, 0, 3, 0)).toThrow(/shorter/);
    expect(() => rows(0, x, x, x, acc, pr, 2, 3, 5, 1, 3, 0)).toThrow(/c0 \+ nc ≤ C/);
    expect(() => rows(5, x, x, x, acc, pr, 2, 3, 5, 0, 3, 0)).toThrow(/op must be 0–4/);
    expect(() => rows(2, x, x, new Float64Array(30) as never, acc, pr, 2, 3, 5, 0, 3, 0)).toThrow(/Float32Arrays/);
    expect(() => (rows as unknown as (...a: unknown[]) => void)(0, x)).toThrow(/expected 12 arguments/);
  });
});
