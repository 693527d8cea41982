import { checkZooFixture, loadZooFixture } from './zooHarness';

/*
 * EfficientNet B4–B6 against PyTorch (float64, 64×64, 10 classes), apart from B0–B3 (and B7,
 * zooEfficientnetB7.test.ts) because each takes seconds.
 */
describe('EfficientNet B4–B6', () => {
  it.each(['efficientnet_b4', 'efficientnet_b5', 'efficientnet_b6'])('%s: torchvision keys in order, strict load, eval logits equal PyTorch', (name) => {
    checkZooFixture(loadZooFixture(name));
  });
});
