import { createModel, VGG, VGG_CONFIGS } from '../src/models';
import { summary } from '../src/nn';
import { checkZooFixture, loadZooFixture } from './zooHarness';
import { quickRun } from './zooQuick';

/*
 * torchvision's VGG classifier (25088→4096→4096) holds 103M weights, too many for a Float64
 * logits check in a unit test. The logits fixtures (make_zoo_vgg.py) therefore keep
 * torchvision's builders and names but narrow the two hidden Linear layers to 64 units
 * (`classifierWidth`); the 4096-wide head is checked by its parameter count and MACs.
 * vgg11 and vgg11_bn (with a train step) are compared at 64×64, the deeper six at 32×32.
 */
describe('VGG', () => {
  it.each([
    ['vgg11', 132_863_336, 7_609_090_048],
    ['vgg11_bn', 132_868_840, 7_609_090_048],
    ['vgg13', 133_047_848, 11_308_466_176],
    // vgg13_bn and vgg19_bn are not in reference §B.0: counts from torchvision 0.14 (make_zoo_vgg.py builds them).
    ['vgg13_bn', 133_053_736, 11_308_466_176],
    ['vgg16', 138_357_544, 15_470_264_320],
    ['vgg16_bn', 138_365_992, 15_470_264_320],
    ['vgg19', 143_667_240, 19_632_062_464],
    ['vgg19_bn', 143_678_248, 19_632_062_464],
  ])('%s: params and MACs at 224 as the reference', (name, params, macs) => {
    const m = createModel(name, { init: false });
    expect(m.numParameters()).toBe(params);
    expect(summary(m, [3, 224, 224]).macs).toBe(macs);
  });

  it.each(['vgg11', 'vgg11_bn', 'vgg13', 'vgg13_bn', 'vgg16', 'vgg16_bn', 'vgg19', 'vgg19_bn'])(
    '%s (hidden layers narrowed to 64): torchvision keys, strict load, eval logits equal PyTorch',
    (name) => {
      const fx = loadZooFixture(name) as ReturnType<typeof loadZooFixture> & { classifierWidth: number };
      expect(fx.classifierWidth).toBe(64);
      const base = name.replace('_bn', '');
      checkZooFixture(fx, name, 1e-9, (o) => new VGG({ name, cfg: VGG_CONFIGS[base], batchNorm: name.endsWith('_bn'), classifierWidth: fx.classifierWidth }, o));
    },
  );

  // torchvision's vgg11_bn with the hidden layers narrowed to 64 (see above); the other seven
  // differ from it only in the config table, and their logits are checked above.
  it('vgg11_bn: forward and backward in Float32 and Float64', () => {
    quickRun('vgg11_bn', {}, [2, 3, 32, 32], (o) => new VGG({ name: 'vgg11_bn', cfg: VGG_CONFIGS.vgg11, batchNorm: true, classifierWidth: 64 }, o));
  });

  it('rejects impossible options and inputs, naming them', () => {
    expect(() => createModel('vgg16', { dropout: 1, init: false })).toThrow(/dropout: expected a probability/);
    expect(() => createModel('vgg16', { widthMult: 2, init: false })).toThrow(/widthMult: not an option of vgg16/);
    expect(() => summary(createModel('vgg11', { init: false }), [3, 16, 16])).toThrow(/x: vgg11 expects input \(N, 3, H, W\) with H, W ≥ 32, got \(0, 3, 16, 16\)/);
  });
});
