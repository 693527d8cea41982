/*
 * The kNN vote on gpu.js: one thread per test point. Browser-safe.
 */
import { mat, vec, type Steps } from './kernelCall';
import { packBlock, transposed, type MatView } from './matView';
import type { TileLimits } from './tiling';

/**
 * Predicted labels (M,) from distances (M, N): the k nearest training points by (distance,
 * index) vote, ties to the smaller label. Test points are processed in chunks whose
 * transposed distance block (N, chunk) fits one kernel argument; a single test point's row
 * must fit (N ≤ maxElements), since its k nearest are chosen over the whole row.
 */
export function* knnVoteSteps(dists: MatView, labels: Int32Array, k: number, numClasses: number, lim: TileLimits): Steps<Int32Array> {
  const M = dists.rows;
  const N = dists.cols;
  if (N > lim.maxElements) {
    throw new RangeError(`dists: a row of ${N} training points exceeds the per-kernel limit of ${lim.maxElements} elements; vote on the pure-TS backend`);
  }
  const out = new Int32Array(M);
  const l32 = Float32Array.from(labels);
  const chunk = Math.max(1, Math.min(M, Math.floor(lim.maxElements / Math.max(1, N)), lim.maxOutputDim));
  const dT = transposed(dists);
  for (let i0 = 0; i0 < M; i0 += chunk) {
    const i1 = Math.min(M, i0 + chunk);
    const w = i1 - i0;
    // Transposed so that neighbouring threads (test points) read neighbouring memory.
    const block = packBlock(dT, 0, N, i0, i1);
    const res = yield {
      name: 'knnVote',
      constants: { k, n: N, classes: numClasses },
      output: [w],
      args: [mat(block, w, N), vec(l32)],
    };
    for (let x = 0; x < w; x++) out[i0 + x] = res[x];
  }
  return out;
}
