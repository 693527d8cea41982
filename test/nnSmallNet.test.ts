import { readFileSync } from 'fs';
import { join } from 'path';
import type { Tensor } from '../src/core/tensor';
import {
  AvgPool2d, BatchNorm2d, Block, ChannelShuffle, Conv2d, Linear, loadSafetensors, MaxPool2d, ReLU, Sequential, Sigmoid, SqueezeExcitation,
  AdaptiveAvgPool2d, type StateTensor, type Tape,
} from '../src/nn';
import { closeness, fromJson, type TensorJson } from './opHarness';

/*
 * A network written in PyTorch (test/fixtures/nn/make_small_net.py) rebuilt from our modules
 * with the same attribute names: PyTorch's safetensors file loads by name with strict: true, and
 * eval logits, one train step's gradients and the running statistics equal PyTorch's (float64).
 */

class SmallNet extends Block {
  readonly stem: Sequential;
  readonly dw: Conv2d;
  readonly bn: BatchNorm2d;
  readonly se: SqueezeExcitation;
  readonly shuffle = new ChannelShuffle(2);
  readonly pw: Conv2d;
  readonly relu = new ReLU();
  readonly pool = new MaxPool2d({ kernelSize: 2 });
  readonly avg = new AvgPool2d({ kernelSize: 3, stride: 2, padding: 1 });
  readonly fc: Linear;

  constructor() {
    super();
    const o = { dtype: 'float64' as const, init: false };
    this.stem = this.addModule('stem', new Sequential(new Conv2d(3, 8, 3, { padding: 1, bias: false, ...o }), new BatchNorm2d(8, o), new ReLU()));
    this.dw = this.addModule('dw', new Conv2d(8, 8, 3, { padding: 1, groups: 8, bias: false, ...o }));
    this.bn = this.addModule('bn', new BatchNorm2d(8, o));
    this.se = this.addModule('se', new SqueezeExcitation(8, 4, { pool: () => new AdaptiveAvgPool2d({ outputSize: 1 }), activation: () => new ReLU(), scaleActivation: () => new Sigmoid(), ...o }));
    this.pw = this.addModule('pw', new Conv2d(8, 8, 1, { groups: 2, ...o }));
    this.fc = this.addModule('fc', new Linear(8 * 2 * 2, 5, o));
  }

  protected run(x: Tensor, t: Tape): Tensor {
    const h = t.call(this.stem, x);
    const r = t.seq(h, this.dw, this.bn, this.se, this.shuffle, this.pw);
    const y = t.seq(t.add(h, r), this.relu, this.pool, this.avg);
    return t.call(this.fc, t.flatten(y));
  }
}

interface Fixture {
  x: TensorJson;
  logits: TensorJson;
  trainOut: TensorJson;
  dout: TensorJson;
  grads: Record<string, TensorJson>;
  buffers: Record<string, TensorJson>;
}

const DIR = join(__dirname, 'fixtures', 'nn');
const fx = JSON.parse(readFileSync(join(DIR, 'small_net.json'), 'utf8')) as Fixture;

describe('a PyTorch network rebuilt from nn modules', () => {
  it('loads PyTorch safetensors by name (strict) and matches eval logits, gradients and running statistics (float64, 1e-9)', () => {
    const net = new SmallNet();
    const { tensors } = loadSafetensors(join(DIR, 'small_net.safetensors'));
    const result = net.loadStateDict(tensors as Record<string, StateTensor>, { strict: true });
    expect(result).toEqual({ missingKeys: [], unexpectedKeys: [], shapeMismatches: [] });
    expect(Array.from((net.stateDict()['bn.num_batches_tracked'] as StateTensor).data)).toEqual([3]);

    net.eval();
    expect(closeness(net.forward(fromJson(fx.x)), fromJson(fx.logits))).toBeLessThan(1e-9);

    net.train();
    net.zeroGrad();
    const y = net.forward(fromJson(fx.x));
    expect(closeness(y, fromJson(fx.trainOut))).toBeLessThan(1e-9);
    net.backward(fromJson(fx.dout));
    const params = net.namedParameters();
    expect(params.map(([k]) => k).sort()).toEqual(Object.keys(fx.grads).sort());
    for (const [k, p] of params) expect(closeness(p.grad!, fromJson(fx.grads[k]))).toBeLessThan(1e-9);
    const buffers = new Map(net.namedBuffers());
    for (const [k, want] of Object.entries(fx.buffers)) expect(closeness(buffers.get(k) as Tensor, fromJson(want))).toBeLessThan(1e-9);
  });
});
