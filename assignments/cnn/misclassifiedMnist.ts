/**
 * Deep Learning from Scratch ch08/misclassified_mnist.py: the trained DeepConvNet (the book's
 * deep_convnet_params.pkl, here what deep_convnet saved) over the whole test set in batches of
 * 100 (test mode), the test accuracy, and the first 20 misclassified images in a 4×5 grid with
 * each one's label and inference (Figure 8-3).
 *
 *   npx tsx assignments/cnn/misclassifiedMnist.ts [--dataset mnist|fashion-mnist] [--quick] [--out DIR] [--seed N]
 */
import { sliceRows, takeRows } from '../../src/core/tensor';
import type { AssignmentScript } from '../common';
import { writeImageGrid } from './figures';
import { cnnMain, isFull, loadBookData, trainedDeepConvNet } from './shared';

export const script: AssignmentScript = {
  name: 'misclassified_mnist',
  title: 'ch08 misclassified_mnist: the DeepConvNet\'s mistakes',
  description: 'The DeepConvNet\'s first 20 mistakes on the test set',
  async run(ctx) {
    const { opts, report, outDir } = ctx;
    const data = loadBookData(opts, { flatten: false, maxTrain: 1, maxTest: opts.quick ? 500 : undefined });
    report.text(data.description);
    const net = trainedDeepConvNet(ctx);
    report.text('calculating test accuracy ... ');
    const N = data.xTest.shape[0];
    const wrong: Array<{ index: number; label: number; inference: number }> = [];
    for (let s = 0; s < N; s += 100) {
      const y = net.predict(sliceRows(data.xTest, s, Math.min(N, s + 100)), false);
      const C = y.shape[1];
      for (let i = 0; i < y.shape[0]; i++) {
        let best = 0;
        for (let j = 1; j < C; j++) if (y.get(i, j) > y.get(i, best)) best = j;
        const label = data.tTest.get(s + i);
        if (best !== label) wrong.push({ index: s + i, label, inference: best });
      }
    }
    const acc = 1 - wrong.length / N;
    report.text(`test accuracy:${acc}`);
    const shown = wrong.slice(0, 20);
    const name = (c: number) => (data.dataset === 'mnist' ? String(c) : `${c} ${data.classNames[c]}`);
    report.text('======= misclassified result =======');
    report.text('{view index: (label, inference), ...}');
    report.table(['view index', 'test index', 'label', 'inference'], shown.map((w, k) => [k + 1, w.index, name(w.label), name(w.inference)]));
    if (shown.length) {
      writeImageGrid(report, outDir, 'misclassified.png', `The first ${shown.length} misclassified test images, row by row (view index 1–${shown.length}; labels and inferences in the table) (book Figure 8-3)`, takeRows(data.xTest, shown.map((w) => w.index)), 5, 3);
    }
    const perClass = new Array<number>(10).fill(0);
    for (const w of wrong) perClass[w.label]++;
    report.table(['true class', 'misclassified'], perClass.map((c, k) => [name(k), c]));
    // Two routes to the same number: the argmax loop above and the net's own accuracy().
    const viaNet = net.accuracy(data.xTest, data.tTest);
    report.check('accuracy from the misclassified list = network.accuracy', acc, viaNet, { absTol: 1e-12 });
    if (shown.length) {
      const again = net.predictLabels(takeRows(data.xTest, shown.map((w) => w.index))).labels;
      const agree = shown.filter((w, k) => again[k] === w.inference && w.inference !== w.label).length;
      report.check('shown images: predictLabels gives the same wrong inference', agree, shown.length);
    }
    if (!opts.quick && isFull(data)) {
      const bar = data.dataset === 'mnist' ? 0.98 : 0.88;
      report.check(`test accuracy (book on MNIST ≈0.994; accepted here ≥ ${bar})`, acc, `≥ ${bar}`, { ok: acc >= bar, digits: 4 });
    }
  },
};

export default script;

if (require.main === module) cnnMain(script, 'DLFS ch08 misclassified_mnist');
