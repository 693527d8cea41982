/*
 * src/dlfs: the book's optimizers on the ch. 6 toy problem (end points from
 * cnn-chapters.md §A.2), parameter counts (§A.1/§A.3/§A.4), im2col shapes and order,
 * conv_output_size, the col2im adjoint property, and the book's layer conventions against
 * test/fixtures/dlfs_reference.json (numpy, test/fixtures/dlfs_reference.py).
 */
import fc from 'fast-check';
import ndarray from 'ndarray';
import { RandomState } from '../src/core/random';
import { array, intArray, type Tensor } from '../src/core/tensor';
import * as dlfs from '../src/dlfs';
import ref from './fixtures/dlfs_reference.json';

/** f(x, y) = x²/20 + y² from (−7, 2); the positions after each of n updates. */
function race(opt: dlfs.Optimizer, n: number): Array<[number, number]> {
  const params = { x: array([-7.0]), y: array([2.0]) };
  const path: Array<[number, number]> = [];
  for (let i = 0; i < n; i++) {
    opt.update(params, { x: array([params.x.data[0] / 10]), y: array([2 * params.y.data[0]]) });
    path.push([params.x.data[0], params.y.data[0]]);
  }
  return path;
}

describe('optimizer race (ch06/optimizer_compare_naive)', () => {
  const cases: Array<[string, () => dlfs.Optimizer, [number, number], [number, number], [number, number]]> = [
    ['SGD(lr 0.95)', () => new dlfs.SGD({ lr: 0.95 }), [-6.335, -1.8], [-0.387175, -0.094203], [-0.350393, 0.084782]],
    ['Momentum(lr 0.1)', () => new dlfs.Momentum({ lr: 0.1 }), [-6.93, 1.6], [0.814112, 0.272878], [0.896414, 0.088086]],
    ['AdaGrad(lr 1.5)', () => new dlfs.AdaGrad({ lr: 1.5 }), [-5.5, 0.5], [-0.136185, 0], [-0.120162, 0]],
    ['Adam(lr 0.3)', () => new dlfs.Adam({ lr: 0.3 }), [-6.700001, 1.7], [0.020149, 0.321957], [0.136007, 0.318245]],
  ];
  test.each(cases)('%s: after 1, 29 and 30 updates', (_name, make, one, twentyNine, thirty) => {
    const path = race(make(), 30);
    for (const [got, want] of [[path[0], one], [path[28], twentyNine], [path[29], thirty]] as const) {
      expect(Math.abs(got[0] - want[0])).toBeLessThan(1e-6);
      expect(Math.abs(got[1] - want[1])).toBeLessThan(1e-6);
    }
  });

  test('Nesterov and RMSprop follow the book formulas step by step', () => {
    const pN = race(new dlfs.Nesterov({ lr: 0.1 }), 3);
    const pR = race(new dlfs.RMSprop({ lr: 0.1 }), 3);
    // Hand-rolled book formulas (common/optimizer.py, §A.1).
    let [x, y, vx, vy] = [-7, 2, 0, 0];
    let [rx, ry, hx, hy] = [-7, 2, 0, 0];
    for (let i = 0; i < 3; i++) {
      const [gx, gy] = [x / 10, 2 * y];
      x += 0.81 * vx - 1.9 * 0.1 * gx;
      y += 0.81 * vy - 1.9 * 0.1 * gy;
      vx = 0.9 * vx - 0.1 * gx;
      vy = 0.9 * vy - 0.1 * gy;
      expect(pN[i][0]).toBeCloseTo(x, 12);
      expect(pN[i][1]).toBeCloseTo(y, 12);
      const [qx, qy] = [rx / 10, 2 * ry];
      hx = 0.99 * hx + 0.01 * qx * qx;
      hy = 0.99 * hy + 0.01 * qy * qy;
      rx -= (0.1 * qx) / (Math.sqrt(hx) + 1e-7);
      ry -= (0.1 * qy) / (Math.sqrt(hy) + 1e-7);
      expect(pR[i][0]).toBeCloseTo(rx, 12);
      expect(pR[i][1]).toBeCloseTo(ry, 12);
    }
  });

  test('update changes the parameter arrays in place; unknown names and mismatched grads throw', () => {
    const w = array([1, 2]);
    const params = { w };
    new dlfs.SGD({ lr: 0.5 }).update(params, { w: array([2, 2]) });
    expect(params.w).toBe(w);
    expect(Array.from(w.data)).toEqual([0, 1]);
    expect(() => new dlfs.SGD().update(params, { v: array([1, 1]) })).toThrow(/grads\.v/);
    expect(() => new dlfs.SGD().update(params, { w: array([1]) })).toThrow(/grads\.w: expected shape \(2,\)/);
    expect(() => dlfs.createOptimizer('lbfgs')).toThrow(/unknown optimizer "lbfgs"/);
    expect(dlfs.createOptimizer('adam', { lr: 0.1 })).toBeInstanceOf(dlfs.Adam);
  });
});

describe('parameter counts', () => {
  const mlp = (n: number, bn = false) => new dlfs.MultiLayerNetExtend({ inputSize: 784, hiddenSizeList: Array(n).fill(100), outputSize: 10, useBatchnorm: bn, rng: new RandomState(0) });
  test('SimpleConvNet 433,890 and DeepConvNet 123,552 with the book shapes', () => {
    const s = new dlfs.SimpleConvNet({ rng: new RandomState(0) });
    expect(dlfs.countParams(s.params)).toBe(433890);
    expect(s.params.W1.shape).toEqual([30, 1, 5, 5]);
    expect(s.params.W2.shape).toEqual([4320, 100]);
    const d = new dlfs.DeepConvNet({ rng: new RandomState(0) });
    expect(dlfs.countParams(d.params)).toBe(123552);
    expect(d.params.W4.shape).toEqual([32, 32, 3, 3]);
    expect(d.params.W7.shape).toEqual([1024, 50]);
    // He init: W7's std is √(2/1024).
    const w7 = Array.from(d.params.W7.data);
    const sd = Math.sqrt(w7.reduce((a, v) => a + v * v, 0) / w7.length);
    expect(sd).toBeGreaterThan(0.9 * Math.sqrt(2 / 1024));
    expect(sd).toBeLessThan(1.1 * Math.sqrt(2 / 1024));
  });
  test('ch. 6 MLPs: 109,810 / 119,910 / 130,010; with batch norm 120,910 and 90,010', () => {
    expect(dlfs.countParams(new dlfs.MultiLayerNet({ inputSize: 784, hiddenSizeList: [100, 100, 100, 100], outputSize: 10, rng: new RandomState(0) }).params)).toBe(109810);
    expect(dlfs.countParams(mlp(5).params)).toBe(119910);
    expect(dlfs.countParams(mlp(6).params)).toBe(130010);
    expect(dlfs.countParams(mlp(5, true).params)).toBe(120910);
    expect(dlfs.countParams(new dlfs.MultiLayerNetExtend({ inputSize: 784, hiddenSizeList: [100, 100], outputSize: 10, useBatchnorm: true, rng: new RandomState(0) }).params)).toBe(90010);
  });
});

describe('im2col / col2im (the book layout)', () => {
  test('shapes (9, 75) and (90, 75); conv_output_size examples', () => {
    const rng = new RandomState(1);
    expect(dlfs.im2col(rng.rand(1, 3, 7, 7), 5, 5, 1, 0).shape).toEqual([9, 75]);
    expect(dlfs.im2col(rng.rand(10, 3, 7, 7), 5, 5, 1, 0).shape).toEqual([90, 75]);
    expect([dlfs.convOutputSize(4, 3, 1, 1), dlfs.convOutputSize(4, 3, 1, 1)]).toEqual([4, 4]);
    expect([dlfs.convOutputSize(7, 3, 2, 0), dlfs.convOutputSize(7, 3, 2, 0)]).toEqual([3, 3]);
    expect([dlfs.convOutputSize(28, 5, 3, 2), dlfs.convOutputSize(31, 5, 3, 2)]).toEqual([10, 11]);
    expect(() => dlfs.convOutputSize(4, 3, 0)).toThrow(/stride/);
  });

  test('row (n, oy, ox) and column (c, ky, kx) order match numpy', () => {
    const r = ref.im2col;
    const x = ndarray(Float64Array.from({ length: 2 * 3 * 5 * 4 }, (_, i) => i / 7), r.x_shape);
    const col = dlfs.im2col(x, r.fh, r.fw, r.stride, r.pad);
    expect(col.shape).toEqual(r.shape);
    Array.from(col.data).forEach((v, i) => expect(v).toBeCloseTo(r.col[i], 13));
  });

  test('col2im is the adjoint of im2col: Σ im2col(x)·y = Σ x·col2im(y)', () => {
    fc.assert(
      fc.property(
        fc.record({ N: fc.integer({ min: 1, max: 2 }), C: fc.integer({ min: 1, max: 3 }), H: fc.integer({ min: 3, max: 7 }), W: fc.integer({ min: 3, max: 7 }), f: fc.integer({ min: 1, max: 3 }), stride: fc.integer({ min: 1, max: 3 }), pad: fc.integer({ min: 0, max: 2 }), seed: fc.integer({ min: 0, max: 1000 }) }),
        ({ N, C, H, W, f, stride, pad, seed }) => {
          const rng = new RandomState(seed);
          const x = rng.randn(N, C, H, W);
          const col = dlfs.im2col(x, f, f, stride, pad);
          const y = rng.randn(col.shape[0], col.shape[1]);
          const back = dlfs.col2im(y, [N, C, H, W], f, f, stride, pad);
          let lhs = 0;
          for (let i = 0; i < col.data.length; i++) lhs += col.data[i] * y.data[i];
          let rhs = 0;
          for (let i = 0; i < x.data.length; i++) rhs += x.data[i] * back.data[i];
          expect(Math.abs(lhs - rhs)).toBeLessThanOrEqual(1e-10 * (1 + Math.abs(lhs)));
        },
      ),
      { numRuns: 60 },
    );
  });
});

describe('the book layer conventions', () => {
  test('smoothCurve and kaiser match numpy', () => {
    const k = dlfs.kaiser(11, 2);
    k.forEach((v, i) => expect(v).toBeCloseTo(ref.smooth.kaiser[i], 13));
    const s = dlfs.smoothCurve(ref.smooth.x);
    expect(s.length).toBe(ref.smooth.x.length);
    s.forEach((v, i) => expect(v).toBeCloseTo(ref.smooth.y[i], 12));
    expect(() => dlfs.smoothCurve([1, 2, 3])).toThrow(/at least 11/);
  });

  test('BatchNormalization: per feature of the flattened 4-D input, eps 1e-6, running stats 0.9/0.1 from zero', () => {
    const r = ref.batchnorm;
    const x = ndarray(Float64Array.from(r.x), r.shape);
    const bn = new dlfs.BatchNormalization(array(r.gamma), array(r.beta));
    const out = bn.forward(x, true);
    expect(out.shape).toEqual(r.shape);
    Array.from(out.data).forEach((v, i) => expect(v).toBeCloseTo(r.out[i], 10));
    Array.from(bn.runningMean!.data).forEach((v, i) => expect(v).toBeCloseTo(r.running_mean[i], 13));
    Array.from(bn.runningVar!.data).forEach((v, i) => expect(v).toBeCloseTo(r.running_var[i], 13));
  });

  test('SoftmaxWithLoss: −Σ log(y_t + 1e-7)/N; index and one-hot labels agree; backward (y − t)/N', () => {
    const x = ndarray(Float64Array.from(ref.softmax.x), [3, 4]);
    const l = new dlfs.SoftmaxWithLoss();
    expect(l.forward(x, intArray(ref.softmax.t))).toBeCloseTo(ref.softmax.loss, 11);
    const onehot = ndarray(new Float64Array(12), [3, 4]);
    ref.softmax.t.forEach((c, i) => onehot.set(i, c, 1));
    const l2 = new dlfs.SoftmaxWithLoss();
    expect(l2.forward(x, onehot)).toBeCloseTo(ref.softmax.loss, 11);
    const dx = l2.backward();
    for (let i = 0; i < 3; i++) for (let j = 0; j < 4; j++) expect(dx.get(i, j)).toBeCloseTo((l2.y!.get(i, j) - onehot.get(i, j)) / 3, 15);
  });

  test('Dropout is not inverted: train keeps x on a ~(1 − ratio) mask, test scales by (1 − ratio)', () => {
    const x = ndarray(new Float64Array(20000).fill(2), [100, 200]);
    const d = new dlfs.Dropout({ dropoutRatio: 0.2, rng: new RandomState(5) });
    const out = d.forward(x, true);
    const kept = Array.from(out.data).filter((v) => v !== 0);
    expect(kept.every((v) => v === 2)).toBe(true);
    expect(kept.length / 20000).toBeGreaterThan(0.78);
    expect(kept.length / 20000).toBeLessThan(0.82);
    const g = d.backward(ndarray(new Float64Array(20000).fill(1), [100, 200]));
    expect(Array.from(g.data).every((v, i) => v === out.data[i] / 2)).toBe(true);
    expect(Array.from(d.forward(x, false).data).every((v) => Math.abs(v - 1.6) < 1e-15)).toBe(true);
    expect(() => new dlfs.Dropout({ dropoutRatio: 1, rng: new RandomState(0) })).toThrow(/dropoutRatio/);
  });

  test('Affine flattens N-D input and restores its shape in backward', () => {
    const rng = new RandomState(2);
    const a = new dlfs.Affine(rng.randn(12, 5), rng.randn(5));
    const x: Tensor = rng.randn(3, 2, 2, 3);
    expect(a.forward(x).shape).toEqual([3, 5]);
    expect(a.backward(rng.randn(3, 5)).shape).toEqual([3, 2, 2, 3]);
    expect(a.dW!.shape).toEqual([12, 5]);
  });

  test('constructor options are checked and named', () => {
    expect(() => new dlfs.MultiLayerNet({ inputSize: 0, hiddenSizeList: [3], outputSize: 2 })).toThrow(/inputSize/);
    expect(() => new dlfs.MultiLayerNet({ inputSize: 4, hiddenSizeList: [3], outputSize: 2, weightInitStd: 'lecun' as never })).toThrow(/weightInitStd/);
    expect(() => new dlfs.SimpleConvNet({ inputDim: [1, 10, 10], convParam: { filterNum: 3, filterSize: 4, pad: 0, stride: 4 } })).toThrow(/convParam/);
    expect(() => new dlfs.Pooling(2, 2, 2, 1)).toThrow(/pad/);
  });
});

describe('Trainer', () => {
  test('the book logging rule: accuracy after iterations 0, ipe, 2·ipe…; loss after every update; minibatches with replacement', () => {
    const rng = new RandomState(0);
    const x = rng.randn(300, 6);
    const t = rng.randint(0, 3, 300);
    const net = new dlfs.MultiLayerNet({ inputSize: 6, hiddenSizeList: [8], outputSize: 3, rng: new RandomState(1) });
    const lines: string[] = [];
    const tr = new dlfs.Trainer(net, x, t, x, t, { epochs: 3, miniBatchSize: 100, optimizer: 'adam', optimizerParam: { lr: 0.01 }, rng: new RandomState(2), print: (l) => lines.push(l) });
    expect([tr.iterPerEpoch, tr.maxIter]).toEqual([3, 9]);
    const first = net.loss(x, t);
    tr.train();
    expect(tr.trainLossList.length).toBe(9);
    expect(tr.trainAccList.length).toBe(3);
    expect(lines.filter((l) => l.startsWith('=== epoch:')).length).toBe(3);
    expect(lines[lines.length - 1]).toBe(`test acc:${tr.finalTestAcc}`);
    expect(net.loss(x, t)).toBeLessThan(first);
    // 300 / 128 is not whole: the float modulo only hits 0 at iteration 0 (the book's behaviour).
    const tr2 = new dlfs.Trainer(net, x, t, x, t, { epochs: 2, miniBatchSize: 128, verbose: false, rng: new RandomState(3) });
    tr2.train();
    expect([tr2.maxIter, tr2.trainAccList.length]).toEqual([4, 1]);
    expect(() => new dlfs.Trainer(net, x, t, x, t, { miniBatchSize: 0 })).toThrow(/miniBatchSize/);
  });
});
