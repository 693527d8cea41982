import { createModel } from '../src/models';
import { summary } from '../src/nn';
import { checkZooFixture, loadZooFixture } from './zooHarness';
import { quickRun } from './zooQuick';

/*
 * MobileNet V1 is not in torchvision: the fixtures come from an independent PyTorch build of
 * the paper's Table 1 (test/fixtures/zoo/make_zoo_mobilenet_v1.py), checked at 64×64 (ImageNet
 * body) and 32×32 (CIFAR body) with 10 classes.
 */
describe('MobileNet V1', () => {
  // Every α and resolution row of reference §B.4, and kuangliu's CIFAR model (§C.1).
  it.each([
    ['mobilenet_v1', {}, 224, 4_231_976, 568_740_352],
    ['mobilenet_v1', { widthMult: 0.75 }, 224, 2_585_560, 325_400_448],
    ['mobilenet_v1', { widthMult: 0.5 }, 224, 1_331_592, 149_497_088],
    ['mobilenet_v1', { widthMult: 0.25 }, 224, 470_072, 41_030_272],
    ['mobilenet_v1', {}, 192, 4_231_976, 418_121_728],
    ['mobilenet_v1', {}, 160, 4_231_976, 290_675_200],
    ['mobilenet_v1', {}, 128, 4_231_976, 186_400_768],
    ['mobilenet_v1', { numClasses: 10 }, 224, 3_217_226, null],
    ['mobilenet_v1_cifar', {}, 32, 3_217_226, 46_354_432],
  ] as const)('%s %j at %i: params and MACs as the reference', (name, opts, res, params, macs) => {
    const m = createModel(name, { ...opts, init: false });
    expect(m.numParameters()).toBe(params);
    if (macs !== null) expect(summary(m, [3, res, res]).macs).toBe(macs);
  });

  it.each([
    ['mobilenet_v1', 'mobilenet_v1'],
    ['mobilenet_v1_w050', 'mobilenet_v1'],
    ['mobilenet_v1_cifar', 'mobilenet_v1_cifar'],
  ])('%s: keys, strict load, eval logits (and a train step) equal the PyTorch build', (fixture, name) => {
    checkZooFixture(loadZooFixture(fixture), name);
  });

  it.each([
    ['mobilenet_v1', [2, 3, 32, 32]],
    ['mobilenet_v1_cifar', [2, 3, 32, 32]],
  ])('%s: forward and backward in Float32 and Float64', (name, shape) => {
    quickRun(name, { widthMult: 0.25 }, shape);
  });

  it('rejects impossible options and inputs, naming them', () => {
    expect(() => createModel('mobilenet_v1', { widthMult: 0, init: false })).toThrow(/widthMult/);
    expect(() => createModel('mobilenet_v1', { widthMult: -1, init: false })).toThrow(/widthMult/);
    expect(() => createModel('mobilenet_v1', { widthMult: 0.01, init: false })).toThrow(/widthMult: 0.01 leaves/);
    expect(() => createModel('mobilenet_v1', { groups: 2, init: false })).toThrow(/groups: not an option/);
    const m = createModel('mobilenet_v1_cifar', { init: false });
    expect(() => summary(m, [3, 64, 64])).toThrow(/x: mobilenet_v1_cifar expects input \(N, 3, H, W\) with 32×32/);
    expect(() => summary(createModel('mobilenet_v1', { init: false }), [1, 64, 64])).toThrow(/x: mobilenet_v1 expects input \(N, 3/);
  });

  it('uses kuangliu\'s module names in registration order', () => {
    const keys = Object.keys(createModel('mobilenet_v1_cifar', { init: false }).stateDict());
    expect(keys.slice(0, 6)).toEqual(['conv1.weight', 'bn1.weight', 'bn1.bias', 'bn1.running_mean', 'bn1.running_var', 'bn1.num_batches_tracked']);
    expect(keys).toContain('layers.12.conv2.weight');
    expect(keys.slice(-2)).toEqual(['linear.weight', 'linear.bias']);
  });
});
