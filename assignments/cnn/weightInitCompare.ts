/**
 * Deep Learning from Scratch ch06/weight_init_compare.py: a 784-100×4-10 ReLU net trained
 * with SGD (lr 0.01, batch 128, 2000 iterations) from std 0.01, Xavier and He initial weights
 * on the same minibatches; smoothed loss curves (Figure 6-15).
 *
 *   npx tsx assignments/cnn/weightInitCompare.ts [--dataset mnist|fashion-mnist] [--quick] [--out DIR] [--seed N]
 */
import { takeRows } from '../../src/core/tensor';
import * as dlfs from '../../src/dlfs';
import { progressBar } from '../../src/util/progress';
import type { AssignmentScript } from '../common';
import { figure, lines } from './figures';
import { cnnMain, loadBookData, rngFor } from './shared';

export const script: AssignmentScript = {
  name: 'weight_init_compare',
  title: 'ch06 weight_init_compare: std 0.01 vs Xavier vs He',
  description: 'Std 0.01 vs Xavier vs He',
  async run({ opts, report, outDir }) {
    const data = loadBookData(opts, { flatten: true, maxTrain: opts.quick ? 2000 : undefined });
    report.text(data.description);
    const maxIter = opts.quick ? 400 : 2000;
    const inits: Array<[string, dlfs.WeightInitStd]> = [['std=0.01', 0.01], ['Xavier', 'sigmoid'], ['He', 'relu']];
    const initRng = rngFor(opts, 1);
    const nets = inits.map(([, w]) => new dlfs.MultiLayerNet({ inputSize: 784, hiddenSizeList: [100, 100, 100, 100], outputSize: 10, weightInitStd: w, rng: initRng }));
    const opt = inits.map(() => new dlfs.SGD({ lr: 0.01 }));
    const losses = inits.map(() => [] as number[]);
    const rng = rngFor(opts, 2);
    const bar = progressBar(maxIter, { label: 'init' });
    for (let i = 0; i < maxIter; i++) {
      const mask = rng.choice(data.xTrain.shape[0], 128);
      const xb = takeRows(data.xTrain, mask.data);
      const tb = takeRows(data.tTrain, mask.data);
      nets.forEach((net, k) => {
        opt[k].update(net.params, net.gradient(xb, tb));
        losses[k].push(net.loss(xb, tb));
      });
      if (i % 100 === 0) report.text(`===========iteration:${i}=========== ${inits.map(([n], k) => `${n}:${losses[k][i].toFixed(4)}`).join(' ')}`);
      bar.tick();
    }
    bar.stop();
    const smooth = losses.map((l) => dlfs.smoothCurve(l));
    await figure(report, outDir, 'weight_init_loss.svg', 'Smoothed training loss by weight initialisation (book Figure 6-15)', lines(inits.map(([n], k) => ({ name: n, y: smooth[k] })), { xLabel: 'iterations', yLabel: 'loss', yMin: 0, yMax: 2.5 }));
    const fin = smooth.map((s) => s[s.length - 1]);
    report.check('std 0.01 does not learn: final loss ≈ ln 10', fin[0], Math.log(10), { absTol: 0.02, digits: 4 });
    report.check('He ends below Xavier (final smoothed loss)', fin[2], `< ${fin[1].toFixed(4)}`, { ok: fin[2] < fin[1], digits: 4 });
    report.check('Xavier learns (final loss well below ln 10)', fin[1], '< 1.5', { ok: fin[1] < 1.5, digits: 4 });
  },
};

export default script;

if (require.main === module) cnnMain(script, 'DLFS ch06 weight_init_compare');
