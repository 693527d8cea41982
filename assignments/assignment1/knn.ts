import path from 'node:path';
import ndarray from 'ndarray';
import { KNearestNeighbor, crossValidateK } from '../../src/classifiers';
import { RandomState } from '../../src/core/random';
import type { Tensor } from '../../src/core/tensor';
import { progressBar } from '../../src/util/progress';
import { writePng } from '../../src/vis/grid';
import { barSpec, errorBarSpec, writeSvg } from '../../src/vis/plot';
import { main, type AssignmentScript, type ScriptContext } from '../common';
import { frobeniusDiff } from './compare';
import { isFullCifar, showDataSummary } from './dataSummary';
import { accuracy, flattenRows, takeLabels } from './images';
import { fmtNum, fullCifarCheck, KNN_REFERENCE } from './reference';
import { fmtSeconds, timed } from './timing';

/*
 * knn.ipynb as a script: subsample, the three distance routines (checked against each other
 * and timed), k = 1 and k = 5 accuracy, 5-fold cross-validation over k, and the best k on the
 * test set. Run: `npx tsx assignments/assignment1/knn.ts [--data DIR] [--quick]`.
 */

/** The notebook's k values for cross-validation. */
export const K_CHOICES = [1, 3, 5, 8, 10, 12, 15, 20, 50, 100];

/** The notebook's subsample (5000 train / 500 test), and the --quick one. */
const SIZES = { full: { numTraining: 5000, numTest: 500 }, quick: { numTraining: 1000, numTest: 100 } };

const NUM_FOLDS = 5;

/** The distance matrix as a gray image (dark = near), min–max scaled like `plt.imshow`. */
function writeDistanceImage(file: string, dists: Tensor): void {
  const [n, m] = dists.shape;
  let lo = Infinity;
  let hi = -Infinity;
  for (const v of dists.data) {
    if (v < lo) lo = v;
    if (v > hi) hi = v;
  }
  const range = hi - lo || 1;
  const img = new Float64Array(n * m);
  for (let i = 0; i < img.length; i++) img[i] = (255 * (dists.data[i] - lo)) / range;
  writePng(file, ndarray(img, [n, m, 1]));
}

/** max |a − b| / max |b|: the scale-aware error used for float32 backends. */
function maxRelDiff(a: Tensor, b: Tensor): number {
  let m = 0;
  let scale = 0;
  for (let i = 0; i < b.data.length; i++) {
    m = Math.max(m, Math.abs(a.data[i] - b.data[i]));
    scale = Math.max(scale, Math.abs(b.data[i]));
  }
  return scale === 0 ? m : m / scale;
}

function meanStd(xs: number[]): { mean: number; std: number } {
  const mean = xs.reduce((a, b) => a + b, 0) / xs.length;
  const std = Math.sqrt(xs.reduce((a, b) => a + (b - mean) * (b - mean), 0) / xs.length);
  return { mean, std };
}

async function run({ opts, best, report, outDir, backend }: ScriptContext): Promise<void> {
  const ds = best.dataset;
  const rng = new RandomState(opts.seed);
  // Only the notebook's own protocol on the official data reproduces its printed numbers.
  const comparable = isFullCifar(ds) && !opts.quick;
  showDataSummary(ds, report, outDir, rng);

  report.section('Subsample');
  const want = opts.quick ? SIZES.quick : SIZES.full;
  const numTraining = Math.min(want.numTraining, ds.Xtr.shape[0]);
  const numTest = Math.min(want.numTest, ds.Xte.shape[0]);
  const trainRows = { start: 0, end: numTraining };
  const testRows = { start: 0, end: numTest };
  const XTrain = flattenRows(ds.Xtr, trainRows);
  const yTrain = takeLabels(ds.ytr, trainRows);
  const XTest = flattenRows(ds.Xte, testRows);
  const yTest = takeLabels(ds.yte, testRows);
  const clampNote = numTraining < want.numTraining || numTest < want.numTest ? ` (requested ${want.numTraining} / ${want.numTest}; that is all the data has)` : '';
  report.text(`First ${numTraining} training and ${numTest} test images, flattened (HWC order) to float64 rows${clampNote}.`);
  report.text(`X_train: (${XTrain.shape.join(', ')}), X_test: (${XTest.shape.join(', ')})`);

  const knn = new KNearestNeighbor();
  knn.train(XTrain, yTrain);

  report.section('Distances (two loops)');
  const two = timed(() => knn.computeDistancesTwoLoops(XTest));
  const dists = two.value;
  report.text(`dists: (${dists.shape.join(', ')}), computed in ${fmtSeconds(two.seconds)}`);
  writeDistanceImage(path.join(outDir, 'distances.png'), dists);
  report.figure('distances.png', `L2 distances, test points (rows) × training points (columns); dark = near`);

  report.section('Prediction with k = 1 and k = 5');
  for (const [k, ref] of [[1, KNN_REFERENCE.k1Accuracy], [5, KNN_REFERENCE.k5Accuracy]] as const) {
    const acc = accuracy(knn.predictLabels(dists, k), yTest);
    report.text(`k=${k}: got ${acc.correct} / ${acc.total} correct => accuracy: ${acc.accuracy.toFixed(6)}`);
    fullCifarCheck(report, comparable, `k=${k} accuracy`, acc.accuracy, ref, { absTol: 1e-9 });
  }

  report.section('Distances (one loop, no loops)');
  const one = timed(() => knn.computeDistancesOneLoop(XTest));
  const none = timed(() => knn.computeDistancesNoLoops(XTest));
  // The notebook's test: the Frobenius norm of the difference, "Good!" below 0.001.
  report.check('one-loop vs two-loop distances, Frobenius difference', frobeniusDiff(one.value, dists), 0, { lessThan: 0.001 });
  report.check('no-loop vs two-loop distances, Frobenius difference', frobeniusDiff(none.value, dists), 0, { lessThan: 0.001 });
  if (backend) {
    // gpu.js computes in float32, so it is held to float32 tolerance against the Float64 TS path.
    const onBackend = timed(() => knn.computeDistancesNoLoops(XTest, { backend }));
    report.check(`no-loop distances on ${backend.mode} vs the TS path, max difference / max distance`, maxRelDiff(onBackend.value, none.value), 0, { lessThan: 1e-3 });
    report.text(`no loops on ${backend.mode}: ${fmtSeconds(onBackend.seconds)} (TS path ${fmtSeconds(none.seconds)})`);
  }
  const timings = [
    { label: 'two loops', value: two.seconds },
    { label: 'one loop', value: one.seconds },
    { label: 'no loops', value: none.seconds },
  ];
  report.table(
    ['version', 'seconds', 'speed-up over two loops'],
    timings.map((t) => [t.label, Number(t.value.toPrecision(3)), `${(two.seconds / t.value).toFixed(1)}×`]),
  );
  report.text(`(one run each on ${numTest} × ${numTraining}; notebook solutions in numpy: two loops 28–90 s, one loop 27–67 s, no loops 0.4–0.6 s at 500 × 5000)`);
  await writeSvg(path.join(outDir, 'timings.svg'), barSpec(timings, { title: `Distance routines, ${numTest} × ${numTraining}`, yLabel: 'seconds (log scale)', logY: true }));
  report.figure('timings.svg', 'Time of the three distance routines');

  report.section('Cross-validation');
  const minTrain = numTraining - Math.ceil(numTraining / NUM_FOLDS);
  const kChoices = K_CHOICES.filter((k) => k <= minTrain);
  const dropped = K_CHOICES.filter((k) => k > minTrain);
  report.text(
    `${NUM_FOLDS}-fold cross-validation on the ${numTraining} training images (np.array_split folds), k in [${kChoices.join(', ')}]` +
      (dropped.length ? `; k = ${dropped.join(', ')} left out: a fold trains on only ${minTrain} images` : ''),
  );
  const bar = progressBar(NUM_FOLDS, { label: 'cross-validation folds' });
  const cv = timed(() => crossValidateK(XTrain, yTrain, { kChoices, numFolds: NUM_FOLDS, onProgress: () => bar.tick() }));
  bar.stop();
  const kToAcc = cv.value;
  report.text(`took ${fmtSeconds(cv.seconds)}`);
  report.table(
    ['k', ...Array.from({ length: NUM_FOLDS }, (_, f) => `fold ${f + 1}`), 'mean', 'std'],
    kChoices.map((k) => {
      const { mean, std } = meanStd(kToAcc[k]);
      return [k, ...kToAcc[k], Number(mean.toFixed(4)), Number(std.toFixed(4))];
    }),
  );
  for (const k of kChoices) {
    const ref = KNN_REFERENCE.cvMeans[k];
    if (ref !== undefined) fullCifarCheck(report, comparable, `cross-validation mean accuracy, k=${k}`, meanStd(kToAcc[k]).mean, ref, { absTol: 5e-5 });
  }
  await writeSvg(
    path.join(outDir, 'cross_validation.svg'),
    errorBarSpec(kChoices.map((k) => ({ x: k, samples: kToAcc[k] })), { title: 'Cross-validation on k', xLabel: 'k', yLabel: 'cross-validation accuracy' }),
  );
  report.figure('cross_validation.svg', 'Accuracy of each fold vs k, with the mean ± standard deviation');

  report.section('Best k on the test set');
  let bestK = kChoices[0];
  for (const k of kChoices) if (meanStd(kToAcc[k]).mean > meanStd(kToAcc[bestK]).mean) bestK = k;
  if (comparable) report.check('best k by cross-validation', bestK, KNN_REFERENCE.bestK);
  else report.text(`best k by cross-validation: ${bestK} (full-CIFAR reference ${KNN_REFERENCE.bestK}; not comparable on this data)`);
  const final = new KNearestNeighbor();
  final.train(XTrain, yTrain);
  const accBest = accuracy(final.predict(XTest, { k: bestK }), yTest);
  report.text(`k=${bestK}: got ${accBest.correct} / ${accBest.total} correct => accuracy: ${accBest.accuracy.toFixed(6)}`);
  fullCifarCheck(report, comparable, `best k (${bestK}) test accuracy`, accBest.accuracy, KNN_REFERENCE.bestKAccuracy, { absTol: 1e-9 });
  report.text(`chance level with ${ds.classNames.length} classes: ${fmtNum(1 / ds.classNames.length)}`);
}

/** knn.ipynb. */
export const script: AssignmentScript = {
  name: 'knn',
  title: 'k-Nearest Neighbor (kNN)',
  description: 'knn.ipynb: the three L2 distance routines (checked against each other and timed), k = 1 and 5, 5-fold cross-validation over k',
  usesBackend: true,
  run,
};

export default script;

if (require.main === module) main(script);
