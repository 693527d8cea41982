/**
 * Deep Learning from Scratch ch. 8 (data augmentation, text only in the book: Figure 8-4 shows
 * a digit rotated and shifted, and the text names crop, flip and brightness): each
 * augmentation applied to the first four --dataset training images, one column per
 * augmentation, drawn as they are (no per-image rescaling, so brightness shows). Translation
 * and flip are src/training/transforms.ts's randomCrop (zero padding 4, crop back to 28×28)
 * and randomHorizontalFlip; rotation, zoomed crop and brightness are ./augment.ts.
 *
 *   npx tsx assignments/cnn/augmentation.ts [--dataset mnist|fashion-mnist] [--quick] [--out DIR] [--seed N]
 */
import { concatRows, copy, sliceRows, type Tensor } from '../../src/core/tensor';
import { randomCrop, randomHorizontalFlip, type Transform } from '../../src/training/transforms';
import type { AssignmentScript } from '../common';
import { randomBrightness, randomRotation, randomZoomCrop, rotate } from './augment';
import { writeImageGrid } from './figures';
import { cnnMain, loadBookData, rngFor } from './shared';

/** Largest |a − b| over two same-shaped arrays. */
function maxDiff(a: Tensor, b: Tensor): number {
  let m = 0;
  for (let i = 0; i < a.data.length; i++) m = Math.max(m, Math.abs(a.data[i] - b.data[i]));
  return m;
}

/** Is `y` (1, 1, H, W) exactly `x` shifted by some (dy, dx) with |dy|, |dx| ≤ k and zeros shifted in? */
function isShiftOf(x: Tensor, y: Tensor, k: number): [number, number] | null {
  const [, , H, W] = x.shape;
  for (let dy = -k; dy <= k; dy++) {
    for (let dx = -k; dx <= k; dx++) {
      let same = true;
      for (let i = 0; i < H && same; i++) {
        for (let j = 0; j < W && same; j++) {
          const si = i - dy;
          const sj = j - dx;
          const want = si >= 0 && si < H && sj >= 0 && sj < W ? x.get(0, 0, si, sj) : 0;
          same = y.get(0, 0, i, j) === want;
        }
      }
      if (same) return [dy, dx];
    }
  }
  return null;
}

export const script: AssignmentScript = {
  name: 'augmentation',
  title: 'ch08 data augmentation: rotation, translation, crop, flip, brightness',
  description: 'Rotation, translation, crop, flip, brightness',
  async run({ opts, report, outDir }) {
    const data = loadBookData(opts, { flatten: false, maxTrain: 4, maxTest: 1 });
    report.text(data.description);
    const x = data.xTrain;
    const N = x.shape[0];
    const rng = rngFor(opts, 1);
    const columns: Array<[string, Transform]> = [
      ['rotation ±30°', randomRotation(30)],
      ['translation ±4 px (randomCrop 28, padding 4)', randomCrop(28, 4)],
      ['zoomed crop (70–100% of the side)', randomZoomCrop(0.7)],
      ['horizontal flip', randomHorizontalFlip(1)],
      ['brightness ×0.4–1.6', randomBrightness(0.4, 1.6)],
    ];
    const outs = columns.map(([, t]) => copy(t(copy(x), rng)));
    // Grid rows = images, columns = original then each augmentation.
    const tiles: Tensor[] = [];
    for (let n = 0; n < N; n++) for (const img of [x, ...outs]) tiles.push(sliceRows(img, n, n + 1));
    report.table(['column', 'augmentation'], ['original', ...columns.map(([name]) => name)].map((name, i) => [i + 1, name]));
    writeImageGrid(report, outDir, 'augmentation.png', `The first ${N} ${data.dataset} training images (rows): original, then ${columns.map(([name]) => name).join(', ')} (columns)`, concatRows(tiles), columns.length + 1, 4, true);

    // Checks: each augmentation is the transform it claims to be.
    const one = sliceRows(x, 0, 1);
    report.check('rotation by 0° is the identity', maxDiff(rotate(one, () => 0), one), 1e-15, { lessThan: 1e-15, digits: 3 });
    const r90 = rotate(one, () => 90);
    let rot90Err = 0;
    const W = one.shape[3];
    for (let i = 0; i < W; i++) for (let j = 0; j < W; j++) rot90Err = Math.max(rot90Err, Math.abs(r90.get(0, 0, i, j) - one.get(0, 0, j, W - 1 - i)));
    report.check('rotation by 90° = numpy rot90 (out[i][j] = in[j][W−1−i])', rot90Err, 1e-12, { lessThan: 1e-12, digits: 3 });
    let shifts = 0;
    for (let n = 0; n < N; n++) if (isShiftOf(sliceRows(x, n, n + 1), sliceRows(outs[1], n, n + 1), 4)) shifts++;
    report.check('each translated image is the original shifted by ≤ 4 px, zeros shifted in', shifts, N);
    report.check('zoomed crop of 100% is the identity', maxDiff(randomZoomCrop(1)(copy(one), rng), one), 1e-15, { lessThan: 1e-15, digits: 3 });
    let flipErr = 0;
    for (let i = 0; i < W; i++) for (let j = 0; j < W; j++) flipErr = Math.max(flipErr, Math.abs(outs[3].get(0, 0, i, j) - one.get(0, 0, i, W - 1 - j)));
    report.check('flip mirrors the columns exactly', flipErr, 0, { absTol: 0 });
    // Brightness: one factor per image — unclipped pixels all share the same ratio to the original.
    let ratioSpread = 0;
    let inRange = true;
    for (let n = 0; n < N; n++) {
      const ratios: number[] = [];
      for (let i = 0; i < W * W; i++) {
        const a = x.data[n * W * W + i];
        const b = outs[4].data[n * W * W + i];
        inRange &&= b >= 0 && b <= 1;
        if (a > 0.05 && b < 1) ratios.push(b / a);
      }
      if (ratios.length) ratioSpread = Math.max(ratioSpread, Math.max(...ratios) - Math.min(...ratios));
    }
    report.check('brightness: one factor per image (spread of output/input over unclipped pixels)', ratioSpread, 1e-12, { lessThan: 1e-12, digits: 3 });
    report.check('brightness: every pixel stays in [0, 1]', inRange ? 'yes' : 'no', 'yes', { ok: inRange });
    report.check('the augmented images differ from the originals (each column)', outs.filter((o) => maxDiff(o, x) > 0.05).length, columns.length);
  },
};

export default script;

if (require.main === module) cnnMain(script, 'DLFS ch08 data augmentation');
