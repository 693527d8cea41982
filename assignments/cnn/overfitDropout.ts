/**
 * Deep Learning from Scratch ch06/overfit_dropout.py: a 784-100×6-10 MultiLayerNetExtend with
 * dropout (ratio 0.2) on 300 images, trained by the Trainer (SGD lr 0.01, batch 100, 301
 * epochs); train and test accuracy curves (Figure 6-23). The same net without dropout is
 * trained too, for the comparison the book's two figures make.
 *
 *   npx tsx assignments/cnn/overfitDropout.ts [--dataset mnist|fashion-mnist] [--quick] [--out DIR] [--seed N]
 */
import * as dlfs from '../../src/dlfs';
import type { AssignmentScript } from '../common';
import { figure, lines } from './figures';
import { cnnMain, loadBookData, rngFor } from './shared';

export const script: AssignmentScript = {
  name: 'overfit_dropout',
  title: 'ch06 overfit_dropout: dropout 0.2 on 300 images',
  description: 'Dropout 0.2 on 300 images',
  async run({ opts, report, outDir }) {
    const data = loadBookData(opts, { flatten: true, maxTrain: 300, maxTest: opts.quick ? 500 : undefined });
    report.text(data.description);
    // --quick: 100 epochs, by which the plain net has (nearly) memorised the 300 images while
    // the dropout net, which learns several times slower, is well above chance.
    const epochs = opts.quick ? 100 : 301;
    const fin = (a: number[]) => a[a.length - 1];
    const gaps: number[] = [];
    const trains: number[] = [];
    const rises: number[] = [];
    for (const [i, useDropout] of [true, false].entries()) {
      const net = new dlfs.MultiLayerNetExtend({ inputSize: 784, hiddenSizeList: [100, 100, 100, 100, 100, 100], outputSize: 10, useDropout, dropoutRatio: 0.2, rng: rngFor(opts, 1) });
      const tr = new dlfs.Trainer(net, data.xTrain, data.tTrain, data.xTest, data.tTest, { epochs, miniBatchSize: 100, optimizer: 'sgd', optimizerParam: { lr: 0.01 }, verbose: false, rng: rngFor(opts, 10 + i) });
      tr.train();
      const label = useDropout ? 'dropout 0.2' : 'no dropout';
      report.text(`${label}: final train acc ${fin(tr.trainAccList).toFixed(4)}, test acc ${fin(tr.testAccList).toFixed(4)} (test acc on the whole test set ${tr.finalTestAcc.toFixed(4)})`);
      gaps.push(fin(tr.trainAccList) - fin(tr.testAccList));
      trains.push(fin(tr.trainAccList));
      rises.push(fin(tr.trainAccList) - tr.trainAccList[0]);
      await figure(report, outDir, `overfit_${useDropout ? 'dropout' : 'baseline'}.svg`, `Train and test accuracy, ${label}${useDropout ? ' (book Figure 6-23, right)' : ''}`, lines([{ name: 'train', y: tr.trainAccList }, { name: 'test', y: tr.testAccList }], { xLabel: 'epochs', yLabel: 'accuracy', yMin: 0, yMax: 1 }));
    }
    report.check('without dropout the net overfits (train − test accuracy)', gaps[1], '> 0.15', { ok: gaps[1] > 0.15, digits: 3 });
    // Non-inverted dropout scales every layer's signal by 0.8 in training, forward and backward,
    // so this 6-hidden-layer net learns several times slower (on Fashion-MNIST, ~0.2 after 100 epochs).
    report.check('with dropout the net learns (rise of its train accuracy over the run)', rises[0], '> 0.05', { ok: rises[0] > 0.05, digits: 3 });
    report.check('dropout shrinks the train–test gap to under half the plain net\'s', gaps[0], `< ${(gaps[1] / 2).toFixed(3)}`, { ok: gaps[0] < gaps[1] / 2, digits: 3 });
    report.check('with dropout the training accuracy stays below the plain net\'s (and below 1)', trains[0], `< ${Math.min(trains[1], 1).toFixed(3)}`, { ok: trains[0] < Math.min(trains[1], 1), digits: 3 });
  },
};

export default script;

if (require.main === module) cnnMain(script, 'DLFS ch06 overfit_dropout');
