import type { CheckOptions, Report } from '../../src/vis/report';

/*
 * Numbers the cs231n notebooks print on the full CIFAR-10 (reference/cs231n-assignments.md
 * §1, §4.1, §5). They are checked only when the run uses exactly the notebook's data (the
 * official 50000/10000 set, not --quick); on any other data they are printed beside ours,
 * because a different subset or dataset gives different, equally correct, numbers.
 */

/** kNN on the first 5000 train / 500 test images (knn.ipynb). */
export const KNN_REFERENCE = {
  k1Accuracy: 0.274,
  k5Accuracy: 0.278,
  /** Mean 5-fold cross-validation accuracy per k (5000 training images). */
  cvMeans: { 1: 0.2656, 3: 0.2496, 5: 0.2732, 8: 0.276, 10: 0.2802, 12: 0.2794, 15: 0.275, 20: 0.279, 50: 0.2744, 100: 0.2616 } as Record<number, number>,
  bestK: 10,
  bestKAccuracy: 0.282,
} as const;

/** First ten entries of the mean image of the 49000-image training split (svm.ipynb). */
export const MEAN_IMAGE_HEAD = [
  130.64189796, 135.98173469, 132.47391837, 130.05569388, 135.34804082, 131.75402041, 130.96055102, 136.14328571, 132.47636735, 131.48467347,
];

/** Accuracy bands the solution notebooks reach with raw pixels (§5). */
export const LINEAR_REFERENCE = {
  /** Notebook target val ≈ 0.39; solutions reach val 0.383–0.406, test 0.370–0.382. */
  svm: { val: '≈ 0.39', valBand: [0.36, 0.45] as [number, number], test: '0.370–0.382 in the solutions', testBand: [0.35, 0.42] as [number, number] },
  /** Notebook target val > 0.35; solutions reach val 0.346–0.405, test 0.336–0.392. */
  softmax: { val: '> 0.35', valBand: [0.33, 0.45] as [number, number], test: '0.336–0.392 in the solutions', testBand: [0.32, 0.42] as [number, number] },
} as const;

/** A number as the report prints it (up to 6 significant digits). */
export function fmtNum(v: number): string {
  if (Number.isInteger(v)) return String(v);
  const a = Math.abs(v);
  return a !== 0 && (a < 1e-4 || a >= 1e6) ? v.toExponential(5) : String(Number(v.toPrecision(6)));
}

/**
 * A check against a full-CIFAR reference when `comparable`, else one text line with both
 * numbers, e.g. `k=1 accuracy: 0.236 (full-CIFAR reference 0.274; not comparable on this data)`.
 */
export function fullCifarCheck(report: Report, comparable: boolean, name: string, ours: number, ref: number | string, opts: CheckOptions): void {
  if (comparable && typeof ref === 'string' && opts.between) {
    // Report.check compares a string reference as text, so judge the band here.
    const [lo, hi] = opts.between;
    report.check(name, ours, `${ref}, accepted ${fmtNum(lo)}…${fmtNum(hi)}`, { ok: ours >= lo && ours <= hi });
  } else if (comparable) report.check(name, ours, ref, opts);
  else report.text(`${name}: ${fmtNum(ours)} (full-CIFAR reference ${typeof ref === 'number' ? fmtNum(ref) : ref}; not comparable on this data)`);
}
