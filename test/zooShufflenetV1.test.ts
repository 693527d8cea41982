import { createModel } from '../src/models';
import { summary } from '../src/nn';
import { zeros } from '../src/core/tensor';
import { checkZooFixture, loadZooFixture } from './zooHarness';
import { checkForwardBackward } from './zooSmoke';

/*
 * ShuffleNet V1 is not in torchvision: its fixtures come from PyTorch rebuilds written from the
 * reference's description (test/fixtures/zoo/make_zoo_shufflenet_v1.py).
 */
describe('ShuffleNet V1', () => {
  it.each([
    ['shufflenet_v1', { groups: 1 }, 1_531_936, 143_078_976],
    ['shufflenet_v1', { groups: 2 }, 1_733_848, 140_836_512],
    ['shufflenet_v1', { groups: 3 }, 1_865_728, 137_460_672],
    ['shufflenet_v1', { groups: 4 }, 1_968_344, 134_339_776],
    ['shufflenet_v1', { groups: 8 }, 2_434_768, 138_365_952],
    ['shufflenet_v1_g2_cifar', {}, 887_582, 39_614_080],
    ['shufflenet_v1_g3_cifar', {}, 862_768, 38_605_056],
  ] as const)('%s %j: params and MACs as the reference', (name, opts, params, macs) => {
    const m = createModel(name, { ...opts, init: false });
    expect(m.numParameters()).toBe(params);
    expect(summary(m, name.endsWith('_cifar') ? [3, 32, 32] : [3, 224, 224]).macs).toBe(macs);
  });

  it('1× g=3 has the reference per-unit sizes (stem 696, stage-2 unit 0 6,972, FC 961,000)', () => {
    const m = createModel('shufflenet_v1', { groups: 3, init: false });
    const sizes = new Map(m.namedModules().map(([k, mod]) => [k, mod.numParameters()]));
    expect([sizes.get('first_conv'), sizes.get('features.0'), sizes.get('features.1'), sizes.get('features.4'), sizes.get('features.5'), sizes.get('features.12'), sizes.get('features.13'), sizes.get('classifier')])
      .toEqual([696, 6_972, 10_860, 21_240, 40_920, 80_880, 158_640, 961_000]);
  });

  it('builds every width of the paper\'s Table 2 for every group count (mid rounded down to a multiple of g)', () => {
    for (const groups of [1, 2, 3, 4, 8]) for (const widthMult of [0.25, 0.5, 1, 1.5, 2]) expect(() => createModel('shufflenet_v1', { groups, widthMult, init: false })).not.toThrow();
    const mid = createModel('shufflenet_v1', { groups: 2, widthMult: 0.5, init: false }).stateDict()['features.1.branch_main_1.0.weight'].shape[0];
    expect(mid).toBe(24);
  });

  it('widthMult scales the stage widths (stem stays 24)', () => {
    const m = createModel('shufflenet_v1', { groups: 3, widthMult: 0.5, numClasses: 10, init: false });
    const sd = m.stateDict();
    expect(sd['first_conv.0.weight'].shape).toEqual([24, 3, 3, 3]);
    expect(sd['classifier.0.weight'].shape).toEqual([10, 480]);
    expect(sd['features.0.branch_main_2.0.weight'].shape).toEqual([120 - 24, 10, 1, 1]);
  });

  it.each([
    ['shufflenet_v1_g1', 'shufflenet_v1'],
    ['shufflenet_v1_g3', 'shufflenet_v1'],
    ['shufflenet_v1_g8_w0_5', 'shufflenet_v1'],
    ['shufflenet_v1_g2_w0_5', 'shufflenet_v1'],
    ['shufflenet_v1_g2_cifar', 'shufflenet_v1_g2_cifar'],
    ['shufflenet_v1_g3_cifar', 'shufflenet_v1_g3_cifar'],
  ])('%s: keys, strict load and eval logits equal the PyTorch rebuild', (fixture, name) => {
    checkZooFixture(loadZooFixture(fixture), name);
  });

  it.each([
    ['shufflenet_v1', { groups: 2, widthMult: 0.25 }, [2, 3, 32, 32]],
    ['shufflenet_v1_g3_cifar', {}, [2, 3, 32, 32]],
  ] as const)('%s %j: runs forward and backward in float32 and float64', (name, opts, shape) => {
    checkForwardBackward(name, opts, [...shape]);
  });

  it('rejects impossible options and inputs with errors naming them', () => {
    expect(() => createModel('shufflenet_v1', { groups: 5 })).toThrow(/groups: .*1, 2, 3, 4, 8/);
    expect(() => createModel('shufflenet_v1', { widthMult: 0 })).toThrow(/widthMult/);
    // 0.33 × 384 = 126 channels: the first unit's main branch makes 126 − 24 = 102, which 8 groups cannot split.
    expect(() => createModel('shufflenet_v1', { groups: 8, widthMult: 0.33, init: false })).toThrow(/groups: 8 must divide the 102 output \(stage 2\) channels/);
    const cifar = createModel('shufflenet_v1_g2_cifar', { init: false });
    expect(() => cifar.forward(zeros([1, 3, 64, 64], 'float32'))).toThrow(/x: shufflenet_v1_g2_cifar expects 32×32/);
  });
});
