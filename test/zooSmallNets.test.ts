import { ThreeLayerConvNet } from '../src/classifiers/cnn';
import { RandomState } from '../src/core/random';
import { copy, transpose, type Tensor } from '../src/core/tensor';
import { DeepConvNet, SimpleConvNet } from '../src/dlfs/convNets';
import { createModel, type ModelOptions } from '../src/models';
import { summary } from '../src/nn';
import type { Module } from '../src/nn/module';
import { checkZooFixture, loadZooFixture } from './zooHarness';
import { quickRun } from './zooQuick';
import { zooInput } from './zooWeights';

const values = (t: Tensor): number[] => Array.from(copy(t, 'float64').data);
const param = (m: Module, k: string): Tensor => {
  const p = m.namedParameters().find(([n]) => n === k);
  if (!p) throw new Error(`no parameter ${k}`);
  return p[1].data;
};

describe('small nets as modules', () => {
  it.each([
    // cs231n's default ThreeLayerConvNet: 32·3·7·7 + 32 + 8192·100 + 100 + 100·10 + 10.
    ['three_layer_convnet', {}, [3, 32, 32], 825_046, 5_637_096],
    ['simple_convnet', {}, [1, 28, 28], 433_890, 865_000],
    ['deep_convnet', {}, [1, 28, 28], 123_552, 8_772_340],
  ] as const)('%s %j: params and MACs as the reference', (name, opts, input, params, macs) => {
    const m = createModel(name, { ...opts, init: false });
    expect(m.numParameters()).toBe(params);
    expect(summary(m, input).macs).toBe(macs);
  });

  it.each([
    ['three_layer_convnet', 'three_layer_convnet'],
    ['three_layer_convnet_small', 'three_layer_convnet'],
    ['simple_convnet', 'simple_convnet'],
    ['deep_convnet', 'deep_convnet'],
  ])('%s: keys, strict load, eval logits and a train step equal the PyTorch build', (fixture, name) => {
    checkZooFixture(loadZooFixture(fixture), name);
  });

  // Seeded like the course's and the book's nets, the modules draw the very same weights
  // (Linear weights are the transposes of the (in, out) matrices) and compute the same scores.
  it.each([
    ['three_layer_convnet', (rng: RandomState) => new ThreeLayerConvNet({ rng, dtype: 'float64', weightScale: 0.05 }).params, { weightScale: 0.05 }],
    ['simple_convnet', (rng: RandomState) => new SimpleConvNet({ rng }).params, {}],
    ['deep_convnet', (rng: RandomState) => new DeepConvNet({ rng }).params, {}],
  ] as const)('%s: seeded weights equal the course/book net\'s', (name, theirs, opts) => {
    const p = theirs(new RandomState(7));
    const m = createModel(name, { ...(opts as ModelOptions), rng: new RandomState(7), dtype: 'float64' });
    const ours = m.namedParameters().filter(([k]) => k.endsWith('weight'));
    const weights = Object.keys(p).filter((k) => k.startsWith('W')).sort((a, b) => Number(a.slice(1)) - Number(b.slice(1)));
    expect(ours.length).toBe(weights.length);
    ours.forEach(([k, w], i) => {
      const want = values(p[weights[i]].shape.length === 2 ? copy(transpose(p[weights[i]])) : p[weights[i]]);
      const got = values(w.data);
      expect(got.length).toBe(want.length);
      const differing = got.reduce((n, v, j) => n + (v === want[j] ? 0 : 1), 0);
      expect([k, differing]).toEqual([k, 0]);
    });
  });

  it('three_layer_convnet: same scores as cs231n\'s ThreeLayerConvNet with the same weights', () => {
    const net = new ThreeLayerConvNet({ rng: new RandomState(3), dtype: 'float64', weightScale: 0.05 });
    const m = createModel('three_layer_convnet', { rng: new RandomState(3), dtype: 'float64', weightScale: 0.05 });
    m.eval();
    const x = zooInput([2, 3, 32, 32]);
    const want = values(net.loss(x));
    const got = values(m.forward(x));
    const scale = Math.max(...want.map(Math.abs));
    expect(scale).toBeGreaterThan(1e-3);
    got.forEach((v, i) => expect(Math.abs(v - want[i])).toBeLessThan(1e-12 * scale));
    expect(param(m, 'conv.bias').size).toBe(32);
  });

  it.each([
    ['three_layer_convnet', { numFilters: 4, hiddenDim: 8 }, [2, 3, 32, 32]],
    ['simple_convnet', {}, [2, 1, 28, 28]],
    ['deep_convnet', {}, [2, 1, 28, 28]],
  ] as const)('%s: forward and backward in Float32 and Float64', (name, opts, shape) => {
    quickRun(name, opts as ModelOptions, [...shape]);
  });

  it('rejects impossible options and inputs, naming them', () => {
    expect(() => createModel('three_layer_convnet', { filterSize: 0, init: false })).toThrow(/filterSize: expected a positive integer/);
    expect(() => createModel('three_layer_convnet', { filterSize: 2, inputDim: [3, 1, 1], init: false })).toThrow(/filterSize: a 2×2 filter \(pad 0\) leaves 0 pixels/);
    expect(() => createModel('three_layer_convnet', { inputDim: [3, 32], init: false })).toThrow(/inputDim: expected \[C, H, W\]/);
    expect(() => createModel('three_layer_convnet', { weightScale: -1, init: false })).toThrow(/weightScale/);
    expect(() => createModel('deep_convnet', { dropout: 1.5, init: false })).toThrow(/dropout: expected a probability/);
    expect(() => createModel('deep_convnet', { widthMult: 2, init: false })).toThrow(/widthMult: not an option of deep_convnet/);
    expect(() => summary(createModel('simple_convnet', { init: false }), [1, 32, 32])).toThrow(/x: simple_convnet expects input \(N, 1, H, W\) with 28×28, got \(0, 1, 32, 32\)/);
    expect(() => summary(createModel('three_layer_convnet', { inputDim: [3, 16, 20], init: false }), [3, 20, 16])).toThrow(/16×20/);
  });
});
