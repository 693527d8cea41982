/*
 * batch_norm with the fused ReLU (`relu: true`) or ReLU6 (`relu: 'relu6'`) against the two
 * reference ops run one after the other, and the tape's fusion of BatchNorm2d + ReLU against
 * the same block with fusion off (a forward hook registered), and Sequential's the same way
 * (with ReLU and ReLU6): equal bit for bit, in both dtypes, train and eval.
 */
import fc from 'fast-check';
import { RandomState } from '../src/core/random';
import { astype, copy, type Tensor } from '../src/core/tensor';
import { ReLU, ReLU6 } from '../src/nn/activation';
import { BatchNorm2d } from '../src/nn/batchNorm';
import { Conv2d } from '../src/nn/conv2d';
import { addForwardHook, type Module } from '../src/nn/module';
import { Block, type Tape } from '../src/nn/tape';
import { Sequential } from '../src/nn/sequential';
import { noGrad } from '../src/nn/gradMode';
import { relu, relu6 } from '../src/ops/activations';
import { batchNorm, type BatchNormState } from '../src/ops/batchNorm';
import { checkOp } from './opHarness';

const bits = (t: Tensor): number[] => Array.from(copy(t, 'float64').data);

function state(C: number, dtype: 'float32' | 'float64'): BatchNormState {
  const Ctor = dtype === 'float32' ? Float32Array : Float64Array;
  return { runningMean: new Ctor(C).fill(0.25), runningVar: new Ctor(C).fill(1.5), numBatchesTracked: 0 };
}

describe('batch_norm with a fused ReLU or ReLU6', () => {
  it('equals relu(batch_norm(x)) / relu6(batch_norm(x)) and its backward, bit for bit, on random shapes (float32 and float64, train and eval)', () => {
    let tops = 0;
    fc.assert(
      fc.property(
        fc.integer({ min: 1, max: 4 }), fc.integer({ min: 1, max: 5 }), fc.integer({ min: 1, max: 6 }), fc.integer({ min: 1, max: 6 }),
        fc.boolean(), fc.constantFrom<'float32' | 'float64'>('float32', 'float64'), fc.integer({ min: 0, max: 1000 }), fc.constantFrom<'relu' | 'relu6'>('relu', 'relu6'),
        (N, C, H, W, training, dtype, seed, act) => {
          if (training && N * H * W < 2) return;
          const rng = new RandomState(seed);
          const x = astype(rng.randn(N, C, H, W), dtype);
          // With ReLU6 a wide γ sends some outputs past 6, the activation's upper kink.
          const g0 = rng.randn(C);
          if (act === 'relu6') for (let i = 0; i < C; i++) g0.data[i] *= 6;
          const g = astype(g0, dtype);
          const b = astype(rng.randn(C), dtype);
          const dout = astype(rng.randn(N, C, H, W), dtype);
          const s1 = state(C, dtype);
          const s2 = state(C, dtype);
          const bn = batchNorm.forward([x, g, b], { training, state: s1 });
          const a = act === 'relu6' ? relu6 : relu;
          const r = a.forward([bn.out], {});
          const fused = batchNorm.forward([x, g, b], { training, state: s2, relu: act === 'relu6' ? 'relu6' : true });
          if (act === 'relu6') tops += (fused.out.data as Float64Array).filter((v) => v === 6).length;
          expect(bits(fused.out)).toEqual(bits(r.out));
          expect(Array.from(s2.runningMean)).toEqual(Array.from(s1.runningMean));
          expect(Array.from(s2.runningVar)).toEqual(Array.from(s1.runningVar));
          const ref = batchNorm.backward(a.backward(dout, r.cache)[0]!, bn.cache);
          const got = batchNorm.backward(dout, fused.cache);
          expect(got.length).toBe(3);
          got.forEach((t, i) => expect(bits(t!)).toEqual(bits(ref[i]!)));
        },
      ),
      { numRuns: 80 },
    );
    expect(tops).toBeGreaterThan(0);
  });

  it('rejects an unknown activation, naming relu', () => {
    const x = astype(new RandomState(1).randn(2, 2, 2, 2), 'float64');
    expect(() => batchNorm.forward([x], { training: true, relu: 'gelu' as never })).toThrow(/relu: expected true, false or 'relu6', got gelu/);
  });

  it('passes the float64 gradient check away from the kink', () => {
    const rng = new RandomState(3);
    checkOp(batchNorm, { inputs: [rng.randn(3, 2, 3, 2), rng.randn(2), rng.randn(2)], attrs: { training: true, relu: true } });
  });

  it('passes the float64 gradient check with ReLU6, outputs past both kinks', () => {
    const rng = new RandomState(3);
    const x = rng.randn(3, 2, 3, 2);
    // γ = (4, −3), β = (1, 2): each channel's outputs fall below 0, inside (0, 6) and above 6.
    const gamma = rng.randn(2);
    gamma.data.set([4, -3]);
    const beta = rng.randn(2);
    beta.data.set([1, 2]);
    const out = batchNorm.forward([x, gamma, beta], { training: true, relu: 'relu6' }).out.data;
    expect(Array.from(out).some((v) => v === 6)).toBe(true);
    expect(Array.from(out).some((v) => v === 0)).toBe(true);
    expect(Array.from(out).some((v) => v > 0 && v < 6)).toBe(true);
    checkOp(batchNorm, { inputs: [x, gamma, beta], attrs: { training: true, relu: 'relu6' } });
  });
});

class ConvBnRelu extends Block {
  readonly conv: Conv2d;
  readonly bn: BatchNorm2d;
  readonly relu = new ReLU();
  constructor(dtype: 'float32' | 'float64') {
    super();
    this.conv = this.addModule('conv', new Conv2d(3, 4, 3, { padding: 1, dtype, rng: new RandomState(1) }));
    this.bn = this.addModule('bn', new BatchNorm2d(4, { dtype }));
  }
  protected run(x: Tensor, t: Tape): Tensor {
    return t.add(t.seq(x, this.conv, this.bn, this.relu), t.seq(x, this.conv, this.bn));
  }
}

/**
 * One model's values, input gradient, eval values,
 * parameter gradients and buffers — with layer fusion (`fused`: no forward hook) or without
 * (a hook registered, which turns fusion off). `relu`'s calls are counted in calls[fused ? 1 : 0].
 */
function fusionRun(
  m: Module, bn: BatchNorm2d, relu: ReLU | ReLU6, dtype: 'float32' | 'float64', doutShape: number[], calls: number[], fused: boolean,
): number[][] {
  const f = relu.forward.bind(relu);
  relu.forward = (x: Tensor): Tensor => {
    calls[fused ? 1 : 0]++;
    return f(x);
  };
  (bn.weight!.data.data as Float64Array).set([0.5, -1, 2, 1.5]);
  (bn.bias!.data.data as Float64Array).set([0.1, 0.2, -0.3, 0]);
  const rng = new RandomState(7);
  const x = astype(rng.randn(2, 3, 5, 4), dtype);
  const dout = astype(rng.randn(...doutShape), dtype);
  const off = fused ? () => undefined : addForwardHook({});
  try {
    const y = m.forward(x);
    const dx = m.backward(dout);
    m.eval();
    const ye = m.forward(x);
    return [bits(y), bits(dx), bits(ye), ...m.parameters().map((p) => bits(p.grad!)), ...m.buffers().map((b) => Array.from(b.data as ArrayLike<number>))];
  } finally {
    off();
  }
}

describe('Tape.seq fuses BatchNorm2d + ReLU', () => {
  it.each(['float32', 'float64'] as const)('gives the unfused values, gradients and running statistics (%s)', (dtype) => {
    const reluCalls = [0, 0];
    const run = (fused: boolean): number[][] => {
      const m = new ConvBnRelu(dtype);
      return fusionRun(m, m.bn, m.relu, dtype, [2, 4, 5, 4], reluCalls, fused);
    };
    const fused = run(true);
    const plain = run(false);
    expect(fused).toEqual(plain);
    // Fusion did happen (the ReLU module never ran), and the ReLU clipped some outputs.
    expect(reluCalls).toEqual([2, 0]);
    expect(fused[0].some((v) => v < 0)).toBe(true);
  });
});

describe('Sequential fuses BatchNorm2d + ReLU', () => {
  /** conv - bn - ReLU - 1×1 conv - ReLU; the last conv's bias of 1 keeps the eval outputs off the ReLU's zero. */
  const model = (dtype: 'float32' | 'float64', six = false): { m: Sequential; bn: BatchNorm2d; relu: ReLU | ReLU6 } => {
    const conv = new Conv2d(3, 4, 3, { padding: 1, dtype, rng: new RandomState(1) });
    const bn = new BatchNorm2d(4, { dtype });
    const relu = six ? new ReLU6() : new ReLU();
    const last = new Conv2d(4, 2, 1, { dtype, rng: new RandomState(2) });
    last.bias!.data.data.fill(1);
    // A ReLU not after a batch norm stays a module of its own.
    return { m: new Sequential(conv, bn, relu, last, new ReLU()), bn, relu };
  };

  it.each(['float32', 'float64'] as const)('gives the unfused values, gradients and running statistics, train and eval (%s)', (dtype) => {
    const reluCalls = [0, 0];
    const run = (fused: boolean): number[][] => {
      const { m, bn, relu } = model(dtype);
      return fusionRun(m, bn, relu, dtype, [2, 2, 5, 4], reluCalls, fused);
    };
    const fused = run(true);
    const plain = run(false);
    expect(fused).toEqual(plain);
    // Unfused, the ReLU module ran in the train and the eval forward; fused, never.
    expect(reluCalls).toEqual([2, 0]);
    // The eval outputs (third) are not all clipped to zero, so the comparison says something.
    expect(fused[2].filter((v) => v > 0).length).toBeGreaterThan(20);
  });

  it.each(['float32', 'float64'] as const)('fuses BatchNorm2d + ReLU6 the same way (%s)', (dtype) => {
    const calls = [0, 0];
    const run = (fused: boolean): number[][] => {
      const { m, bn, relu } = model(dtype, true);
      return fusionRun(m, bn, relu, dtype, [2, 2, 5, 4], calls, fused);
    };
    const fused = run(true);
    const plain = run(false);
    expect(fused).toEqual(plain);
    expect(calls).toEqual([2, 0]);
  });

  it.each(['float32', 'float64'] as const)('under noGrad (conv + batch norm folded) gives the eval values within rounding (%s)', (dtype) => {
    const { m } = model(dtype);
    const x = astype(new RandomState(7).randn(2, 3, 5, 4), dtype);
    m.forward(x); // one training step's running statistics
    m.eval();
    const ye = m.forward(x);
    const yn = noGrad(() => m.forward(x));
    let err = 0;
    let scale = 0;
    for (let i = 0; i < ye.data.length; i++) {
      err = Math.max(err, Math.abs(yn.data[i] - ye.data[i]));
      scale = Math.max(scale, Math.abs(ye.data[i]));
    }
    expect(scale).toBeGreaterThan(0.5);
    expect(err / scale).toBeLessThan(dtype === 'float32' ? 1e-5 : 1e-12);
  });
});
