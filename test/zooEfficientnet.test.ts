import { createModel, EFFICIENTNET_VARIANTS } from '../src/models';
import { summary } from '../src/nn';
import { checkZooFixture, loadZooFixture } from './zooHarness';
import { checkForwardBackward } from './zooSmoke';

/* B4–B7 logits are in zooEfficientnetLarge.test.ts (float64 forwards of 19–66M parameters take seconds each). */
describe('EfficientNet', () => {
  it.each([
    ['efficientnet_b0', 224, 5_288_548, 385_814_752],
    ['efficientnet_b1', 240, 7_794_184, 686_802_832],
    ['efficientnet_b2', 288, 9_109_994, 1_087_529_456],
    ['efficientnet_b3', 300, 12_233_232, 1_827_141_392],
    ['efficientnet_b4', 380, 19_341_616, 4_393_771_024],
    ['efficientnet_b5', 456, 30_389_784, 10_266_384_752],
    ['efficientnet_b6', 528, 43_040_704, 19_067_593_536],
    ['efficientnet_b7', 600, 66_347_960, 37_745_884_192],
    ['efficientnet_b0_cifar', 32, 4_020_358, 31_979_392],
  ] as const)('%s at its crop size %i: params and MACs as the reference', (name, crop, params, macs) => {
    const m = createModel(name, { init: false });
    expect(m.numParameters()).toBe(params);
    expect(summary(m, [3, crop, crop]).macs).toBe(macs);
  });

  it('B5–B7 use eps 1e-3 / momentum 0.01 batch norms, B0–B4 PyTorch\'s defaults', () => {
    const norm = (name: string): number[] => {
      const bn = createModel(name, { init: false }).modules().find((m) => m.constructor.name === 'BatchNorm2d') as unknown as { eps: number; momentum: number };
      return [bn.eps, bn.momentum];
    };
    expect(norm('efficientnet_b4')).toEqual([1e-5, 0.1]);
    expect(norm('efficientnet_b5')).toEqual([1e-3, 0.01]);
    expect(EFFICIENTNET_VARIANTS.map((v) => v.dropout)).toEqual([0.2, 0.2, 0.3, 0.3, 0.4, 0.4, 0.5, 0.5]);
  });

  // B0: eval logits, then a train-mode step (dropout 0, stochasticDepthProb 0): gradients and running statistics.
  it.each(['efficientnet_b0', 'efficientnet_b1', 'efficientnet_b2', 'efficientnet_b3', 'efficientnet_b0_cifar'])(
    '%s: torchvision keys in order, strict load, eval logits equal PyTorch',
    (name) => {
      checkZooFixture(loadZooFixture(name));
    },
  );

  // One float32 + float64 step with dropout and stochastic depth on: the CIFAR B0 has every block
  // B0–B7 are made of (B0 itself is checked in float64 against PyTorch's train step above).
  it('efficientnet_b0_cifar (stochasticDepthProb 0.5): runs forward and backward in float32 and float64', () => {
    checkForwardBackward('efficientnet_b0_cifar', { stochasticDepthProb: 0.5 }, [2, 3, 8, 8]);
  });

  it('rejects impossible options, naming them', () => {
    expect(() => createModel('efficientnet_b0', { stochasticDepthProb: 1 })).toThrow(/stochasticDepthProb/);
    expect(() => createModel('efficientnet_b3', { dropout: Number.NaN })).toThrow(/dropout/);
    expect(() => createModel('efficientnet_b0', { widthMult: 2 })).toThrow(/widthMult: not an option/);
  });
});
