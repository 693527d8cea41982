/**
 * Deep Learning from Scratch ch06/optimizer_compare_mnist.py: a 784-100-100-100-100-10 ReLU
 * net trained with SGD, Momentum, AdaGrad and Adam (default learning rates) on the same
 * minibatches (batch 128, 2000 iterations), the smoothed loss curves (Figure 6-9).
 *
 *   npx tsx assignments/cnn/optimizerCompareMnist.ts [--dataset mnist|fashion-mnist] [--quick] [--out DIR] [--seed N]
 */
import { takeRows } from '../../src/core/tensor';
import * as dlfs from '../../src/dlfs';
import { progressBar } from '../../src/util/progress';
import type { AssignmentScript } from '../common';
import { figure, lines } from './figures';
import { checkRange, cnnMain, isFull, loadBookData, rngFor } from './shared';

export const script: AssignmentScript = {
  name: 'optimizer_compare_mnist',
  title: 'ch06 optimizer_compare_mnist: four optimizers on a 5-layer net',
  description: 'Four optimizers on a 5-layer net',
  async run({ opts, report, outDir }) {
    const data = loadBookData(opts, { flatten: true, maxTrain: opts.quick ? 2000 : undefined });
    report.text(data.description);
    const maxIter = opts.quick ? 300 : 2000;
    const batch = 128;
    const names = ['SGD', 'Momentum', 'AdaGrad', 'Adam'];
    const initRng = rngFor(opts, 1);
    const nets = names.map(() => new dlfs.MultiLayerNet({ inputSize: 784, hiddenSizeList: [100, 100, 100, 100], outputSize: 10, rng: initRng }));
    const optimizers = names.map((n) => dlfs.createOptimizer(n));
    const losses = names.map(() => [] as number[]);
    const rng = rngFor(opts, 2);
    const bar = progressBar(maxIter, { label: 'optimizers' });
    for (let i = 0; i < maxIter; i++) {
      const mask = rng.choice(data.xTrain.shape[0], batch);
      const xb = takeRows(data.xTrain, mask.data);
      const tb = takeRows(data.tTrain, mask.data);
      names.forEach((_, k) => {
        optimizers[k].update(nets[k].params, nets[k].gradient(xb, tb));
        losses[k].push(nets[k].loss(xb, tb));
      });
      if (i % 100 === 0) report.text(`===========iteration:${i}=========== ${names.map((n, k) => `${n}:${losses[k][i].toFixed(4)}`).join(' ')}`);
      bar.tick();
    }
    bar.stop();
    const smooth = losses.map((l) => dlfs.smoothCurve(l));
    await figure(report, outDir, 'optimizer_loss.svg', 'Smoothed training loss of the four optimizers (book Figure 6-9)', lines(names.map((n, k) => ({ name: n, y: smooth[k] })), { xLabel: 'iterations', yLabel: 'loss', yMin: 0, yMax: 1 }));
    const last = smooth.map((s) => s.slice(-100).reduce((a, b) => a + b, 0) / Math.min(100, s.length));
    report.table(['optimizer', 'mean smoothed loss, last 100 iterations'], names.map((n, k) => [n, last[k].toFixed(4)]));
    report.check('SGD is the slowest (highest final loss)', names[last.indexOf(Math.max(...last))], 'SGD', { ok: last.indexOf(Math.max(...last)) === 0 });
    if (!opts.quick && isFull(data) && data.dataset === 'mnist') {
      checkRange(report, 'SGD final loss (book: ≈0.2–0.4)', last[0], 0.1, 0.45);
      for (let k = 1; k < 4; k++) report.check(`${names[k]} final loss (book: ≲0.1)`, last[k], '< 0.12', { ok: last[k] < 0.12, digits: 4 });
    }
  },
};

export default script;

if (require.main === module) cnnMain(script, 'DLFS ch06 optimizer_compare_mnist');
