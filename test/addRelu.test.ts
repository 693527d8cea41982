/*
 * The residual add with the fused ReLU (`add` op attribute `relu`, Tape.add(a, b, relu)):
 * the same bits as relu(add(a, b)) forward and backward in both dtypes (special values
 * included), a float64 gradient check, the same bits on 1, 2 and 4 threads, and a ResNet block
 * whose tape fuses the join equal to the block with fusion off (a forward hook registered).
 */
import fc from 'fast-check';
import { RandomState } from '../src/core/random';
import { astype, copy, fromData, type Tensor } from '../src/core/tensor';
import { createModel } from '../src/models';
import { ReLU } from '../src/nn/activation';
import { addForwardHook } from '../src/nn/module';
import { Block, type Tape } from '../src/nn/tape';
import { add, addGrad } from '../src/ops/add';
import { relu } from '../src/ops/activations';
import { checkOp } from './opHarness';
import { elementwiseCalls } from '../src/ops/kernels/elementwise';
import { bitDiffs, withJsKernel, withThreads } from './threads';

const f32 = (t: Tensor): Float32Array => Float32Array.from(t.data);
const f64 = (t: Tensor): number[] => Array.from(copy(t, 'float64').data);

/** The reference: the two ops one after the other. */
function reference(a: Tensor, b: Tensor, dout: Tensor): [Tensor, Tensor] {
  const s = add.forward([a, b], {}).out;
  const { out, cache } = relu.forward([s], {});
  return [out, relu.backward(dout, cache)[0] as Tensor];
}

function fused(a: Tensor, b: Tensor, dout: Tensor): [Tensor, Tensor[]] {
  const { out, cache } = add.forward([a, b], { relu: true });
  return [out, add.backward(dout, cache) as Tensor[]];
}

/** a, b with special values mixed in: ±0, ±Inf, NaN, sums that cancel to 0 and sums that overflow float32. */
function operands(n: number, seed: number, dtype: 'float32' | 'float64'): [Tensor, Tensor] {
  const rng = new RandomState(seed);
  const a = rng.randn(n).data as Float64Array;
  const b = rng.randn(n).data as Float64Array;
  const specials = [0, -0, Infinity, -Infinity, NaN, 3e38, -3e38, 1e308];
  for (let i = 0; i < n; i += 7) a[i] = specials[(i / 7) % specials.length];
  for (let i = 3; i < n; i += 11) b[i] = -a[i];
  for (let i = 5; i < n; i += 13) b[i] = dtype === 'float32' ? 3e38 : 1e308;
  const shape = n % 2 === 0 ? [2, n / 2] : [n];
  return [astype(fromData(a, shape), dtype), astype(fromData(b, shape), dtype)];
}

describe('add with a fused ReLU', () => {
  it.each(['float32', 'float64'] as const)('equals relu(add(a, b)) and its backward bit for bit, special values included (%s)', (dtype) => {
    fc.assert(fc.property(fc.integer({ min: 1, max: 3000 }), fc.integer({ min: 0, max: 1e6 }), (half, seed) => {
      const [a, b] = operands(2 * half, seed, dtype);
      const dout = astype(new RandomState(seed + 1).randn(2, half), dtype);
      const [yr, gr] = reference(a, b, dout);
      const [y, [ga, gb]] = fused(a, b, dout);
      expect(bitDiffs([f32(y), f32(ga), f32(gb)], [f32(yr), f32(gr), f32(gr)])).toBe(0);
      if (dtype === 'float64') expect([f64(y), f64(ga)]).toEqual([f64(yr), f64(gr)]);
    }), { numRuns: 40 });
  });

  it('gives one gradient per input, fresh ones (a caller may write into one)', () => {
    const [a, b] = operands(40, 3, 'float64');
    const { cache } = add.forward([a, b, a], { relu: true });
    const gs = add.backward(new RandomState(4).randn(2, 20), cache) as Tensor[];
    expect(gs).toHaveLength(3);
    expect(new Set(gs.map((g) => g.data)).size).toBe(3);
    expect(f64(gs[1])).toEqual(f64(gs[0]));
    // Three inputs: the ReLU applies to the whole sum once.
    const three = add.forward([a, b, a], { relu: true }).out;
    const plain = relu.forward([add.forward([a, b, a], {}).out], {}).out;
    expect(f64(three)).toEqual(f64(plain));
  });

  it('passes a float64 gradient check (sums kept off the kink)', () => {
    fc.assert(fc.property(fc.integer({ min: 1, max: 3 }), fc.integer({ min: 1, max: 6 }), fc.integer({ min: 0, max: 1e6 }), (N, C, seed) => {
      const rng = new RandomState(seed);
      const a = rng.randn(N, C, 3, 2);
      const b = rng.randn(N, C, 3, 2);
      for (let i = 0; i < a.size; i++) if (Math.abs(a.data[i] + b.data[i]) < 1e-3) b.data[i] += 0.01;
      const r = checkOp(add, { inputs: [a, b], attrs: { relu: true }, seed });
      expect(r).toBeDefined();
    }), { numRuns: 20 });
  });

  it('gives the same bits on 1, 2 and 4 threads (threaded sizes)', () => {
    const [a, b] = operands(1 << 18, 9, 'float32');
    const dout = astype(new RandomState(10).randn(2, 1 << 17), 'float32');
    const run = (threads: string): Float32Array[] => withThreads(threads, () => {
      const [y, [g]] = fused(a, b, dout);
      const s = add.forward([a, b], {}).out;
      return [f32(y), f32(g), f32(s)];
    });
    const one = run('1');
    expect(one[0].some((v) => v > 0) && one[0].some((v) => v === 0)).toBe(true);
    for (const t of ['2', '4']) expect(bitDiffs(one, run(t))).toBe(0);
  });

  it('runs float32 through the wasm loops with the JS loops\' bits (add32, addRelu32; special values, any length)', () => {
    fc.assert(fc.property(fc.integer({ min: 2, max: 3000 }), fc.integer({ min: 0, max: 1e6 }), (half, seed) => {
      const [a, b] = operands(2 * half + (seed % 2), seed, 'float32');
      // Sums of −0 and −0 (−0, which the ReLU turns to +0).
      for (let i = 2; i < a.size; i += 9) a.data[i] = b.data[i] = -0;
      const run = (): Float32Array[] => [f32(add.forward([a, b], {}).out), f32(add.forward([a, b], { relu: true }).out), f32(add.forward([a, b, a], {}).out)];
      const before = [elementwiseCalls('add.sum'), elementwiseCalls('add.sumRelu')];
      const wasm = run();
      const mid = [elementwiseCalls('add.sum'), elementwiseCalls('add.sumRelu')];
      const js = withJsKernel(run);
      const after = [elementwiseCalls('add.sum'), elementwiseCalls('add.sumRelu')];
      expect([mid[0].wasm - before[0].wasm, mid[1].wasm - before[1].wasm]).toEqual([3, 1]);
      expect([after[0].js - mid[0].js, after[1].js - mid[1].js]).toEqual([3, 1]);
      expect(bitDiffs(wasm, js)).toBe(0);
      expect(Object.is(wasm[0][2], -0) && Object.is(wasm[1][2], 0)).toBe(true);
    }), { numRuns: 30 });
  });

  it('rejects a relu that is not a boolean', () => {
    const [a, b] = operands(4, 1, 'float64');
    expect(() => add.forward([a, b], { relu: 1 as unknown as boolean })).toThrow(/^relu: expected a boolean, got 1/);
    expect(() => addGrad(new RandomState(0).randn(3), add.forward([a, b], { relu: true }).cache)).toThrow(/dout/);
  });
});

/** relu(x + x·… ) through the tape: out = relu(seq + x), the ReLU module counted. */
class Join extends Block {
  readonly relu = new ReLU();
  calls = 0;
  constructor() {
    super();
    const f = this.relu.forward.bind(this.relu);
    this.relu.forward = (x: Tensor): Tensor => {
      this.calls++;
      return f(x);
    };
  }
  protected run(x: Tensor, t: Tape): Tensor {
    return t.add(x, t.add(x, x), this.relu);
  }
}

describe('Tape.add(a, b, relu)', () => {
  it('fuses the ReLU unless forward hooks are registered, with the same values and gradients', () => {
    const x = new RandomState(2).randn(2, 3, 4, 4);
    const dout = new RandomState(3).randn(2, 3, 4, 4);
    const run = (hooked: boolean): [number[][], number] => {
      const m = new Join();
      const off = hooked ? addForwardHook({}) : () => undefined;
      try {
        const y = m.forward(x);
        return [[f64(y), f64(m.backward(dout))], m.calls];
      } finally {
        off();
      }
    };
    const [fusedRes, fusedCalls] = run(false);
    const [plainRes, plainCalls] = run(true);
    expect(fusedRes).toEqual(plainRes);
    expect([fusedCalls, plainCalls]).toEqual([0, 1]);
    expect(fusedRes[0].some((v) => v === 0) && fusedRes[1].some((v) => v === 0)).toBe(true);
  });

  it('resnet18_cifar: a train step gives the same logits and gradients fused and unfused (float32)', () => {
    const run = (hooked: boolean): Float32Array[] => {
      const m = createModel('resnet18_cifar', { numClasses: 10, dtype: 'float32', rng: new RandomState(0) });
      m.train();
      const x = astype(new RandomState(1).randn(2, 3, 32, 32), 'float32');
      const off = hooked ? addForwardHook({}) : () => undefined;
      try {
        const y = m.forward(x);
        m.zeroGrad();
        const dx = m.backward(astype(new RandomState(2).randn(...y.shape), 'float32'));
        return [f32(y), f32(dx), ...m.parameters().map((p) => f32(p.grad!))];
      } finally {
        off();
      }
    };
    const a = run(false);
    expect(a[0].every(Number.isFinite)).toBe(true);
    expect(bitDiffs(a, run(true))).toBe(0);
  }, 60_000);
});
