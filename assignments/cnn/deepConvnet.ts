/**
 * Deep Learning from Scratch ch08/train_deepnet.py (the DeepConvNet of deep_convnet.py):
 * six 3×3 convs, three pools, Affine-ReLU-Dropout-Affine-Dropout, trained 20 epochs, batch
 * 100, Adam lr 0.001, 1000 samples evaluated per epoch; saves the weights (the book's
 * deep_convnet_params.pkl) for misclassified_mnist and half_float_network.
 *
 *   npx tsx assignments/cnn/deepConvnet.ts [--dataset mnist|fashion-mnist] [--quick] [--out DIR] [--seed N]
 */
import * as dlfs from '../../src/dlfs';
import type { AssignmentScript } from '../common';
import { figure, lines } from './figures';
import { cnnMain, isFull, loadBookData, paramsPath, rngFor } from './shared';

export const script: AssignmentScript = {
  name: 'deep_convnet',
  title: 'ch08 train_deepnet: DeepConvNet, 20 epochs of Adam',
  description: 'DeepConvNet, 20 epochs of Adam',
  async run({ opts, report, outDir }) {
    const data = loadBookData(opts, { flatten: false, maxTrain: opts.quick ? 1000 : undefined, maxTest: opts.quick ? 300 : undefined });
    report.text(data.description);
    // --quick: 2 epochs of 1000 images = 20 Adam steps, enough to leave chance level behind.
    const epochs = opts.quick ? 2 : 20;
    const net = new dlfs.DeepConvNet({ rng: rngFor(opts, 1) });
    report.text(`DeepConvNet: ${dlfs.countParams(net.params)} parameters`);
    const t0 = Date.now();
    const tr = new dlfs.Trainer(net, data.xTrain, data.tTrain, data.xTest, data.tTest, { epochs, miniBatchSize: 100, optimizer: 'Adam', optimizerParam: { lr: 0.001 }, evaluateSampleNumPerEpoch: opts.quick ? 300 : 1000, verbose: false, logEpochs: !opts.quick && !process.stderr.isTTY, print: (l) => console.error(l), rng: rngFor(opts, 2) });
    tr.train();
    tr.trainAccList.forEach((a, i) => report.text(`=== epoch:${i + 1}, train acc:${a.toFixed(4)}, test acc:${tr.testAccList[i].toFixed(4)} ===`));
    report.text(`test acc:${tr.finalTestAcc} (${((Date.now() - t0) / 1000).toFixed(0)} s)`);
    const file = paramsPath(opts, 'deep_convnet', 'deep_convnet_params.ckpt');
    dlfs.saveParams(net, file, { testAcc: tr.finalTestAcc, epochs, dataset: data.dataset });
    report.text(`Saved Network Parameters! (${file})`);
    await figure(report, outDir, 'deep_convnet_loss.svg', 'Training loss (smoothed) per iteration', lines([{ name: 'loss', y: tr.trainLossList.length >= 11 ? dlfs.smoothCurve(tr.trainLossList) : tr.trainLossList }], { xLabel: 'iterations', yLabel: 'loss' }));
    report.check('parameters (book: 123,552)', dlfs.countParams(net.params), 123552);
    // The first and last 5 iterations' mean loss (dropout makes single iterations noisy).
    const mean = (a: number[]) => a.reduce((x, y) => x + y, 0) / a.length;
    const L = tr.trainLossList;
    const first = mean(L.slice(0, 5));
    const last = mean(L.slice(-5));
    report.text(`training loss: first 5 iterations ${first.toFixed(4)}, last 5 ${last.toFixed(4)}`);
    if (opts.quick) {
      report.check('quick run: the training loss falls (last 5 iterations vs first 5)', last, `< ${(first - 0.1).toFixed(3)}`, { ok: last < first - 0.1, digits: 4 });
      report.check('quick run learns (test accuracy, chance 0.1)', tr.finalTestAcc, '> 0.3', { ok: tr.finalTestAcc > 0.3, digits: 4 });
    }
    else if (isFull(data)) {
      const bar = data.dataset === 'mnist' ? 0.98 : 0.88;
      report.check(`test accuracy (book on MNIST ≈0.994; accepted here ≥ ${bar})`, tr.finalTestAcc, `≥ ${bar}`, { ok: tr.finalTestAcc >= bar, digits: 4 });
    }
  },
};

export default script;

if (require.main === module) cnnMain(script, 'DLFS ch08 train_deepnet');
