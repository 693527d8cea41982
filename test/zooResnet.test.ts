import { createModel } from '../src/models';
import { summary } from '../src/nn';
import { checkZooFixture, loadZooFixture } from './zooHarness';

describe('ResNet', () => {
  it.each([
    ['resnet18', {}, 11_689_512, 1_814_073_344],
    ['resnet34', {}, 21_797_672, null],
    ['resnet50', {}, 25_557_032, null],
    ['resnet18', { numClasses: 10 }, 11_181_642, null],
    ['resnet18_cifar', {}, 11_173_962, 555_422_720],
  ] as const)('%s %j: params and MACs as the reference', (name, opts, params, macs) => {
    const m = createModel(name, { ...opts, init: false });
    expect(m.numParameters()).toBe(params);
    if (macs !== null) expect(summary(m, name.endsWith('_cifar') ? [3, 32, 32] : [3, 224, 224]).macs).toBe(macs);
  });

  it.each(['resnet18', 'resnet34', 'resnet50'])('%s: torchvision keys, strict load, eval logits (and a train step) equal PyTorch', (name) => {
    checkZooFixture(loadZooFixture(name));
  });
});
