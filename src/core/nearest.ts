import { ascontiguous, type Tensor } from './tensor';

/*
 * Nearest-neighbour selection and voting on a distance matrix: the one implementation behind
 * KNearestNeighbor.predictLabels, its cross-validation, and the backends' knnVote.
 */

/**
 * For each row of dists, the indices of its k smallest entries, nearest first; equal distances
 * keep training-index order. Small k keeps a sorted buffer (one pass, binary-search insertion);
 * large k sorts the whole row. NaN distances are an error (they would silently never vote).
 */
export function nearestNeighbors(dists: Tensor, k: number): Int32Array {
  const [N, M] = dists.shape;
  const src = ascontiguous(dists).data;
  const out = new Int32Array(N * k);
  const bufD = new Float64Array(k);
  const bufI = new Int32Array(k);
  const order = new Int32Array(M);
  const useSort = k * 8 > M;
  for (let i = 0; i < N; i++) {
    const base = i * M;
    for (let j = 0; j < M; j++) {
      const v = src[base + j];
      if (v !== v) throw new RangeError(`dists[${i}, ${j}]: expected a distance, got NaN`);
    }
    if (useSort) {
      for (let j = 0; j < M; j++) order[j] = j;
      order.sort((p, q) => src[base + p] - src[base + q] || p - q);
      out.set(order.subarray(0, k), i * k);
      continue;
    }
    let count = 0;
    for (let j = 0; j < M; j++) {
      const v = src[base + j];
      if (count === k && !(v < bufD[k - 1])) continue;
      // First buffered position holding a larger distance: equal ones stay ahead (stable).
      let lo = 0;
      let hi = count;
      while (lo < hi) {
        const mid = (lo + hi) >> 1;
        if (bufD[mid] <= v) lo = mid + 1;
        else hi = mid;
      }
      const end = count < k ? count : k - 1;
      bufD.copyWithin(lo + 1, lo, end);
      bufI.copyWithin(lo + 1, lo, end);
      bufD[lo] = v;
      bufI[lo] = j;
      if (count < k) count++;
    }
    out.set(bufI, i * k);
  }
  return out;
}

/**
 * Majority vote among the first k of each row's `stride` nearest indices; ties go to the
 * smaller label.
 */
export function voteLabels(nearest: Int32Array, N: number, stride: number, k: number, labels: Int32Array, numClasses: number): Int32Array {
  const pred = new Int32Array(N);
  const counts = new Int32Array(Math.max(numClasses, 1));
  for (let i = 0; i < N; i++) {
    counts.fill(0);
    for (let t = 0; t < k; t++) counts[labels[nearest[i * stride + t]]]++;
    let best = 0;
    for (let c = 1; c < numClasses; c++) if (counts[c] > counts[best]) best = c;
    pred[i] = best;
  }
  return pred;
}
