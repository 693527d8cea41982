/**
 * Deep Learning from Scratch ch07/apply_filter.py: 16 of SimpleConvNet's learned conv1
 * filters applied, each alone with bias 0 (the book's `Convolution(w, 0)`), to an image; the
 * responses in a 4×4 grid. The book uses dataset/lena_gray.png, which cannot be shipped here:
 * the script uses a test image it draws itself (flat shapes with vertical, horizontal, diagonal
 * and curved edges, so each filter's preferred orientation shows) and the first --dataset test
 * image.
 *
 *   npx tsx assignments/cnn/applyFilter.ts [--dataset mnist|fashion-mnist] [--quick] [--out DIR] [--seed N]
 */
import ndarray from 'ndarray';
import { zeros, type Tensor } from '../../src/core/tensor';
import * as dlfs from '../../src/dlfs';
import type { AssignmentScript } from '../common';
import { writeImageGrid } from './figures';
import { cnnMain, loadBookData, rngFor, trainedSimpleConvNet } from './shared';

/**
 * The stand-in for lena_gray.png: a 64×64 image in [0, 1] — background 0.1, a square (0.6,
 * vertical and horizontal edges), a disc (0.9, every orientation) and a diagonal bar (0.8).
 */
export function testImage(): Tensor {
  const S = 64;
  const img = zeros([1, 1, S, S]);
  for (let y = 0; y < S; y++) {
    for (let x = 0; x < S; x++) {
      let v = 0.1;
      if (y >= 34 && y < 58 && x >= 6 && x < 30) v = 0.6;
      if ((y - 18) ** 2 + (x - 44) ** 2 <= 11 ** 2) v = 0.9;
      if (Math.abs(y - x) <= 2 && y < 28 && x < 28) v = 0.8;
      img.set(0, 0, y, x, v);
    }
  }
  return img;
}

/** One output pixel of a stride-1, unpadded cross-correlation, summed directly (the independent check). */
function directResponse(img: Tensor, w: Tensor, f: number, oy: number, ox: number): number {
  let s = 0;
  for (let y = 0; y < w.shape[2]; y++) for (let x = 0; x < w.shape[3]; x++) s += img.get(0, 0, oy + y, ox + x) * w.get(f, 0, y, x);
  return s;
}

export const script: AssignmentScript = {
  name: 'apply_filter',
  title: 'ch07 apply_filter: learned conv1 filters applied to an image',
  description: 'Learned conv1 filters applied to an image',
  async run(ctx) {
    const { opts, report, outDir } = ctx;
    const data = loadBookData(opts, { flatten: false, maxTrain: 1, maxTest: 1 });
    report.text(data.description);
    report.text('The book applies the filters to lena_gray.png, which is not shipped here; a drawn test image and a dataset image stand in.');
    const W1 = trainedSimpleConvNet(ctx).params.W1;
    const nFilters = 16;
    const images: Array<[string, string, Tensor]> = [
      ['drawn test image (square, disc, diagonal bar)', 'drawn', testImage()],
      [`${data.dataset} test image 0`, data.dataset, ndarray(Float64Array.from(data.xTest.data.subarray(0, 28 * 28)), [1, 1, 28, 28])],
    ];
    const pick = rngFor(opts, 3);
    for (const [label, tag, img] of images) {
      writeImageGrid(report, outDir, `apply_filter_input_${tag}.png`, `Input: ${label}`, img, 1, 4);
      const outs: Tensor[] = [];
      let worst = 0;
      for (let f = 0; f < nFilters; f++) {
        // The book: one filter as a (1, 1, 5, 5) weight, bias 0.
        const w = ndarray(Float64Array.from(W1.data.subarray(f * 25, (f + 1) * 25)), [1, 1, 5, 5]);
        const out = new dlfs.Convolution(w, ndarray(new Float64Array(1), [1])).forward(img);
        outs.push(out);
        for (let k = 0; k < 20; k++) {
          const oy = pick.randint(0, out.shape[2]);
          const ox = pick.randint(0, out.shape[3]);
          const d = directResponse(img, w, 0, oy, ox);
          worst = Math.max(worst, Math.abs(out.get(0, 0, oy, ox) - d) / Math.max(Math.abs(d), 1e-12));
        }
      }
      const [, , H, Wd] = outs[0].shape;
      const stack = zeros([nFilters, 1, H, Wd]);
      outs.forEach((o, f) => stack.data.set(o.data, f * H * Wd));
      writeImageGrid(report, outDir, `apply_filter_${tag}.png`, `Responses of conv1 filters 0–15 to the ${label}, each scaled to its own range (book Figure 7-25 on lena_gray.png)`, stack, 4, 3);
      report.check(`${label}: Convolution output = direct sum of products (worst relative error, 320 pixels)`, worst, '< 1e-12', { ok: worst < 1e-12, digits: 3 });
      if (tag === 'drawn') {
        // Inside the square every 5×5 window is flat (0.6), so each response there is 0.6·Σw.
        let flatWorst = 0;
        outs.forEach((o, f) => {
          let sw = 0;
          for (let i = 0; i < 25; i++) sw += W1.data[f * 25 + i];
          flatWorst = Math.max(flatWorst, Math.abs(o.get(0, 0, 40, 12) - 0.6 * sw));
        });
        report.check('flat region: every response equals 0.6·Σw (the filter sees no edge)', flatWorst, '< 1e-12', { ok: flatWorst < 1e-12, digits: 3 });
      }
    }
  },
};

export default script;

if (require.main === module) cnnMain(script, 'DLFS ch07 apply_filter');
