import { checkZooFixture, loadZooFixture } from './zooHarness';

/*
 * EfficientNet-B7 against PyTorch (float64, 64×64, 10 classes), alone because its 66M weights
 * take a while to generate, load and run. Its fixture uses running variances 1/0.8² larger than
 * the other zoo fixtures (`varScale`): with the default ones its 55 SE-gated blocks grow the
 * eval activations until the logits are chaotic, and no two summation orders agree.
 */
describe('EfficientNet-B7', () => {
  it('efficientnet_b7: torchvision keys in order, strict load, eval logits equal PyTorch to 1e-9', () => {
    checkZooFixture(loadZooFixture('efficientnet_b7'), 'efficientnet_b7');
  });
});
