/*
 * Run by test/matmul.test.ts in a child `node --experimental-wasm-relaxed-simd --import tsx`
 * (or with CS231N_RELAXED_SIMD=1, which sets the same V8 flag from src/core/gemm/wasm.ts)
 * (node 20 needs the flag for relaxed SIMD, and a V8 flag cannot be turned on inside jest's
 * process without switching every later test file to FMA): checks that the float32 FMA tiles
 * are used, give the same bits on 1, 2 and 4 threads, and stay within the documented bounds,
 * for a product and a fused convolution. Prints one JSON line.
 */
import ndarray from 'ndarray';
import { float32ErrorBound, matmul } from '../src/core/matmul';
import { gemmFma, setGemmFma } from '../src/core/gemm/gemm';
import { convBackwardFused, convForwardFused } from '../src/core/convFused';
import { windowGeometry } from '../src/layers/im2col';

/** Deterministic values in [-1, 1). */
function values(n: number, seed: number): Float64Array {
  const d = new Float64Array(n);
  let s = seed >>> 0;
  for (let i = 0; i < n; i++) {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    d[i] = s / 2147483648 - 1;
  }
  return d;
}

function withThreads<T>(t: string, f: () => T): T {
  process.env.CS231N_THREADS = t;
  return f();
}

const bits = (a: ArrayLike<number>, b: ArrayLike<number>): number => {
  let d = 0;
  for (let i = 0; i < a.length; i++) if (!Object.is(a[i], b[i])) d++;
  return d;
};

const fma = gemmFma();

// A product over 3 k-slices.
const [m, k, n] = [150, 700, 130];
const a64 = values(m * k, 1);
const b64 = values(k * n, 2);
const A = ndarray(Float32Array.from(a64), [m, k]);
const B = ndarray(Float32Array.from(b64), [k, n]);
const runs = ['1', '2', '4'].map((t) => withThreads(t, () => matmul(A, B)).data);
const threadDiffs = bits(runs[0], runs[1]) + bits(runs[0], runs[2]);
let withinBound = true;
for (let i = 0; i < m; i++) {
  for (let j = 0; j < n; j++) {
    let s = 0;
    let g = 0;
    for (let p = 0; p < k; p++) {
      const x = A.data[i * k + p] * B.data[p * n + j];
      s += x;
      g += Math.abs(x);
    }
    if (Math.abs(runs[0][i * n + j] - s) > float32ErrorBound(k, g)) withinBound = false;
  }
}
const fmaOff = setGemmFma(false);
const mulAdd = withThreads('1', () => matmul(A, B)).data;
const differsFromMulAdd = bits(runs[0], mulAdd);
setGemmFma(null);

// A fused convolution, float32 with FMA on 1, 2 and 4 threads, against float64.
const [N, C, H, W, F] = [6, 8, 14, 14, 16];
const geom = windowGeometry([N, C, H, W], 3, 3, 1, 1);
const P = geom.outH * geom.outW;
const x = values(N * C * H * W, 3);
const w = values(F * C * 9, 4);
const bias = values(F, 5);
const dout = values(N * F * P, 6);
const f32 = (d: Float64Array) => Float32Array.from(d);
const conv = (t: string) => withThreads(t, () => {
  const out = new Float32Array(N * F * P);
  const dx = new Float32Array(x.length);
  const dw = new Float32Array(w.length);
  const db = new Float32Array(F);
  if (!convForwardFused(f32(x), f32(w), f32(bias), geom, F, 1, out)) throw new Error('forward declined');
  if (!convBackwardFused(f32(x), f32(w), f32(dout), geom, F, 1, dx, dw, db)) throw new Error('backward declined');
  return [out, dx, dw, db];
});
const convRuns = ['1', '2', '4'].map(conv);
let convThreadDiffs = 0;
for (const r of convRuns.slice(1)) r.forEach((arr, i) => { convThreadDiffs += bits(arr, convRuns[0][i]); });
// float64 references on the same (float32-rounded) inputs, and on their absolute values for the bounds.
const ref = (abs: boolean) => {
  const pick = (d: Float64Array) => Float64Array.from(f32(d), (v) => (abs ? Math.abs(v) : v));
  const out = new Float64Array(N * F * P);
  const dx = new Float64Array(x.length);
  const dw = new Float64Array(w.length);
  const db = new Float64Array(F);
  withThreads('1', () => {
    convForwardFused(pick(x), pick(w), pick(bias), geom, F, 1, out);
    convBackwardFused(pick(x), pick(w), pick(dout), geom, F, 1, dx, dw, db);
  });
  return [out, dx, dw, db];
};
const exact = ref(false);
const mag = ref(true);
const u = 2 ** -24;
const K = C * 9;
const factors = [K + 2, F + 9 + 1, P + 2, P + 2];
let convWithinBound = true;
convRuns[0].forEach((arr, t) => {
  for (let i = 0; i < arr.length; i++) {
    if (Math.abs(arr[i] - exact[t][i]) > 1.01 * factors[t] * u * mag[t][i] + 1e-30) convWithinBound = false;
  }
});

console.log(JSON.stringify({ fma, fmaOff, threadDiffs, withinBound, differsFromMulAdd, convThreadDiffs, convWithinBound }));
