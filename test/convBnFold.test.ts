/*
 * Conv2d → BatchNorm2d (→ ReLU / ReLU6) folded into one convolution under noGrad in eval mode
 * (nn/convBnFold.ts), and conv2d's inference `clamp` epilogue in every kernel: the folded
 * result against the layers run one by one (float64 to 1e-12, float32 to float32 rounding),
 * the clamp's bits against the activation ops', and the cases that must not fold.
 */
import { RandomState } from '../src/core/random';
import { astype, type Tensor } from '../src/core/tensor';
import { BatchNorm2d, Conv2d, ReLU, ReLU6, Sequential, Sigmoid, SiLU } from '../src/nn';
import { noGrad } from '../src/nn/gradMode';
import { foldsWithBatchNorm } from '../src/nn/convBnFold';
import { conv2d } from '../src/ops/conv2d';
import { relu, relu6, silu } from '../src/ops/activations';
import { withKernel } from '../src/ops/kernelRegistry';
import { models } from '../src';

type DT = 'float32' | 'float64';

/** Conv (in → out, k, groups) then a batch norm with random running statistics and affine parameters. */
function layers(inC: number, outC: number, k: number, groups: number, dtype: DT, seed: number, bias = false): [Conv2d, BatchNorm2d] {
  const rng = new RandomState(seed);
  const conv = new Conv2d(inC, outC, k, { padding: (k - 1) >> 1, groups, bias, dtype, rng });
  const bn = new BatchNorm2d(outC, { dtype });
  const set = (t: Tensor, vals: Tensor): void => (t.data as Float64Array).set(astype(vals, dtype).data as Float64Array);
  set(bn.weight!.data, rng.uniform(0.5, 1.5, [outC]));
  set(bn.bias!.data, rng.randn(outC));
  set(bn.getBuffer('running_mean') as Tensor, rng.randn(outC));
  set(bn.getBuffer('running_var') as Tensor, rng.uniform(0.2, 2, [outC]));
  return [conv, bn];
}

/** Largest |a − b| over the largest |b| (NaN where exactly one of them is NaN counts as 1). */
function relErr(a: ArrayLike<number>, b: ArrayLike<number>): number {
  let scale = 0;
  let err = 0;
  for (let i = 0; i < b.length; i++) {
    if (Number.isNaN(a[i]) !== Number.isNaN(b[i])) return 1;
    if (Number.isNaN(b[i])) continue;
    scale = Math.max(scale, Math.abs(b[i]));
    err = Math.max(err, Math.abs(a[i] - b[i]));
  }
  return err / Math.max(scale, 1e-30);
}

/** The same modules run one by one, each on the previous output (no folding can happen). */
function oneByOne(ms: Array<{ forward(x: Tensor): Tensor }>, x: Tensor): Tensor {
  return noGrad(() => ms.reduce((h, m) => m.forward(h), x));
}

describe('conv + batch norm folded under noGrad (nn/convBnFold.ts)', () => {
  const cases: Array<[string, number, number, number, number]> = [
    ['pointwise (gemm-fused)', 16, 24, 1, 1],
    ['3×3 dense (winograd)', 16, 16, 3, 1],
    ['3×3 depthwise (unrolled planes)', 24, 24, 3, 24],
    ['5×5 depthwise', 8, 8, 5, 8],
    ['3×3 grouped', 8, 12, 3, 4],
  ];
  for (const dtype of ['float64', 'float32'] as const) {
    for (const [label, inC, outC, k, groups] of cases) {
      it(`${label}, ${dtype}: Sequential(conv, bn[, ReLU | ReLU6 | SiLU]) equals the layers one by one`, () => {
        const rng = new RandomState(11);
        const x = astype(rng.randn(3, inC, 9, 9), dtype);
        // Some NaN inputs must stay NaN wherever they reach.
        (x.data as Float64Array)[5] = NaN;
        for (const [act, seed] of [[null, 1], [new ReLU(), 2], [new ReLU6(), 3], [new SiLU(), 4]] as const) {
          const [conv, bn] = layers(inC, outC, k, groups, dtype, seed, seed === 2);
          const ms = act ? [conv, bn, act] : [conv, bn];
          const seq = new Sequential(...ms).eval();
          expect(foldsWithBatchNorm(conv, bn)).toBe(false); // grad enabled here
          const folded = noGrad(() => {
            expect(foldsWithBatchNorm(conv, bn)).toBe(true);
            return seq.forward(x);
          });
          const ref = oneByOne(ms, x);
          expect(folded.shape).toEqual(ref.shape);
          expect(relErr(folded.data, ref.data)).toBeLessThan(dtype === 'float64' ? 1e-12 : 2e-5);
          let nan = 0;
          for (let i = 0; i < ref.data.length; i++) if (Number.isNaN(ref.data[i])) nan++;
          expect(nan).toBeGreaterThan(0);
          if (act instanceof ReLU6) expect(Math.max(...Array.from(folded.data).filter((v) => !Number.isNaN(v)))).toBeLessThanOrEqual(6);
        }
      });
    }
  }

  it('does not fold in training mode, with gradients recorded, or before another activation', () => {
    const [conv, bn] = layers(4, 6, 3, 1, 'float32', 5);
    const x = astype(new RandomState(2).randn(2, 4, 6, 6), 'float32');
    noGrad(() => {
      bn.train();
      expect(foldsWithBatchNorm(conv, bn)).toBe(false);
      bn.eval();
      expect(foldsWithBatchNorm(conv, bn)).toBe(true);
    });
    // With a sigmoid after them the batch norm still folds; the sigmoid runs as its own op.
    const seq = new Sequential(conv, bn, new Sigmoid()).eval();
    const a = noGrad(() => seq.forward(x));
    const b = oneByOne([conv, bn, new Sigmoid()], x);
    expect(relErr(a.data, b.data)).toBeLessThan(2e-6);
    // Grad enabled: the modules run one by one, bit for bit.
    const c = seq.forward(x);
    const d = [conv, bn, new Sigmoid()].reduce((h, m) => m.forward(h), x);
    expect(Buffer.compare(Buffer.from(c.data.buffer), Buffer.from(d.data.buffer))).toBe(0);
  });

  it('a conv followed directly by ReLU / ReLU6 / SiLU runs with it as its epilogue under noGrad, with the same values', () => {
    const spy = jest.spyOn(conv2d, 'forward');
    try {
      for (const dtype of ['float64', 'float32'] as const) {
        const rng = new RandomState(4);
        const x = astype(rng.randn(2, 3, 10, 10), dtype);
        for (const act of [new ReLU(), new ReLU6(), new SiLU()]) {
          const conv = new Conv2d(3, 8, 5, { padding: 2, dtype, rng });
          const seq = new Sequential(conv, act).eval();
          spy.mockClear();
          const folded = noGrad(() => seq.forward(x));
          const attrs = spy.mock.calls.map((c) => c[1] as { clamp?: unknown; silu?: unknown });
          expect(attrs.length).toBe(1);
          expect(attrs[0].clamp !== undefined || attrs[0].silu === true).toBe(true);
          const ref = oneByOne([conv, act], x);
          expect(relErr(folded.data, ref.data)).toBe(0);
          // With gradients recorded nothing folds: the conv runs plain.
          spy.mockClear();
          seq.forward(x);
          expect(spy.mock.calls.every((c) => (c[1] as { clamp?: unknown }).clamp === undefined && !(c[1] as { silu?: unknown }).silu)).toBe(true);
        }
      }
    } finally {
      spy.mockRestore();
    }
  });

  it("cs231n's three-layer convnet (Tape.seq) gives the same eval output folded under noGrad as with gradients recorded", () => {
    const net = models.createModel('three_layer_convnet', { rng: new RandomState(0), weightScale: 0.05 });
    const x = astype(new RandomState(1).randn(3, 3, 32, 32), 'float32');
    net.eval();
    const withGrad = net.forward(x);
    const spy = jest.spyOn(conv2d, 'forward');
    const folded = noGrad(() => net.forward(x));
    const clamps = spy.mock.calls.map((c) => (c[1] as { clamp?: unknown }).clamp);
    spy.mockRestore();
    expect(clamps).toEqual([[0, Infinity]]);
    expect(relErr(folded.data, withGrad.data)).toBe(0);
    expect(Math.max(...Array.from(withGrad.data).map(Math.abs))).toBeGreaterThan(0);
  });

  for (const name of ['mobilenet_v2_cifar', 'efficientnet_b0_cifar']) {
    it(`${name} gives the same eval output under noGrad (folded) as with gradients recorded`, () => {
      const net = models.createModel(name, { rng: new RandomState(0) });
      // Non-trivial running statistics: one training-mode pass.
      const x = astype(new RandomState(1).randn(4, 3, 32, 32), 'float32');
      net.train();
      net.forward(x);
      net.eval();
      const withGrad = net.forward(x);
      const folded = noGrad(() => net.forward(x));
      expect(relErr(folded.data, withGrad.data)).toBeLessThan(1e-4);
    }, 60_000);
  }
});

describe("conv2d's clamp epilogue", () => {
  const kernels: Array<[string, number, number, number]> = [
    ['gemm-fused', 8, 12, 1],
    ['winograd', 16, 16, 1],
    ['depthwise-direct', 12, 12, 12],
    ['direct', 4, 6, 2],
  ];
  for (const [kernel, C, F, groups] of kernels) {
    it(`${kernel}: clamp [0, ∞) and [0, 6] give relu's and relu6's bits, silu silu's (float32)`, () => {
      const rng = new RandomState(3);
      const x = astype(rng.randn(2, C, 8, 8), 'float32');
      (x.data as Float32Array)[3] = 1e30; // a large output, clamped at 6
      const w = astype(rng.randn(F, C / groups, 3, 3), 'float32');
      const b = astype(rng.randn(F), 'float32');
      const attrs = { padding: 1, groups };
      withKernel('conv2d', kernel, () => {
        const plain = conv2d.forward([x, w, b], attrs).out;
        for (const [lo, hi, op] of [[0, Infinity, relu], [0, 6, relu6]] as const) {
          const ref = op.forward([plain], {}).out;
          const r = conv2d.forward([x, w, b], { ...attrs, clamp: [lo, hi] });
          expect(Buffer.compare(Buffer.from(r.out.data.buffer), Buffer.from(ref.data.buffer))).toBe(0);
          expect(() => conv2d.backward(r.out, r.cache)).toThrow(/clamp/);
        }
        const ref = silu.forward([plain], {}).out;
        const r = conv2d.forward([x, w, b], { ...attrs, silu: true });
        expect(Buffer.compare(Buffer.from(r.out.data.buffer, r.out.data.byteOffset, r.out.data.byteLength), Buffer.from(ref.data.buffer, ref.data.byteOffset, ref.data.byteLength))).toBe(0);
        expect(() => conv2d.backward(r.out, r.cache)).toThrow(/silu/);
      });
    });
  }

  it('rejects a malformed clamp', () => {
    const x = astype(new RandomState(0).randn(1, 2, 4, 4), 'float32');
    const w = astype(new RandomState(1).randn(2, 2, 1, 1), 'float32');
    for (const clamp of [[1, 0], [0], [NaN, 1], 'relu']) {
      expect(() => conv2d.forward([x, w], { clamp: clamp as never })).toThrow(/clamp: expected \[lo, hi\]/);
    }
    expect(() => conv2d.forward([x, w], { silu: 1 as never })).toThrow(/silu: expected a boolean/);
    expect(() => conv2d.forward([x, w], { silu: true, clamp: [0, 6] })).toThrow(/at most one epilogue/);
  });
});
