import { RandomState } from '../src/core/random';
import { AlexNet, createModel } from '../src/models';
import { summary } from '../src/nn';
import { Conv2d } from '../src/nn/conv2d';
import { checkZooFixture, loadZooFixture, type ZooFixture } from './zooHarness';
import { quickRun } from './zooQuick';

/*
 * The 9216→4096→4096 classifier holds 55M weights, too many for a Float64 unit test: the logits
 * fixtures (make_zoo_alexnet.py) keep the module names and narrow the two hidden layers to 64
 * units (`classifierWidth`); the full head is checked by its counts. torchvision's alexnet is
 * compared at 64×64, the paper's (LRN, two groups) at 99×99, each with a train step (dropout 0).
 */
describe('AlexNet', () => {
  it.each([
    ['alexnet', 224, 61_100_840, 714_188_480],
    ['alexnet_paper', 227, 60_965_224, 724_406_816],
  ])('%s: params and MACs at %i as the reference', (name, res, params, macs) => {
    const m = createModel(name, { init: false });
    expect(m.numParameters()).toBe(params);
    expect(summary(m, [3, res, res]).macs).toBe(macs);
  });

  it.each(['alexnet', 'alexnet_paper'] as const)('%s (hidden layers narrowed to 64): keys, strict load, eval logits and a train step equal PyTorch', (name) => {
    const fx = loadZooFixture(name) as ZooFixture & { classifierWidth: number };
    expect(fx.classifierWidth).toBe(64);
    checkZooFixture(fx, name, 1e-9, (o) => new AlexNet({ name, classifierWidth: fx.classifierWidth }, o));
  });

  it.each([['alexnet', 63], ['alexnet_paper', 67]] as const)('%s: forward and backward in Float32 and Float64 at its smallest input', (name, size) => {
    quickRun(name, {}, [2, 3, size, size], (o) => new AlexNet({ name, classifierWidth: 16 }, o));
  });

  it('alexnet_paper: the paper\'s initialisation (N(0, 0.01²), biases 1 in conv2/4/5 and the hidden FC layers)', () => {
    const m = new AlexNet({ name: 'alexnet_paper', classifierWidth: 32 }, { rng: new RandomState(0), dtype: 'float64', numClasses: 10 });
    const biasMeans = m.namedParameters().filter(([k]) => k.endsWith('bias')).map(([k, p]) => [k, Array.from(p.data.data).reduce((a, b) => a + b, 0) / p.data.size]);
    expect(biasMeans).toEqual([
      ['features.0.bias', 0], ['features.4.bias', 1], ['features.8.bias', 0], ['features.10.bias', 1], ['features.12.bias', 1],
      ['classifier.1.bias', 1], ['classifier.4.bias', 1], ['classifier.6.bias', 0],
    ]);
    const w = m.features.children().find((l): l is Conv2d => l instanceof Conv2d)!.weight.data.data;
    const std = Math.sqrt(Array.from(w).reduce((a, v) => a + v * v, 0) / w.length);
    expect(Math.abs(std - 0.01)).toBeLessThan(0.0005);
  });

  it('rejects impossible options and inputs, naming them', () => {
    expect(() => createModel('alexnet', { dropout: -0.1, init: false })).toThrow(/dropout: expected a probability/);
    expect(() => createModel('alexnet_paper', { widthMult: 1, init: false })).toThrow(/widthMult: not an option of alexnet_paper/);
    expect(() => summary(createModel('alexnet', { init: false }), [3, 62, 62])).toThrow(/x: alexnet expects input \(N, 3, H, W\) with H, W ≥ 63/);
    expect(() => summary(createModel('alexnet_paper', { init: false }), [3, 66, 66])).toThrow(/x: alexnet_paper expects .* H, W ≥ 67/);
  });
});
