/**
 * Deep Learning from Scratch ch07/train_convnet.py: SimpleConvNet (conv 30×5×5, pool, 100
 * hidden) trained by the Trainer for 20 epochs, batch 100, Adam lr 0.001, 1000 samples
 * evaluated per epoch; saves the weights (the book's params.pkl) for visualize_filter.
 *
 *   npx tsx assignments/cnn/trainConvnet.ts [--dataset mnist|fashion-mnist] [--quick] [--out DIR] [--seed N]
 */
import * as dlfs from '../../src/dlfs';
import type { AssignmentScript } from '../common';
import { figure, lines } from './figures';
import { bookSimpleConvNet, cnnMain, isFull, loadBookData, paramsPath, rngFor } from './shared';

export const script: AssignmentScript = {
  name: 'train_convnet',
  title: 'ch07 train_convnet: SimpleConvNet, 20 epochs of Adam',
  description: 'SimpleConvNet, 20 epochs of Adam',
  async run({ opts, report, outDir }) {
    const data = loadBookData(opts, { flatten: false, maxTrain: opts.quick ? 1000 : undefined, maxTest: opts.quick ? 500 : undefined });
    report.text(data.description);
    const epochs = opts.quick ? 2 : 20;
    const net = bookSimpleConvNet(opts);
    const t0 = Date.now();
    const tr = new dlfs.Trainer(net, data.xTrain, data.tTrain, data.xTest, data.tTest, { epochs, miniBatchSize: 100, optimizer: 'Adam', optimizerParam: { lr: 0.001 }, evaluateSampleNumPerEpoch: 1000, verbose: false, logEpochs: !opts.quick && !process.stderr.isTTY, print: (l) => console.error(l), rng: rngFor(opts, 2) });
    tr.train();
    tr.trainAccList.forEach((a, i) => report.text(`=== epoch:${i + 1}, train acc:${a.toFixed(4)}, test acc:${tr.testAccList[i].toFixed(4)} ===`));
    report.text(`test acc:${tr.finalTestAcc} (${((Date.now() - t0) / 1000).toFixed(0)} s)`);
    const file = paramsPath(opts, 'train_convnet', 'params.ckpt');
    dlfs.saveParams(net, file, { testAcc: tr.finalTestAcc, epochs, dataset: data.dataset });
    report.text(`Saved Network Parameters! (${file})`);
    await figure(report, outDir, 'train_convnet_accuracy.svg', 'Train and test accuracy per epoch, as train_convnet.py plots them (the first 1000 train and test samples)', lines([{ name: 'train', y: tr.trainAccList, x: tr.trainAccList.map((_, i) => i) }, { name: 'test', y: tr.testAccList, x: tr.testAccList.map((_, i) => i) }], { xLabel: 'epochs', yLabel: 'accuracy', yMin: 0, yMax: 1, dashed: ['test'] }));
    if (opts.quick) report.check('quick run learns (test accuracy, chance 0.1)', tr.finalTestAcc, '> 0.4', { ok: tr.finalTestAcc > 0.4, digits: 4 });
    else if (isFull(data)) {
      const bar = data.dataset === 'mnist' ? 0.97 : 0.89;
      report.check(`test accuracy (book on MNIST ≈0.99; accepted here ≥ ${bar})`, tr.finalTestAcc, `≥ ${bar}`, { ok: tr.finalTestAcc >= bar, digits: 4 });
    }
  },
};

export default script;

if (require.main === module) cnnMain(script, 'DLFS ch07 train_convnet');
