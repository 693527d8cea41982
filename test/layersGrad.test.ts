/*
 * Property-based gradient checks: every backward pass against the centred-difference gradient
 * (Float64, h = 1e-5) on random shapes, strides and pads drawn by fast-check. Data come from a
 * RandomState seeded by the property, so a failure reproduces from fast-check's report.
 */
import fc from 'fast-check';
import { RandomState } from '../src/core/random';
import type { Tensor } from '../src/core/tensor';
import { evalNumericalGradient, relError } from '../src/gradientCheck';
import {
  affineBackward,
  affineForward,
  affineNormReluBackward,
  affineNormReluForward,
  affineReluBackward,
  affineReluForward,
  batchnormBackward,
  batchnormBackwardAlt,
  batchnormForward,
  conv2dBackward,
  conv2dForward,
  convBackwardFast,
  convBackwardNaive,
  convBnReluBackward,
  convBnReluForward,
  convForwardFast,
  convForwardNaive,
  convReluBackward,
  convReluForward,
  convReluPoolBackward,
  convReluPoolForward,
  dropoutBackward,
  dropoutForward,
  layernormBackward,
  layernormForward,
  maxPoolBackwardFast,
  maxPoolBackwardNaive,
  maxPoolForwardFast,
  maxPoolForwardNaive,
  reluBackward,
  reluForward,
  softmaxLoss,
  spatialBatchnormBackward,
  spatialBatchnormForward,
  spatialGroupnormBackward,
  spatialGroupnormForward,
  svmLoss,
  type Normalization,
} from '../src/layers';
import { gradError, numGrad } from './layerTestUtils';

const RUNS = { numRuns: 15 };
/*
 * Normalisation groups have at least 3 elements: with 2, xhat = ±(a − b)/sqrt((a − b)² + 4ε) is
 * saturated, the true dx is ~ε/|a − b|³ (≈1e-7) and the centred difference's round-off (~1e-10)
 * makes any relative error meaningless (cs231n's N = 2 BN-net check warns of the same).
 */
const seed = fc.integer({ min: 0, max: 2 ** 31 - 1 });
const dim = (max: number, min = 1) => fc.integer({ min, max });

/** Checks each named analytic gradient against the numerical one of `f` w.r.t. that input. */
function checkGrads(
  inputs: Record<string, Tensor>,
  f: (inp: Record<string, Tensor>) => Tensor,
  grads: Record<string, Tensor>,
  dout: Tensor,
  tol: number,
): void {
  for (const name of Object.keys(grads)) {
    const num = numGrad((v) => f({ ...inputs, [name]: v }), inputs[name], dout);
    expect(grads[name].shape).toEqual(inputs[name].shape);
    const err = gradError(grads[name], num);
    if (!(err < tol)) throw new Error(`d${name}: relative error ${err} ≥ ${tol} (plain rel_error ${relError(grads[name], num)})`);
  }
}

describe('gradient checks on random shapes (fast-check)', () => {
  test('affine: x of any rank ≥ 2', () => {
    fc.assert(fc.property(dim(4), fc.array(dim(3), { minLength: 1, maxLength: 3 }), dim(5), seed, (N, inner, M, s) => {
      const rng = new RandomState(s);
      const D = inner.reduce((a, b) => a * b, 1);
      const inp = { x: rng.randn(N, ...inner), w: rng.randn(D, M), b: rng.randn(M) };
      const dout = rng.randn(N, M);
      const f = (i: Record<string, Tensor>) => affineForward(i.x, i.w, i.b).out;
      const { dx, dw, db } = affineBackward(dout, affineForward(inp.x, inp.w, inp.b).cache);
      checkGrads(inp, f, { x: dx, w: dw, b: db }, dout, 1e-7);
    }), RUNS);
  });

  test('relu', () => {
    fc.assert(fc.property(dim(5), dim(6), seed, (N, D, s) => {
      const rng = new RandomState(s);
      const x = rng.randn(N, D);
      const dout = rng.randn(N, D);
      const { dx } = reluBackward(dout, reluForward(x).cache);
      checkGrads({ x }, (i) => reluForward(i.x).out, { x: dx }, dout, 1e-10);
    }), RUNS);
  });

  test('batch norm: graph and alt backward (train) and test mode', () => {
    fc.assert(fc.property(dim(6, 3), dim(5), fc.constantFrom<'train' | 'test'>('train', 'test'), seed, (N, D, mode, s) => {
      const rng = new RandomState(s);
      const inp = { x: rng.normal(12, 5, [N, D]), gamma: rng.randn(D), beta: rng.randn(D) };
      const dout = rng.randn(N, D);
      const runningMean = rng.randn(D);
      const runningVar = rng.uniform(0.5, 3, D);
      const param = () => ({ mode, runningMean, runningVar });
      const f = (i: Record<string, Tensor>) => batchnormForward(i.x, i.gamma, i.beta, param()).out;
      const { cache } = batchnormForward(inp.x, inp.gamma, inp.beta, param());
      for (const back of [batchnormBackward, batchnormBackwardAlt]) {
        const { dx, dgamma, dbeta } = back(dout, cache);
        checkGrads(inp, f, { x: dx, gamma: dgamma, beta: dbeta }, dout, 1e-6);
      }
    }), RUNS);
  });

  test('layer norm', () => {
    fc.assert(fc.property(dim(4), dim(6, 3), seed, (N, D, s) => {
      const rng = new RandomState(s);
      const inp = { x: rng.normal(12, 5, [N, D]), gamma: rng.randn(D), beta: rng.randn(D) };
      const dout = rng.randn(N, D);
      const f = (i: Record<string, Tensor>) => layernormForward(i.x, i.gamma, i.beta, {}).out;
      const { dx, dgamma, dbeta } = layernormBackward(dout, layernormForward(inp.x, inp.gamma, inp.beta, {}).cache);
      checkGrads(inp, f, { x: dx, gamma: dgamma, beta: dbeta }, dout, 1e-6);
    }), RUNS);
  });

  test('dropout with a fixed seed, train and test', () => {
    fc.assert(fc.property(dim(5), dim(6), fc.double({ min: 0.05, max: 1, noNaN: true }), fc.constantFrom<'train' | 'test'>('train', 'test'), seed, (N, D, p, mode, s) => {
      const rng = new RandomState(s);
      const x = rng.normal(10, 1, [N, D]);
      const dout = rng.randn(N, D);
      const param = { p, mode, seed: s };
      const { dx } = dropoutBackward(dout, dropoutForward(x, param).cache);
      checkGrads({ x }, (i) => dropoutForward(i.x, param).out, { x: dx }, dout, 1e-9);
    }), RUNS);
  });

  const convCase = fc
    .record({ N: dim(2), C: dim(3), F: dim(3), H: dim(6), W: dim(6), HH: dim(3), WW: dim(3), stride: dim(3), pad: dim(2, 0), s: seed })
    .filter((c) => c.H + 2 * c.pad >= c.HH && c.W + 2 * c.pad >= c.WW);

  test('conv naive: any stride and pad', () => {
    fc.assert(fc.property(convCase, ({ N, C, F, H, W, HH, WW, stride, pad, s }) => {
      const rng = new RandomState(s);
      const inp = { x: rng.randn(N, C, H, W), w: rng.randn(F, C, HH, WW), b: rng.randn(F) };
      const cp = { stride, pad };
      const { out, cache } = convForwardNaive(inp.x, inp.w, inp.b, cp);
      const dout = rng.randn(...out.shape);
      const { dx, dw, db } = convBackwardNaive(dout, cache);
      checkGrads(inp, (i) => convForwardNaive(i.x, i.w, i.b, cp).out, { x: dx, w: dw, b: db }, dout, 1e-7);
    }), RUNS);
  });

  test('conv im2col (conv2dForward): any stride, pad and groups', () => {
    const grouped = fc
      .record({ N: dim(2), g: dim(3), Cg: dim(2), Fg: dim(2), H: dim(6), W: dim(6), HH: dim(3), WW: dim(3), stride: dim(3), pad: dim(2, 0), s: seed })
      .filter((c) => c.H + 2 * c.pad >= c.HH && c.W + 2 * c.pad >= c.WW);
    fc.assert(fc.property(grouped, ({ N, g, Cg, Fg, H, W, HH, WW, stride, pad, s }) => {
      const rng = new RandomState(s);
      const inp = { x: rng.randn(N, g * Cg, H, W), w: rng.randn(g * Fg, Cg, HH, WW), b: rng.randn(g * Fg) };
      const cp = { stride, pad, groups: g };
      const { out, cache } = conv2dForward(inp.x, inp.w, inp.b, cp);
      const dout = rng.randn(...out.shape);
      const { dx, dw, db } = conv2dBackward(dout, cache);
      checkGrads(inp, (i) => conv2dForward(i.x, i.w, i.b, cp).out, { x: dx, w: dw, b: db }, dout, 1e-7);
    }), RUNS);
  });

  test('conv fast: shapes whose windows tile', () => {
    const tiling = convCase.filter((c) => (c.H + 2 * c.pad - c.HH) % c.stride === 0 && (c.W + 2 * c.pad - c.WW) % c.stride === 0);
    fc.assert(fc.property(tiling, ({ N, C, F, H, W, HH, WW, stride, pad, s }) => {
      const rng = new RandomState(s);
      const inp = { x: rng.randn(N, C, H, W), w: rng.randn(F, C, HH, WW), b: rng.randn(F) };
      const cp = { stride, pad };
      const { out, cache } = convForwardFast(inp.x, inp.w, inp.b, cp);
      const dout = rng.randn(...out.shape);
      const { dx, dw, db } = convBackwardFast(dout, cache);
      checkGrads(inp, (i) => convForwardFast(i.x, i.w, i.b, cp).out, { x: dx, w: dw, b: db }, dout, 1e-7);
    }), RUNS);
  });

  const poolCase = fc
    .record({ N: dim(2), C: dim(2), H: dim(7), W: dim(7), ph: dim(3), pw: dim(3), stride: dim(3), s: seed })
    .filter((c) => c.H >= c.ph && c.W >= c.pw);

  test('max pool naive: overlapping (stride < pool) and gapped windows', () => {
    fc.assert(fc.property(poolCase, ({ N, C, H, W, ph, pw, stride, s }) => {
      const rng = new RandomState(s);
      const x = rng.randn(N, C, H, W);
      const pp = { poolHeight: ph, poolWidth: pw, stride };
      const { out, cache } = maxPoolForwardNaive(x, pp);
      const dout = rng.randn(...out.shape);
      const { dx } = maxPoolBackwardNaive(dout, cache);
      checkGrads({ x }, (i) => maxPoolForwardNaive(i.x, pp).out, { x: dx }, dout, 1e-10);
    }), RUNS);
  });

  test('max pool fast: both paths', () => {
    const fitting = poolCase.filter((c) => (c.H - c.ph) % c.stride === 0 && (c.W - c.pw) % c.stride === 0);
    fc.assert(fc.property(fitting, ({ N, C, H, W, ph, pw, stride, s }) => {
      const rng = new RandomState(s);
      const x = rng.randn(N, C, H, W);
      const pp = { poolHeight: ph, poolWidth: pw, stride };
      const { out, cache } = maxPoolForwardFast(x, pp);
      const dout = rng.randn(...out.shape);
      const { dx } = maxPoolBackwardFast(dout, cache);
      checkGrads({ x }, (i) => maxPoolForwardFast(i.x, pp).out, { x: dx }, dout, 1e-10);
    }), RUNS);
  });

  test('spatial batch norm, gamma (C,) or (1, C, 1, 1)', () => {
    fc.assert(fc.property(dim(2), dim(3), dim(3), dim(3), fc.boolean(), seed, (N, C, H, W, fourD, s) => {
      fc.pre(N * H * W >= 3);
      const rng = new RandomState(s);
      const pshape = fourD ? [1, C, 1, 1] : [C];
      const inp = { x: rng.normal(12, 5, [N, C, H, W]), gamma: rng.randn(...pshape), beta: rng.randn(...pshape) };
      const dout = rng.randn(N, C, H, W);
      const f = (i: Record<string, Tensor>) => spatialBatchnormForward(i.x, i.gamma, i.beta, { mode: 'train' }).out;
      const { dx, dgamma, dbeta } = spatialBatchnormBackward(dout, spatialBatchnormForward(inp.x, inp.gamma, inp.beta, { mode: 'train' }).cache);
      // 1e-5, not the notebook's 1e-6: random groups of 3–4 values leave small dx entries
      // (1.04e-6 seen once in a few hundred runs); a wrong formula scores ~1e-1.
      checkGrads(inp, f, { x: dx, gamma: dgamma, beta: dbeta }, dout, 1e-5);
    }), RUNS);
  });

  test('spatial group norm, any G dividing C', () => {
    fc.assert(fc.property(dim(2), dim(3), dim(2), dim(3), dim(3), fc.boolean(), seed, (N, G, perGroup, H, W, fourD, s) => {
      fc.pre(perGroup * H * W >= 3);
      const rng = new RandomState(s);
      const C = G * perGroup;
      const pshape = fourD ? [1, C, 1, 1] : [C];
      const inp = { x: rng.normal(12, 5, [N, C, H, W]), gamma: rng.randn(...pshape), beta: rng.randn(...pshape) };
      const dout = rng.randn(N, C, H, W);
      const f = (i: Record<string, Tensor>) => spatialGroupnormForward(i.x, i.gamma, i.beta, G, {}).out;
      const { dx, dgamma, dbeta } = spatialGroupnormBackward(dout, spatialGroupnormForward(inp.x, inp.gamma, inp.beta, G, {}).cache);
      checkGrads(inp, f, { x: dx, gamma: dgamma, beta: dbeta }, dout, 1e-5);  // as spatial batch norm above
    }), RUNS);
  });

  test('svm and softmax losses', () => {
    fc.assert(fc.property(dim(6), dim(6, 2), seed, (N, C, s) => {
      const rng = new RandomState(s);
      const x = rng.randn(N, C);
      const y = rng.randint(C, null, N);
      for (const loss of [svmLoss, softmaxLoss]) {
        const { dx } = loss(x, y);
        const num = evalNumericalGradient((v) => loss(v, y).loss, x);
        expect(relError(dx, num)).toBeLessThan(1e-7);
      }
    }), RUNS);
  });
});

describe('gradient checks of the sandwich layers (fast-check)', () => {
  test('affine-relu and affine-{batch,layer}norm-relu', () => {
    fc.assert(fc.property(dim(4, 3), dim(4), dim(5, 3), fc.constantFrom<Normalization>('batchnorm', 'layernorm'), seed, (N, D, M, norm, s) => {
      const rng = new RandomState(s);
      const inp = { x: rng.randn(N, D), w: rng.randn(D, M), b: rng.randn(M), gamma: rng.randn(M), beta: rng.randn(M) };
      const dout = rng.randn(N, M);
      const ar = affineReluBackward(dout, affineReluForward(inp.x, inp.w, inp.b).cache);
      checkGrads(inp, (i) => affineReluForward(i.x, i.w, i.b).out, { x: ar.dx, w: ar.dw, b: ar.db }, dout, 1e-7);
      const f = (i: Record<string, Tensor>) => affineNormReluForward(i.x, i.w, i.b, i.gamma, i.beta, { mode: 'train' }, norm).out;
      const g = affineNormReluBackward(dout, affineNormReluForward(inp.x, inp.w, inp.b, inp.gamma, inp.beta, { mode: 'train' }, norm).cache);
      // Batch norm makes the output invariant to scaling a column of w, so dw can be ~0 where
      // only round-off is left to compare (cs231n's FC+BN check reports W errors up to 1e-4):
      // w is checked under layer norm only. b before a batch norm has an exactly-zero true
      // gradient, so there it must come out ~0 instead.
      if (norm === 'layernorm') {
        checkGrads(inp, f, { x: g.dx, w: g.dw, b: g.db, gamma: g.dgamma, beta: g.dbeta }, dout, 1e-6);
      } else {
        checkGrads(inp, f, { x: g.dx, gamma: g.dgamma, beta: g.dbeta }, dout, 1e-6);
        // Round-off only (values of O(1) summed over the batch: ~1e-12 seen); a wrong db is O(1).
        expect(Math.max(...Array.from(g.db.data, Math.abs))).toBeLessThan(1e-10);
      }
    }), { numRuns: 10 });
  });

  test('conv-relu, conv-relu-pool and conv-bn-relu', () => {
    fc.assert(fc.property(dim(2), dim(2), dim(2), fc.constantFrom(2, 4), seed, (N, C, F, H, s) => {
      const rng = new RandomState(s);
      const inp = { x: rng.randn(N, C, H, H), w: rng.randn(F, C, 3, 3), b: rng.randn(F), gamma: rng.randn(F), beta: rng.randn(F) };
      const cp = { stride: 1, pad: 1 };
      const pp = { poolHeight: 2, poolWidth: 2, stride: 2 };
      const dout = rng.randn(N, F, H, H);
      const cr = convReluBackward(dout, convReluForward(inp.x, inp.w, inp.b, cp).cache);
      checkGrads(inp, (i) => convReluForward(i.x, i.w, i.b, cp).out, { x: cr.dx, w: cr.dw, b: cr.db }, dout, 1e-7);
      const doutP = rng.randn(N, F, H / 2, H / 2);
      const crp = convReluPoolBackward(doutP, convReluPoolForward(inp.x, inp.w, inp.b, cp, pp).cache);
      checkGrads(inp, (i) => convReluPoolForward(i.x, i.w, i.b, cp, pp).out, { x: crp.dx, w: crp.dw, b: crp.db }, doutP, 1e-7);
      const f = (i: Record<string, Tensor>) => convBnReluForward(i.x, i.w, i.b, i.gamma, i.beta, cp, { mode: 'train' }).out;
      const cbr = convBnReluBackward(dout, convBnReluForward(inp.x, inp.w, inp.b, inp.gamma, inp.beta, cp, { mode: 'train' }).cache);
      // Looser for conv → BN: BN makes the output invariant to each filter's scale, so dw carries
      // more cancellation (1.6e-6 seen in 300 runs).
      checkGrads(inp, f, { x: cbr.dx, w: cbr.dw, gamma: cbr.dgamma, beta: cbr.dbeta }, dout, 1e-5);
    }), { numRuns: 10 });
  });
});
