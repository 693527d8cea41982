import { mkdtempSync } from 'fs';
import { tmpdir } from 'os';
import { join } from 'path';
import ndarray from 'ndarray';
import { RandomState } from '../src/core/random';
import { astype, zeros, type Tensor } from '../src/core/tensor';
import { createModel } from '../src/models';
import {
  BatchNorm2d, Conv2d, Linear, loadSafetensors, noGrad, ReLU, saveSafetensors, Sequential, StateDictError, summary, type StateTensor,
} from '../src/nn';

const small = (): Sequential => {
  const rng = new RandomState(0);
  return new Sequential(
    new Sequential(new Conv2d(3, 4, 3, { padding: 1, rng }), new BatchNorm2d(4), new ReLU()),
    new Conv2d(4, 4, 3, { groups: 4, bias: false, rng }),
  );
};

describe('Module', () => {
  it('names parameters and buffers with dotted paths in registration order, as PyTorch', () => {
    const m = small();
    expect(m.namedParameters().map(([k]) => k)).toEqual(['0.0.weight', '0.0.bias', '0.1.weight', '0.1.bias', '1.weight']);
    expect(m.namedBuffers().map(([k]) => k)).toEqual(['0.1.running_mean', '0.1.running_var', '0.1.num_batches_tracked']);
    expect(Object.keys(m.stateDict())).toEqual([
      '0.0.weight', '0.0.bias', '0.1.weight', '0.1.bias', '0.1.running_mean', '0.1.running_var', '0.1.num_batches_tracked', '1.weight',
    ]);
  });

  it('train() and eval() reach every descendant', () => {
    const m = small();
    m.eval();
    expect(m.modules().every((c) => !c.training)).toBe(true);
    m.train();
    expect(m.modules().every((c) => c.training)).toBe(true);
  });

  it('loadStateDict lists every missing, unexpected and wrongly shaped key in one error, and changes nothing', () => {
    const m = small();
    const sd = { ...m.stateDict() };
    const before = Array.from((sd['1.weight'] as Tensor).data);
    delete sd['0.0.bias'];
    sd['extra.weight'] = zeros([2]);
    sd['0.1.weight'] = zeros([5]);
    sd['1.weight'] = zeros([4, 1, 3, 3]);
    let err: unknown;
    try {
      m.loadStateDict(sd);
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(StateDictError);
    const msg = (err as Error).message;
    expect(msg).toMatch(/missing keys: 0\.0\.bias/);
    expect(msg).toMatch(/unexpected keys: extra\.weight/);
    expect(msg).toMatch(/wrong shapes: 0\.1\.weight: expected \(4,\), got \(5,\)/);
    expect(Array.from((m.stateDict()['1.weight'] as Tensor).data)).toEqual(before);
  });

  it('loadStateDict with strict: false loads what fits and reports the rest', () => {
    const m = small();
    const sd = { ...m.stateDict() };
    delete sd['0.0.bias'];
    sd['extra.weight'] = zeros([2]);
    sd['1.weight'] = zeros([4, 1, 3, 3]);
    const r = m.loadStateDict(sd, { strict: false });
    expect(r).toEqual({ missingKeys: ['0.0.bias'], unexpectedKeys: ['extra.weight'], shapeMismatches: [] });
    expect(Array.from((m.stateDict()['1.weight'] as Tensor).data).every((v) => v === 0)).toBe(true);
  });

  it('loadStateDict converts to the module dtype', () => {
    const m = new Linear(2, 2, { dtype: 'float32' });
    m.loadStateDict({ weight: ndarray(new Float64Array([1.5, 2, 3, 4]), [2, 2]), bias: ndarray(new Float64Array([0.1, 0.2]), [2]) });
    expect(m.weight.data.data).toBeInstanceOf(Float32Array);
    expect(Array.from(m.weight.data.data)).toEqual([1.5, 2, 3, 4]);
  });

  it.each(['float32', 'float64'] as const)('stateDict round-trips through safetensors bit-exactly (%s)', (dtype) => {
    const m = createModel('resnet18_cifar', { dtype, rng: new RandomState(3) });
    m.forward(astype(new RandomState(4).randn(2, 3, 32, 32), dtype));
    const file = join(mkdtempSync(join(tmpdir(), 'st-')), 'model.safetensors');
    saveSafetensors(file, m.stateDict(), { format: 'pt' }, { dtypes: { 'bn1.num_batches_tracked': 'I64' } });
    const back = createModel('resnet18_cifar', { dtype, init: false });
    back.loadStateDict(loadSafetensors(file).tensors as Record<string, StateTensor>);
    const a = m.stateDict();
    const b = back.stateDict();
    expect(Object.keys(b)).toEqual(Object.keys(a));
    for (const k of Object.keys(a)) {
      expect(b[k].data.constructor).toBe(a[k].data.constructor);
      expect(Buffer.from(b[k].data.buffer, b[k].data.byteOffset, b[k].data.byteLength).equals(Buffer.from(a[k].data.buffer, a[k].data.byteOffset, a[k].data.byteLength))).toBe(true);
    }
    expect(Array.from(b['bn1.num_batches_tracked'].data)).toEqual([1]);
  });

  it('backward without a forward pass is an error naming the module', () => {
    expect(() => new ReLU().backward(zeros([2]))).toThrow(/ReLU\.backward: no forward pass/);
  });

  it('forwards under noGrad keep nothing; a new pass drops what an older one left', () => {
    const relu = new ReLU();
    const x = new RandomState(1).randn(3);
    noGrad(() => relu.forward(x));
    expect(() => relu.backward(zeros([3]))).toThrow(/no forward pass/);
    relu.forward(x);
    relu.forward(x);
    relu.backward(zeros([3]));
    expect(() => relu.backward(zeros([3]))).toThrow(/no forward pass/);
  });

  it('numParameters counts trainable ones separately; zeroGrad clears gradients', () => {
    const m = new Linear(3, 2);
    m.bias!.requiresGrad = false;
    expect(m.numParameters()).toBe(8);
    expect(m.numParameters(true)).toBe(6);
    m.forward(zeros([1, 3], 'float32'));
    m.backward(ndarray(new Float32Array([1, 1]), [1, 2]));
    expect(m.weight.grad).not.toBeNull();
    expect(m.bias!.grad).toBeNull();
    m.zeroGrad();
    expect(m.weight.grad).toBeNull();
  });
});

describe('summary', () => {
  it('lists each call with output shapes, parameters and MACs, and totals as torchvision counts', () => {
    const s = summary(small(), [3, 8, 8]);
    expect(s.params).toBe(3 * 4 * 9 + 4 + 8 + 4 * 9);
    expect(s.macs).toBe(8 * 8 * 4 * 3 * 9 + 6 * 6 * 4 * 9);
    const conv = s.rows.find((r) => r.name === '0.0')!;
    expect(conv).toMatchObject({ type: 'Conv2d', outputShape: [4, 8, 8], params: 112, macs: 8 * 8 * 4 * 27 });
    expect(s.toString()).toMatch(/Total params: 156/);
    expect(s.toString()).toMatch(/MACs \(conv \+ linear\): 8,208/);
  });

  it('leaves the model in its mode and its running statistics alone', () => {
    const m = small();
    const bn = m.modules().find((c) => c instanceof BatchNorm2d) as BatchNorm2d;
    summary(m, [3, 8, 8]);
    expect(m.training).toBe(true);
    expect(bn.getBuffer('num_batches_tracked')!.data[0]).toBe(0);
  });

  it('rejects a shape with the batch axis or non-positive sizes', () => {
    expect(() => summary(small(), [3, 0, 8])).toThrow(/inputShape: expected positive integer dimensions/);
  });
});
