import { subRow, divRow } from '../core/broadcast';
import { assertNdim, assertShape, floatDtype, ShapeError, shapeStr } from '../core/check';
import { mean } from '../core/reduce';
import { allocFloat } from '../core/dtype';
import { dtypeOf, fromData, type Tensor } from '../core/tensor';

/*
 * The features notebook's preprocessing: subtract the training mean of every feature, divide
 * by the training standard deviation (numpy's population std), and append a bias column of
 * ones. Statistics are fitted on the training features only and applied unchanged to
 * validation and test features.
 */

/** Per-feature statistics fitted on training features. */
export interface FeatureStats {
  /** Mean of every feature (F,). */
  mean: Tensor;
  /** Standard deviation of every feature (F,); 0 where a feature is constant. */
  std: Tensor;
}

/**
 * Mean and population standard deviation (ddof 0) of every column of `X` (N, F), N ≥ 1. The std
 * is that of the centred data computed as numpy does it (`std(X − mean)`, which centres once more).
 */
export function fitFeatureStats(X: Tensor): FeatureStats {
  floatDtype('X', X);
  assertNdim('X', X, 2);
  if (X.shape[0] === 0) throw new ShapeError(`X: expected at least one row to fit statistics on, got shape ${shapeStr(X.shape)}`);
  const mu = mean(X, 0);
  const centred = subRow(X, mu);
  const again = subRow(centred, mean(centred, 0));
  const sq = again.data;
  for (let i = 0; i < sq.length; i++) sq[i] *= sq[i];
  const std = mean(again, 0);
  const s = std.data;
  for (let j = 0; j < s.length; j++) s[j] = Math.sqrt(s[j]);
  return { mean: mu, std };
}

/**
 * `(X − mean) / std` column-wise, as a new array in X's dtype. A feature with std 0 is only
 * centred: numpy would divide 0 by 0 and hand NaNs to the classifier, where a constant feature
 * should simply carry no information.
 */
export function applyFeatureStats(X: Tensor, stats: FeatureStats): Tensor {
  floatDtype('X', X);
  const { F } = assertShape('stats.mean', stats.mean, ['F']);
  assertShape('stats.std', stats.std, ['F'], { F });
  assertShape('X', X, [null, 'F'], { F });
  const safeStd = fromData(Float64Array.from(stats.std.data, (v) => (v === 0 ? 1 : v)), [F]);
  const centred = subRow(X, stats.mean);
  return divRow(centred, safeStd, centred);
}

/**
 * Fits the statistics on `train` and applies them to it and to every array of `others`
 * (validation, test): the notebook's two preprocessing cells in one call.
 */
export function normalizeFeatures(train: Tensor, ...others: Tensor[]): { train: Tensor; others: Tensor[]; stats: FeatureStats } {
  const stats = fitFeatureStats(train);
  return { train: applyFeatureStats(train, stats), others: others.map((o) => applyFeatureStats(o, stats)), stats };
}

/** `np.hstack([X, np.ones((N, 1))])`: X (N, F) with a column of ones appended, in X's dtype. */
export function appendBias(X: Tensor): Tensor {
  floatDtype('X', X);
  assertNdim('X', X, 2);
  const [N, F] = X.shape;
  const out = allocFloat(dtypeOf(X), N * (F + 1));
  for (let i = 0; i < N; i++) {
    for (let j = 0; j < F; j++) out[i * (F + 1) + j] = X.get(i, j);
    out[i * (F + 1) + F] = 1;
  }
  return fromData(out, [N, F + 1]);
}
