import { createModel } from '../src/models';
import { summary } from '../src/nn';
import { checkZooFixture, loadZooFixture } from './zooHarness';
import { checkForwardBackward } from './zooSmoke';

describe('MobileNet V3', () => {
  it.each([
    ['mobilenet_v3_large', {}, 5_483_032, 216_589_760],
    ['mobilenet_v3_small', {}, 2_542_856, 56_510_400],
    ['mobilenet_v3_large', { numClasses: 10 }, 4_214_842, null],
    ['mobilenet_v3_small', { numClasses: 10 }, 1_528_106, null],
  ] as const)('%s %j: params and MACs as the reference', (name, opts, params, macs) => {
    const m = createModel(name, { ...opts, init: false });
    expect(m.numParameters()).toBe(params);
    if (macs !== null) expect(summary(m, [3, 224, 224]).macs).toBe(macs);
  });

  it('batch norms use eps 0.001 and momentum 0.01', () => {
    const bn = createModel('mobilenet_v3_small', { init: false }).modules().find((m) => m.constructor.name === 'BatchNorm2d') as unknown as { eps: number; momentum: number };
    expect([bn.eps, bn.momentum]).toEqual([0.001, 0.01]);
  });

  // Small: eval logits, then a train-mode step (dropout 0): parameter gradients and running statistics.
  // Its fixture's SE gates use the exact hardsigmoid gradient; PyTorch 1.13 rounds that 1/6 to float32 (see make_zoo_mobilenet_v3.py).
  it.each(['mobilenet_v3_large', 'mobilenet_v3_small'])('%s: torchvision keys in order, strict load, eval logits (Small: and a train step) equal PyTorch', (name) => {
    checkZooFixture(loadZooFixture(name));
  });

  it.each(['mobilenet_v3_large', 'mobilenet_v3_small'])('%s: runs forward and backward in float32 and float64', (name) => {
    checkForwardBackward(name, {}, [2, 3, 32, 32]);
  });

  it('rejects impossible options, naming them', () => {
    expect(() => createModel('mobilenet_v3_small', { dropout: -0.1 })).toThrow(/dropout/);
    expect(() => createModel('mobilenet_v3_large', { widthMult: 0.5 })).toThrow(/widthMult: not an option/);
  });
});
