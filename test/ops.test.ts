/*
 * Every op through the one harness (test/opHarness.ts): Float64 gradient checks on random shapes
 * drawn by fast-check, and forward/backward against PyTorch 1.13 fixtures (1e-10 in Float64,
 * 1e-4 in Float32), including the kinks and edge cases PyTorch defines.
 */
import fc from 'fast-check';
import { RandomState } from '../src/core/random';
import { hardsigmoid, hardswish, relu, relu6, sigmoid, silu, tanh } from '../src/ops';
import type { Op } from '../src/ops/op';
import type { UnaryCache } from '../src/ops/unary';
import { t64 } from './layerTestUtils';
import { checkOp, checkOpFixture, fixtureCase, loadFixtures } from './opHarness';

const seed = fc.integer({ min: 0, max: 2 ** 31 - 1 });
const dim = (max: number, min = 1) => fc.integer({ min, max });
const RUNS = { numRuns: 12 };

describe('activations', () => {
  const acts: Array<[string, Op<Record<string, never>, unknown>]> = [
    ['relu', relu], ['relu6', relu6], ['hardswish', hardswish], ['hardsigmoid', hardsigmoid],
    ['silu', silu], ['sigmoid', sigmoid], ['tanh', tanh],
  ];
  const fixtures = loadFixtures('activations.json');

  test.each(acts)('%s: gradient check on random shapes', (_, op) => {
    fc.assert(fc.property(fc.array(dim(4), { minLength: 1, maxLength: 4 }), seed, (shape, s) => {
      const rng = new RandomState(s);
      // Scale 4 covers every piece of ReLU6 / hard-swish; a kink hit exactly has probability 0.
      const x = rng.randn(...shape);
      for (let i = 0; i < x.data.length; i++) x.data[i] *= 4;
      checkOp(op, { inputs: [x], attrs: {}, seed: s });
    }), RUNS);
  });

  // PyTorch's hardsigmoid backward multiplies by the float32 constant 1/6 even in Float64
  // (a relative error of 3e-8); ours divides by 6. The test below pins that difference exactly.
  const gradTol64 = (name: string) => (name === 'hardsigmoid' ? 1e-7 : 1e-10);

  test.each(acts)('%s: equals PyTorch (random inputs)', (name, op) => {
    checkOpFixture(op, fixtureCase(fixtures, name), undefined, { gradTol64: gradTol64(name) });
  });

  test.each(acts)('%s: equals PyTorch at the kinks', (name, op) => {
    checkOpFixture(op, fixtureCase(fixtures, `${name} kinks`), undefined, { gradCheck: false, gradTol64: gradTol64(name) });
  });

  test("hardsigmoid: PyTorch's Float64 gradient is ours times 6·fround(1/6)", () => {
    const fx = fixtureCase(fixtures, 'hardsigmoid');
    const { grads } = checkOpFixture(hardsigmoid, fx, undefined, { gradTol64: 1e-7 });
    const ratio = 6 * Math.fround(1 / 6);
    fx.grads[0]!.data.forEach((t, i) => expect(Math.abs((t as number) - grads[0]!.data[i] * ratio)).toBeLessThan(1e-16));
  });

  test('kink gradients are the documented ones', () => {
    const at = (op: Op<Record<string, never>, unknown>, v: number) => {
      const { grads } = checkOp(op, { inputs: [t64([v], [1])], attrs: {}, dout: t64([1], [1]), gradCheck: false });
      return grads[0]!.data[0];
    };
    expect([at(relu, 0), at(relu6, 0), at(relu6, 6)]).toEqual([0, 0, 0]);
    expect([at(hardswish, -3), at(hardswish, 3)]).toEqual([-0.5, 1.5]);
    expect([at(hardsigmoid, -3), at(hardsigmoid, 3)]).toEqual([0, 0]);
  });
});

describe('the harness itself', () => {
  const x = () => new RandomState(1).randn(2, 3);
  test('a wrong backward fails the gradient check', () => {
    const wrong: Op<Record<string, never>, unknown> = { ...tanh, name: 'wrongTanh', backward: (d, c) => tanh.backward(d, c as UnaryCache).map((g) => (g ? (g.data[0] *= 1.001, g) : g)) };
    expect(() => checkOp(wrong, { inputs: [x()], attrs: {} })).toThrow(/wrongTanh d\(input 0\): gradient check rel\. error/);
  });
  test('a forward that differs from the fixture fails', () => {
    const fx = fixtureCase(loadFixtures('activations.json'), 'silu');
    expect(() => checkOpFixture(sigmoid, fx)).toThrow(/sigmoid forward \(float64\): differs from PyTorch/);
  });
  test('an op that writes into its input fails', () => {
    const inPlace: Op<Record<string, never>, unknown> = { ...relu, name: 'inPlace', forward: (inp) => { const r = relu.forward(inp, {}); inp[0].data[0] = 7; return r; } };
    expect(() => checkOp(inPlace, { inputs: [x()], attrs: {}, gradCheck: false })).toThrow(/inPlace: forward or backward modified input 0/);
  });
});
