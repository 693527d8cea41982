import { createModel } from '../src/models';
import { summary } from '../src/nn';
import { zeros } from '../src/core/tensor';
import { checkZooFixture, loadZooFixture } from './zooHarness';
import { checkForwardBackward } from './zooSmoke';

describe('MobileNet V2', () => {
  it.each([
    ['mobilenet_v2', {}, 3_504_872, 300_774_272],
    ['mobilenet_v2', { numClasses: 10 }, 2_236_682, null],
    ['mobilenet_v2_cifar', {}, 2_296_922, 91_154_944],
  ] as const)('%s %j: params and MACs as the reference', (name, opts, params, macs) => {
    const m = createModel(name, { ...opts, init: false });
    expect(m.numParameters()).toBe(params);
    if (macs !== null) expect(summary(m, name.endsWith('_cifar') ? [3, 32, 32] : [3, 224, 224]).macs).toBe(macs);
  });

  it.each([
    ['mobilenet_v2', 'mobilenet_v2'],
    ['mobilenet_v2_w0_5', 'mobilenet_v2'],
    ['mobilenet_v2_cifar', 'mobilenet_v2_cifar'],
  ])('%s: keys in PyTorch order, strict load, eval logits equal PyTorch (kuangliu net: a PyTorch rebuild)', (fixture, name) => {
    checkZooFixture(loadZooFixture(fixture), name);
  });

  it.each([
    ['mobilenet_v2', { widthMult: 0.35 }, [2, 3, 32, 32]],
    ['mobilenet_v2_cifar', {}, [2, 3, 32, 32]],
  ] as const)('%s %j: runs forward and backward in float32 and float64', (name, opts, shape) => {
    checkForwardBackward(name, opts, [...shape]);
  });

  it('rejects impossible options and inputs with errors naming them', () => {
    expect(() => createModel('mobilenet_v2', { widthMult: 0 })).toThrow(/widthMult/);
    expect(() => createModel('mobilenet_v2', { widthMult: -1 })).toThrow(/widthMult/);
    expect(() => createModel('mobilenet_v2', { dropout: 1 })).toThrow(/dropout/);
    expect(() => createModel('mobilenet_v2_cifar', { widthMult: 2 })).toThrow(/widthMult: not an option/);
    const cifar = createModel('mobilenet_v2_cifar', { init: false });
    expect(() => cifar.forward(zeros([1, 3, 64, 64], 'float32'))).toThrow(/x: mobilenet_v2_cifar expects 32×32/);
    expect(() => cifar.forward(zeros([1, 3, 16, 16], 'float32'))).toThrow(/x: mobilenet_v2_cifar expects 32×32/);
  });
});
