/**
 * Deep Learning from Scratch ch06/hyperparameter_optimization.py: 500 shuffled images, 20%
 * held out for validation, a 784-100×6-10 net; 100 random trials with weight decay
 * 10^U(−8, −4) and learning rate 10^U(−6, −2), 50 epochs of SGD each; the 20 best runs'
 * validation (solid) and training (dashed) accuracy (Figure 6-24).
 *
 *   npx tsx assignments/cnn/hyperparameterOptimization.ts [--dataset mnist|fashion-mnist] [--quick] [--out DIR] [--seed N]
 */
import { sliceRows } from '../../src/core/tensor';
import * as dlfs from '../../src/dlfs';
import { progressBar } from '../../src/util/progress';
import type { AssignmentScript } from '../common';
import { figure, lines, panels } from './figures';
import { cnnMain, loadBookData, rngFor } from './shared';

export const script: AssignmentScript = {
  name: 'hyperparameter_optimization',
  title: 'ch06 hyperparameter_optimization: random search over learning rate and weight decay',
  description: 'Random search over learning rate and weight decay',
  async run({ opts, report, outDir }) {
    const data = loadBookData(opts, { flatten: true, maxTrain: 500, maxTest: 1 });
    report.text(data.description);
    const rng = rngFor(opts, 1);
    const { x, t } = dlfs.shuffleDataset(data.xTrain, data.tTrain, rng);
    const nVal = Math.trunc(x.shape[0] * 0.2);
    const xVal = sliceRows(x, 0, nVal);
    const tVal = sliceRows(t, 0, nVal);
    const xTr = sliceRows(x, nVal, x.shape[0]);
    const tTr = sliceRows(t, nVal, t.shape[0]);
    const trials = opts.quick ? 12 : 100;
    const epochs = opts.quick ? 15 : 50;
    const results: Array<{ lr: number; wd: number; val: number[]; train: number[] }> = [];
    const bar = progressBar(trials, { label: 'trials' });
    for (let i = 0; i < trials; i++) {
      const wd = 10 ** rng.uniform(-8, -4);
      const lr = 10 ** rng.uniform(-6, -2);
      const net = new dlfs.MultiLayerNet({ inputSize: 784, hiddenSizeList: [100, 100, 100, 100, 100, 100], outputSize: 10, weightDecayLambda: wd, rng });
      const tr = new dlfs.Trainer(net, xTr, tTr, xVal, tVal, { epochs, miniBatchSize: 100, optimizer: 'sgd', optimizerParam: { lr }, verbose: false, rng, progress: false });
      tr.train();
      results.push({ lr, wd, val: tr.testAccList, train: tr.trainAccList });
      bar.tick(1, `val acc ${tr.testAccList[tr.testAccList.length - 1].toFixed(3)}`);
    }
    bar.stop();
    const last = (a: number[]) => a[a.length - 1];
    results.sort((a, b) => last(b.val) - last(a.val));
    const top = results.slice(0, 20);
    report.text('=========== Hyper-Parameter Optimization Result ===========');
    top.forEach((r, i) => report.text(`Best-${i + 1}(val acc:${last(r.val).toFixed(2)}) | lr:${r.lr.toPrecision(4)}, weight decay:${r.wd.toPrecision(4)}`));
    await figure(report, outDir, 'hyperparameter_top20.svg', 'The 20 best trials: validation (solid) and training (dashed) accuracy (book Figure 6-24)', panels(top.map((r, i) => ({ ...lines([{ name: 'val', y: r.val }, { name: 'train', y: r.train }], { title: `Best-${i + 1}`, xLabel: 'epochs', yLabel: 'accuracy', yMin: 0, yMax: 1, dashed: ['train'] }), width: 110, height: 80 })), 5));
    // The book's finding: the learning rate decides (weight decay barely matters in this range).
    const meanLogLr = (rs: typeof results) => rs.reduce((s, r) => s + Math.log10(r.lr), 0) / rs.length;
    const half = Math.floor(results.length / 2);
    const lrGap = meanLogLr(results.slice(0, half)) - meanLogLr(results.slice(-half));
    report.check('the better half of the trials has larger learning rates (mean log10 lr, better − worse half)', lrGap, '> 0.5', { ok: lrGap > 0.5, digits: 3 });
    report.check('the best trial has lr ≥ 1e-3 (the book: lr ≈ 0.001–0.01)', results[0].lr, '≥ 1e-3', { ok: results[0].lr >= 1e-3, digits: 3 });
    if (!opts.quick) {
      // 100 trials of 50 epochs: every trial in the top 5 has left the small rates behind.
      const minLr = Math.min(...results.slice(0, 5).map((r) => r.lr));
      report.check('the 5 best trials all have lr ≥ 1e-3.5', minLr, '≥ 3.16e-4', { ok: minLr >= 10 ** -3.5, digits: 3 });
    }
    if (!opts.quick) report.check('best validation accuracy (book: ≈0.8)', last(results[0].val), '> 0.7', { ok: last(results[0].val) > 0.7, digits: 3 });
  },
};

export default script;

if (require.main === module) cnnMain(script, 'DLFS ch06 hyperparameter_optimization');
