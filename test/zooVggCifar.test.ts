import { createModel } from '../src/models';
import { summary } from '../src/nn';
import { checkZooFixture, loadZooFixture } from './zooHarness';
import { quickRun } from './zooQuick';

/* kuangliu's CIFAR-10 VGGs against a PyTorch rebuild (make_zoo_vgg.py), 32×32, 10 classes. */
describe('VGG for CIFAR-10', () => {
  it.each([
    // vgg11 and vgg16 from reference §C.1; vgg13 and vgg19 computed by the PyTorch rebuild in make_zoo_vgg.py.
    ['vgg11_cifar', 9_231_114, 152_769_536],
    ['vgg13_cifar', 9_416_010, 228_267_008],
    ['vgg16_cifar', 14_728_266, 313_201_664],
    ['vgg19_cifar', 20_040_522, 398_136_320],
  ])('%s: params and MACs at 32 as kuangliu', (name, params, macs) => {
    const m = createModel(name, { init: false });
    expect(m.numParameters()).toBe(params);
    expect(summary(m, [3, 32, 32]).macs).toBe(macs);
  });

  it.each(['vgg11_cifar', 'vgg13_cifar', 'vgg16_cifar', 'vgg19_cifar'])('%s: kuangliu keys, strict load, eval logits equal the PyTorch build', (name) => {
    checkZooFixture(loadZooFixture(name));
  });

  it('vgg11_cifar: forward and backward in Float32 and Float64', () => {
    quickRun('vgg11_cifar', {}, [2, 3, 32, 32]);
  });

  it('rejects inputs other than 32×32, naming the model', () => {
    expect(() => summary(createModel('vgg11_cifar', { init: false }), [3, 64, 64])).toThrow(/x: vgg11_cifar expects .* 32×32/);
    expect(() => createModel('vgg11_cifar', { dropout: 0.1, init: false })).toThrow(/dropout: not an option of vgg11_cifar/);
  });
});
