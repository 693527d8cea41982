import type { ImageDataset } from '../../src/data/dataset';
import { isFullCifar } from './dataSummary';

/*
 * What the two-layer-net and features notebooks reach on the full CIFAR-10
 * (reference/cs231n-assignments.md §4.1, §5). Checked only on the official 50000/10000 data
 * without --quick (see fullCifarCheck); elsewhere printed beside ours.
 */

/** Accuracy targets and the bands accepted for them. */
export const NET_REFERENCE = {
  /** Default run (H 50, 1000 iterations, lr 1e-4, reg 0.25): ≈ 0.29 (0.287 and 0.281 in solutions). */
  defaultVal: '≈ 0.29 (0.281–0.287 in the solutions)',
  defaultValBand: [0.25, 0.33] as [number, number],
  /** Tuned: > 48% validation and test ("our best network gets over 52%"); solutions 0.500–0.535. */
  tunedVal: '> 0.48 (solutions 0.500–0.535)',
  tunedTest: '> 0.48 (solutions 0.505–0.532)',
  tunedBand: [0.48, 0.65] as [number, number],
} as const;

/** features.ipynb targets. */
export const FEATURES_REFERENCE = {
  /** Features + linear SVM: val ≈ 0.44, test ≥ 0.40 (solutions 0.424–0.497). */
  svmVal: '≈ 0.44',
  svmValBand: [0.38, 0.6] as [number, number],
  svmTest: '≥ 0.40 (solutions 0.424–0.497)',
  svmTestBand: [0.4, 0.6] as [number, number],
  /** Features + two-layer net: test > 0.55 (solutions 0.553–0.592, "about 60%" possible). */
  netTest: '> 0.55 (solutions 0.553–0.592)',
  netTestBand: [0.55, 0.7] as [number, number],
} as const;

/**
 * Whether the notebook's accuracy numbers can be checked on this run (the full CIFAR-10 without
 * --quick), and otherwise the line that says why they are only printed.
 */
export function comparability(ds: ImageDataset, quick: boolean): { comparable: boolean; note: string | null } {
  if (isFullCifar(ds) && !quick) return { comparable: true, note: null };
  return {
    comparable: false,
    note: isFullCifar(ds)
      ? "Full CIFAR-10 but --quick: the notebook's accuracy references are printed beside ours, not checked."
      : "This is not the full CIFAR-10 (50000/10000): the notebook's accuracy references are printed beside ours for orientation, not checked — they are not comparable on this data.",
  };
}
