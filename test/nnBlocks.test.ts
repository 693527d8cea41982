import { RandomState } from '../src/core/random';
import type { Tensor } from '../src/core/tensor';
import { BatchNorm2d, Block, Conv2d, ConvNormActivation, Linear, SqueezeExcitation, type Tape } from '../src/nn';
import { adaptiveAvgPool, hardsigmoidLayer, reluLayer } from '../src/models/layers';
import { checkModule } from './opHarness';

/** A block that exercises every tape join: split, concat, add (with a tensor used twice), flatten. */
class Joins extends Block {
  readonly a: Conv2d;
  readonly b: Conv2d;
  readonly fc: Linear;
  readonly act = reluLayer();
  constructor() {
    super();
    const rng = new RandomState(7);
    this.a = this.addModule('a', new Conv2d(2, 2, 3, { padding: 1, dtype: 'float64', rng }));
    this.b = this.addModule('b', new Conv2d(2, 3, 1, { dtype: 'float64', rng }));
    this.fc = this.addModule('fc', new Linear(5 * 3 * 3, 4, { dtype: 'float64', rng }));
  }
  protected run(x: Tensor, t: Tape): Tensor {
    const [p, q] = t.split(x, [2, 1]);
    const h = t.add(t.call(this.a, p), p);
    const joined = t.concat([h, t.call(this.b, h)]);
    return t.call(this.fc, t.flatten(t.add(joined, joined)));
  }
}

describe('tape blocks', () => {
  it('split / add / concat / flatten route gradients (gradient check in float64)', () => {
    checkModule(new Joins(), [2, 3, 3, 3], { seed: 1 });
  });

  it('ConvNormActivation has torchvision child names and gradient-checks', () => {
    const m = new ConvNormActivation(3, 4, 3, { stride: 2, norm: (c) => new BatchNorm2d(c, { dtype: 'float64' }), activation: reluLayer, dtype: 'float64', rng: new RandomState(2) });
    expect(Object.keys(m.stateDict())).toEqual(['0.weight', '1.weight', '1.bias', '1.running_mean', '1.running_var', '1.num_batches_tracked']);
    checkModule(m, [3, 3, 5, 5]);
  });

  it('SqueezeExcitation has fc1/fc2 and gradient-checks', () => {
    const se = new SqueezeExcitation(6, 2, { pool: () => adaptiveAvgPool(1), activation: reluLayer, scaleActivation: hardsigmoidLayer, dtype: 'float64', rng: new RandomState(3) });
    expect(Object.keys(se.stateDict())).toEqual(['fc1.weight', 'fc1.bias', 'fc2.weight', 'fc2.bias']);
    checkModule(se, [2, 6, 3, 4]);
  });
});
