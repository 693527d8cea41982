import type { FloatArray } from '../../core/dtype';
import { registerWorkerKernel, type WorkerJob } from '../../core/gemm/workers';
import { tryTensorJob } from './tensorJobs';

/*
 * im2col and its adjoint col2im (layers/im2col.ts: the layout, the channel ranges), and the
 * batch-wide backward's dout transpose (below), as tasks any thread may run: unfolding by
 * channel (a channel's fh·fw rows of columns are its own), folding by (sample, channel) plane
 * (a plane of dx receives only its channel's rows, added in (ki, kj, oh, ow) order whichever
 * thread takes it). So the bits do not depend on the split.
 *
 * WHY: the batch-wide convolution backward (strided 3×3 layers, and every layer on a 4×4 or
 * 2×2 map) unfolded x and folded dcols on the main thread while the workers waited: ~35 ms of
 * a 105 ms backward of ResNet-18's 128 → 256 stride-2 layer on two threads.
 *
 * WHY self-contained: the runner is shipped to the worker threads as source (see TaskRunner in
 * core/gemm/workers.ts), so it cannot call imported functions.
 */

/** One unfold (x → cols) or fold (cols added into dx) of channels [c0, c0 + cn). */
export interface UnfoldJob extends WorkerJob {
  kind: 'unfold';
  /** False: write the columns of x; true: add the columns into dx. */
  fold: boolean;
  N: number; C: number; H: number; W: number; fh: number; fw: number;
  stride: number; pad: number; outH: number; outW: number;
  c0: number;
  cn: number;
  /** Units per task: channels (unfold) or (sample, channel) planes (fold). */
  ub: number;
  /** x (unfold) or dx (fold), dense (N, C, H, W). */
  img: FloatArray;
  /** (cn·fh·fw, N·outH·outW) columns. */
  cols: FloatArray;
}

/** Runs tasks of an {@link UnfoldJob} until none are left (all of them when `ctl` is null). */
export function unfoldTasks(job: UnfoldJob): void {
  const ctl = job.ctl;
  const worker = job.worker === true;
  const { fold, N, C, H, W, fh, fw, stride, pad, outH, outW, c0, cn, ub, img, cols } = job;
  const P = outH * outW;
  const NP = N * P;
  const pointwise = fh === 1 && fw === 1 && stride === 1 && pad === 0;
  const units = fold ? N * cn : cn;
  const nTasks = Math.ceil(units / ub);
  // Output positions o in [0, out) whose input index o·stride − pad + k lies in [0, size).
  const ohLo = new Int32Array(fh);
  const ohHi = new Int32Array(fh);
  const owLo = new Int32Array(fw);
  const owHi = new Int32Array(fw);
  for (let ki = 0; ki < fh; ki++) {
    ohLo[ki] = Math.max(0, Math.ceil((pad - ki) / stride));
    ohHi[ki] = Math.max(ohLo[ki], Math.min(outH, Math.floor((H - 1 + pad - ki) / stride) + 1));
  }
  for (let kj = 0; kj < fw; kj++) {
    owLo[kj] = Math.max(0, Math.ceil((pad - kj) / stride));
    owHi[kj] = Math.max(owLo[kj], Math.min(outW, Math.floor((W - 1 + pad - kj) / stride) + 1));
  }

  /** The fh·fw rows of channel c (of the range), every sample; padding written as zeros. */
  function unfoldChannel(c: number): void {
    if (pointwise) {
      for (let n = 0; n < N; n++) {
        const s = ((n * C + c0 + c) * H) * W;
        const d = c * NP + n * P;
        // A subarray and a set per short run (2×2, 4×4 maps) cost several times the copy.
        if (P >= 64) cols.set(img.subarray(s, s + P), d);
        else for (let i = 0; i < P; i++) cols[d + i] = img[s + i];
      }
      return;
    }
    for (let ki = 0; ki < fh; ki++) {
      const h0 = ohLo[ki], h1 = ohHi[ki];
      for (let kj = 0; kj < fw; kj++) {
        const w0 = owLo[kj], w1 = owHi[kj];
        const rowBase = ((c * fh + ki) * fw + kj) * NP;
        const shift = kj - pad;
        for (let n = 0; n < N; n++) {
          const plane = ((n * C + c0 + c) * H) * W;
          const colBase = rowBase + n * P;
          if (h0 > 0) cols.fill(0, colBase, colBase + h0 * outW);
          if (h1 < outH) cols.fill(0, colBase + h1 * outW, colBase + P);
          for (let oh = h0; oh < h1; oh++) {
            const d = colBase + oh * outW;
            const srcRow = plane + (oh * stride - pad + ki) * W + shift;
            if (w0 > 0) cols.fill(0, d, d + w0);
            if (w1 < outW) cols.fill(0, d + w1, d + outW);
            if (stride === 1 && w1 - w0 >= 16) cols.set(img.subarray(srcRow + w0, srcRow + w1), d + w0);
            else for (let ow = w0; ow < w1; ow++) cols[d + ow] = img[srcRow + ow * stride];
          }
        }
      }
    }
  }

  /** Adds the rows of plane (n, c) back onto dx: (ki, kj, oh, ow) order. */
  function foldPlane(n: number, c: number): void {
    const plane = ((n * C + c0 + c) * H) * W;
    if (pointwise) {
      const s = c * NP + n * P;
      for (let i = 0; i < P; i++) img[plane + i] += cols[s + i];
      return;
    }
    for (let ki = 0; ki < fh; ki++) {
      const h0 = ohLo[ki], h1 = ohHi[ki];
      for (let kj = 0; kj < fw; kj++) {
        const w0 = owLo[kj], w1 = owHi[kj];
        const colBase = ((c * fh + ki) * fw + kj) * NP + n * P;
        const shift = kj - pad;
        for (let oh = h0; oh < h1; oh++) {
          const s = colBase + oh * outW;
          const d = plane + (oh * stride - pad + ki) * W + shift;
          if (stride === 1) for (let ow = w0; ow < w1; ow++) img[d + ow] += cols[s + ow];
          else for (let ow = w0, di = d + w0 * stride; ow < w1; ow++, di += stride) img[di] += cols[s + ow];
        }
      }
    }
  }

  let next = 0;
  for (;;) {
    const t = ctl === null ? next++ : Atomics.add(ctl, 0, 1);
    if (t >= nTasks) break;
    const u1 = Math.min(units, (t + 1) * ub);
    for (let u = t * ub; u < u1; u++) {
      // Fold units run sample-major, as the planes lie in dx.
      if (fold) foldPlane(Math.floor(u / cn), u % cn);
      else unfoldChannel(u);
    }
    if (ctl !== null) {
      if (worker) Atomics.add(ctl, 3, 1);
      Atomics.add(ctl, 1, 1);
      if (Atomics.load(ctl, 6) !== 0) Atomics.notify(ctl, 1);
    }
  }
}

registerWorkerKernel('unfold', unfoldTasks as never, (job: UnfoldJob) => Math.ceil((job.fold ? job.N * job.cn : job.cn) / job.ub));

const calls = { threaded: 0, here: 0 };
/** Unfolds, folds and dout transposes so far that ran on the worker pool and on this thread alone (for tests). */
export function unfoldCalls(): { threaded: number; here: number } {
  return { ...calls };
}

/**
 * Runs an unfold or fold (see {@link UnfoldJob}): on every thread when the stores are shared
 * and the work is large, else here.
 */
export function runUnfold(job: Omit<UnfoldJob, 'kind' | 'ub' | 'ctl' | 'f32' | 'fma' | 'wasm' | 'buf'>): void {
  const units = job.fold ? job.N * job.cn : job.cn;
  // A batch of zero (summary's shape-only pass) has no units: no tasks (and no 0/0 of them).
  if (units === 0) return;
  const full: UnfoldJob = { ...job, kind: 'unfold', ub: units, ctl: null, f32: false, fma: false, wasm: false, buf: null };
  const work = job.cn * job.fh * job.fw * job.N * job.outH * job.outW;
  // Enough tasks per thread to even out a core that is busy elsewhere.
  if (tryTensorJob(units, work, [job.img, job.cols], (threads) => ({ ...full, ub: Math.max(1, Math.ceil(units / (8 * threads))) }))) {
    calls.threaded++;
    return;
  }
  calls.here++;
  unfoldTasks(full);
}

/**
 * The batch-wide backward's other layout change: dout (N, F, P) → (F, N·P), with each
 * filter's bias gradient summed on the way (row by row in sample order, each row from 0, as
 * float64): tasks of filters. WHY: on the main thread alone it was ~6 ms of a 90 ms backward
 * (ResNet-18's 128 → 256 stride-2 layer) while the workers waited.
 */
export interface DoutRowsJob extends WorkerJob {
  kind: 'doutRows';
  N: number; F: number; P: number;
  /** Filters per task. */
  fb: number;
  dout: FloatArray;
  /** (F, N·P). */
  rows: FloatArray;
  /** F bias-gradient sums. */
  db: Float64Array;
}

/** Runs tasks of a {@link DoutRowsJob} until none are left (all of them when `ctl` is null). Self-contained. */
export function doutRowsTasks(job: DoutRowsJob): void {
  const ctl = job.ctl;
  const worker = job.worker === true;
  const { N, F, P, fb, dout, rows, db } = job;
  const NP = N * P;
  const nTasks = Math.ceil(F / fb);
  let next = 0;
  for (;;) {
    const t = ctl === null ? next++ : Atomics.add(ctl, 0, 1);
    if (t >= nTasks) break;
    for (let f = t * fb; f < Math.min(F, (t + 1) * fb); f++) {
      let acc = 0;
      for (let n = 0; n < N; n++) {
        const src = (n * F + f) * P;
        const dst = f * NP + n * P;
        let s = 0;
        // Short rows (deep layers' 2×2, 4×4 maps) element by element: a set per row costs more.
        if (P >= 64) {
          rows.set(dout.subarray(src, src + P), dst);
          for (let i = src; i < src + P; i++) s += dout[i];
        } else {
          for (let i = 0; i < P; i++) {
            const v = dout[src + i];
            rows[dst + i] = v;
            s += v;
          }
        }
        acc += s;
      }
      db[f] = acc;
    }
    if (ctl !== null) {
      if (worker) Atomics.add(ctl, 3, 1);
      Atomics.add(ctl, 1, 1);
      if (Atomics.load(ctl, 6) !== 0) Atomics.notify(ctl, 1);
    }
  }
}

registerWorkerKernel('doutRows', doutRowsTasks as never, (job: DoutRowsJob) => Math.ceil(job.F / job.fb));

/**
 * dout (N, F, P) → rows (F, N·P), returning the F bias-gradient sums: on every thread when the
 * stores are shared and the work is large, else here.
 */
export function runDoutRows(N: number, F: number, P: number, dout: FloatArray, rows: FloatArray): Float64Array {
  const job: DoutRowsJob = { kind: 'doutRows', N, F, P, fb: F, dout, rows, db: new Float64Array(F), ctl: null, f32: false, fma: false, wasm: false, buf: null };
  if (F === 0) return job.db;
  // Threaded, the sums come back through shared memory.
  let shared: Float64Array | null = null;
  const ran = tryTensorJob(F, N * F * P, [dout, rows], (threads) => {
    shared = new Float64Array(new SharedArrayBuffer(8 * F) as unknown as ArrayBuffer);
    return { ...job, db: shared, fb: Math.max(1, Math.ceil(F / (8 * threads))) };
  });
  if (ran && shared !== null) {
    calls.threaded++;
    return shared;
  }
  calls.here++;
  doutRowsTasks(job);
  return job.db;
}
