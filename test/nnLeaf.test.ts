/*
 * The leaf modules of `nn` through the module API (test/opHarness.ts `checkModule`): Float64
 * gradient checks, PyTorch fixtures (forward, dx, printed form), train/eval behaviour of the
 * random modules, and a module used twice in one forward.
 */
import fc from 'fast-check';
import { RandomState } from '../src/core/random';
import { fromData, type Tensor } from '../src/core/tensor';
import * as nn from '../src/nn';
import { softmaxLoss } from '../src/layers';
import { checkModule, fixtureCase, fromJson, loadFixtures, type ModuleFixture } from './opHarness';

const fixtures = loadFixtures<ModuleFixture & { repr: string }>('nnLeaf.json');
const seed = fc.integer({ min: 0, max: 2 ** 31 - 1 });

const build: Record<string, () => nn.Module> = {
  'MaxPool2d 3/2 p1 ceil': () => new nn.MaxPool2d({ kernelSize: 3, stride: 2, padding: 1, ceilMode: true }),
  'AvgPool2d 3/2 p1 no count pad': () => new nn.AvgPool2d({ kernelSize: 3, stride: 2, padding: 1, countIncludePad: false }),
  'AdaptiveAvgPool2d (3, 5)': () => new nn.AdaptiveAvgPool2d({ outputSize: [3, 5] }),
  'LocalResponseNorm 5': () => new nn.LocalResponseNorm({ size: 5, alpha: 1e-2, beta: 0.75, k: 2 }),
  'ChannelShuffle 3': () => new nn.ChannelShuffle(3),
  Hardswish: () => new nn.Hardswish(),
  Flatten: () => new nn.Flatten(),
  'Dropout eval': () => new nn.Dropout({ p: 0.3 }).eval(),
  'Sequential of leaves': () =>
    new nn.Sequential(
      new nn.Hardswish(),
      new nn.MaxPool2d({ kernelSize: 2, stride: 2, padding: 1 }),
      new nn.LocalResponseNorm({ size: 3, alpha: 0.5 }),
      new nn.SiLU(),
      new nn.AdaptiveAvgPool2d({ outputSize: 2 }),
      new nn.Flatten(),
      new nn.Tanh(),
    ),
};

describe('leaf modules equal PyTorch (checkModule: gradient check, Float64 and Float32 fixtures)', () => {
  test.each(fixtures.map((f) => f.name))('%s', (name) => {
    const fx = fixtureCase(fixtures, name);
    const m = build[name]();
    checkModule(m, fx.input.shape, { fixture: fx });
    expect(m.toString()).toBe(fx.repr);
  });
});

describe('every leaf module: gradient check on a random input', () => {
  const leaves: Array<[string, () => nn.Module, number[]]> = [
    ['ReLU', () => new nn.ReLU(), [2, 3, 4]],
    ['ReLU6', () => new nn.ReLU6({ inplace: true }), [2, 3, 4]],
    ['Hardsigmoid', () => new nn.Hardsigmoid(), [2, 3, 4]],
    ['Sigmoid', () => new nn.Sigmoid(), [2, 3, 4]],
    ['MaxPool2d', () => new nn.MaxPool2d({ kernelSize: [2, 3], stride: [2, 1], padding: [1, 1] }), [2, 2, 5, 6]],
    ['AvgPool2d', () => new nn.AvgPool2d({ kernelSize: 3, stride: 2, ceilMode: true }), [1, 2, 6, 7]],
    ['StochasticDepth eval', () => new nn.StochasticDepth({ p: 0.5, mode: 'row' }).eval(), [3, 2, 2, 2]],
    ['Identity', () => new nn.Identity(), [2, 3]],
  ];
  test.each(leaves)('%s', (_, make, shape) => {
    fc.assert(fc.property(seed, (s) => {
      checkModule(make(), shape, { seed: s });
    }), { numRuns: 5 });
  });
});

describe('printed like PyTorch', () => {
  test('extraRepr of each leaf', () => {
    expect(new nn.ReLU({ inplace: true }).toString()).toBe('ReLU(inplace=True)');
    expect(new nn.ReLU6().toString()).toBe('ReLU6()');
    expect(new nn.MaxPool2d({ kernelSize: 3, stride: 2, padding: 1 }).toString()).toBe('MaxPool2d(kernel_size=3, stride=2, padding=1, dilation=1, ceil_mode=False)');
    expect(new nn.MaxPool2d({ kernelSize: [2, 3] }).toString()).toBe('MaxPool2d(kernel_size=(2, 3), stride=(2, 3), padding=0, dilation=1, ceil_mode=False)');
    expect(new nn.AdaptiveAvgPool2d({ outputSize: [3, null] }).toString()).toBe('AdaptiveAvgPool2d(output_size=(3, None))');
    expect(new nn.LocalResponseNorm({ size: 5 }).toString()).toBe('LocalResponseNorm(5, alpha=0.0001, beta=0.75, k=1.0)');
    expect(new nn.LocalResponseNorm({ size: 5, alpha: 1e-5 }).toString()).toBe('LocalResponseNorm(5, alpha=1e-05, beta=0.75, k=1.0)');
    expect(new nn.Dropout({ p: 0.2 }).toString()).toBe('Dropout(p=0.2, inplace=False)');
    expect(new nn.StochasticDepth({ p: 0.2, mode: 'row' }).toString()).toBe('StochasticDepth(p=0.2, mode=row)');
    expect(new nn.Identity().toString()).toBe('Identity()');
    expect(new nn.CrossEntropyLoss({ labelSmoothing: 0.1 }).toString()).toBe('CrossEntropyLoss()');
  });

  test('bad options fail at construction, naming the option', () => {
    expect(() => new nn.MaxPool2d({ kernelSize: 0 })).toThrow(/^kernelSize:/);
    expect(() => new nn.AvgPool2d({ kernelSize: 2, stride: -1 })).toThrow(/^stride:/);
    expect(() => new nn.AdaptiveAvgPool2d({ outputSize: [0, 2] })).toThrow(/^outputSize:/);
    expect(() => new nn.ChannelShuffle(0)).toThrow(/^groups:/);
    expect(() => new nn.Dropout({ p: 2 })).toThrow(/^p: expected a drop probability/);
    expect(() => new nn.StochasticDepth({ p: 0.1, mode: 'rows' as 'row' })).toThrow(/^mode:/);
    expect(() => new nn.CrossEntropyLoss({ labelSmoothing: -0.1 })).toThrow(/^labelSmoothing:/);
    expect(() => new nn.LocalResponseNorm({ size: 0 })).toThrow(/^size:/);
  });
});

describe('random modules: train and eval', () => {
  test('Dropout: train drops ~p and rescales by 1/(1 − p) from its rng; eval is the identity', () => {
    const x = new RandomState(0).randn(200, 50);
    const d = new nn.Dropout({ p: 0.25, rng: new RandomState(9) });
    const y = d.forward(x);
    const u = new RandomState(9).rand(x.size).data;
    y.data.forEach((v, i) => expect(v).toBe(u[i] < 0.75 ? x.data[i] * (1 / 0.75) : 0));
    const dx = d.backward(fromData(new Float64Array(x.size).fill(1), x.shape));
    dx.data.forEach((v, i) => expect(v).toBe(u[i] < 0.75 ? 1 / 0.75 : 0));
    d.eval();
    expect(Array.from(d.forward(x).data)).toEqual(Array.from(x.data));
  });

  test('Dropout and StochasticDepth in train mode: gradient check, the shared generator re-seeded per evaluation', () => {
    for (const m of [new nn.Dropout({ p: 0.4 }), new nn.StochasticDepth({ p: 0.5, mode: 'row' })]) {
      const { out } = checkModule(m, [6, 2, 3], { reseed: () => nn.manualSeed(4) });
      expect(out.data.some((v) => v === 0)).toBe(true);
      expect(m.training).toBe(true);
    }
  });

  test('Dropout without an rng draws from the shared nn generator, restarted by manualSeed', () => {
    const x = new RandomState(1).randn(4, 6);
    nn.manualSeed(5);
    const a = new nn.Dropout().forward(x);
    nn.manualSeed(5);
    const b = new nn.Dropout().forward(x);
    expect(Array.from(a.data)).toEqual(Array.from(b.data));
    expect(Array.from(new nn.Dropout().forward(x).data)).not.toEqual(Array.from(a.data));
  });

  test('StochasticDepth: per-sample keep/drop in train mode, identity in eval mode', () => {
    const x = new RandomState(2).randn(64, 2, 3, 3);
    const sd = new nn.StochasticDepth({ p: 0.5, mode: 'row', rng: new RandomState(3) });
    const y = sd.forward(x);
    const u = new RandomState(3).rand(64).data;
    for (let n = 0; n < 64; n++) {
      for (let k = 0; k < 18; k++) expect(y.data[n * 18 + k]).toBe(u[n] < 0.5 ? x.data[n * 18 + k] * 2 : 0);
    }
    const kept = Array.from(u).filter((v) => v < 0.5).length;
    expect(kept).toBeGreaterThan(16);
    expect(kept).toBeLessThan(48);
    sd.eval();
    expect(Array.from(sd.forward(x).data)).toEqual(Array.from(x.data));
  });
});

describe('module reuse and losses', () => {
  test('one ReLU used twice in one forward: backward goes through both uses in reverse', () => {
    // y = relu(2·maxpool(relu(x)) + shift) with one ReLU module, as ResNet's BasicBlock reuses its relu.
    const rng = new RandomState(8);
    const shift = rng.randn(2, 2, 3, 3);
    class Block extends nn.Module {
      readonly relu = this.addModule('relu', new nn.ReLU());
      readonly pool = this.addModule('pool', new nn.MaxPool2d({ kernelSize: 2, stride: 1 }));
      forward(v: Tensor): Tensor {
        const p = this.pool.forward(this.relu.forward(v));
        return this.relu.forward(fromData(Float64Array.from(p.data, (t, i) => 2 * t + shift.data[i]), p.shape));
      }
      backward(d: Tensor): Tensor {
        const dq = this.relu.backward(d);
        return this.relu.backward(this.pool.backward(fromData(Float64Array.from(dq.data, (t) => 2 * t), dq.shape)));
      }
    }
    const block = new Block();
    const { dx } = checkModule(block, rng.randn(2, 2, 4, 4), { seed: 3 });
    expect(dx.data.some((v) => v !== 0)).toBe(true);
    block.forward(rng.randn(2, 2, 4, 4));
    block.backward(rng.randn(2, 2, 3, 3));
    expect(() => block.relu.backward(rng.randn(2, 2, 3, 3))).toThrow(/ReLU\.backward: no forward pass/);
  });

  test('CrossEntropyLoss: forward number, backward dlogits; ε = 0 is the softmax loss', () => {
    const rng = new RandomState(11);
    const z = rng.randn(6, 4);
    const y = rng.randint(0, 4, 6);
    const plain = new nn.CrossEntropyLoss();
    const ref = softmaxLoss(z, y);
    expect(plain.forward(z, y)).toBe(ref.loss);
    expect(Array.from(plain.backward().data)).toEqual(Array.from(ref.dx.data));
    expect(() => plain.backward()).toThrow(/CrossEntropyLoss\.backward: no forward pass/);
    const fx = fixtureCase(loadFixtures('crossEntropy.json'), 'ce N8 C10 eps 0.25');
    const smooth = new nn.CrossEntropyLoss({ labelSmoothing: 0.25 });
    const labels = fromData(Int32Array.from(fx.attrs.labels as number[]), [8]);
    expect(Math.abs(smooth.forward(fromJson(fx.inputs[0]), labels) - fromJson(fx.out).data[0])).toBeLessThan(1e-12);
    const g = smooth.backward(2);
    const want = fromJson(fx.grads[0]!);
    g.data.forEach((v, i) => expect(Math.abs(v - 2 * want.data[i])).toBeLessThan(1e-12));
  });
});
