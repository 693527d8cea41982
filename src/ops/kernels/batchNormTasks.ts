import type { FloatArray } from '../../core/dtype';
import { getArena, wasmAvailable } from '../../core/gemm/arena';
import { gemmKernel, THREAD_MIN_WORK } from '../../core/gemm/gemm';
import { registerWorkerKernel, threadCount, tryThreaded, workersUsable, type WorkerJob } from '../../core/gemm/workers';
import { isShared } from '../../core/bufferPool';
import { nativeBatchNormRows } from '../../core/gemm/native';

/*
 * The arithmetic of the batch_norm op (ops/batchNorm.ts), as tasks of channels: x (N, C, T)
 * is normalised per channel, so a block of channels — its moments, its normalised rows, its
 * gradient sums and its dx rows — is one independent task, and the blocks can go to any thread
 * in any order with the bits of one thread.
 *
 * WHY here and self-contained: the runner is shipped to the worker threads as source (see
 * TaskRunner in core/gemm/workers.ts), so it cannot call imported functions. The ReLU of the
 * fused BatchNorm + ReLU is therefore written out again ((v < 0 ? 0 : v) + 0, which is
 * ../reluMath.ts's max(0, v) with NaN kept); test/batchNormRelu.test.ts holds the two to the
 * same bits. The loops are inner functions over spans of a task's channels: a function called
 * thousands of times is optimised once, whole, where the same loops inline in a long body kept
 * being deoptimised (measured 19 → 5 ns an element, see git history of ops/batchNorm.ts).
 *
 * Float32 runs the rows in WebAssembly (core/gemm/wasmBatchNorm.ts): each task copies its
 * block of channels into its slot of the arena, a few samples at a time, and back — the copies
 * are memcpy-fast, the JS loops were not (1.5–2.5 ns an element per pass). Float32 does its
 * elementwise steps in float32 (the *32 span loops below, Math.fround per step) and its sums
 * in float64, float64 everything in float64; the wasm rows and the JS loops do the same
 * operations in the same order, so their bits are the same (test/batchNormRows.test.ts).
 *
 * Where the optional native module is built (core/gemm/native.ts), float32 tasks run its rows
 * instead (native/batchnorm.c, `job.native`): the same passes on the tensors themselves, no
 * copies — the copies were as costly as the wasm arithmetic — with the same bits again.
 *
 * Workers see the tensors themselves, not copies: large stores from allocFloat live in
 * SharedArrayBuffers (core/bufferPool.ts), and a typed array over one is shared, not copied,
 * when the job is posted. A call whose stores are not all shared runs on this thread.
 */

/** One pass of batch norm over x (N, C, T); `cb` channels per task. */
export interface BatchNormJob extends WorkerJob {
  kind: 'batchNorm';
  fwd: boolean;
  N: number;
  C: number;
  T: number;
  cb: number;
  /** The fused activation: 0 none, 1 ReLU, 2 ReLU6. */
  relu: number;
  /** Statistics from the batch (forward: computed here; backward: their gradient flows into dx). */
  batchStats: boolean;
  eps: number;
  /**
   * Forward: x in, out written. Backward: dout (g) and the forward's x in, dx written; the
   * normalised input and the fused ReLU's mask are computed again from x.
   */
  x: FloatArray;
  out: FloatArray | null;
  g: FloatArray | null;
  dx: FloatArray | null;
  gamma: FloatArray | null;
  beta: FloatArray | null;
  /**
   * Per channel, float64, blocks of C: forward [mean, variance, std] (read when not
   * batchStats: the running mean and sqrt(running var + eps); written otherwise); backward
   * [dbeta, dgamma] written, std read from [2C, 3C) and the mean from [3C, 4C).
   */
  stats: Float64Array;
  /**
   * Float32 with the wasm rows (else −1): per-thread scratch in the arena, float32 offsets —
   * slot s at sOff + s·sLen holds three arrays of `span` floats, then from the next even float
   * 10·cb float64 values —
   * and the samples `nb` a block is copied in at a time (span = nb·cb·T).
   */
  sOff: number;
  sLen: number;
  span: number;
  nb: number;
  /** Float32 through the native rows (native/batchnorm.c) on the tensors themselves: no scratch. */
  native: boolean;
}

/**
 * Runs tasks of a {@link BatchNormJob} until none are left (all of them when `ctl` is null).
 * `F` is the arena's float32 view and `ex` the thread's wasm exports when the job uses the wasm
 * rows (float32 jobs with sOff ≥ 0): each task then copies its block of channels into its
 * scratch, nb samples at a time, runs the rows there (core/gemm/wasmBatchNorm.ts) and copies
 * the results out. Otherwise the JS span loops below run on the tensors themselves; both do
 * the same operations in the same order, so they give the same bits.
 */
export function batchNormTasks(
  job: BatchNormJob, F?: FloatArray | null, _b?: unknown, _bS?: unknown, _r?: unknown, _g?: unknown, ex?: Record<string, unknown> | null,
): void {
  const ctl = job.ctl;
  const worker = job.worker === true;
  const { N, C, T, cb, relu, batchStats, eps, stats } = job;
  const M = N * T;
  const nTasks = Math.ceil(C / cb);
  const VEC = T & ~3;

  // Span loops: rows [r0, r1) of T at base + r·T, row r of channel (r mod nc).
  // WHY spans, not a call per row: deep layers have rows of 4–16 values (2×2, 4×4 maps), where a
  // call per row cost more than its arithmetic. A row's sum is four partial sums over t ≡ 0..3
  // (mod 4) of its first 4⌊T/4⌋ values, ((s0 + s1) + (s2 + s3)), then the rest one by one — the
  // order of the wasm rows' two f64x2 lanes.
  function sumSpan(x: FloatArray, base: number, rows: number, nc: number, mu: Float64Array | null, acc: Float64Array): void {
    for (let r = 0; r < rows; r++) {
      const j = r % nc;
      const o = base + r * T;
      const m = mu === null ? 0 : mu[j];
      let s0 = 0, s1 = 0, s2 = 0, s3 = 0;
      let t = 0;
      if (mu === null) {
        for (; t < VEC; t += 4) {
          s0 += x[o + t]; s1 += x[o + t + 1]; s2 += x[o + t + 2]; s3 += x[o + t + 3];
        }
        let s = s0 + s1 + (s2 + s3);
        for (; t < T; t++) s += x[o + t];
        acc[j] += s;
        continue;
      }
      for (; t < VEC; t += 4) {
        const d0 = x[o + t] - m, d1 = x[o + t + 1] - m, d2 = x[o + t + 2] - m, d3 = x[o + t + 3] - m;
        s0 += d0 * d0; s1 += d1 * d1; s2 += d2 * d2; s3 += d3 * d3;
      }
      let s = s0 + s1 + (s2 + s3);
      for (; t < T; t++) {
        const d = x[o + t] - m;
        s += d * d;
      }
      acc[j] += s;
    }
  }
  // The fused activation on one row of the output in place: ReLU max(v, 0) (−0 → +0, NaN kept),
  // then for ReLU6 v ≥ 6 ? 6 : v — the relu / relu6 ops' values.
  function activateSpan(out: FloatArray, o: number): void {
    for (let t = o; t < o + T; t++) {
      const v = out[t];
      const a = (v < 0 ? 0 : v) + 0;
      out[t] = relu === 2 && a >= 6 ? 6 : a;
    }
  }
  // Float64 jobs: per-channel values pr[8j ..]: [mu, inv, γ, β, a, b] (a, b: backward only).
  // h = (x − mu)·inv, out = γ·h + β, then the fused activation.
  function normalizeSpan(xs: FloatArray, out: FloatArray, base: number, rows: number, nc: number, pr: Float64Array): void {
    for (let r = 0; r < rows; r++) {
      const j = r % nc;
      const m = pr[8 * j], iv = pr[8 * j + 1], ga = pr[8 * j + 2], be = pr[8 * j + 3];
      const o = base + r * T;
      for (let t = o; t < o + T; t++) out[t] = ga * ((xs[t] - m) * iv) + be;
      if (relu !== 0) activateSpan(out, o);
    }
  }
  // The gradient through the fused activation: g where the batch norm's output o = γ·h + β
  // was in the activation's linear piece (o > 0; ReLU6 also o < 6, the relu6 op's mask), else 0.
  function gate(gv: number, h: number, ga: number, be: number): number {
    if (relu === 0) return gv;
    const o = ga * h + be;
    return o > 0 && (relu === 1 || o < 6) ? gv : 0;
  }
  // Σ m and Σ m·h per row, m = g gated by the fused ReLU; into acc[2j], acc[2j + 1].
  function gradSumsSpan(gd: FloatArray, x: FloatArray, base: number, rows: number, nc: number, pr: Float64Array, acc: Float64Array): void {
    for (let r = 0; r < rows; r++) {
      const j = r % nc;
      const mu = pr[8 * j], iv = pr[8 * j + 1], ga = pr[8 * j + 2], be = pr[8 * j + 3];
      const o = base + r * T;
      let a0 = 0, a1 = 0, a2 = 0, a3 = 0, b0 = 0, b1 = 0, b2 = 0, b3 = 0;
      let t = 0;
      for (; t < VEC; t += 4) {
        const h0 = (x[o + t] - mu) * iv, h1 = (x[o + t + 1] - mu) * iv, h2 = (x[o + t + 2] - mu) * iv, h3 = (x[o + t + 3] - mu) * iv;
        const m0 = gate(gd[o + t], h0, ga, be), m1 = gate(gd[o + t + 1], h1, ga, be);
        const m2 = gate(gd[o + t + 2], h2, ga, be), m3 = gate(gd[o + t + 3], h3, ga, be);
        a0 += m0; a1 += m1; a2 += m2; a3 += m3;
        b0 += m0 * h0; b1 += m1 * h1; b2 += m2 * h2; b3 += m3 * h3;
      }
      let sa = a0 + a1 + (a2 + a3);
      let sb = b0 + b1 + (b2 + b3);
      for (; t < T; t++) {
        const h = (x[o + t] - mu) * iv;
        const m = gate(gd[o + t], h, ga, be);
        sa += m;
        sb += m * h;
      }
      acc[2 * j] += sa;
      acc[2 * j + 1] += sb;
    }
  }
  // dx = (γ·m − a − h·b)·inv, m = g, or with the fused ReLU its gated value + 0.
  function dxSpan(gd: FloatArray, x: FloatArray, dx: FloatArray, base: number, rows: number, nc: number, pr: Float64Array): void {
    for (let r = 0; r < rows; r++) {
      const j = r % nc;
      const mu = pr[8 * j], iv = pr[8 * j + 1], ga = pr[8 * j + 2], be = pr[8 * j + 3], a = pr[8 * j + 4], b = pr[8 * j + 5];
      const o = base + r * T;
      for (let t = o; t < o + T; t++) {
        const h = (x[t] - mu) * iv;
        const m = relu !== 0 ? gate(gd[t], h, ga, be) + 0 : gd[t];
        dx[t] = (ga * m - a - h * b) * iv;
      }
    }
  }

  // Float32 jobs (the wasm rows' arithmetic, core/gemm/wasmBatchNorm.ts): every step one
  // float32 operation (Math.fround), sums in float64. Per-channel pr[8j ..]: [μhi, μlo, inv, s,
  // β, c2, c3] with μ = μhi + μlo, s = γ·inv, c2 = a·inv, c3 = b·inv (c2, c3: backward only);
  // d = (x − μhi) − μlo, out = d·s + β, h = d·inv, dx = (s·m − c2) − h·c3.
  const fr = Math.fround;
  const f32 = job.f32;
  function normalizeSpan32(xs: FloatArray, out: FloatArray, base: number, rows: number, nc: number, pr: Float64Array): void {
    for (let r = 0; r < rows; r++) {
      const j = r % nc;
      const mh = pr[8 * j], ml = pr[8 * j + 1], s = pr[8 * j + 3], be = pr[8 * j + 4];
      const o = base + r * T;
      for (let t = o; t < o + T; t++) out[t] = fr(fr(fr(xs[t] - mh) - ml) * s) + be;
      if (relu !== 0) activateSpan(out, o);
    }
  }
  // The same mask on o = d·s + β, by the forward's float32 operations.
  function gate32(gv: number, d: number, s: number, be: number): number {
    if (relu === 0) return gv;
    const o = fr(fr(d * s) + be);
    return o > 0 && (relu === 1 || o < 6) ? gv : 0;
  }
  function gradSumsSpan32(gd: FloatArray, x: FloatArray, base: number, rows: number, nc: number, pr: Float64Array, acc: Float64Array): void {
    for (let r = 0; r < rows; r++) {
      const j = r % nc;
      const mh = pr[8 * j], ml = pr[8 * j + 1], iv = pr[8 * j + 2], s = pr[8 * j + 3], be = pr[8 * j + 4];
      const o = base + r * T;
      let a0 = 0, a1 = 0, a2 = 0, a3 = 0, b0 = 0, b1 = 0, b2 = 0, b3 = 0;
      let t = 0;
      for (; t < VEC; t += 4) {
        const d0 = fr(fr(x[o + t] - mh) - ml), d1 = fr(fr(x[o + t + 1] - mh) - ml), d2 = fr(fr(x[o + t + 2] - mh) - ml), d3 = fr(fr(x[o + t + 3] - mh) - ml);
        const m0 = gate32(gd[o + t], d0, s, be), m1 = gate32(gd[o + t + 1], d1, s, be);
        const m2 = gate32(gd[o + t + 2], d2, s, be), m3 = gate32(gd[o + t + 3], d3, s, be);
        a0 += m0; a1 += m1; a2 += m2; a3 += m3;
        b0 += m0 * fr(d0 * iv); b1 += m1 * fr(d1 * iv); b2 += m2 * fr(d2 * iv); b3 += m3 * fr(d3 * iv);
      }
      let sa = a0 + a1 + (a2 + a3);
      let sb = b0 + b1 + (b2 + b3);
      for (; t < T; t++) {
        const d = fr(fr(x[o + t] - mh) - ml);
        const m = gate32(gd[o + t], d, s, be);
        sa += m;
        sb += m * fr(d * iv);
      }
      acc[2 * j] += sa;
      acc[2 * j + 1] += sb;
    }
  }
  function dxSpan32(gd: FloatArray, x: FloatArray, dx: FloatArray, base: number, rows: number, nc: number, pr: Float64Array): void {
    for (let r = 0; r < rows; r++) {
      const j = r % nc;
      const mh = pr[8 * j], ml = pr[8 * j + 1], iv = pr[8 * j + 2], s = pr[8 * j + 3], be = pr[8 * j + 4], c2 = pr[8 * j + 5], c3 = pr[8 * j + 6];
      const o = base + r * T;
      for (let t = o; t < o + T; t++) {
        const d = fr(fr(x[t] - mh) - ml);
        const m = relu !== 0 ? gate32(gd[t], d, s, be) + 0 : gd[t];
        dx[t] = fr(fr(s * m) - c2) - fr(fr(d * iv) * c3);
      }
    }
  }
  // The float64 values of a wasm slot start after its three arrays, at an even float (8 bytes).
  const vals = (3 * job.span + 1) & ~1;
  const simd = job.f32 && job.sOff >= 0 && F !== null && F !== undefined && ex !== null && ex !== undefined && typeof ex.bnNorm32 === 'function';
  const wasm = simd ? (ex as Record<string, (...a: number[]) => void>) : null;
  type Rows = (op: number, a: FloatArray, b: FloatArray, c: FloatArray, acc: Float64Array, pr: Float64Array, N: number, C: number, T: number, c0: number, nc: number, relu: number) => void;
  const nat = job.native && ex !== null && ex !== undefined && typeof ex.bnRows32 === 'function' ? (ex.bnRows32 as Rows) : null;
  // A worker without the native module fails the job; the main thread then runs it alone.
  if (job.native && nat === null) throw new Error('batch norm: no native rows on this thread');
  const none = new Float64Array(0);
  // Per-channel values of a task (JS: these arrays; wasm: the same values in the thread's scratch).
  let acc: Float64Array<ArrayBufferLike> = new Float64Array(2 * cb);
  let pr: Float64Array<ArrayBufferLike> = new Float64Array(8 * cb);
  let slot = -1;
  let P64: Float64Array | null = null;
  let next = 0;
  for (;;) {
    const task = ctl === null ? next++ : Atomics.add(ctl, 0, 1);
    if (task >= nTasks) break;
    const c0 = task * cb;
    const c1 = Math.min(C, c0 + cb);
    const nc = c1 - c0;
    const block = nc * T;
    if (wasm !== null && slot < 0) {
      // Once this thread holds a task: its scratch slot, and float64 views of its value areas.
      slot = ctl === null ? 0 : Atomics.add(ctl, 7, 1);
      const fOff = job.sOff + slot * job.sLen + vals;
      P64 = new Float64Array((F as FloatArray).buffer, (F as FloatArray).byteOffset + fOff * 4, 10 * cb);
      acc = P64.subarray(0, 2 * cb);
      pr = P64.subarray(2 * cb, 10 * cb);
    }
    const base = job.sOff + slot * job.sLen;
    // Scratch arrays (float32 offsets) and their byte addresses.
    const s0 = base, s1 = base + job.span, s2 = base + 2 * job.span;
    const accB = (base + vals) * 4;
    const prB = accB + 16 * cb;
    const A = F as FloatArray;
    const copyIn = (src: FloatArray, dst: number, n0: number, n1: number): void => {
      for (let n = n0; n < n1; n++) A.set(src.subarray((n * C + c0) * T, (n * C + c0) * T + block), dst + (n - n0) * block);
    };
    const copyOut = (dst: FloatArray, src: number, n0: number, n1: number): void => {
      for (let n = n0; n < n1; n++) dst.set(A.subarray(src + (n - n0) * block, src + (n - n0 + 1) * block), (n * C + c0) * T);
    };
    const nb = wasm !== null ? job.nb : N;
    const resident = nb >= N;
    for (let j = 0; j < nc; j++) acc[2 * j] = acc[2 * j + 1] = 0;
    const x = job.x;
    if (job.fwd && batchStats) {
      // Sums over samples in order, then the biased variance (as layers/normCore.groupMoments).
      if (nat !== null) nat(0, x, x, x, acc, none, N, C, T, c0, nc, 0);
      else for (let n0 = 0; n0 < N; n0 += nb) {
        const n1 = Math.min(N, n0 + nb);
        if (wasm === null) for (let n = n0; n < n1; n++) sumSpan(x, (n * C + c0) * T, nc, nc, null, acc);
        else {
          copyIn(x, s0, n0, n1);
          wasm.bnSum32(s0 * 4, (n1 - n0) * nc, T, nc, accB, 0, 0);
        }
      }
      // Means into pr[0..nc) (the wasm and native rows read them there), squared deviations into acc[nc..2nc).
      for (let j = 0; j < nc; j++) {
        pr[j] = acc[j] / M;
        acc[nc + j] = 0;
      }
      if (nat !== null) nat(1, x, x, x, acc.subarray(nc), pr, N, C, T, c0, nc, 0);
      else for (let n0 = 0; n0 < N; n0 += nb) {
        const n1 = Math.min(N, n0 + nb);
        if (wasm === null) for (let n = n0; n < n1; n++) sumSpan(x, (n * C + c0) * T, nc, nc, pr, acc.subarray(nc));
        else {
          if (!resident) copyIn(x, s0, n0, n1);
          wasm.bnSum32(s0 * 4, (n1 - n0) * nc, T, nc, accB + 8 * nc, prB, 1);
        }
      }
      for (let j = 0; j < nc; j++) {
        const variance = acc[nc + j] / M;
        stats[c0 + j] = pr[j];
        stats[C + c0 + j] = variance;
        stats[2 * C + c0 + j] = Math.sqrt(variance + eps);
      }
    }
    // The forward's statistics: the mean at [0, C) in a forward, at [3C, 4C) in a backward.
    const meanAt = job.fwd ? 0 : 3 * C;
    for (let j = 0; j < nc; j++) {
      const c = c0 + j;
      const mu = stats[meanAt + c];
      // PyTorch multiplies by invstd too; a division per element costs several multiplies.
      const inv = 1 / stats[2 * C + c];
      const ga = job.gamma ? job.gamma[c] : 1;
      const be = job.beta ? job.beta[c] : 0;
      if (f32) {
        // μ as two floats: x − μhi is exact near the mean, so d keeps float32's precision.
        const mh = fr(mu);
        pr[8 * j] = mh;
        pr[8 * j + 1] = fr(mu - mh);
        pr[8 * j + 2] = fr(inv);
        pr[8 * j + 3] = fr(ga * inv);
        pr[8 * j + 4] = fr(be);
      } else {
        pr[8 * j] = mu;
        pr[8 * j + 1] = inv;
        pr[8 * j + 2] = ga;
        pr[8 * j + 3] = be;
      }
    }
    if (job.fwd && nat !== null) nat(2, x, x, job.out as FloatArray, acc, pr, N, C, T, c0, nc, relu);
    else if (job.fwd) {
      const out = job.out as FloatArray;
      for (let n0 = 0; n0 < N; n0 += nb) {
        const n1 = Math.min(N, n0 + nb);
        if (wasm === null) {
          for (let n = n0; n < n1; n++) {
            if (f32) normalizeSpan32(x, out, (n * C + c0) * T, nc, nc, pr);
            else normalizeSpan(x, out, (n * C + c0) * T, nc, nc, pr);
          }
          continue;
        }
        if (!(resident && batchStats)) copyIn(x, s0, n0, n1);
        wasm.bnNorm32(s0 * 4, s1 * 4, (n1 - n0) * nc, T, nc, prB, relu);
        copyOut(out, s1, n0, n1);
      }
    } else {
      // S1 = Σ m and S2 = Σ m·h (m = g, masked by a fused ReLU) are dbeta and dgamma; with
      // dh = γ·m the batch-statistics gradient is dx = (γ·m − γ·S1/M − h·γ·S2/M) / std.
      const gd = job.g as FloatArray;
      const dx = job.dx as FloatArray;
      if (nat !== null) nat(3, gd, x, x, acc, pr, N, C, T, c0, nc, relu);
      else for (let n0 = 0; n0 < N; n0 += nb) {
        const n1 = Math.min(N, n0 + nb);
        if (wasm === null) {
          for (let n = n0; n < n1; n++) {
            if (f32) gradSumsSpan32(gd, x, (n * C + c0) * T, nc, nc, pr, acc);
            else gradSumsSpan(gd, x, (n * C + c0) * T, nc, nc, pr, acc);
          }
        }
        else {
          copyIn(gd, s0, n0, n1);
          copyIn(x, s1, n0, n1);
          // A block that stays in the scratch keeps m over g and h over x for the dx pass.
          (resident ? wasm.bnGradSumsKeep32 : wasm.bnGradSums32)(s0 * 4, s1 * 4, (n1 - n0) * nc, T, nc, accB, prB, relu);
        }
      }
      for (let j = 0; j < nc; j++) {
        const c = c0 + j;
        const ga = job.gamma ? job.gamma[c] : 1;
        const dbeta = acc[2 * j];
        const dgamma = acc[2 * j + 1];
        stats[c] = dbeta;
        stats[C + c] = dgamma;
        const a = batchStats ? (ga * dbeta) / M : 0;
        const b = batchStats ? (ga * dgamma) / M : 0;
        if (f32) {
          const inv = 1 / stats[2 * C + c];
          pr[8 * j + 5] = fr(a * inv);
          pr[8 * j + 6] = fr(b * inv);
        } else {
          pr[8 * j + 4] = a;
          pr[8 * j + 5] = b;
        }
      }
      if (nat !== null) nat(4, gd, x, dx, acc, pr, N, C, T, c0, nc, relu);
      else for (let n0 = 0; n0 < N; n0 += nb) {
        const n1 = Math.min(N, n0 + nb);
        if (wasm === null) {
          for (let n = n0; n < n1; n++) {
            if (f32) dxSpan32(gd, x, dx, (n * C + c0) * T, nc, nc, pr);
            else dxSpan(gd, x, dx, (n * C + c0) * T, nc, nc, pr);
          }
          continue;
        }
        if (resident) wasm.bnDxKept32(s0 * 4, s1 * 4, s2 * 4, (n1 - n0) * nc, T, nc, prB);
        else {
          copyIn(gd, s0, n0, n1);
          copyIn(x, s1, n0, n1);
          wasm.bnDx32(s0 * 4, s1 * 4, s2 * 4, (n1 - n0) * nc, T, nc, prB, relu);
        }
        copyOut(dx, s2, n0, n1);
      }
    }
    if (ctl !== null) {
      if (worker) Atomics.add(ctl, 3, 1);
      Atomics.add(ctl, 1, 1);
      if (Atomics.load(ctl, 6) !== 0) Atomics.notify(ctl, 1);
    }
  }
}

registerWorkerKernel('batchNorm', batchNormTasks as never, (job: BatchNormJob) => Math.ceil(job.C / job.cb));

const calls = { native: 0, wasm: 0, js: 0 };
/** Calls so far that ran the native rows, the wasm rows and the JS loops (for tests). */
export function batchNormCalls(): { native: number; wasm: number; js: number } {
  return { ...calls };
}

/** Floats of one scratch array of a wasm job (three per thread): 256 KiB, so a block stays in L2. */
const SPAN_FLOATS = 1 << 16;

/**
 * Runs `job` — on every thread when its stores are shared and it is big enough, else here;
 * float32 through the wasm rows where the runtime has them. `stats` must be shared when
 * threaded (see {@link batchNormStats}).
 */
export function runBatchNorm(job: Omit<BatchNormJob, 'kind' | 'cb' | 'ctl' | 'f32' | 'fma' | 'wasm' | 'buf' | 'sOff' | 'sLen' | 'span' | 'nb' | 'native'>): void {
  const f32 = (job.out ?? job.dx) instanceof Float32Array;
  const full: BatchNormJob = { ...job, kind: 'batchNorm', cb: 1, ctl: null, f32, fma: false, wasm: false, buf: null, sOff: -1, sLen: 0, span: 0, nb: 0, native: false };
  let threads = threadCount();
  const stores = [job.x, job.out, job.g, job.dx, job.stats];
  // From 62.5k elements: with the pool's workers awake between jobs (SPIN_MS in workers.ts) a
  // 64×232×4×4 batch norm (237k) runs 0.94 → 0.68 ms forward + backward on 2 threads.
  if (threads > 1 && (job.C < 2 || job.N * job.C * job.T * 16 < THREAD_MIN_WORK || !workersUsable() || !stores.every((s) => s === null || isShared(s)))) threads = 1;
  // Enough tasks per thread to even out a core that is busy elsewhere.
  full.cb = Math.max(1, Math.floor(job.C / (8 * threads)));
  const onWasm = f32 && gemmKernel() === 'wasm' && wasmAvailable();
  // The native rows need no scratch: only the wasm arena, whose threads load the native module.
  const natArena = onWasm && nativeBatchNormRows() !== null ? getArena('wasm', 1) : null;
  if (natArena !== null && natArena.native !== null) full.native = true;
  const wasmRows = !full.native && onWasm && job.T <= SPAN_FLOATS;
  if (wasmRows) {
    // A block of all N samples stays in the scratch between the passes (each array copied in
    // once) when it fits: fewer channels a task then, not fewer samples a block.
    full.cb = Math.max(1, Math.min(full.cb, Math.floor(SPAN_FLOATS / (job.N * job.T > SPAN_FLOATS ? job.T : job.N * job.T))));
    full.nb = Math.max(1, Math.min(job.N, Math.floor(SPAN_FLOATS / (full.cb * job.T))));
    full.span = full.nb * full.cb * job.T;
    // Three arrays rounded to even floats (8-byte aligned), then 10·cb float64 (20·cb floats).
    full.sLen = ((3 * full.span + 1) & ~1) + 20 * full.cb;
    full.sOff = 0;
  }
  let arena = full.native ? natArena : wasmRows ? getArena('wasm', Math.ceil((threads * full.sLen) / 2)) : null;
  if (arena !== null) full.wasm = true;
  if (full.native) calls.native++;
  else if (full.wasm) calls.wasm++;
  else calls.js++;
  if (arena === null) {
    full.sOff = -1;
    if (threads > 1) arena = getArena(gemmKernel(), 1) ?? getArena('js', 1);
  }
  if (threads > 1 && arena !== null && arena.shared && tryThreaded(full, threads, arena)) return;
  if (full.wasm && arena !== null) batchNormTasks({ ...full, ctl: null }, arena.F32, null, null, null, null, arena.exports);
  else batchNormTasks({ ...full, ctl: null, sOff: -1 });
}

/** A float64 store for a job's per-channel statistics (4·C), shared with the workers when they exist. */
export function batchNormStats(C: number): Float64Array {
  return typeof SharedArrayBuffer === 'function' ? new Float64Array(new SharedArrayBuffer(4 * C * 8)) : new Float64Array(4 * C);
}
