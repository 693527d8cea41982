/*
 * Every dlfs network's backprop `gradient` against its `numericalGradient` (or, for the big
 * DeepConvNet, centred differences at sampled coordinates), in Float64. The relative error is
 * |a − n| / (|a| + |n|); the book's h = 1e-4 and its 1e-7 inside the log limit the agreement
 * to ~1e-7 absolute, and the seeds keep the inputs away from ReLU and max-pool kinks (a kink
 * crossed by the 1e-4 step shows as a ~1e-2 error, as the book's own ch07 check sometimes does).
 */
import { RandomState } from '../src/core/random';
import type { Tensor } from '../src/core/tensor';
import { gradCheckSparse } from '../src/gradientCheck';
import * as dlfs from '../src/dlfs';

function labels(rng: RandomState, n: number, c: number) {
  return rng.randint(0, c, n);
}

/**
 * The book's measure (mean |backprop − numerical| per parameter, ch06/batch_norm_gradient_check)
 * below 1e-6, and the relative error below 1e-3 on every entry whose gradient is not tiny
 * (|a| + |n| > 1e-3): the 1e-7 inside the log alone shifts a gradient by up to ~1e-7/p_t, so
 * entries near zero are judged by the absolute measure. A wrong formula gives errors of O(1).
 */
function expectGradsAgree(net: dlfs.BookNet, x: Tensor, t: ReturnType<typeof labels>): Record<string, number> {
  const back = net.gradient(x, t);
  const num = net.numericalGradient(x, t);
  const meanAbs: Record<string, number> = {};
  const bad: Array<[string, string, number]> = [];
  for (const k of Object.keys(net.params)) {
    const a = back[k].data;
    const n = num[k].data;
    expect(a.length).toBe(net.params[k].data.length);
    let sum = 0;
    let worst = 0;
    for (let i = 0; i < a.length; i++) {
      const d = Math.abs(a[i] - n[i]);
      sum += d;
      const scale = Math.abs(a[i]) + Math.abs(n[i]);
      if (scale > 1e-3) worst = Math.max(worst, d / scale);
      if (!Number.isFinite(d)) worst = Infinity;
    }
    meanAbs[k] = sum / a.length;
    if (!(meanAbs[k] < 1e-6)) bad.push([k, 'mean abs', meanAbs[k]]);
    if (!(worst < 1e-3)) bad.push([k, 'relative', worst]);
  }
  expect(bad).toEqual([]);
  return meanAbs;
}

test('MultiLayerNet (ReLU and sigmoid, weight decay 0.1): backprop = numerical gradient', () => {
  const rng = new RandomState(0);
  const x = rng.randn(4, 6);
  const t = labels(rng, 4, 3);
  expectGradsAgree(new dlfs.MultiLayerNet({ inputSize: 6, hiddenSizeList: [5, 4], outputSize: 3, weightDecayLambda: 0.1, rng: new RandomState(1) }), x, t);
  expectGradsAgree(new dlfs.MultiLayerNet({ inputSize: 6, hiddenSizeList: [5], outputSize: 3, activation: 'sigmoid', weightInitStd: 'xavier', rng: new RandomState(2) }), x, t);
});

test('MultiLayerNetExtend with batch norm and fixed-mask dropout (ch06/batch_norm_gradient_check)', () => {
  const rng = new RandomState(3);
  const x = rng.randn(5, 7);
  const t = labels(rng, 5, 3);
  const net = new dlfs.MultiLayerNetExtend({ inputSize: 7, hiddenSizeList: [6, 5], outputSize: 3, useBatchnorm: true, useDropout: true, dropoutRatio: 0.2, dropoutSeed: 11, rng: new RandomState(4) });
  const errs = expectGradsAgree(net, x, t);
  expect(Object.keys(errs).sort()).toEqual(['W1', 'W2', 'W3', 'b1', 'b2', 'b3', 'beta1', 'beta2', 'gamma1', 'gamma2']);
  // Once trained for a step, the running statistics are no longer the zeros they start from.
  const bn = net.layers.find(([n]) => n === 'BatchNorm1')![1] as dlfs.BatchNormalization;
  expect(Math.max(...Array.from(bn.runningVar!.data))).toBeGreaterThan(0);
});

test('SimpleConvNet as in ch07/gradient_check (1×10×10, 10 filters 3×3, hidden 10, one sample)', () => {
  const net = new dlfs.SimpleConvNet({ inputDim: [1, 10, 10], convParam: { filterNum: 10, filterSize: 3, pad: 0, stride: 1 }, hiddenSize: 10, outputSize: 10, weightInitStd: 0.1, rng: new RandomState(101) });
  const rng = new RandomState(201);
  expect(net.params.W2.shape).toEqual([160, 10]);
  expectGradsAgree(net, rng.rand(1, 1, 10, 10), labels(rng, 1, 10));
});

test('DeepConvNet (1×16×16 input, fixed dropout masks): backprop = centred differences at sampled coordinates', () => {
  const net = new dlfs.DeepConvNet({ inputDim: [1, 16, 16], dropoutSeed: 7, rng: new RandomState(8) });
  const rng = new RandomState(9);
  const x = rng.rand(2, 1, 16, 16);
  const t = labels(rng, 2, 10);
  const grads = net.gradient(x, t);
  const pick = new RandomState(10);
  const worst: Array<[string, number]> = [];
  for (const k of Object.keys(net.params)) {
    const entries = gradCheckSparse(() => net.loss(x, t, true), net.params[k], grads[k], { numChecks: 4, h: 1e-4, rng: pick, print: false });
    // An entry with |a| + |n| < 1e-9 is a coordinate the loss does not depend on (dead unit).
    worst.push([k, Math.max(...entries.map((e) => (Math.abs(e.analytic) + Math.abs(e.numerical) < 1e-9 ? 0 : e.relError)))]);
  }
  expect(worst.filter(([, e]) => !(e < 1e-5))).toEqual([]);
});
