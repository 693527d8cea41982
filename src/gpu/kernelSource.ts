/*
 * The gpu.js kernel functions. gpu.js parses each function's source and translates it to GLSL,
 * WGSL or WebAssembly, so they must stay plain: no closures, no helpers, no TypeScript-only
 * syntax that survives compilation. Every loop bound is a compile-time constant
 * (`this.constants.*`): gpu.js 2.24 silently stops a loop bounded by a kernel argument after
 * `loopMaxIterations` (1000) iterations, whereas a constant bound is written into the kernel.
 *
 * Arguments are float32 ([width, height] inputs index as a[row][col]); labels are passed as
 * floats, exact below 2^24.
 */

/** `this` inside a kernel. */
export interface KernelThis {
  thread: { x: number; y: number; z: number };
  constants: Record<string, number>;
}

/** A 2-d float32 kernel argument, indexed [row][col]. */
type M = number[][];
/** A 1-d float32 kernel argument. */
type V = number[];

/**
 * out[i][j] = alpha·Σ_p a[i][p]·b[p][j], with a (m, K) and b (K, n) both row-major. For the WebAssembly backend this is the fast layout: its four SIMD lanes
 * are four neighbouring j, which read b[p][j..j+3] contiguously.
 */
export function gemmNN(this: KernelThis, a: M, b: M): number {
  let s = 0;
  for (let p = 0; p < this.constants.K; p++) {
    s += a[this.thread.y][p] * b[p][this.thread.x];
  }
  return this.constants.alpha * s;
}

/**
 * Same with a stored transposed, (K, m): used for Xᵀ·G so that the big X block is uploaded as
 * it lies in memory instead of being transposed on the host.
 */
export function gemmTN(this: KernelThis, a: M, b: M): number {
  let s = 0;
  for (let p = 0; p < this.constants.K; p++) {
    s += a[p][this.thread.y] * b[p][this.thread.x];
  }
  return this.constants.alpha * s;
}

/**
 * Multiclass SVM score gradient (before the 1/N): for row i with label y, 1 where the margin
 * s_j − s_y + 1 is positive (j ≠ y), and minus the number of such j in column y.
 */
export function svmCoef(this: KernelThis, s: M, y: V): number {
  const i = this.thread.y;
  const j = this.thread.x;
  const yi = y[i];
  const sy = s[i][yi];
  if (j === yi) {
    let count = 0;
    for (let c = 0; c < this.constants.C; c++) {
      if (c !== yi && s[i][c] - sy + 1 > 0) {
        count += 1;
      }
    }
    return -count;
  }
  if (s[i][j] - sy + 1 > 0) {
    return 1;
  }
  return 0;
}

/** Softmax score gradient (before the 1/N): p_ij − [j = y_i], with the row max subtracted. */
export function softmaxCoef(this: KernelThis, s: M, y: V): number {
  const i = this.thread.y;
  const j = this.thread.x;
  let mx = s[i][0];
  for (let c = 1; c < this.constants.C; c++) {
    mx = Math.max(mx, s[i][c]);
  }
  let sum = 0;
  for (let c = 0; c < this.constants.C; c++) {
    sum += Math.exp(s[i][c] - mx);
  }
  const p = Math.exp(s[i][j] - mx) / sum;
  if (j === y[i]) {
    return p - 1;
  }
  return p;
}

/**
 * kNN vote for test point x from dT (n, m) = distancesᵀ (column x holds its distances to the
 * n training points). Neighbours are ordered by (distance, training index), as a stable sort
 * would: k passes each find the next pair after the previous one, so the k-th pair becomes a
 * threshold; then each class counts its members at or below it, and the first class with the
 * highest count (the smaller label on a tie) wins. Work per test point: (k + classes)·n reads,
 * with scalar state only (gpu.js kernels have no local arrays).
 */
export function knnVote(this: KernelThis, dT: M, labels: V): number {
  const x = this.thread.x;
  let prevD = -3.0e38;
  let prevI = -1;
  for (let r = 0; r < this.constants.k; r++) {
    let bestD = 3.0e38;
    let bestI = this.constants.n;
    for (let j = 0; j < this.constants.n; j++) {
      const v = dT[j][x];
      if ((v > prevD || (v === prevD && j > prevI)) && v < bestD) {
        bestD = v;
        bestI = j;
      }
    }
    prevD = bestD;
    prevI = bestI;
  }
  let bestLabel = 0;
  let bestCount = -1;
  for (let c = 0; c < this.constants.classes; c++) {
    let count = 0;
    for (let j = 0; j < this.constants.n; j++) {
      const v = dT[j][x];
      if (labels[j] === c && (v < prevD || (v === prevD && j <= prevI))) {
        count += 1;
      }
    }
    if (count > bestCount) {
      bestCount = count;
      bestLabel = c;
    }
  }
  return bestLabel;
}

/** The kernels by name, for the compile cache. */
export const KERNELS = { gemmNN, gemmTN, svmCoef, softmaxCoef, knnVote } as const;
/** A kernel name. */
export type KernelName = keyof typeof KERNELS;
