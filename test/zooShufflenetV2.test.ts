import { copy } from '../src/core/tensor';
import { createModel, setShuffleStageFusion } from '../src/models';
import { summary } from '../src/nn';
import { copyCalls } from '../src/ops/kernels/copyTasks';
import { zooInput, zooStateDict } from './zooWeights';
import { checkZooFixture, loadZooFixture } from './zooHarness';
import { checkForwardBackward } from './zooSmoke';

describe('ShuffleNet V2', () => {
  // CIFAR rows: reference §C.1 (kuangliu's ShuffleNetV2(0.5/1/1.5) has the same structure); at 2.0 kuangliu's
  // table has a typo (224 for 244 channels), and the reference gives 5,365,486 params for the corrected net.
  it.each([
    ['shufflenet_v2_x0_5', {}, 1_366_792, 40_476_448],
    ['shufflenet_v2_x1_0', {}, 2_278_604, 144_907_992],
    ['shufflenet_v2_x1_5', {}, 3_503_624, 295_759_392],
    ['shufflenet_v2_x2_0', {}, 7_393_996, 583_253_464],
    ['shufflenet_v2_x1_0', { numClasses: 10 }, 1_263_854, null],
    ['shufflenet_v2_cifar', { widthMult: 0.5 }, 352_042, 10_902_016],
    ['shufflenet_v2_cifar', {}, 1_263_854, 45_002_112],
    ['shufflenet_v2_cifar', { widthMult: 1.5 }, 2_488_874, 94_259_712],
    ['shufflenet_v2_cifar', { widthMult: 2 }, 5_365_486, null],
  ] as const)('%s %j: params and MACs as the reference', (name, opts, params, macs) => {
    const m = createModel(name, { ...opts, init: false });
    expect(m.numParameters()).toBe(params);
    if (macs !== null) expect(summary(m, name.endsWith('_cifar') ? [3, 32, 32] : [3, 224, 224]).macs).toBe(macs);
  });

  it('the CIFAR net is state-dict compatible with torchvision\'s of the same width', () => {
    const keys = (name: string, opts = {}): string[] => Object.keys(createModel(name, { ...opts, numClasses: 10, init: false }).stateDict());
    expect(keys('shufflenet_v2_cifar')).toEqual(keys('shufflenet_v2_x1_0'));
    expect(keys('shufflenet_v2_cifar', { widthMult: 2 })).toEqual(keys('shufflenet_v2_x2_0'));
  });

  it.each([
    ['shufflenet_v2_x0_5', 'shufflenet_v2_x0_5'],
    ['shufflenet_v2_x1_0', 'shufflenet_v2_x1_0'],
    ['shufflenet_v2_x1_5', 'shufflenet_v2_x1_5'],
    ['shufflenet_v2_x2_0', 'shufflenet_v2_x2_0'],
    ['shufflenet_v2_cifar', 'shufflenet_v2_cifar'],
    ['shufflenet_v2_cifar_w0_5', 'shufflenet_v2_cifar'],
  ])('%s: torchvision keys in order, strict load, eval logits equal PyTorch', (fixture, name) => {
    checkZooFixture(loadZooFixture(fixture), name);
  });

  it.each([
    ['shufflenet_v2_x0_5', {}, [2, 3, 32, 32]],
    ['shufflenet_v2_cifar', { widthMult: 0.5 }, [2, 3, 16, 16]],
  ] as const)('%s %j: runs forward and backward in float32 and float64', (name, opts, shape) => {
    checkForwardBackward(name, opts, [...shape]);
  });

  it('training with each unit\'s join fused into the next split gives the bits of the units one by one (float32, float64)', () => {
    for (const dtype of ['float32', 'float64'] as const) {
      const run = (fused: boolean) => {
        const prev = setShuffleStageFusion(fused);
        try {
          const m = createModel('shufflenet_v2_cifar', { widthMult: 0.5, numClasses: 10, dtype, init: false });
          m.loadStateDict(zooStateDict(m), { strict: true });
          m.train();
          const before = copyCalls().shuffleSplit;
          const x = copy(zooInput([3, 3, 16, 16]), dtype);
          const y = m.forward(x);
          m.zeroGrad();
          const dx = m.backward(copy(zooInput(y.shape, 'dout'), dtype));
          const grads = [...m.namedParameters()].map(([, p]) => Array.from(p.grad!.data));
          const stats = Object.entries(m.stateDict()).filter(([k]) => k.includes('running')).map(([, v]) => Array.from(v.data));
          return { y: Array.from(y.data), dx: Array.from(dx.data), grads, stats, joins: copyCalls().shuffleSplit - before };
        } finally {
          setShuffleStageFusion(prev);
        }
      };
      const fused = run(true);
      const units = run(false);
      // 4 + 8 + 4 units: 13 joins fused into the next split, each forward and backward.
      expect(fused.joins).toBe(2 * 13);
      expect(units.joins).toBe(0);
      expect(fused.y).toEqual(units.y);
      expect(fused.dx).toEqual(units.dx);
      expect(fused.grads).toEqual(units.grads);
      expect(fused.stats).toEqual(units.stats);
    }
  });

  it('rejects widths it does not have, naming the option', () => {
    expect(() => createModel('shufflenet_v2_cifar', { widthMult: 0 })).toThrow(/widthMult/);
    expect(() => createModel('shufflenet_v2_cifar', { widthMult: 0.75 })).toThrow(/widthMult: .*0\.5, 1, 1\.5, 2/);
    expect(() => createModel('shufflenet_v2_x1_0', { widthMult: 2 })).toThrow(/widthMult: not an option/);
  });
});
