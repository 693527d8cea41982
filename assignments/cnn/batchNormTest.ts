/**
 * Deep Learning from Scratch ch06/batch_norm_test.py: a 784-100×5-10 net on the first 1000
 * training images, with and without batch normalisation, SGD lr 0.01, batch 100, 20 epochs,
 * for the 16 weight scales np.logspace(0, −4, 16): training-accuracy curves in a 4×4 grid
 * (Figure 6-19).
 *
 *   npx tsx assignments/cnn/batchNormTest.ts [--dataset mnist|fashion-mnist] [--quick] [--out DIR] [--seed N]
 */
import { takeRows } from '../../src/core/tensor';
import * as dlfs from '../../src/dlfs';
import { progressBar } from '../../src/util/progress';
import type { AssignmentScript } from '../common';
import { logspace } from '../assignment2/shared';
import { figure, lines, panels } from './figures';
import { cnnMain, loadBookData, rngFor } from './shared';

export const script: AssignmentScript = {
  name: 'batch_norm_test',
  title: 'ch06 batch_norm_test: training with and without batch norm over 16 weight scales',
  description: 'Training with and without batch norm over 16 weight scales',
  async run({ opts, report, outDir }) {
    const data = loadBookData(opts, { flatten: true, maxTrain: opts.quick ? 300 : 1000 });
    report.text(data.description);
    const maxEpochs = opts.quick ? 6 : 20;
    const n = data.xTrain.shape[0];
    const batch = 100;
    const ipe = Math.max(n / batch, 1);
    const scales = logspace(0, -4, 16);
    const specs = [];
    const finals: Array<{ scale: number; bn: number; plain: number }> = [];
    const bar = progressBar(scales.length, { label: 'weight scales' });
    for (const [i, w] of scales.entries()) {
      const initRng = rngFor(opts, 100 + i);
      const make = (useBatchnorm: boolean) => new dlfs.MultiLayerNetExtend({ inputSize: 784, hiddenSizeList: [100, 100, 100, 100, 100], outputSize: 10, weightInitStd: w, useBatchnorm, rng: initRng });
      const bnNet = make(true);
      const net = make(false);
      const opt = [new dlfs.SGD({ lr: 0.01 }), new dlfs.SGD({ lr: 0.01 })];
      const acc: [number[], number[]] = [[], []];
      const rng = rngFor(opts, 200 + i);
      // The book's loop: update both nets on the same batch; after iterations 0, ipe, … log accuracy.
      for (let it = 0; acc[0].length < maxEpochs; it++) {
        const mask = rng.choice(n, batch);
        const xb = takeRows(data.xTrain, mask.data);
        const tb = takeRows(data.tTrain, mask.data);
        [bnNet, net].forEach((m, k) => opt[k].update(m.params, m.gradient(xb, tb)));
        if (it % ipe === 0) {
          acc[0].push(bnNet.accuracy(data.xTrain, data.tTrain));
          acc[1].push(net.accuracy(data.xTrain, data.tTrain));
        }
      }
      finals.push({ scale: w, bn: acc[0][acc[0].length - 1], plain: acc[1][acc[1].length - 1] });
      specs.push({ ...lines([{ name: 'Batch Normalization', y: acc[0] }, { name: 'Normal (without BatchNorm)', y: acc[1] }], { title: `W: ${w.toPrecision(3)}`, xLabel: 'epochs', yLabel: 'accuracy', yMin: 0, yMax: 1, dashed: ['Normal (without BatchNorm)'] }), width: 160, height: 110 });
      bar.tick();
    }
    bar.stop();
    report.table(['weight scale', 'final train acc with BN', 'without BN'], finals.map((f) => [f.scale.toPrecision(3), f.bn.toFixed(3), f.plain.toFixed(3)]));
    await figure(report, outDir, 'batch_norm_scales.svg', 'Training accuracy with (solid) and without (dashed) batch norm, per initial weight scale (book Figure 6-19)', panels(specs, 4));
    const better = finals.filter((f) => f.bn >= f.plain).length;
    report.check('BN trains at least as well as the plain net at most scales (of 16)', better, '≥ 12', { ok: better >= 12 });
    const tiny = finals.filter((f) => f.scale <= 2e-3);
    const tinyPlain = Math.max(...tiny.map((f) => f.plain));
    const tinyBn = Math.min(...tiny.map((f) => f.bn));
    report.check('scales ≤ 2e-3: the plain net does not learn (best train acc)', tinyPlain, '< 0.25', { ok: tinyPlain < 0.25, digits: 3 });
    report.check('scales ≤ 2e-3: the BN net learns (its worst train acc beats the plain net\'s best by 0.1)', tinyBn, `> ${(tinyPlain + 0.1).toFixed(3)}`, { ok: tinyBn > tinyPlain + 0.1, digits: 3 });
  },
};

export default script;

if (require.main === module) cnnMain(script, 'DLFS ch06 batch_norm_test');
