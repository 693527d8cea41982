/**
 * cs231n assignment 2, BatchNormalization.ipynb: batch normalisation forward (train and test
 * statistics), backward through the graph and the simplified formula, the fully connected net
 * with batch norm, the experiments (deep nets with and without BN, the weight-scale sweep,
 * batch size), and layer normalisation.
 *
 *   npx tsx assignments/assignment2/batchNormalization.ts [--data DIR] [--out DIR] [--quick] [--seed N]
 */
import { matmul } from '../../src/core/matmul';
import { random, RandomState } from '../../src/core/random';
import { fromData, type Tensor } from '../../src/core/tensor';
import { FullyConnectedNet, type FcNormalization } from '../../src/classifiers';
import { relError } from '../../src/gradientCheck';
import { batchnormBackward, batchnormBackwardAlt, batchnormForward, layernormBackward, layernormForward, reluForward, type BatchnormParam } from '../../src/layers';
import { Solver, type LossAndGrads } from '../../src/solver';
import { main, type AssignmentScript, type ScriptContext } from '../common';
import {
  checkArray, checkError, columnStats, firstRows, layerGradError, loadSplits, logspace, modelGradErrors, plot, plotSolvers, timed,
  trainOrReport, type Splits,
} from './shared';

const vec = (v: number[]): Tensor => fromData(Float64Array.from(v), [v.length]);
const filled = (n: number, v: number): Tensor => fromData(new Float64Array(n).fill(v), [n]);
/** a = relu(X·W1)·W2, the notebooks' input to the normalisation layers. */
const twoLayer = (X: Tensor, W1: Tensor, W2: Tensor): Tensor => matmul(reluForward(matmul(X, W1)).out, W2);

function bnForwardChecks({ report }: ScriptContext): void {
  report.section('Batch normalization: forward (training mode)');
  let rng = new RandomState(231);
  const [N, D1, D2, D3] = [200, 50, 60, 3];
  const X = rng.randn(N, D1);
  const W1 = rng.randn(D1, D2);
  const W2 = rng.randn(D2, D3);
  const a = twoLayer(X, W1, W2);
  const before = columnStats(a);
  checkArray(report, 'before batch normalization: means', before.means, [-2.3814598, -13.18038246, 1.91780462], 1e-7);
  checkArray(report, 'before batch normalization: stds', before.stds, [27.18502186, 34.21455511, 37.68611762], 1e-7);
  const plain = columnStats(batchnormForward(a, filled(D3, 1), filled(D3, 0), { mode: 'train' }).out);
  checkArray(report, 'after (gamma = 1, beta = 0): means', plain.means, [0, 0, 0], 1e-8);
  checkArray(report, 'after (gamma = 1, beta = 0): stds', plain.stds, [0.99999999, 1, 1], 1e-8);
  const scaled = columnStats(batchnormForward(a, vec([1, 2, 3]), vec([11, 12, 13]), { mode: 'train' }).out);
  checkArray(report, 'after (gamma = [1, 2, 3], beta = [11, 12, 13]): means', scaled.means, [11, 12, 13], 1e-8);
  checkArray(report, 'after (gamma = [1, 2, 3], beta = [11, 12, 13]): stds', scaled.stds, [0.99999999, 1.99999999, 2.99999999], 1e-8);

  report.section('Batch normalization: forward (test mode, after 50 training passes)');
  rng = new RandomState(231);
  const V1 = rng.randn(D1, D2);
  const V2 = rng.randn(D2, D3);
  const bnParam: BatchnormParam = { mode: 'train' };
  for (let t = 0; t < 50; t++) batchnormForward(twoLayer(rng.randn(N, D1), V1, V2), filled(D3, 1), filled(D3, 0), bnParam);
  bnParam.mode = 'test';
  const test = columnStats(batchnormForward(twoLayer(rng.randn(N, D1), V1, V2), filled(D3, 1), filled(D3, 0), bnParam).out);
  checkArray(report, 'after batch normalization (test-time): means', test.means, [-0.03927354, -0.04349152, -0.10452688], 1e-8);
  checkArray(report, 'after batch normalization (test-time): stds', test.stds, [1.01531428, 1.01238373, 0.97819988], 1e-8);
}

function bnBackwardChecks({ report }: ScriptContext): void {
  report.section('Batch normalization: backward');
  let rng = new RandomState(231);
  const x = rng.normal(12, 5, [4, 5]);
  const gamma = rng.randn(5);
  const beta = rng.randn(5);
  const dout = rng.randn(4, 5);
  const fwd = (a: Tensor, g: Tensor, b: Tensor): Tensor => batchnormForward(a, g, b, { mode: 'train' }).out;
  const grads = batchnormBackward(dout, batchnormForward(x, gamma, beta, { mode: 'train' }).cache);
  checkError(report, 'dx error (notebook: between 1e-13 and 1e-8)', layerGradError((v) => fwd(v, gamma, beta), x, dout, grads.dx), 1e-8);
  checkError(report, 'dgamma error', layerGradError((v) => fwd(x, v, beta), gamma, dout, grads.dgamma), 1e-8);
  checkError(report, 'dbeta error', layerGradError((v) => fwd(x, gamma, v), beta, dout, grads.dbeta), 1e-8);

  report.section('Batch normalization: alternative backward');
  rng = new RandomState(231);
  const [N, D] = [100, 500];
  const xa = rng.normal(12, 5, [N, D]);
  const ga = rng.randn(D);
  const ba = rng.randn(D);
  const da = rng.randn(N, D);
  const { cache } = batchnormForward(xa, ga, ba, { mode: 'train' });
  const reps = 20;
  const t1 = timed(() => {
    let r = batchnormBackward(da, cache);
    for (let i = 1; i < reps; i++) r = batchnormBackward(da, cache);
    return r;
  });
  const t2 = timed(() => {
    let r = batchnormBackwardAlt(da, cache);
    for (let i = 1; i < reps; i++) r = batchnormBackwardAlt(da, cache);
    return r;
  });
  checkError(report, 'dx difference (notebook ~1e-12)', relError(t1.value.dx, t2.value.dx), 1e-10);
  report.check('dgamma difference', relError(t1.value.dgamma, t2.value.dgamma), 0, { absTol: 0 });
  report.check('dbeta difference', relError(t1.value.dbeta, t2.value.dbeta), 0, { absTol: 0 });
  report.text(`speedup: ${(t1.seconds / t2.seconds).toFixed(2)}x (graph ${((1e3 * t1.seconds) / reps).toFixed(2)} ms, alt ${((1e3 * t2.seconds) / reps).toFixed(2)} ms per call; cs231n solutions print ~1.3x)`);
}

function fcBnChecks({ report }: ScriptContext): void {
  report.section('Fully connected nets with batch normalization: gradient check');
  random.seed(231);
  const X = random.randn(2, 15);
  const y = random.randint(10, null, 2);
  const expected = [2.2611955101340957, 6.996533220108303];
  [0, 3.14].forEach((reg, i) => {
    const model = new FullyConnectedNet({ hiddenDims: [20, 30], inputDim: 15, numClasses: 10, reg, weightScale: 5e-2, dtype: 'float64', normalization: 'batchnorm' });
    const { loss, grads } = model.loss(X, y) as LossAndGrads;
    report.check(`reg ${reg}: initial loss`, loss, expected[i], { absTol: 1e-10 });
    for (const [k, e] of modelGradErrors(model, X, y)) {
      if (k === 'b1' || k === 'b2') {
        // A bias right before batch norm has a true gradient of exactly 0 (the mean is
        // subtracted); a relative error of round-off is meaningless, so its size is checked.
        const big = Math.max(...Array.from(grads[k].data, Math.abs));
        checkError(report, `reg ${reg}: ${k} max |gradient| (exactly 0 in theory)`, big, 1e-12);
      } else {
        // Notebook: "1e-4~1e-10 for W, 1e-08~1e-10 for b, 1e-08~1e-09 for beta and gammas" (N = 2 makes W1 ~1e-4).
        checkError(report, `reg ${reg}: ${k} relative error`, e, k.startsWith('W') ? 2e-4 : 1e-7);
      }
    }
  });
}

async function deepNets(ctx: ScriptContext, data: Splits, print: (l: string) => void): Promise<void> {
  const { report, opts, outDir } = ctx;
  report.section('Batch normalization for deep networks: six-layer net with and without BN');
  const n = opts.quick ? 200 : 1000;
  const epochs = opts.quick ? 2 : 10;
  const small = smallData(data, n, opts.quick ? 100 : data.XVal.shape[0]);
  const solvers: Record<string, Solver> = {};
  for (const norm of ['batchnorm', null] as FcNormalization[]) {
    const model = new FullyConnectedNet({ hiddenDims: [100, 100, 100, 100, 100], inputDim: data.D, numClasses: data.numClasses, weightScale: 2e-2, normalization: norm, rng: new RandomState(opts.seed) });
    const s = new Solver(model, small, { numEpochs: epochs, batchSize: 50, updateRule: 'adam', optimConfig: { learningRate: 1e-3 }, printEvery: 20, print, seed: opts.seed, label: norm ?? 'baseline' });
    s.train();
    solvers[norm === null ? 'baseline' : 'batchnorm'] = s;
  }
  const last = (s: Solver, h: number[]) => h[h.length - 1].toFixed(3);
  report.text(`${n} images, ${epochs} epochs: final train/val with BN ${last(solvers.batchnorm, solvers.batchnorm.trainAccHistory)}/${last(solvers.batchnorm, solvers.batchnorm.valAccHistory)}, ` +
    `without ${last(solvers.baseline, solvers.baseline.trainAccHistory)}/${last(solvers.baseline, solvers.baseline.valAccHistory)} (cs231n on full CIFAR-10, 1000 images, 10 epochs: .776/.328 vs .726/.334)`);
  await plotSolvers(report, outDir, 'bn_deep', 'Six-layer net, batchnorm vs baseline', solvers);
}

async function weightScaleSweep(ctx: ScriptContext, data: Splits): Promise<void> {
  const { report, opts, outDir } = ctx;
  report.section('Batch normalization and initialization: weight-scale sweep, eight-layer net');
  const n = opts.quick ? 100 : 1000;
  const epochs = opts.quick ? 1 : 10;
  const scales = logspace(-4, 0, opts.quick ? 5 : 20);
  const small = smallData(data, n, opts.quick ? 50 : data.XVal.shape[0]);
  const res: Record<'batchnorm' | 'baseline', { train: number[]; val: number[]; loss: number[] }> = {
    batchnorm: { train: [], val: [], loss: [] },
    baseline: { train: [], val: [], loss: [] },
  };
  for (const ws of scales) {
    for (const norm of ['batchnorm', null] as FcNormalization[]) {
      const key = norm === null ? 'baseline' : 'batchnorm';
      const model = new FullyConnectedNet({ hiddenDims: new Array(7).fill(50), inputDim: data.D, numClasses: data.numClasses, weightScale: ws, normalization: norm, rng: new RandomState(opts.seed) });
      const s = new Solver(model, small, { numEpochs: epochs, batchSize: 50, updateRule: 'adam', optimConfig: { learningRate: 1e-3 }, verbose: false, seed: opts.seed, label: `${key} ws ${ws.toExponential(1)}` });
      const ok = trainOrReport(report, `${key}, weight scale ${ws.toExponential(2)}`, s);
      const tail = s.lossHistory.slice(-100);
      res[key].train.push(s.trainAccHistory.length ? Math.max(...s.trainAccHistory) : Number.NaN);
      res[key].val.push(s.valAccHistory.length ? Math.max(...s.valAccHistory) : Number.NaN);
      res[key].loss.push(ok && tail.length ? tail.reduce((a, v) => a + v, 0) / tail.length : Number.NaN);
    }
  }
  report.table(['weight scale', 'BN best val', 'baseline best val', 'BN best train', 'baseline best train', 'BN final loss', 'baseline final loss'],
    scales.map((ws, i) => [ws.toExponential(2), res.batchnorm.val[i], res.baseline.val[i], res.batchnorm.train[i], res.baseline.train[i], res.batchnorm.loss[i], res.baseline.loss[i]]));
  const series = (k: 'train' | 'val' | 'loss') => [
    { name: 'batchnorm', x: scales, y: res.batchnorm[k] },
    { name: 'baseline', x: scales, y: res.baseline[k] },
  ];
  await plot(report, outDir, 'weight_scale_val.svg', 'Best validation accuracy vs weight initialization scale', series('val'), { xLabel: 'weight initialization scale', yLabel: 'best val accuracy', logX: true, points: true });
  await plot(report, outDir, 'weight_scale_train.svg', 'Best training accuracy vs weight initialization scale', series('train'), { xLabel: 'weight initialization scale', yLabel: 'best train accuracy', logX: true, points: true });
  await plot(report, outDir, 'weight_scale_loss.svg', 'Final training loss vs weight initialization scale', series('loss'), { xLabel: 'weight initialization scale', yLabel: 'final training loss (log scale)', logX: true, logY: true, points: true });
}

async function batchSizes(ctx: ScriptContext, data: Splits): Promise<void> {
  const { report, opts, outDir } = ctx;
  report.section('Batch normalization and batch size (and layer normalization)');
  const n = opts.quick ? 100 : 1000;
  const epochs = opts.quick ? 1 : 10;
  const small = smallData(data, n, opts.quick ? 50 : data.XVal.shape[0]);
  const lr = 10 ** -3.5;
  const run = (norm: FcNormalization, bs: number): Solver => {
    const model = new FullyConnectedNet({ hiddenDims: [100, 100, 100, 100, 100], inputDim: data.D, numClasses: data.numClasses, weightScale: 2e-2, normalization: norm, rng: new RandomState(opts.seed) });
    const s = new Solver(model, small, { numEpochs: epochs, batchSize: bs, updateRule: 'adam', optimConfig: { learningRate: lr }, verbose: false, seed: opts.seed, label: `${norm ?? 'baseline'} batch ${bs}` });
    s.train();
    return s;
  };
  for (const norm of ['batchnorm', 'layernorm'] as FcNormalization[]) {
    const solvers: Record<string, Solver> = { 'baseline, batch 5': run(null, 5) };
    for (const bs of [5, 10, 50]) solvers[`${norm}, batch ${bs}`] = run(norm, bs);
    report.text(`${n} images, ${epochs} epochs, adam 10^-3.5, six-layer net, weight scale 2e-2`);
    report.table(['model', 'final train acc', 'final val acc'], Object.entries(solvers).map(([k, s]) => [k, s.trainAccHistory[s.trainAccHistory.length - 1], s.valAccHistory[s.valAccHistory.length - 1]]));
    await plot(report, outDir, `batch_size_${norm}_train.svg`, `${norm}: training accuracy by batch size`, Object.entries(solvers).map(([k, s]) => ({ name: k, y: s.trainAccHistory })), { xLabel: 'epoch', yLabel: 'training accuracy' });
    await plot(report, outDir, `batch_size_${norm}_val.svg`, `${norm}: validation accuracy by batch size`, Object.entries(solvers).map(([k, s]) => ({ name: k, y: s.valAccHistory })), { xLabel: 'epoch', yLabel: 'validation accuracy' });
  }
}

function layernormChecks({ report }: ScriptContext): void {
  report.section('Layer normalization: forward');
  let rng = new RandomState(231);
  const [N, D1, D2, D3] = [4, 50, 60, 3];
  const X = rng.randn(N, D1);
  const W1 = rng.randn(D1, D2);
  const W2 = rng.randn(D2, D3);
  const a = twoLayer(X, W1, W2);
  const rowStats = (t: Tensor) => columnStats(fromData(Float64Array.from({ length: t.shape[0] * t.shape[1] }, (_, k) => t.get(k % t.shape[0], Math.floor(k / t.shape[0]))), [t.shape[1], t.shape[0]]));
  checkArray(report, 'before layer normalization: means', rowStats(a).means, [-59.06673243, -47.60782686, -43.31137368, -26.40991744], 1e-7);
  const plain = rowStats(layernormForward(a, filled(D3, 1), filled(D3, 0), {}).out);
  checkArray(report, 'after (gamma = 1, beta = 0): means', plain.means, [0, 0, 0, 0], 1e-8);
  checkArray(report, 'after (gamma = 1, beta = 0): stds', plain.stds, [0.99999995, 0.99999999, 1, 0.99999969], 1e-8);
  const scaled = rowStats(layernormForward(a, filled(D3, 3), filled(D3, 5), {}).out);
  checkArray(report, 'after (gamma = 3, beta = 5): means', scaled.means, [5, 5, 5, 5], 1e-8);
  checkArray(report, 'after (gamma = 3, beta = 5): stds', scaled.stds, [2.99999985, 2.99999997, 3, 2.99999907], 3e-8);

  report.section('Layer normalization: backward');
  rng = new RandomState(231);
  const x = rng.normal(12, 5, [4, 5]);
  const gamma = rng.randn(5);
  const beta = rng.randn(5);
  const dout = rng.randn(4, 5);
  const fwd = (v: Tensor, g: Tensor, b: Tensor): Tensor => layernormForward(v, g, b, {}).out;
  const grads = layernormBackward(dout, layernormForward(x, gamma, beta, {}).cache);
  checkError(report, 'dx error (notebook: between 1e-12 and 1e-8)', layerGradError((v) => fwd(v, gamma, beta), x, dout, grads.dx), 1e-8);
  checkError(report, 'dgamma error', layerGradError((v) => fwd(x, v, beta), gamma, dout, grads.dgamma), 1e-8);
  checkError(report, 'dbeta error', layerGradError((v) => fwd(x, gamma, v), beta, dout, grads.dbeta), 1e-8);

  report.section('Fully connected nets with layer normalization: gradient check');
  random.seed(231);
  const Xs = random.randn(2, 15);
  const ys = random.randint(10, null, 2);
  for (const reg of [0, 3.14]) {
    const model = new FullyConnectedNet({ hiddenDims: [20, 30], inputDim: 15, numClasses: 10, reg, weightScale: 5e-2, dtype: 'float64', normalization: 'layernorm' });
    // No notebook numbers here; the BN bounds are used (W up to 1e-4 with N = 2, the rest 1e-5).
    for (const [k, e] of modelGradErrors(model, Xs, ys)) checkError(report, `reg ${reg}: ${k} relative error`, e, k.startsWith('W') ? 1e-4 : 1e-5);
  }
}

function smallData(data: Splits, n: number, nVal: number) {
  const tr = firstRows(data.XTrain, data.yTrain, n);
  const val = firstRows(data.XVal, data.yVal, nVal);
  return { XTrain: tr.X, yTrain: tr.y, XVal: val.X, yVal: val.y };
}

/** The BatchNormalization notebook as a script. */
export const script: AssignmentScript = {
  name: 'batchNormalization',
  title: 'Batch Normalization (assignment 2)',
  description: 'BatchNormalization.ipynb: batch and layer normalization, deep nets with and without, weight-scale and batch-size studies',
  async run(ctx) {
    const print = ctx.opts.print ?? ((l: string) => console.log(l));
    bnForwardChecks(ctx);
    bnBackwardChecks(ctx);
    fcBnChecks(ctx);
    const data = loadSplits(ctx.best, { dtype: 'float32' });
    ctx.report.text(`data: ${ctx.best.dataset.name}, images ${data.inputDim.join('×')}; ${data.split.note}`);
    await deepNets(ctx, data, print);
    await weightScaleSweep(ctx, data);
    await batchSizes(ctx, data);
    layernormChecks(ctx);
  },
};

export default script;

if (require.main === module) main(script);
