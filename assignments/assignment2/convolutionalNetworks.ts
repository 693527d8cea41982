/**
 * cs231n assignment 2, ConvolutionalNetworks.ipynb: naive convolution and max pooling with
 * their gradient checks, convolutions as image filters, the fast layers against the naive ones
 * (with timings), the sandwich layers, the three-layer convnet (sanity checks, overfitting a
 * small set, one epoch of training, its first-layer filters), spatial batch norm and group norm.
 *
 *   npx tsx assignments/assignment2/convolutionalNetworks.ts [--data DIR] [--out DIR] [--quick] [--seed N]
 */
import path from 'node:path';
import ndarray from 'ndarray';
import { random, RandomState } from '../../src/core/random';
import { argmax } from '../../src/core/reduce';
import { fromData, linspace, reshape, sizeOf, transpose, type IntTensor, type Tensor } from '../../src/core/tensor';
import { ThreeLayerConvNet } from '../../src/classifiers';
import { relError } from '../../src/gradientCheck';
import {
  convBackwardFast, convBackwardNaive, convForwardFast, convForwardNaive, convReluBackward, convReluForward, convReluPoolBackward,
  convReluPoolForward, maxPoolBackwardFast, maxPoolBackwardNaive, maxPoolForwardFast, maxPoolForwardNaive, spatialBatchnormBackward,
  spatialBatchnormForward, spatialGroupnormBackward, spatialGroupnormForward, type BatchnormParam,
} from '../../src/layers';
import { Solver, type LossAndGrads } from '../../src/solver';
import { visualizeGrid, writePng } from '../../src/vis/grid';
import { main, type AssignmentScript, type ScriptContext } from '../common';
import { CONV_FORWARD_OUT, POOL_FORWARD_OUT } from './references';
import {
  accuracyCheck, checkArray, checkError, columnStats, firstRows, layerGradError, loadSplits, modelGradErrors, plotSolvers, timed,
  writeFilterGrid, type Splits,
} from './shared';

const lin = (a: number, b: number, shape: number[]): Tensor => reshape(linspace(a, b, sizeOf(shape)), shape);
const arr = (values: number[], shape: number[]): Tensor => fromData(Float64Array.from(values), shape);
const filled = (shape: number[], v: number): Tensor => fromData(new Float64Array(sizeOf(shape)).fill(v), shape);

/** (N, C, H, W) → (N·H·W, C): per-channel statistics as column statistics. */
function channelsLast(x: Tensor): Tensor {
  const [N, C, H, W] = x.shape;
  return reshape(transpose(x, [0, 2, 3, 1]), [N * H * W, C]);
}

function convChecks({ report }: ScriptContext): void {
  report.section('Convolution: naive forward pass');
  const out = convForwardNaive(lin(-0.1, 0.5, [2, 3, 4, 4]), lin(-0.2, 0.3, [3, 3, 4, 4]), lin(-0.1, 0.2, [3]), { stride: 2, pad: 1 }).out;
  checkError(report, 'conv_forward_naive: difference (notebook ~2e-8)', relError(out, arr(CONV_FORWARD_OUT, [2, 3, 2, 2])), 1e-7);

  report.section('Convolution: naive backward pass');
  let rng = new RandomState(231);
  const x = rng.randn(4, 3, 5, 5);
  const w = rng.randn(2, 3, 3, 3);
  const b = rng.randn(2);
  const dout = rng.randn(4, 2, 5, 5);
  const cp = { stride: 1, pad: 1 };
  const g = convBackwardNaive(dout, convForwardNaive(x, w, b, cp).cache);
  checkError(report, 'conv_backward_naive dx error (notebook "around 1e-8 or less")', layerGradError((v) => convForwardNaive(v, w, b, cp).out, x, dout, g.dx), 1e-7);
  checkError(report, 'conv_backward_naive dw error', layerGradError((v) => convForwardNaive(x, v, b, cp).out, w, dout, g.dw), 1e-7);
  checkError(report, 'conv_backward_naive db error', layerGradError((v) => convForwardNaive(x, w, v, cp).out, b, dout, g.db), 1e-7);

  report.section('Max pooling: naive forward and backward');
  const pp = { poolHeight: 2, poolWidth: 2, stride: 2 };
  const pooled = maxPoolForwardNaive(lin(-0.3, 0.4, [2, 3, 4, 4]), pp).out;
  checkError(report, 'max_pool_forward_naive: difference (notebook 4.2e-8)', relError(pooled, arr(POOL_FORWARD_OUT, [2, 3, 2, 2])), 1e-7);
  rng = new RandomState(231);
  const xp = rng.randn(3, 2, 8, 8);
  const dp = rng.randn(3, 2, 4, 4);
  const dxp = maxPoolBackwardNaive(dp, maxPoolForwardNaive(xp, pp).cache).dx;
  checkError(report, 'max_pool_backward_naive dx error (notebook 3.3e-12)', layerGradError((v) => maxPoolForwardNaive(v, pp).out, xp, dp, dxp), 1e-10);
}

/** The notebook's "image processing via convolutions" aside, on two images of the data. */
function imageFilters({ report, outDir }: ScriptContext, data: Splits): void {
  report.section('Aside: image processing via convolutions');
  const [C, H, W] = data.inputDim;
  const imgs = firstRows(data.XTest, data.yTest, 2).X;
  // Undo the mean subtraction so the filters see pixel values, as the notebook's photos.
  const mean = data.meanImage.data;
  const x = ndarray(Float64Array.from(imgs.data, (v, i) => v + mean[i % mean.length]), imgs.shape.slice()) as Tensor;
  const w = new Float64Array(2 * C * 9);
  // Filter 0: grayscale (centre tap 0.3, 0.6, 0.1 of R, G, B; the single channel of gray data).
  const grayTaps = C === 3 ? [0.3, 0.6, 0.1] : [1];
  for (let c = 0; c < C; c++) w[c * 9 + 4] = grayTaps[c];
  // Filter 1: horizontal edges (Sobel) on the last channel (blue for RGB).
  [1, 2, 1, 0, 0, 0, -1, -2, -1].forEach((v, k) => (w[C * 9 + (C - 1) * 9 + k] = v));
  const out = convForwardNaive(x, ndarray(w, [2, C, 3, 3]), arr([0, 128], [2]), { stride: 1, pad: 1 }).out;
  // Tiles: original, grayscale, edges per image, all as RGB.
  const tiles = new Float64Array(6 * H * W * 3);
  for (let n = 0; n < 2; n++) {
    for (let p = 0; p < H * W; p++) {
      for (let c = 0; c < 3; c++) {
        tiles[((3 * n) * H * W + p) * 3 + c] = x.data[(n * C + (C === 3 ? c : 0)) * H * W + p];
        tiles[((3 * n + 1) * H * W + p) * 3 + c] = out.data[(n * 2) * H * W + p];
        tiles[((3 * n + 2) * H * W + p) * 3 + c] = out.data[(n * 2 + 1) * H * W + p];
      }
    }
  }
  writePng(path.join(outDir, 'conv_filters_aside.png'), visualizeGrid(ndarray(tiles, [6, H, W, 3]), { cols: 3 }), { scale: 4 });
  report.figure('conv_filters_aside.png', 'original | grayscale filter | horizontal-edge filter (two images of the data)');
}

function fastLayerChecks({ report }: ScriptContext): void {
  report.section('Fast layers: convolution');
  let rng = new RandomState(231);
  const x = rng.randn(100, 3, 31, 31);
  const w = rng.randn(25, 3, 3, 3);
  const b = rng.randn(25);
  const dout = rng.randn(100, 25, 16, 16);
  const cp = { stride: 2, pad: 1 };
  const naiveF = timed(() => convForwardNaive(x, w, b, cp));
  const fastF = timed(() => convForwardFast(x, w, b, cp));
  const naiveB = timed(() => convBackwardNaive(dout, naiveF.value.cache));
  const fastB = timed(() => convBackwardFast(dout, fastF.value.cache));
  report.text(`forward: naive ${(1e3 * naiveF.seconds).toFixed(1)} ms, fast ${(1e3 * fastF.seconds).toFixed(1)} ms, speedup ${(naiveF.seconds / fastF.seconds).toFixed(1)}x`);
  report.text(`backward: naive ${(1e3 * naiveB.seconds).toFixed(1)} ms, fast ${(1e3 * fastB.seconds).toFixed(1)} ms, speedup ${(naiveB.seconds / fastB.seconds).toFixed(1)}x (cs231n's Cython: ~50x)`);
  checkError(report, 'fast vs naive conv: out difference (notebook "around 1e-9 or less")', relError(naiveF.value.out, fastF.value.out), 1e-9);
  checkError(report, 'fast vs naive conv: dx difference', relError(naiveB.value.dx, fastB.value.dx), 1e-9);
  checkError(report, 'fast vs naive conv: dw difference', relError(naiveB.value.dw, fastB.value.dw), 1e-9);
  checkError(report, 'fast vs naive conv: db difference', relError(naiveB.value.db, fastB.value.db), 1e-9);

  report.section('Fast layers: max pooling');
  rng = new RandomState(231);
  const xp = rng.randn(100, 3, 32, 32);
  const dp = rng.randn(100, 3, 16, 16);
  const pp = { poolHeight: 2, poolWidth: 2, stride: 2 };
  const naive = timed(() => maxPoolForwardNaive(xp, pp));
  const fast = timed(() => maxPoolForwardFast(xp, pp));
  const naiveDx = timed(() => maxPoolBackwardNaive(dp, naive.value.cache).dx);
  const fastDx = timed(() => maxPoolBackwardFast(dp, fast.value.cache).dx);
  report.text(`forward: naive ${(1e3 * naive.seconds).toFixed(1)} ms, fast ${(1e3 * fast.seconds).toFixed(1)} ms; backward: naive ${(1e3 * naiveDx.seconds).toFixed(1)} ms, fast ${(1e3 * fastDx.seconds).toFixed(1)} ms`);
  report.check('fast vs naive pool: out difference', relError(naive.value.out, fast.value.out), 0, { absTol: 0 });
  report.check('fast vs naive pool: dx difference', relError(naiveDx.value, fastDx.value), 0, { absTol: 0 });

  report.section('Convolutional "sandwich" layers');
  rng = new RandomState(231);
  const xs = rng.randn(2, 3, 16, 16);
  const ws = rng.randn(3, 3, 3, 3);
  const bs = rng.randn(3);
  const ds = rng.randn(2, 3, 8, 8);
  const cps = { stride: 1, pad: 1 };
  const gs = convReluPoolBackward(ds, convReluPoolForward(xs, ws, bs, cps, pp).cache);
  checkError(report, 'conv_relu_pool dx error (notebook "around 1e-8 or less")', layerGradError((v) => convReluPoolForward(v, ws, bs, cps, pp).out, xs, ds, gs.dx), 1e-7);
  checkError(report, 'conv_relu_pool dw error', layerGradError((v) => convReluPoolForward(xs, v, bs, cps, pp).out, ws, ds, gs.dw), 1e-7);
  checkError(report, 'conv_relu_pool db error', layerGradError((v) => convReluPoolForward(xs, ws, v, cps, pp).out, bs, ds, gs.db), 1e-7);
  rng = new RandomState(231);
  const xr = rng.randn(2, 3, 8, 8);
  const wr = rng.randn(3, 3, 3, 3);
  const br = rng.randn(3);
  const dr = rng.randn(2, 3, 8, 8);
  const gr = convReluBackward(dr, convReluForward(xr, wr, br, cps).cache);
  checkError(report, 'conv_relu dx error', layerGradError((v) => convReluForward(v, wr, br, cps).out, xr, dr, gr.dx), 1e-7);
  checkError(report, 'conv_relu dw error', layerGradError((v) => convReluForward(xr, v, br, cps).out, wr, dr, gr.dw), 1e-7);
  checkError(report, 'conv_relu db error', layerGradError((v) => convReluForward(xr, wr, v, cps).out, br, dr, gr.db), 1e-7);
}

function convNetChecks({ report, opts }: ScriptContext): void {
  report.section('Three-layer convnet: sanity check loss');
  random.seed(opts.seed);
  const model = new ThreeLayerConvNet();
  const N = opts.quick ? 10 : 50;
  const X = random.randn(N, 3, 32, 32);
  const y = random.randint(10, null, N);
  const loss0 = (model.loss(X, y) as LossAndGrads).loss;
  report.check(`initial loss, no regularization (N = ${N})`, loss0, Math.log(10), { between: [Math.log(10) - 5e-3, Math.log(10) + 5e-3] });
  model.reg = 0.5;
  report.check('initial loss, reg 0.5 (notebook: slightly higher, 2.5086)', (model.loss(X, y) as LossAndGrads).loss, 2.5086, { between: [loss0 + 0.1, 2.6] });

  report.section('Three-layer convnet: gradient check');
  random.seed(231);
  const Xg = random.randn(2, 3, 16, 16);
  const yg = random.randint(10, null, 2);
  const small = new ThreeLayerConvNet({ numFilters: 3, filterSize: 3, inputDim: [3, 16, 16], hiddenDim: 7, dtype: 'float64' });
  for (const [k, e] of modelGradErrors(small, Xg, yg, 1e-6)) {
    // Notebook: "correct implementations may have relative errors up to the order of e-2" (W2 1.8e-2).
    checkError(report, `${k} relative error`, e, 5e-2);
  }
}

async function trainConvNets(ctx: ScriptContext, data: Splits, print: (l: string) => void): Promise<void> {
  const { report, opts, best, outDir } = ctx;
  const { inputDim, numClasses } = data;
  // --quick trains a smaller convnet (8 filters 3×3 instead of 32 filters 7×7): ~10x cheaper per step.
  const arch = opts.quick ? { numFilters: 8, filterSize: 3 } : {};
  const archText = opts.quick ? '8 filters 3×3 (--quick; the notebook uses 32 filters 7×7)' : '32 filters 7×7';

  report.section('Three-layer convnet: overfit small data');
  const tr = firstRows(data.XTrain, data.yTrain, 100);
  const val = firstRows(data.XVal, data.yVal, opts.quick ? 50 : data.XVal.shape[0]);
  const epochs = opts.quick ? 10 : 15;
  const model = new ThreeLayerConvNet({ inputDim, numClasses, weightScale: 1e-2, rng: new RandomState(opts.seed), ...arch });
  const solver = new Solver(model, { XTrain: tr.X, yTrain: tr.y, XVal: val.X, yVal: val.y }, {
    numEpochs: epochs, batchSize: 50, updateRule: 'adam', optimConfig: { learningRate: 1e-3 }, printEvery: 1, print, seed: opts.seed, label: 'overfit',
  });
  solver.train();
  const trainAcc = Math.max(...solver.trainAccHistory);
  const valAcc = Math.max(...solver.valAccHistory);
  report.text(`${archText}, 100 images, ${epochs} epochs: best train accuracy ${trainAcc.toFixed(3)}, best val accuracy ${valAcc.toFixed(3)} (cs231n: train .82–.98, val .22–.25)`);
  // Overfitting: high training accuracy (cs231n solutions .82–.98), well above validation accuracy.
  // (On 100 MNIST digits validation accuracy is ~0.7, on CIFAR-10 ~0.25, hence the 0.15 gap.)
  report.check('overfitting: best training accuracy (cs231n .82–.98)', trainAcc, 0.9, { between: [0.7, 1], digits: 3 });
  report.check('overfitting: best train − best val accuracy (cs231n ~.6–.75 on CIFAR-10)', trainAcc - valAcc, 0.6, { between: [0.15, 1], digits: 3 });
  await plotSolvers(report, outDir, 'convnet_overfit', 'Three-layer convnet on 100 images', { convnet: solver });

  report.section('Three-layer convnet: train the net (one epoch)');
  const n = opts.quick ? 250 : data.XTrain.shape[0];
  const trAll = firstRows(data.XTrain, data.yTrain, n);
  const valAll = firstRows(data.XVal, data.yVal, opts.quick ? 50 : data.XVal.shape[0]);
  const net = new ThreeLayerConvNet({ inputDim, numClasses, weightScale: 1e-3, hiddenDim: opts.quick ? 100 : 500, reg: 1e-3, rng: new RandomState(opts.seed), ...arch });
  const s = new Solver(net, { XTrain: trAll.X, yTrain: trAll.y, XVal: valAll.X, yVal: valAll.y }, {
    numEpochs: 1, batchSize: 50, updateRule: 'adam', optimConfig: { learningRate: 1e-3 }, printEvery: 20, print, seed: opts.seed, label: 'one epoch',
    numTrainSamples: opts.quick ? 100 : 1000,
  });
  s.train();
  report.text(`${archText}, hidden ${opts.quick ? 100 : 500}, reg 1e-3, adam 1e-3, batch 50, one epoch over ${n} images (${s.iteration} iterations)`);
  accuracyCheck(report, best, 'one epoch: training accuracy (notebook: "> 40%")', s.trainAccHistory[s.trainAccHistory.length - 1], 0.4, [0.4, 1]);
  accuracyCheck(report, best, 'one epoch: validation accuracy', s.valAccHistory[s.valAccHistory.length - 1], 0.5, [0.4, 1]);
  const pred = argmax(net.loss(firstRows(data.XTest, data.yTest, opts.quick ? 100 : data.XTest.shape[0]).X) as Tensor, 1).data;
  const yt = data.yTest as IntTensor;
  let right = 0;
  for (let i = 0; i < pred.length; i++) if (pred[i] === yt.data[i]) right++;
  report.text(`test accuracy on ${pred.length} images: ${(right / pred.length).toFixed(4)}`);

  report.section('Visualize filters');
  writeFilterGrid(report, outDir, 'convnet_filters.png', `first-layer filters of the trained convnet (${net.params.W1.shape.join('×')})`, net.params.W1);
}

function spatialNormChecks({ report }: ScriptContext): void {
  report.section('Spatial batch normalization: forward');
  let rng = new RandomState(231);
  const x = rng.normal(10, 4, [2, 3, 4, 5]);
  const before = columnStats(channelsLast(x));
  checkArray(report, 'before spatial batch normalization: means', before.means, [9.33463814, 8.90909116, 9.11056338], 1e-8);
  checkArray(report, 'before spatial batch normalization: stds', before.stds, [3.61447857, 3.19347686, 3.5168142], 1e-8);
  const plain = columnStats(channelsLast(spatialBatchnormForward(x, filled([3], 1), filled([3], 0), { mode: 'train' }).out));
  checkArray(report, 'after (gamma = 1, beta = 0): means', plain.means, [0, 0, 0], 1e-8);
  const scaled = columnStats(channelsLast(spatialBatchnormForward(x, arr([3, 4, 5], [3]), arr([6, 7, 8], [3]), { mode: 'train' }).out));
  checkArray(report, 'after (gamma = [3, 4, 5], beta = [6, 7, 8]): means', scaled.means, [6, 7, 8], 1e-8);
  checkArray(report, 'after (gamma = [3, 4, 5], beta = [6, 7, 8]): stds', scaled.stds, [2.99999885, 3.99999804, 4.99999798], 1e-8);

  rng = new RandomState(231);
  const [N, C, H, W] = [10, 4, 11, 12];
  const bnParam: BatchnormParam = { mode: 'train' };
  for (let t = 0; t < 50; t++) spatialBatchnormForward(rng.normal(13, 2.3, [N, C, H, W]), filled([C], 1), filled([C], 0), bnParam);
  bnParam.mode = 'test';
  const test = columnStats(channelsLast(spatialBatchnormForward(rng.normal(13, 2.3, [N, C, H, W]), filled([C], 1), filled([C], 0), bnParam).out));
  checkArray(report, 'after spatial batch normalization (test-time): means', test.means, [-0.08034406, 0.07562881, 0.05716371, 0.04378383], 1e-8);
  checkArray(report, 'after spatial batch normalization (test-time): stds', test.stds, [0.96718744, 1.0299714, 1.02887624, 1.00585577], 1e-8);

  report.section('Spatial batch normalization: backward');
  rng = new RandomState(231);
  const xb = rng.normal(12, 5, [2, 3, 4, 5]);
  const gamma = rng.randn(3);
  const beta = rng.randn(3);
  const dout = rng.randn(2, 3, 4, 5);
  const fwd = (a: Tensor, g: Tensor, b: Tensor): Tensor => spatialBatchnormForward(a, g, b, { mode: 'train' }).out;
  const g = spatialBatchnormBackward(dout, spatialBatchnormForward(xb, gamma, beta, { mode: 'train' }).cache);
  checkError(report, 'dx error (notebook 1e-12~1e-06)', layerGradError((v) => fwd(v, gamma, beta), xb, dout, g.dx), 1e-6);
  checkError(report, 'dgamma error', layerGradError((v) => fwd(xb, v, beta), gamma, dout, g.dgamma), 1e-6);
  checkError(report, 'dbeta error', layerGradError((v) => fwd(xb, gamma, v), beta, dout, g.dbeta), 1e-6);

  report.section('Spatial group normalization');
  rng = new RandomState(231);
  const G = 2;
  const xg = rng.normal(10, 4, [2, 6, 4, 5]);
  const perGroup = (t: Tensor) => columnStats(transpose(reshape(t, [2 * G, -1]), [1, 0]));
  checkArray(report, 'before group normalization: means', perGroup(xg).means, [9.72505327, 8.51114185, 8.9147544, 9.43448077], 1e-8);
  const gn = spatialGroupnormForward(xg, filled([1, 6, 1, 1], 1), filled([1, 6, 1, 1], 0), G, {}).out;
  checkArray(report, 'after group normalization: means', perGroup(gn).means, [0, 0, 0, 0], 1e-8);
  checkArray(report, 'after group normalization: stds', perGroup(gn).stds, [0.99999963, 0.99999948, 0.99999973, 0.99999968], 1e-8);
  rng = new RandomState(231);
  const xgb = rng.normal(12, 5, [2, 6, 4, 5]);
  const gg = rng.randn(1, 6, 1, 1);
  const bg = rng.randn(1, 6, 1, 1);
  const dg = rng.randn(2, 6, 4, 5);
  const gfwd = (a: Tensor, ga: Tensor, be: Tensor): Tensor => spatialGroupnormForward(a, ga, be, G, {}).out;
  const gb = spatialGroupnormBackward(dg, spatialGroupnormForward(xgb, gg, bg, G, {}).cache);
  // Notebook "1e-12~1e-07" (numpy 7.4e-8): the worst entry is a tiny one where the centred
  // difference's round-off dominates; ours lands at ~1.2e-7 there, hence 2e-7 for dx.
  checkError(report, 'dx error (notebook 1e-12~1e-07)', layerGradError((v) => gfwd(v, gg, bg), xgb, dg, gb.dx), 2e-7);
  checkError(report, 'dgamma error', layerGradError((v) => gfwd(xgb, v, bg), gg, dg, gb.dgamma), 1e-7);
  checkError(report, 'dbeta error', layerGradError((v) => gfwd(xgb, gg, v), bg, dg, gb.dbeta), 1e-7);
}

/** The ConvolutionalNetworks notebook as a script. */
export const script: AssignmentScript = {
  name: 'convolutionalNetworks',
  title: 'Convolutional Networks (assignment 2)',
  description: 'ConvolutionalNetworks.ipynb: naive and fast convolution and pooling, the three-layer convnet, spatial batch and group norm',
  async run(ctx) {
    const print = ctx.opts.print ?? ((l: string) => console.log(l));
    convChecks(ctx);
    const data = loadSplits(ctx.best, { dtype: 'float32' });
    ctx.report.text(`data: ${ctx.best.dataset.name}, images ${data.inputDim.join('×')}; ${data.split.note}`);
    imageFilters(ctx, data);
    fastLayerChecks(ctx);
    convNetChecks(ctx);
    await trainConvNets(ctx, data, print);
    spatialNormChecks(ctx);
  },
};

export default script;

if (require.main === module) main(script);
