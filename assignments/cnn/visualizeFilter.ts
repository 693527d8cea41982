/**
 * Deep Learning from Scratch ch07/visualize_filter.py: the 30 conv1 filters (5×5) of
 * SimpleConvNet before training (the random init) and after (the weights ch07/train_convnet
 * saved, the book's params.pkl), 8 per row, each scaled to its own min–max in gray (Figure 7-24).
 *
 *   npx tsx assignments/cnn/visualizeFilter.ts [--dataset mnist|fashion-mnist] [--quick] [--out DIR] [--seed N]
 */
import type { Tensor } from '../../src/core/tensor';
import type { AssignmentScript } from '../common';
import { writeFilterGrid } from './figures';
import { bookSimpleConvNet, cnnMain, trainedSimpleConvNet } from './shared';

/**
 * Mean correlation of horizontally and vertically adjacent weights within each filter of W
 * `(F, C, k, k)`: ≈0 for independent random weights, positive for the smooth edge and blob
 * detectors training produces.
 */
export function neighbourCorrelation(W: Tensor): number {
  const [F, C, kh, kw] = W.shape;
  let total = 0;
  for (let f = 0; f < F; f++) {
    for (let c = 0; c < C; c++) {
      let mean = 0;
      for (let y = 0; y < kh; y++) for (let x = 0; x < kw; x++) mean += W.get(f, c, y, x);
      mean /= kh * kw;
      let num = 0;
      let pairs = 0;
      let varSum = 0;
      for (let y = 0; y < kh; y++) {
        for (let x = 0; x < kw; x++) {
          const v = W.get(f, c, y, x) - mean;
          varSum += v * v;
          if (x + 1 < kw) {
            num += v * (W.get(f, c, y, x + 1) - mean);
            pairs++;
          }
          if (y + 1 < kh) {
            num += v * (W.get(f, c, y + 1, x) - mean);
            pairs++;
          }
        }
      }
      total += varSum > 0 ? num / pairs / (varSum / (kh * kw)) : 0;
    }
  }
  return total / (F * C);
}

export const script: AssignmentScript = {
  name: 'visualize_filter',
  title: 'ch07 visualize_filter: conv1 filters before and after training',
  description: 'Conv1 filters before and after training',
  async run(ctx) {
    const { report, outDir, opts } = ctx;
    const before = bookSimpleConvNet(opts).params.W1;
    const after = trainedSimpleConvNet(ctx).params.W1;
    writeFilterGrid(report, outDir, 'filters_before.png', 'The 30 conv1 filters before training (random, weight_init_std 0.01)', before, 8);
    writeFilterGrid(report, outDir, 'filters_after.png', 'The 30 conv1 filters after training: edge and blob detectors (book Figure 7-24, right)', after, 8);
    const rb = neighbourCorrelation(before);
    const ra = neighbourCorrelation(after);
    report.text(`neighbouring-weight correlation within a filter: before ${rb.toFixed(3)}, after ${ra.toFixed(3)}`);
    report.check('random filters: neighbouring weights uncorrelated', rb, '|r| < 0.15', { ok: Math.abs(rb) < 0.15, digits: 3 });
    // --quick trains for 20 Adam steps: the structure has only begun to form.
    const margin = opts.quick ? 0.05 : 0.2;
    report.check('trained filters are smoother than random ones (neighbouring weights correlated)', ra, `> ${(rb + margin).toFixed(3)}`, { ok: ra > rb + margin, digits: 3 });
    let moved = 0;
    for (let i = 0; i < after.data.length; i++) moved += (after.data[i] - before.data[i]) ** 2;
    let norm = 0;
    for (const v of before.data) norm += v * v;
    report.check('training moved the filters (‖W1 − W1₀‖ / ‖W1₀‖)', Math.sqrt(moved / norm), '> 0.5', { ok: Math.sqrt(moved / norm) > 0.5, digits: 3 });
  },
};

export default script;

if (require.main === module) cnnMain(script, 'DLFS ch07 visualize_filter');
