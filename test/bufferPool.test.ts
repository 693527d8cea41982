/*
 * The buffer pool (core/bufferPool.ts) and the containers that give it dead activations and
 * gradients (Sequential, Block tapes, OpModule). A recycled buffer that is still read would
 * change results or — with `poison` on, which fills every given-back store with NaN — show
 * as NaN; so whole zoo models are trained with the pool off and on (poisoned) and compared
 * bit for bit, including the tensors a caller keeps from the previous step.
 */
import ndarray from 'ndarray';
import { bufferPoolStats, clearBufferPool, configureBufferPool, isShared, recycleFloat, takeFloat } from '../src/core/bufferPool';
import { allocFloat, allocFloatUninit } from '../src/core/dtype';
import { copy, type Tensor } from '../src/core/tensor';
import { createModel } from '../src/models';
import { noGrad } from '../src/nn/gradMode';
import { BatchNorm2d, Conv2d, Flatten, Identity, ReLU, Sequential } from '../src/nn';
import { addForwardHook, type Module } from '../src/nn/module';
import { manualSeed } from '../src/nn/rng';
import { zooInput, zooStateDict } from './zooWeights';
import { bitDiffs } from './threads';

let saved: ReturnType<typeof configureBufferPool>;
beforeEach(() => {
  saved = configureBufferPool({ enabled: true, poison: false });
});
afterEach(() => {
  configureBufferPool(saved);
  clearBufferPool();
});

describe('bufferPool', () => {
  it('hands a given-back store out again, zeroed, for the same dtype and length only', () => {
    const a = allocFloat('float32', 5000);
    a.fill(3);
    recycleFloat(a);
    expect(allocFloat('float64', 5000)).not.toBe(a);
    expect(allocFloat('float32', 4999)).not.toBe(a);
    const b = allocFloat('float32', 5000);
    expect(b).toBe(a);
    expect(b.every((v) => v === 0)).toBe(true);
    expect(allocFloat('float32', 5000)).not.toBe(a);
  });

  it('allocFloatUninit hands a given-back store out as it is (its owner writes every element), a fresh one zeroed', () => {
    const a = allocFloat('float32', 5000);
    a.fill(3);
    recycleFloat(a);
    const b = allocFloatUninit('float32', 5000);
    expect(b).toBe(a);
    expect(b.every((v) => v === 3)).toBe(true);
    const c = allocFloatUninit('float64', 4096);
    expect(c.every((v) => v === 0)).toBe(true);
  });

  it('ignores views, small stores, shared memory and a second give-back', () => {
    const big = new Float64Array(10000);
    recycleFloat(big.subarray(0, 5000));
    recycleFloat(new Float64Array(10));
    recycleFloat(new Float32Array(new SharedArrayBuffer(4 * 5000)));
    expect(bufferPoolStats().pooledBytes).toBe(0);
    const a = new Float64Array(5000);
    recycleFloat(a);
    recycleFloat(a);
    expect(bufferPoolStats().pooledBytes).toBe(5000 * 8);
    expect(takeFloat('float64', 5000, () => new Float64Array(5000))).toBe(a);
    expect(takeFloat('float64', 5000, () => new Float64Array(5000))).not.toBe(a);
  });

  it('keeps at most capBytes, and nothing when disabled', () => {
    configureBufferPool({ capBytes: 8 * 6000 });
    recycleFloat(new Float64Array(5000));
    recycleFloat(new Float64Array(5000));
    expect(bufferPoolStats().pooledBytes).toBe(5000 * 8);
    configureBufferPool({ enabled: false });
    const a = new Float64Array(5000);
    recycleFloat(a);
    expect(bufferPoolStats().pooledBytes).toBe(0);
    expect(allocFloat('float64', 5000)).not.toBe(a);
    expect(() => configureBufferPool({ capBytes: -1 })).toThrow(/capBytes/);
  });

  it('makes large stores in shared memory and takes those back', () => {
    const a = allocFloat('float32', 1 << 16);
    expect(isShared(a)).toBe(typeof SharedArrayBuffer === 'function');
    expect(isShared(allocFloat('float32', 5000))).toBe(false);
    recycleFloat(a);
    expect(allocFloat('float32', 1 << 16)).toBe(a);
  });

  it('poison fills a given-back store with NaN', () => {
    configureBufferPool({ poison: true });
    const a = new Float32Array(2000).fill(1);
    recycleFloat(a);
    expect(Number.isNaN(a[0]) && Number.isNaN(a[1999])).toBe(true);
  });
});

/** Two train steps and an eval forward; returns every result as a copy, plus what the caller kept of step 1, read after step 2. */
function run(name: string, pool: boolean): Float32Array[] {
  configureBufferPool({ enabled: pool, poison: pool });
  manualSeed(0); // the same dropout / stochastic-depth masks in both runs
  let m: Module;
  if (name === 'sequential') {
    // A top-level Sequential whose output is its last-but-one module's (Identity hands back its input).
    const o = { dtype: 'float32' as const, padding: 1 };
    m = new Sequential(new Conv2d(3, 8, 3, o), new BatchNorm2d(8, { dtype: 'float32' }), new ReLU(), new Identity(), new Conv2d(8, 8, 3, o), new Flatten(), new Identity());
    for (const p of m.parameters()) p.data.data.set(zooInput(p.data.shape, String(p.data.size)).data);
  } else {
    // 1000 classes: logits large enough (2×1000) for the pool to take them, were they given back.
    m = createModel(name, { numClasses: 1000, dtype: 'float32', init: false });
    m.loadStateDict(zooStateDict(m), { strict: true });
  }
  const x = copy(zooInput([2, 3, 32, 32]), 'float32');
  const snap = (t: Tensor): Float32Array => Float32Array.from(t.data);
  const results: Float32Array[] = [];
  let kept: Tensor[] = [];
  for (let step = 0; step < 2; step++) {
    m.train();
    m.zeroGrad();
    const y = m.forward(x);
    const dout = copy(zooInput(y.shape, 'dout'), 'float32');
    const dx = m.backward(dout);
    results.push(snap(y), snap(dx), ...[...m.parameters()].map((p) => snap(p.grad!)));
    // A plain SGD step so step 2 differs from step 1.
    for (const p of m.parameters()) for (let i = 0; i < p.data.size; i++) p.data.data[i] -= 0.01 * p.grad!.data[i];
    if (step === 0) kept = [y, dx, dout];
  }
  results.push(...kept.map(snap));
  m.eval();
  results.push(snap(noGrad(() => m.forward(x))));
  results.push(snap(noGrad(() => m.forward(x))));
  return results;
}

describe('containers recycle only dead buffers', () => {
  it.each(['sequential', 'resnet18_cifar', 'mobilenet_v2_cifar', 'shufflenet_v2_cifar', 'efficientnet_b0_cifar', 'vgg16_cifar'])(
    '%s: two train steps and two eval forwards give the same bits with the pool off and on (poisoned)',
    (name) => {
      const off = run(name, false);
      expect(off.every((t) => t.every(Number.isFinite))).toBe(true);
      const before = bufferPoolStats();
      const on = run(name, true);
      const after = bufferPoolStats();
      expect(after.given).toBeGreaterThan(before.given);
      expect(after.taken).toBeGreaterThan(before.taken);
      expect(bitDiffs(off, on)).toBe(0);
    },
    120_000,
  );

  it('recycles nothing while a forward hook is registered (a hook may keep activations)', () => {
    configureBufferPool({ poison: true });
    const m = createModel('mobilenet_v2_cifar', { numClasses: 10, dtype: 'float32', init: false });
    m.loadStateDict(zooStateDict(m), { strict: true });
    const seen: Tensor[] = [];
    const snaps: Float32Array[] = [];
    const remove = addForwardHook({ post: (_mod, _x, out) => { seen.push(out); snaps.push(Float32Array.from(out.data)); } });
    try {
      const x = copy(zooInput([2, 3, 32, 32]), 'float32');
      const y = m.forward(x);
      m.backward(ndarray(new Float32Array(y.size).fill(1), y.shape.slice()));
      noGrad(() => m.forward(x));
    } finally {
      remove();
    }
    expect(seen.length).toBeGreaterThan(50);
    expect(seen.every((t, i) => t.data.every((v: number, j: number) => Object.is(v, snaps[i][j])))).toBe(true);
  }, 60_000);
});
