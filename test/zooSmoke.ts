/*
 * The zoo's "runs forward and backward" check: a train-mode step at a small input, in float32
 * and float64, must give logits of the right shape, an input gradient of the input's shape and
 * a finite gradient for every parameter (not all zero). The weights are the fixtures'
 * deterministic ones (loaded into either dtype): drawing each family's init scheme through
 * RandomState would cost most of the test's time and is not what it checks.
 */
import { copy, ones, type Tensor } from '../src/core/tensor';
import { createModel, type ModelOptions } from '../src/models';
import { zooInput, zooStateDict } from './zooWeights';

const allFinite = (t: Tensor): boolean => copy(t, 'float64').data.every((v) => Number.isFinite(v));

/** One forward + backward of model `name` per dtype on a `[N, 3, H, W]` input. */
export function checkForwardBackward(name: string, opts: ModelOptions, inputShape: number[]): void {
  for (const dtype of ['float32', 'float64'] as const) {
    const model = createModel(name, { numClasses: 10, ...opts, dtype, init: false });
    model.loadStateDict(zooStateDict(model), { strict: true });
    model.train();
    const x = copy(zooInput(inputShape), dtype);
    const y = model.forward(x);
    expect(y.shape).toEqual([inputShape[0], opts.numClasses ?? 10]);
    expect(allFinite(y)).toBe(true);
    model.zeroGrad();
    const dx = model.backward(ones(y.shape, dtype));
    expect(dx.shape).toEqual(inputShape);
    expect(allFinite(dx)).toBe(true);
    let nonzero = 0;
    for (const [k, p] of model.namedParameters()) {
      if (!p.grad) throw new Error(`${name} (${dtype}): ${k} got no gradient`);
      if (!allFinite(p.grad)) throw new Error(`${name} (${dtype}): ${k} has a non-finite gradient`);
      if (copy(p.grad, 'float64').data.some((v) => v !== 0)) nonzero++;
    }
    expect(nonzero).toBeGreaterThan(0);
  }
}
