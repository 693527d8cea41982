import type { FloatArray } from '../../core/dtype';
import { isShared } from '../../core/bufferPool';
import type { Arena } from '../../core/gemm/arena';
import { THREAD_MIN_WORK } from '../../core/gemm/gemm';
import { registerWorkerKernel, tryThreaded, workersUsable, type WorkerJob } from '../../core/gemm/workers';

/*
 * The Winograd F(4×4, 3×3) filter transform U = G g Gᵀ of a whole filter bank, into the 36
 * packed Fp × Cin operands of the products (layout: WinogradJob.uOff in winogradTasks.ts), as
 * tasks of 4-filter panels on every thread.
 *
 * G = D·G′ with D = diag(1/4, 1/6, 1/6, 1/24, 1/24, 1) and G′ of small integers
 * (rows [1 0 0], [−1 −1 −1], [−1 1 −1], [1 2 4], [1 −2 4], [0 0 1]), so U_ab =
 * (D_a·D_b)·(G′ g G′ᵀ)_ab: sums with integer weights, then one multiplication by a constant.
 *
 * WHY: this ran on the main thread before every Winograd pass while the workers waited, with
 * 45 divisions per filter and its 36 values written far apart: 35 ms for a 512 × 512 bank, a
 * quarter of VGG16's eval forward, most of it in cache misses of the scattered writes.
 *
 * Self-contained (shipped to the workers as source; see TaskRunner in core/gemm/workers.ts).
 */

/** The transform of one bank: filters (o, i) of `w` into the arena from `uOff`. */
export interface WinogradFilterJob extends WorkerJob {
  kind: 'winogradFilters';
  w: FloatArray;
  Cout: number;
  Cin: number;
  /** Filter (o, i) is w[i, o] turned by 180° (dx's filters) instead of w[o, i]. */
  flip: boolean;
  uOff: number;
  /** 4-filter panels per task. */
  pb: number;
}

/** Runs tasks of a {@link WinogradFilterJob} on the arena view `A` until none are left. */
export function winogradFilterTasks(job: WinogradFilterJob, A: FloatArray): void {
  const ctl = job.ctl;
  const worker = job.worker === true;
  const { w, Cout, Cin, flip, uOff, pb } = job;
  const Fp = (Cout + 3) & ~3;
  const panels = Fp >> 2;
  const step = Fp * Cin;
  const nTasks = Math.ceil(panels / pb);
  // D_a·D_b for the 36 coordinates ξ = 6a + b.
  const d = [1 / 4, 1 / 6, 1 / 6, 1 / 24, 1 / 24, 1];
  const scale = new Float64Array(36);
  for (let a = 0; a < 6; a++) for (let b = 0; b < 6; b++) scale[6 * a + b] = d[a] * d[b];
  const t = new Float64Array(18);
  // A block of IB input channels of one panel is built here, then copied out one ξ at a time.
  const IB = 64;
  const buf = A instanceof Float32Array ? new Float32Array(36 * 4 * IB) : new Float64Array(36 * 4 * IB);
  const bStep = 4 * IB;
  let next = 0;
  for (;;) {
    const task = ctl === null ? next++ : Atomics.add(ctl, 0, 1);
    if (task >= nTasks) break;
    for (let panel = task * pb; panel < Math.min(panels, (task + 1) * pb); panel++) {
      for (let i0 = 0; i0 < Cin; i0 += IB) {
        const nb = Math.min(IB, Cin - i0);
        for (let ii = 0; ii < nb; ii++) {
          const i = i0 + ii;
          for (let r = 0; r < 4; r++) {
            const o = 4 * panel + r;
            const base = 4 * ii + r;
            if (o >= Cout) {
              for (let xi = 0; xi < 36; xi++) buf[base + xi * bStep] = 0;
              continue;
            }
            const src = flip ? (i * Cout + o) * 9 : (o * Cin + i) * 9;
            // t = G′ g (6 × 3), column j of g = its j-th kernel column.
            for (let j = 0; j < 3; j++) {
              const g0 = flip ? w[src + 8 - j] : w[src + j];
              const g1 = flip ? w[src + 5 - j] : w[src + 3 + j];
              const g2 = flip ? w[src + 2 - j] : w[src + 6 + j];
              t[j] = g0;
              t[3 + j] = -(g0 + g1 + g2);
              t[6 + j] = g1 - g0 - g2;
              t[9 + j] = g0 + 2 * g1 + 4 * g2;
              t[12 + j] = g0 - 2 * g1 + 4 * g2;
              t[15 + j] = g2;
            }
            // U row a = (t row a) G′ᵀ, scaled.
            for (let a = 0; a < 6; a++) {
              const g0 = t[3 * a], g1 = t[3 * a + 1], g2 = t[3 * a + 2];
              const o0 = base + 6 * a * bStep;
              const sc = 6 * a;
              buf[o0] = g0 * scale[sc];
              buf[o0 + bStep] = -(g0 + g1 + g2) * scale[sc + 1];
              buf[o0 + 2 * bStep] = (g1 - g0 - g2) * scale[sc + 2];
              buf[o0 + 3 * bStep] = (g0 + 2 * g1 + 4 * g2) * scale[sc + 3];
              buf[o0 + 4 * bStep] = (g0 - 2 * g1 + 4 * g2) * scale[sc + 4];
              buf[o0 + 5 * bStep] = g2 * scale[sc + 5];
            }
          }
        }
        // The 36 operands lie a power of two apart for power-of-two banks: written as 36 streams
        // at once, they share cache sets and evict each other (3× slower); one run at a time.
        for (let xi = 0; xi < 36; xi++) A.set(buf.subarray(xi * bStep, xi * bStep + 4 * nb), uOff + xi * step + panel * 4 * Cin + 4 * i0);
      }
    }
    if (ctl !== null) {
      if (worker) Atomics.add(ctl, 3, 1);
      Atomics.add(ctl, 1, 1);
      if (Atomics.load(ctl, 6) !== 0) Atomics.notify(ctl, 1);
    }
  }
}

registerWorkerKernel('winogradFilters', winogradFilterTasks as never, (job: WinogradFilterJob) => Math.ceil(((job.Cout + 3) >> 2) / job.pb));

const calls = { threaded: 0, here: 0 };
/** Banks transformed so far on the worker pool and on this thread alone (for tests). */
export function winogradFilterCalls(): { threaded: number; here: number } {
  return { ...calls };
}

/**
 * Writes the 36 transformed filters of `w` (Cout × Cin × 3 × 3, or with `flip` its dx filters)
 * into `arena` at `uOff` (elements of the arena's float32 view when `f32`, else float64), on
 * `threads` threads when the work is large and `w` is shared.
 */
export function writeWinogradFilters(arena: Arena, f32: boolean, uOff: number, w: FloatArray, Cout: number, Cin: number, flip: boolean, threads: number): void {
  const panels = (Cout + 3) >> 2;
  const job: WinogradFilterJob = {
    kind: 'winogradFilters', w, Cout, Cin, flip, uOff, pb: panels,
    // The workers' view of the arena: the wasm memory, or the JS arena's buffer (without
    // either they would get an empty view, and writes to it vanish).
    ctl: null, f32, fma: false, wasm: arena.kind === 'wasm', buf: arena.kind === 'wasm' ? null : arena.F.buffer,
  };
  if (threads > 1 && panels >= 2 && 36 * Cout * Cin >= THREAD_MIN_WORK && arena.shared && isShared(w) && workersUsable()) {
    if (tryThreaded({ ...job, pb: Math.max(1, Math.ceil(panels / (4 * threads))) }, threads, arena)) {
      calls.threaded++;
      return;
    }
  }
  calls.here++;
  winogradFilterTasks(job, f32 ? arena.F32 : arena.F);
}
