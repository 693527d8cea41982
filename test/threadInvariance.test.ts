/*
 * Issue 15's promise: a training step gives the same bits whatever the thread count. One
 * train-mode forward and backward of whole zoo models (every kernel the conv2d op picks for
 * them: fused GEMM, the batch-wide GEMM backward of the small late stages, depthwise) at
 * CS231N_THREADS = 1, 2 and 4, compared bit for bit.
 */
import { copy } from '../src/core/tensor';
import { createModel } from '../src/models';
import { zooInput, zooStateDict } from './zooWeights';
import { bitDiffs } from './threads';

function step(name: string, threads: string): Float32Array[] {
  const saved = process.env.CS231N_THREADS;
  process.env.CS231N_THREADS = threads;
  try {
    const m = createModel(name, { numClasses: 10, dtype: 'float32', init: false });
    m.loadStateDict(zooStateDict(m), { strict: true });
    m.train();
    const x = copy(zooInput([4, 3, 32, 32]), 'float32');
    const y = m.forward(x);
    m.zeroGrad();
    const dx = m.backward(copy(zooInput(y.shape, 'dout'), 'float32'));
    return [y, dx, ...[...m.namedParameters()].map(([, p]) => p.grad!)].map((t) => Float32Array.from(t.data));
  } finally {
    if (saved === undefined) delete process.env.CS231N_THREADS;
    else process.env.CS231N_THREADS = saved;
  }
}

describe('results do not depend on the thread count', () => {
  it.each(['resnet18_cifar', 'mobilenet_v2_cifar'])('%s: logits, input and parameter gradients equal on 1, 2 and 4 threads', (name) => {
    const one = step(name, '1');
    expect(one.every((t) => t.every(Number.isFinite))).toBe(true);
    for (const t of ['2', '4']) expect(bitDiffs(one, step(name, t))).toBe(0);
  }, 120_000);
});
