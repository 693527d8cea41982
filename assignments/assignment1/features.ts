import path from 'node:path';
import { LinearSVM } from '../../src/classifiers';
import { RandomState } from '../../src/core/random';
import type { ByteTensor, IntTensor, Tensor } from '../../src/core/tensor';
import { planCifarSplit } from '../../src/data/cifarSplits';
import { appendBias, extractFeatures, normalizeFeatures } from '../../src/features';
import { heatmapSpec, writeSvg } from '../../src/vis/plot';
import type { Report } from '../../src/vis/report';
import { main, type AssignmentScript, type ScriptContext } from '../common';
import { NUM_COLOR_BINS, notebookFeatureDim, notebookFeatureFns } from './featureFns';
import { fmtParam, gridOf, searchSettings } from './gridSearch';
import { accuracy, imageShape, takeLabels } from './images';
import { writeMisclassified } from './misclassified';
import { comparability, FEATURES_REFERENCE } from './netReference';
import { describeSettings, netAccuracy, trainNet, type NetSettings } from './netTraining';
import { fmtNum, fullCifarCheck } from './reference';
import { fmtSeconds, timed } from './timing';

/*
 * features.ipynb as a script: HOG and hue-histogram features of every image, normalised with
 * the training statistics, then a linear SVM and a two-layer net trained on them, and the
 * test images each classifier gets wrong, grouped by the class it wrongly gave them.
 * Run: `npx tsx assignments/assignment1/features.ts [--data DIR] [--quick] [--seed N]`.
 */

/** The notebook's split and the --quick subset. */
const SPLIT = {
  full: { numTraining: 49000, numValidation: 1000, numTest: 1000 },
  quick: { numTraining: 2000, numValidation: 500, numTest: 500 },
};

/**
 * Learning rate × regularization for the SVM on normalised features. The notebook's starter
 * grid (1e-9…1e-7 × 5e4…5e6) only works along its diagonal: there 2·lr·reg is large enough
 * that the weights settle where the L2 term balances the data term at W ≈ 0, which is a
 * class-mean template. With features of unit scale, lr 1e-4…1e-2 and reg 0.01…10 train the SVM
 * proper (on cifar-10-mini: validation 0.42–0.45 across this grid).
 */
export const SVM_GRID = {
  full: { learningRates: [1e-4, 1e-3, 1e-2], regs: [0.01, 0.1, 1, 10], numIters: 1500, batchSize: 200 },
  quick: { learningRates: [1e-3, 1e-2], regs: [0.1, 1], numIters: 300, batchSize: 200 },
};

/**
 * The two-layer net on the features: the notebook's hidden size 500; with std-1e-4 weights and
 * unit-scale inputs the first gradients are tiny, so learning rates of 0.1–1 are needed.
 */
export const FEATURE_NET_SEARCH = {
  full: { axes: { hiddenSize: [500], learningRate: [0.1, 0.3, 1], reg: [1e-3, 5e-3], learningRateDecay: [0.95] }, numIters: 2000, batchSize: 200 },
  quick: { axes: { hiddenSize: [100], learningRate: [0.3, 1], reg: [1e-3], learningRateDecay: [0.95] }, numIters: 300, batchSize: 200 },
} as const;

/** Examples of each wrongly predicted class shown in the mistakes figures. */
const EXAMPLES_PER_CLASS = 8;

interface FeatureSplits {
  /** Normalised features with the bias column (N, F + 1), for the SVM. */
  XTrain: Tensor;
  XVal: Tensor;
  XTest: Tensor;
  /** Normalised features without it (N, F), for the net (it has its own biases). */
  XTrainNet: Tensor;
  XValNet: Tensor;
  XTestNet: Tensor;
  yTrain: IntTensor;
  yVal: IntTensor;
  yTest: IntTensor;
  /** The raw test images (for the mistakes figures). */
  testImages: ByteTensor;
}

async function run({ opts, best, report, outDir }: ScriptContext): Promise<void> {
  const ds = best.dataset;
  const quick = opts.quick;
  const { comparable, note } = comparability(ds, quick);
  const rng = new RandomState(opts.seed);
  const numClasses = ds.classNames.length;

  const data = extractAndNormalize(ds.Xtr, ds.ytr, ds.Xte, ds.yte, report, quick, ds.name, note);
  const chance = 1 / numClasses;

  // ---- linear SVM
  report.section('Train SVM on features');
  const g = quick ? SVM_GRID.quick : SVM_GRID.full;
  report.text(
    `learning rates [${g.learningRates.map(fmtParam).join(', ')}] × regularization strengths [${g.regs.map(fmtParam).join(', ')}], ` +
      `${g.numIters} iterations each, batch ${g.batchSize}; chosen by validation accuracy`,
  );
  const svmSearch = searchSettings('SVM search', gridOf({ learningRate: g.learningRates, reg: g.regs }), (p) => {
    const svm = new LinearSVM();
    svm.train(data.XTrain, data.yTrain, { learningRate: p.learningRate, reg: p.reg, numIters: g.numIters, batchSize: g.batchSize, rng });
    return { model: svm, trainAcc: accuracy(svm.predict(data.XTrain), data.yTrain).accuracy, valAcc: accuracy(svm.predict(data.XVal), data.yVal).accuracy };
  });
  report.table(
    ['learning rate', 'regularization', 'train accuracy', 'val accuracy'],
    svmSearch.results.map((r) => [fmtParam(r.params.learningRate), fmtParam(r.params.reg), Number(r.trainAcc.toFixed(4)), Number(r.valAcc.toFixed(4))]),
  );
  const valGrid = g.learningRates.map((lr) => g.regs.map((reg) => svmSearch.results.find((r) => r.params.learningRate === lr && r.params.reg === reg)?.valAcc ?? NaN));
  await writeSvg(
    path.join(outDir, 'svm_heatmap.svg'),
    heatmapSpec(g.learningRates.map(fmtParam), g.regs.map(fmtParam), valGrid, {
      title: 'SVM on features: validation accuracy',
      yLabel: 'learning rate',
      xLabel: 'regularization strength',
      valueLabel: 'val accuracy',
    }),
  );
  report.figure('svm_heatmap.svg', 'Validation accuracy of the SVM on features over learning rate × regularization strength');
  const svmBest = svmSearch.best;
  const svmParams = `lr ${fmtParam(svmBest.params.learningRate)}, reg ${fmtParam(svmBest.params.reg)}`;
  report.text(`best validation accuracy achieved: ${svmBest.valAcc.toFixed(4)} (${svmParams})`);
  report.check('SVM best validation accuracy, above chance', svmBest.valAcc, `> ${fmtNum(chance)}`, { ok: svmBest.valAcc > chance, digits: 4 });
  fullCifarCheck(report, comparable, 'SVM best validation accuracy', svmBest.valAcc, FEATURES_REFERENCE.svmVal, { between: FEATURES_REFERENCE.svmValBand });
  const svmPred = svmBest.model.predict(data.XTest);
  const svmTest = accuracy(svmPred, data.yTest);
  report.text(`SVM on features, test accuracy: ${svmTest.accuracy.toFixed(4)} (${svmTest.correct} / ${svmTest.total})`);
  fullCifarCheck(report, comparable, 'SVM test accuracy', svmTest.accuracy, FEATURES_REFERENCE.svmTest, { between: FEATURES_REFERENCE.svmTestBand });
  showMistakes(report, outDir, 'misclassified_svm.png', 'SVM', data, svmPred, ds.classNames, rng);

  // ---- two-layer net
  report.section('Neural network on image features');
  const ng = quick ? FEATURE_NET_SEARCH.quick : FEATURE_NET_SEARCH.full;
  const settings: NetSettings[] = gridOf(ng.axes).map((a) => ({ ...a, numIters: ng.numIters, batchSize: ng.batchSize }));
  report.text(
    `input: the ${data.XTrainNet.shape[1]} normalised features without the bias column (the net has its own biases); ` +
      `hidden sizes [${ng.axes.hiddenSize.join(', ')}] × learning rates [${ng.axes.learningRate.map(fmtParam).join(', ')}] × reg [${ng.axes.reg.map(fmtParam).join(', ')}] × ` +
      `decay [${ng.axes.learningRateDecay.map(fmtParam).join(', ')}], ${ng.numIters} iterations each, batch ${ng.batchSize}`,
  );
  const netSplits = { XTrain: data.XTrainNet, yTrain: data.yTrain, XVal: data.XValNet, yVal: data.yVal };
  const netSearch = searchSettings(
    'net search',
    settings,
    (s, step) => {
      const { net } = trainNet(netSplits, numClasses, s, rng, { onStep: step });
      return { model: net, trainAcc: netAccuracy(net, data.XTrainNet, data.yTrain), valAcc: netAccuracy(net, data.XValNet, data.yVal) };
    },
    { stepsPerSetting: ng.numIters },
  );
  report.table(
    ['hidden', 'learning rate', 'reg', 'decay', 'train accuracy', 'val accuracy'],
    netSearch.results.map((r) => [r.params.hiddenSize, fmtParam(r.params.learningRate), fmtParam(r.params.reg), fmtParam(r.params.learningRateDecay), Number(r.trainAcc.toFixed(4)), Number(r.valAcc.toFixed(4))]),
  );
  const netBest = netSearch.best;
  report.text(`best validation accuracy: ${netBest.valAcc.toFixed(4)} (${describeSettings(netBest.params)})`);
  report.check('net best validation accuracy, above chance', netBest.valAcc, `> ${fmtNum(chance)}`, { ok: netBest.valAcc > chance, digits: 4 });
  const netPred = netBest.model.predict(data.XTestNet);
  const netTest = accuracy(netPred, data.yTest);
  report.text(`two-layer net on features, test accuracy: ${netTest.accuracy.toFixed(4)} (${netTest.correct} / ${netTest.total})`);
  fullCifarCheck(report, comparable, 'net test accuracy', netTest.accuracy, FEATURES_REFERENCE.netTest, { between: FEATURES_REFERENCE.netTestBand });
  showMistakes(report, outDir, 'misclassified_net.png', 'two-layer net', data, netPred, ds.classNames, rng);
}

/** Splits the images, extracts and normalises their features, and reports the shapes. */
function extractAndNormalize(
  Xtr: ByteTensor,
  ytr: IntTensor,
  Xte: ByteTensor,
  yte: IntTensor,
  report: Report,
  quick: boolean,
  name: string,
  note: string | null,
): FeatureSplits {
  report.section('Load data');
  const split = planCifarSplit(Xtr.shape[0], Xte.shape[0], quick ? SPLIT.quick : SPLIT.full);
  const { numTraining: nTr, numValidation: nVal, numTest: nTe } = split;
  const [H, W, C] = imageShape(Xtr);
  report.text(`${name}: ${split.note}; images ${H}×${W}×${C}, uint8 (no mean subtraction: features are computed from the raw pixels)`);
  if (note) report.text(note);

  report.section('Extract features');
  report.text(`feature functions: hog_feature (${Math.floor(H / 8)}×${Math.floor(W / 8)} cells of 8×8 pixels, 9 orientation bins) and color_histogram_hsv(nbin=${NUM_COLOR_BINS})`);
  if (C === 1) {
    report.text(
      'Gray images: HOG reads them directly; for the hue histogram each image is replicated to three equal channels, so every pixel has hue 0 ' +
        `and the histogram is [1, 0, …, 0] for every image — ${NUM_COLOR_BINS} constant columns that normalisation turns into zeros. Only HOG informs the classifiers here.`,
    );
  }
  const fns = notebookFeatureFns(NUM_COLOR_BINS);
  const t = timed(() => ({
    train: extractFeatures(Xtr.hi(nTr), fns, { label: 'features (train)' }),
    val: extractFeatures(Xtr.lo(nTr).hi(nVal), fns, { label: 'features (val)' }),
    test: extractFeatures(Xte.hi(nTe), fns, { label: 'features (test)' }),
  }));
  const F = t.value.train.shape[1];
  report.text(`extracted features of ${nTr + nVal + nTe} images in ${fmtSeconds(t.seconds)}`);
  const expected = notebookFeatureDim(H, W, NUM_COLOR_BINS);
  report.text(
    `${Math.floor(H / 8)}·${Math.floor(W / 8)}·9 HOG values + ${NUM_COLOR_BINS} hue bins = ${expected} per image` +
      (H === 32 && W === 32 ? " (the notebook's 154)" : " (the notebook's 154 is for 32×32 images)"),
  );
  report.check('feature dimension', F, expected);

  report.section('Preprocessing');
  // Statistics come from the training features only, as in the notebook.
  const norm = normalizeFeatures(t.value.train, t.value.val, t.value.test);
  const [valNet, testNet] = norm.others;
  const XTrain = appendBias(norm.train);
  report.text(`subtract the training mean of every feature, divide by its training std (constant features: std 0, only centred), append a bias column`);
  report.text(`X_train_feats: (${XTrain.shape.join(', ')})`);
  report.check('feature dimension with the bias column', XTrain.shape[1], expected + 1);
  return {
    XTrain,
    XVal: appendBias(valNet),
    XTest: appendBias(testNet),
    XTrainNet: norm.train,
    XValNet: valNet,
    XTestNet: testNet,
    yTrain: takeLabels(ytr, { start: 0, end: nTr }),
    yVal: takeLabels(ytr, { start: nTr, end: nTr + nVal }),
    yTest: takeLabels(yte, { start: 0, end: nTe }),
    testImages: Xte.hi(nTe) as ByteTensor,
  };
}

function showMistakes(report: Report, outDir: string, file: string, who: string, data: FeatureSplits, pred: IntTensor, classNames: string[], rng: RandomState): void {
  const grid = writeMisclassified(path.join(outDir, file), data.testImages, data.yTest, pred, classNames.length, rng, EXAMPLES_PER_CLASS);
  const counts = grid.perClass.map((p, c) => `${classNames[c]} ${p.length}`).join(', ');
  report.figure(
    file,
    `Test images the ${who} misclassified, one row per predicted class (top to bottom: ${classNames.join(', ')}); each row shows up to ${EXAMPLES_PER_CLASS} images of other classes given that label (shown per row: ${counts})`,
  );
}

/** features.ipynb. */
export const script: AssignmentScript = {
  name: 'features',
  title: 'Image features exercise',
  description: 'features.ipynb: HOG and colour-histogram features, a linear SVM and a two-layer net trained on them',
  run,
};

export default script;

if (require.main === module) main(script);
