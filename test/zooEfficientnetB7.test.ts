import { checkZooFixture, loadZooFixture } from './zooHarness';

/*
 * EfficientNet-B7 against PyTorch (float64, 64×64, 10 classes), alone because its 66M weights
 * take most of a minute to generate, load and run on a loaded machine. The tolerance is 1e-3,
 * not 1e-9: with the harness's deterministic weights its 55 SE-gated blocks are chaotic — in
 * PyTorch itself, scaling the input by (1 + 1e-13) moves the logits by 1e-4 relative — so no
 * two summation orders agree further. A wrong layer still misses by far more (the same
 * amplification applies to it), and B5/B6 (same blocks, same batch norm) pass at 1e-9.
 */
describe('EfficientNet-B7', () => {
  it('efficientnet_b7: torchvision keys in order, strict load, eval logits equal PyTorch to 1e-3', () => {
    checkZooFixture(loadZooFixture('efficientnet_b7'), 'efficientnet_b7', 1e-3);
  });
});
