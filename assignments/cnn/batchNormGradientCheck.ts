/**
 * Deep Learning from Scratch ch06/batch_norm_gradient_check.py: a 784-100-100-10 net with
 * batch normalisation on one training image; backprop against the numerical gradient, mean
 * absolute difference per parameter.
 *
 *   npx tsx assignments/cnn/batchNormGradientCheck.ts [--dataset mnist|fashion-mnist] [--quick] [--out DIR] [--seed N]
 */
import ndarray from 'ndarray';
import * as dlfs from '../../src/dlfs';
import type { AssignmentScript } from '../common';
import { cnnMain, loadBookData, rngFor } from './shared';

export const script: AssignmentScript = {
  name: 'batch_norm_gradient_check',
  title: 'ch06 batch_norm_gradient_check: backprop vs numerical gradient with batch norm',
  description: 'Backprop vs numerical gradient with batch norm',
  async run({ opts, report }) {
    const data = loadBookData(opts, { flatten: true, maxTrain: 2, maxTest: 1 });
    report.text(data.description);
    // --quick checks a 784-20-20-10 net (the same layers, 6× fewer numerical differences).
    const hidden = opts.quick ? [20, 20] : [100, 100];
    const net = new dlfs.MultiLayerNetExtend({ inputSize: 784, hiddenSizeList: hidden, outputSize: 10, useBatchnorm: true, rng: rngFor(opts, 1) });
    // The book's one image: with N = 1 every normalised value is 0, so each BN layer outputs
    // beta (= 0 at init), exactly at the ReLU kink: the numerical gradient of beta there is the
    // average of the two one-sided slopes, backprop's is 0 (the book's own run shows the same).
    // Two images take the check off the kink.
    for (const n of [1, 2]) {
      const x = ndarray(data.xTrain.data.slice(0, 784 * n), [n, 784]);
      const t = data.tTrain.hi(n);
      const num = net.numericalGradient(x, t);
      const back = net.gradient(x, t);
      for (const k of Object.keys(num)) {
        let s = 0;
        for (let i = 0; i < num[k].data.length; i++) s += Math.abs(back[k].data[i] - num[k].data[i]);
        const diff = s / num[k].data.length;
        if (n === 1 && k.startsWith('beta')) {
          report.text(`${n} image: ${k}: mean |backprop − numerical| = ${diff.toExponential(3)} (at the ReLU kink, see the comment)`);
          continue;
        }
        // 1e-6: the 1e-7 the book adds inside the log shifts the numerical gradient by ~1e-7.
        report.check(`${n} image${n > 1 ? 's' : ''}: ${k}: mean |backprop − numerical|`, diff, '< 1e-6', { ok: diff < 1e-6, digits: 3 });
      }
    }
  },
};

export default script;

if (require.main === module) cnnMain(script, 'DLFS ch06 batch_norm_gradient_check');
