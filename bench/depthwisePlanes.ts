/**
 * The depthwise kernel alone: ns per tap (multiply-add) of a forward and a backward pass,
 * float32, on the threads CS231N_THREADS says.
 *
 *   CS231N_THREADS=1 npx tsx bench/depthwisePlanes.ts 64,96,16,3,1   # N,C,H(=W),k,stride
 *
 * Prints the last two of five repetitions.
 */
import { RandomState } from '../src/core/random';
import { astype } from '../src/core/tensor';
import type { ConvProblem } from '../src/ops/kernels/convProblem';
import { depthwiseBackward, depthwiseForward } from '../src/ops/kernels/depthwise';

const [N, C, H, k, s] = (process.argv[2] ?? '64,96,16,3,1').split(',').map(Number);
const pad = (k - 1) / 2;
const outH = Math.floor((H + 2 * pad - k) / s) + 1;
const p: ConvProblem = { N, C, H, W: H, F: C, kh: k, kw: k, stride: s, pad, dilation: 1, groups: C, outH, outW: outH };
const rng = new RandomState(0);
const x = astype(rng.randn(N, C, H, H), 'float32').data as Float32Array;
const w = astype(rng.randn(C, 1, k, k), 'float32').data as Float32Array;
const g = astype(rng.randn(N, C, outH, outH), 'float32').data as Float32Array;
const out = new Float32Array(N * C * outH * outH);
const dx = new Float32Array(x.length);
const dw = new Float32Array(w.length);
const db = new Float32Array(C);
const taps = N * C * outH * outH * k * k;
for (let r = 0; r < 5; r++) {
  const t0 = performance.now();
  depthwiseForward(p, x, w, null, out);
  const t1 = performance.now();
  depthwiseBackward(p, g, x, w, dx, dw, db);
  const t2 = performance.now();
  const ns = (ms: number): string => ((ms / taps) * 1e6).toFixed(2);
  if (r >= 3) console.log(`N${N} C${C} H${H} k${k} s${s} threads ${process.env.CS231N_THREADS ?? 'all'}: fwd ${(t1 - t0).toFixed(1)} ms (${ns(t1 - t0)} ns/tap), bwd ${(t2 - t1).toFixed(1)} ms (${ns(t2 - t1)} ns/tap)`);
}
