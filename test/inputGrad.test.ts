/*
 * Module.backwardParams: a backward without the input's gradient, as PyTorch's
 * loss.backward() when the input does not require grad. Every parameter gradient must have
 * the bits of a full backward; only the layer that reads the model's input may skip its own
 * input gradient (conv2d and linear get `needs.input` false), and only when nothing else reads
 * that input.
 */
import ndarray from 'ndarray';
import { RandomState } from '../src/core/random';
import { astype, type Tensor } from '../src/core/tensor';
import { models } from '../src';
import { Block, Conv2d, Linear, ReLU, Sequential, type Module, type Tape } from '../src/nn';
import { conv2d } from '../src/ops/conv2d';
import { linear } from '../src/ops/linear';
import type { Op, OpNeeds } from '../src/ops/op';
import { bitDiffs } from './threads';

/** Parameter gradients after a forward and `run` (backward or backwardParams). */
function paramGrads(m: Module, x: Tensor, dout: (y: Tensor) => Tensor, run: (m: Module, d: Tensor) => void): Float32Array[] {
  m.zeroGrad();
  const y = m.forward(x);
  run(m, dout(y));
  return [...m.namedParameters()].map(([, p]) => Float32Array.from(p.grad!.data));
}

/** The `needs` of every conv2d / linear backward while `f` runs. */
function needsSeen(f: () => void): Array<string> {
  const seen: string[] = [];
  const spies = [conv2d as Op<unknown, unknown>, linear as Op<unknown, unknown>].map((op) => {
    const orig = op.backward.bind(op);
    return jest.spyOn(op, 'backward').mockImplementation((d: Tensor, c: unknown, needs?: OpNeeds) => {
      seen.push(`${op.name}:${needs?.input === false ? 'skip' : 'all'}`);
      return orig(d, c, needs);
    });
  });
  try {
    f();
  } finally {
    spies.forEach((s) => s.mockRestore());
  }
  return seen;
}

/** Parameter gradients of a full backward and of backwardParams, and the ops' `needs` during the latter. */
function bothBackwards(m: Module, x: Tensor): { full: Float32Array[]; params: Float32Array[]; seen: string[] } {
  const full = paramGrads(m, x, doutOf, (mm, d) => mm.backward(d));
  let params: Float32Array[] = [];
  const seen = needsSeen(() => {
    params = paramGrads(m, x, doutOf, (mm, d) => mm.backwardParams(d));
  });
  return { full, params, seen };
}

const seeded = (n: number): Tensor => astype(new RandomState(n).randn(2, 3, 32, 32), 'float32');
const doutOf = (y: Tensor): Tensor => astype(new RandomState(9).randn(...y.shape), 'float32');

describe('Module.backwardParams', () => {
  it.each(['three_layer_convnet', 'simple_convnet', 'resnet18_cifar', 'mobilenet_v2_cifar', 'vgg11_cifar'])(
    '%s: the parameter gradients of a full backward, with the first layer skipping its input gradient',
    (name) => {
      const entry = models.listModels().find((e) => e.name === name)!;
      const m = models.createModel(name, { rng: new RandomState(0) });
      m.train();
      const x = astype(new RandomState(1).randn(2, ...entry.input), 'float32');
      const { full, params, seen } = bothBackwards(m, x);
      expect(bitDiffs(params, full)).toBe(0);
      // Exactly one op skipped its input gradient: the first convolution (the last backward to run).
      expect(seen.filter((s) => s.endsWith('skip'))).toEqual(['conv2d:skip']);
      expect(seen[seen.length - 1]).toBe('conv2d:skip');
      // And a plain backward afterwards still returns the input gradient.
      const y = m.forward(x);
      const dx = m.backward(doutOf(y));
      expect(dx.shape).toEqual(x.shape);
    },
    60_000,
  );

  it('an MLP in a Sequential: the first Linear skips dx, the later ones do not', () => {
    const rng = new RandomState(2);
    const m = new Sequential(new Linear(6, 5, { rng }), new ReLU(), new Linear(5, 3, { rng }));
    const { full, params, seen } = bothBackwards(m, astype(rng.randn(4, 6), 'float32'));
    expect(bitDiffs(params, full)).toBe(0);
    expect(seen).toEqual(['linear:all', 'linear:skip']);
  });

  it('a block whose input is read by two layers skips nothing (and still gives the same gradients)', () => {
    class TwoReaders extends Block {
      readonly a: Conv2d;
      readonly b: Conv2d;
      constructor() {
        super();
        const rng = new RandomState(4);
        this.a = this.addModule('a', new Conv2d(3, 4, 3, { padding: 1, rng }));
        this.b = this.addModule('b', new Conv2d(3, 4, 1, { rng }));
      }
      protected run(x: Tensor, t: Tape): Tensor {
        return t.add(t.call(this.a, x), t.call(this.b, x));
      }
    }
    const { full, params, seen } = bothBackwards(new TwoReaders(), seeded(5));
    expect(bitDiffs(params, full)).toBe(0);
    expect(seen).toEqual(['conv2d:all', 'conv2d:all']);
  });

  it('conv2d and linear return a null input gradient for needs.input false, and the same weight gradients', () => {
    const rng = new RandomState(6);
    const x = astype(rng.randn(2, 3, 9, 9), 'float32');
    const w = astype(rng.randn(4, 3, 3, 3), 'float32');
    const f = conv2d.forward([x, w], { padding: 1 });
    const d = astype(rng.randn(...f.out.shape), 'float32');
    const full = conv2d.backward(d, f.cache);
    const part = conv2d.backward(d, f.cache, { input: false });
    expect(part[0]).toBeNull();
    expect(bitDiffs([part[1]!.data as Float32Array], [full[1]!.data as Float32Array])).toBe(0);
    const lx = astype(rng.randn(3, 5), 'float32');
    const lw = astype(rng.randn(2, 5), 'float32');
    const lf = linear.forward([lx, lw], {});
    const ld = ndarray(Float32Array.from([1, -2, 0.5, 3, -1, 2]), [3, 2]);
    const lp = linear.backward(ld, lf.cache, { input: false });
    expect(lp[0]).toBeNull();
    expect(Array.from(lp[1]!.data)).toEqual(Array.from(linear.backward(ld, lf.cache)[1]!.data));
  });
});
