/**
 * Deep Learning from Scratch ch06/overfit_weight_decay.py: a 784-100×6-10 net on the first
 * 300 training images, SGD lr 0.01, batch 100, 201 epochs, without weight decay (the
 * overfitting baseline, Figure 6-20) and with λ = 0.1 (Figure 6-21).
 *
 *   npx tsx assignments/cnn/overfitWeightDecay.ts [--dataset mnist|fashion-mnist] [--quick] [--out DIR] [--seed N]
 */
import { takeRows } from '../../src/core/tensor';
import * as dlfs from '../../src/dlfs';
import { progressBar } from '../../src/util/progress';
import type { AssignmentScript, ScriptContext } from '../common';
import type { BookData } from './shared';
import { figure, lines } from './figures';
import { cnnMain, loadBookData, rngFor } from './shared';

/** The book's hand-written loop: accuracy on train and test after iterations 0, ipe, 2·ipe, …. */
export function overfitRun(ctx: ScriptContext, data: BookData, net: dlfs.BookNet, maxEpochs: number, stream: number): { train: number[]; test: number[] } {
  const n = data.xTrain.shape[0];
  const ipe = Math.max(n / 100, 1);
  const opt = new dlfs.SGD({ lr: 0.01 });
  const rng = rngFor(ctx.opts, stream);
  const train: number[] = [];
  const test: number[] = [];
  const bar = progressBar(maxEpochs, { label: 'epochs' });
  for (let it = 0; train.length < maxEpochs; it++) {
    const mask = rng.choice(n, 100);
    const xb = takeRows(data.xTrain, mask.data);
    const tb = takeRows(data.tTrain, mask.data);
    opt.update(net.params, net.gradient(xb, tb));
    if (it % ipe === 0) {
      train.push(net.accuracy(data.xTrain, data.tTrain));
      test.push(net.accuracy(data.xTest, data.tTest));
      bar.tick(1, `train ${train[train.length - 1].toFixed(3)} test ${test[test.length - 1].toFixed(3)}`);
    }
  }
  bar.stop();
  return { train, test };
}

export const script: AssignmentScript = {
  name: 'overfit_weight_decay',
  title: 'ch06 overfit_weight_decay: overfitting 300 images, and weight decay λ = 0.1',
  description: 'Overfitting 300 images, and weight decay λ = 0.1',
  async run(ctx) {
    const { opts, report, outDir } = ctx;
    const data = loadBookData(opts, { flatten: true, maxTrain: 300, maxTest: opts.quick ? 500 : undefined });
    report.text(data.description);
    const epochs = opts.quick ? 60 : 201;
    const res: Record<string, { train: number[]; test: number[] }> = {};
    for (const [i, lambda] of [0, 0.1].entries()) {
      const net = new dlfs.MultiLayerNet({ inputSize: 784, hiddenSizeList: [100, 100, 100, 100, 100, 100], outputSize: 10, weightDecayLambda: lambda, rng: rngFor(opts, 1) });
      const r = overfitRun(ctx, data, net, epochs, 10 + i);
      res[lambda] = r;
      report.text(`λ = ${lambda}: final train acc ${r.train[r.train.length - 1].toFixed(4)}, test acc ${r.test[r.test.length - 1].toFixed(4)}`);
      await figure(report, outDir, `overfit_lambda_${lambda}.svg`, `Train and test accuracy, λ = ${lambda} (book Figure 6-${lambda === 0 ? 20 : 21})`, lines([{ name: 'train', y: r.train }, { name: 'test', y: r.test }], { xLabel: 'epochs', yLabel: 'accuracy', yMin: 0, yMax: 1 }));
    }
    const fin = (a: number[]) => a[a.length - 1];
    const gap0 = fin(res[0].train) - fin(res[0].test);
    const gap1 = fin(res[0.1].train) - fin(res[0.1].test);
    if (!opts.quick) report.check('λ = 0: training accuracy reaches 1.0', fin(res[0].train), 1, { absTol: 0 });
    report.check('λ = 0: a large train–test gap', gap0, '> 0.1', { ok: gap0 > 0.1, digits: 3 });
    report.check('λ = 0.1: the gap shrinks', gap1, `< ${gap0.toFixed(3)}`, { ok: gap1 < gap0, digits: 3 });
    report.check('λ = 0.1: training accuracy stays below 1.0', fin(res[0.1].train), '< 1', { ok: fin(res[0.1].train) < 1, digits: 3 });
  },
};

export default script;

if (require.main === module) cnnMain(script, 'DLFS ch06 overfit_weight_decay');
