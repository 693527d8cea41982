import { checkZooFixture, loadZooFixture } from './zooHarness';

/*
 * EfficientNet B5–B7 against PyTorch (float64, 64×64, 10 classes), apart from B0–B4 because
 * each takes seconds. B7's tolerance is 1e-3, not 1e-9: with the harness's deterministic
 * weights its 55 SE-gated blocks are chaotic — in PyTorch itself, scaling the input by
 * (1 + 1e-13) moves its logits by 1e-4 relative — so no two summation orders agree further.
 * A wrong layer would still miss by far more than that (the same amplification applies).
 */
describe('EfficientNet B5–B7', () => {
  it.each([
    ['efficientnet_b5', 1e-9],
    ['efficientnet_b6', 1e-9],
    ['efficientnet_b7', 1e-3],
  ] as const)('%s: torchvision keys in order, strict load, eval logits equal PyTorch (to %p)', (name, tol) => {
    checkZooFixture(loadZooFixture(name), name, tol);
  });
});
