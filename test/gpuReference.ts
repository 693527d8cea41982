/*
 * Independent Float64 references for the gpu.js agreement tests: plain loops, no shared code
 * with src/gpu, plus a seeded generator and the float32 tolerance checks.
 */

/** mulberry32: a tiny seeded generator for test data (uniform in [0, 1)). */
export function rng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** n uniform values in [lo, hi). */
export function uniform(seed: number, n: number, lo = -1, hi = 1): Float64Array {
  const r = rng(seed);
  const out = new Float64Array(n);
  for (let i = 0; i < n; i++) out[i] = lo + (hi - lo) * r();
  return out;
}

/** n integer labels in [0, C). */
export function labels(seed: number, n: number, C: number): Int32Array {
  const r = rng(seed);
  const out = new Int32Array(n);
  for (let i = 0; i < n; i++) out[i] = Math.floor(r() * C);
  return out;
}

/** C (m, n) = A (m, k)·B (k, n), dense row-major. */
export function refMatmul(A: ArrayLike<number>, B: ArrayLike<number>, m: number, k: number, n: number): Float64Array {
  const C = new Float64Array(m * n);
  for (let i = 0; i < m; i++) {
    for (let p = 0; p < k; p++) {
      const a = A[i * k + p];
      if (a === 0) continue;
      for (let j = 0; j < n; j++) C[i * n + j] += a * B[p * n + j];
    }
  }
  return C;
}

/** Dense transpose of a (rows, cols) matrix. */
export function refTranspose(A: ArrayLike<number>, rows: number, cols: number): Float64Array {
  const T = new Float64Array(rows * cols);
  for (let i = 0; i < rows; i++) for (let j = 0; j < cols; j++) T[j * rows + i] = A[i * cols + j];
  return T;
}

/** Euclidean (or squared) distances by direct differences. */
export function refDistances(X: ArrayLike<number>, T: ArrayLike<number>, M: number, N: number, D: number, squared = false): Float64Array {
  const out = new Float64Array(M * N);
  for (let i = 0; i < M; i++) {
    for (let j = 0; j < N; j++) {
      let s = 0;
      for (let d = 0; d < D; d++) {
        const t = X[i * D + d] - T[j * D + d];
        s += t * t;
      }
      out[i * N + j] = squared ? s : Math.sqrt(s);
    }
  }
  return out;
}

/** The naive SVM / softmax loss with explicit loops, as the cs231n naive versions. */
export function refLoss(kind: 'svm' | 'softmax', W: ArrayLike<number>, X: ArrayLike<number>, y: ArrayLike<number>, reg: number, N: number, D: number, C: number): { loss: number; dW: Float64Array } {
  const dW = new Float64Array(D * C);
  let loss = 0;
  const s = new Float64Array(C);
  for (let i = 0; i < N; i++) {
    s.fill(0);
    for (let d = 0; d < D; d++) {
      const x = X[i * D + d];
      for (let c = 0; c < C; c++) s[c] += x * W[d * C + c];
    }
    const yi = y[i];
    const g = new Float64Array(C);
    if (kind === 'svm') {
      for (let c = 0; c < C; c++) {
        if (c === yi) continue;
        const m = s[c] - s[yi] + 1;
        if (m > 0) {
          loss += m;
          g[c] += 1;
          g[yi] -= 1;
        }
      }
    } else {
      let mx = -Infinity;
      for (let c = 0; c < C; c++) mx = Math.max(mx, s[c]);
      let sum = 0;
      for (let c = 0; c < C; c++) sum += Math.exp(s[c] - mx);
      loss += Math.log(sum) - (s[yi] - mx);
      for (let c = 0; c < C; c++) g[c] = Math.exp(s[c] - mx) / sum - (c === yi ? 1 : 0);
    }
    for (let d = 0; d < D; d++) {
      const x = X[i * D + d];
      for (let c = 0; c < C; c++) dW[d * C + c] += x * g[c];
    }
  }
  let wsq = 0;
  for (let t = 0; t < D * C; t++) {
    dW[t] = dW[t] / N + 2 * reg * W[t];
    wsq += W[t] * W[t];
  }
  return { loss: loss / N + reg * wsq, dW };
}

/** kNN vote: stable sort of each row, majority of the first k, ties to the smaller label. */
export function refVote(dists: ArrayLike<number>, M: number, N: number, y: ArrayLike<number>, k: number, classes: number): Int32Array {
  const out = new Int32Array(M);
  for (let i = 0; i < M; i++) {
    const idx = Array.from({ length: N }, (_, j) => j);
    idx.sort((p, q) => dists[i * N + p] - dists[i * N + q] || p - q);
    const counts = new Array<number>(classes).fill(0);
    for (let r = 0; r < k; r++) counts[y[idx[r]]]++;
    let best = 0;
    for (let c = 1; c < classes; c++) if (counts[c] > counts[best]) best = c;
    out[i] = best;
  }
  return out;
}

/**
 * max|a − b| / max|b|: the float32 agreement measure for matrices and gradients. The scale is
 * floored at 1e-30, below which float32 has no normal numbers (a gradient that tiny is zero).
 */
export function scaledMaxError(a: ArrayLike<number>, b: ArrayLike<number>): number {
  if (a.length !== b.length) throw new Error(`length ${a.length} vs ${b.length}`);
  let err = 0;
  let scale = 0;
  for (let i = 0; i < b.length; i++) {
    err = Math.max(err, Math.abs(a[i] - b[i]));
    scale = Math.max(scale, Math.abs(b[i]));
  }
  return err / Math.max(scale, 1e-30);
}

/** |a − b| / max(|b|, tiny): the agreement measure for losses. */
export function relError(a: number, b: number): number {
  return Math.abs(a - b) / Math.max(Math.abs(b), 1e-12);
}

/** Float32 tolerances of the acceptance criteria. */
export const TOL = { loss: 1e-4, grad: 1e-3 } as const;
