import { isShared } from '../../core/bufferPool';
import { packFiltersWithBias } from '../../core/convFused';
import type { FloatArray } from '../../core/dtype';
import { arenaTiles, getArena, wasmAvailable } from '../../core/gemm/arena';
import { gemmFma, gemmKernel } from '../../core/gemm/gemm';
import { gemmBlock } from '../../core/gemm/kernel';
import { registerWorkerKernel, threadCount, tryThreaded, workersUsable, type WorkerJob } from '../../core/gemm/workers';

/*
 * An inverted residual block at inference — [1×1 expand] → 3×3 or 5×5 depthwise →
 * [squeeze-and-excitation] → 1×1 project, each conv followed by a clamp (ReLU, ReLU6), SiLU or
 * nothing, plus the input or a 1×1 shortcut — run sample by sample in a thread's scratch, with
 * batch norm already folded into the filters (nn/convBnFold.ts). Each step is the kernel the
 * layers run one by one: the fused convolution's tile product over the unfolded block with the
 * bias as column K (core/gemm/convTasks.ts), the unrolled depthwise planes
 * (core/gemm/wasmDepthwiseK.ts), clampRows32 / siluFwd32 / sigmoidFwd32, the pooling op's mean
 * and the channel-scale op's product, and the residual add as a float32 sum — so the block
 * gives the bits of its layers run one by one, on any thread count.
 *
 * WHY: run layer by layer, the block's wide middle (6× the input's channels) crossed memory
 * four times — written by the expansion, copied into the arena and out again by the
 * depthwise, copied in again by the projection — and those copies, not the arithmetic, were
 * most of what separated MobileNet V2's eval forward from PyTorch's. Here only the block's
 * input and output cross; the middle stays in the scratch (≈ 1.4 MB a thread at 32×32 with
 * 144 channels).
 *
 * WHY self-contained: the runner is shipped to the worker threads as source (see TaskRunner in
 * core/gemm/workers.ts); it uses only its arguments and the thread's wasm exports.
 */

/** A block's shape: N samples of (Cin, H, W) in, Cout channels out, `planes` in the middle, the depthwise's stride. */
export interface InvResGeometry {
  N: number;
  Cin: number;
  H: number;
  W: number;
  planes: number;
  Cout: number;
  stride: number;
}

/**
 * Where a block reads and writes in larger tensors (ShuffleNet V2's units read half of x and
 * write every other channel of the shuffled output): x is (N, xC, H, W), of which the block
 * reads channels [xC0, xC0 + Cin); the output is (N, outC, outH, outW), the block's channel f
 * being channel outC0 + f·outStep; input channels k < pass are copied as they are to output
 * channels passC0 + k·outStep (stride 1).
 */
export interface InvResPlacement {
  xC: number;
  xC0: number;
  outC: number;
  outC0: number;
  outStep: number;
  pass: number;
  passC0: number;
}

/** One inverted residual forward over `N` samples, `S` samples a task. Offsets count floats of the arena. */
export interface InvResJob extends WorkerJob, InvResGeometry, InvResPlacement {
  kind: 'invRes';
  S: number;
  outH: number;
  outW: number;
  /** 1 when the block has the 1×1 expansion (else the depthwise reads the input, planes = Cin). */
  expand: number;
  /**
   * The activations after the expansion, the depthwise and the projection: 0 none, 1 the clamp
   * [lo, hi] (ReLU, ReLU6), 2 SiLU.
   */
  act1: number;
  lo1: number;
  hi1: number;
  act2: number;
  lo2: number;
  hi2: number;
  act3: number;
  lo3: number;
  hi3: number;
  /** The depthwise's k × k window (3 or 5; padding k >> 1). */
  k: number;
  /**
   * Squeeze-and-excitation between the depthwise and the projection (1) or not (0): per sample
   * and channel the plane's mean, `sq` channels by fc1 (+ act4: 1 the clamp [lo4, hi4], 2 SiLU),
   * back to `planes` by fc2, a sigmoid, and the planes scaled by it. fc1 is FgpS1 rows of KpS1
   * at wS1Off, fc2 FgpS2 rows of KpS2 at wS2Off (bias in column K); `ldS` the row stride of the
   * per-sample columns.
   */
  se: number;
  sq: number;
  act4: number;
  lo4: number;
  hi4: number;
  wS1Off: number;
  wS2Off: number;
  KpS1: number;
  FgpS1: number;
  KpS2: number;
  FgpS2: number;
  ldS: number;
  /** 0: no residual; 1: the input itself (Cin = Cout); 2: a 1×1 shortcut (filters at w4Off). */
  residual: number;
  /** Filters with the bias in column K: expand (Fgp1 rows of Kp1), project (Fgp3 rows of Kp3), shortcut (Fgp3 rows of Kp1). */
  w1Off: number;
  w3Off: number;
  w4Off: number;
  Kp1: number;
  Fgp1: number;
  Kp3: number;
  Fgp3: number;
  /** The depthwise filters (planes × 9) and biases. */
  wdOff: number;
  bdOff: number;
  /** Row strides of the expansion's and the projection's blocks (S·H·W and S·outH·outW, padded). */
  ld1: number;
  ld3: number;
  /** Floats of the depthwise's padded plane. */
  padLen: number;
  /** Per-thread scratch: slot t at sOff + t·sLen. */
  sOff: number;
  sLen: number;
  /** The block's input and output (see {@link InvResPlacement}). */
  x: FloatArray;
  out: FloatArray;
}

/** Runs tasks of an {@link InvResJob} until none are left (all of them when `ctl` is null). */
export function invResTasks(
  job: InvResJob, F: FloatArray, block: unknown, blockS: unknown, _r: unknown, gemmFn: typeof gemmBlock, ex: Record<string, unknown> | null,
): void {
  const ctl = job.ctl;
  const { N, S, Cin, H, W, planes, Cout, stride, outH, outW, Kp1, Fgp1, Kp3, Fgp3, ld1, ld3, padLen } = job;
  const HW = H * W;
  const P = outH * outW;
  const x = job.x;
  const out = job.out;
  const e = ex as Record<string, (...a: number[]) => void>;
  const clamp = e.clampRows32;
  const silu = e.siluFwd32;
  const dw = e[job.k === 5 ? 'dw5f32' : 'dw3f32'];
  const kp = job.k >> 1;
  // An activation in place over `rows` rows of `ld` floats (`cols` of them used): the clamp on
  // the used columns, SiLU over the whole rows (ld is a multiple of 4), as the layers apply them.
  const activate = (kind: number, at: number, rows: number, cols: number, ld: number, lo: number, hi: number): void => {
    if (kind === 1) clamp(4 * at, 4 * at, cols, rows, 4 * ld, 4 * ld, lo, hi);
    else if (kind === 2) silu(4 * at, 4 * at, rows * ld);
  };
  const nTasks = Math.ceil(N / S);
  const product = (aOff: number, Kp: number, Fgp: number, bOff: number, ld: number, cOff: number, cols: number): void => {
    gemmFn({
      aOff, ars: 1, acs: 4, aSlice: 0, aPanelK: 0, aPanel0: 4 * Kp, // the filters' panels (convFused.ts's PANEL_A)
      bOff, brs: ld, bSlice: 0, bPanelK: 0, bPanel0: 4,
      packed: false, slices: 1, kc: Kp, kcLast: Kp,
      cOff, cStep: 0, ldc: ld, mp: Fgp >> 2, np: (cols + 3) >> 2, mcP: Fgp >> 2, ncP: (cols + 3) >> 2,
      split: false, acc: false, stream: 0, unit: 1, colMajor: false,
      wasm: true, f32: true, fma: job.fma, buf: null, ctl: null,
    }, F, block as never, blockS as never);
  };
  let A1 = -1, P1 = 0, pad = 0, B3 = 0, P3 = 0, P4 = 0, S1 = 0, Q1 = 0, S2 = 0, Q2 = 0;
  let next = 0;
  for (;;) {
    const t = ctl === null ? next++ : Atomics.add(ctl, 0, 1);
    if (t >= nTasks) break;
    if (A1 < 0) {
      // This thread's slot, and the rows every block shares: the all-ones row K (the bias's
      // column of the filters) and zero rows up to Kp, in both unfolded blocks.
      A1 = job.sOff + (ctl === null ? 0 : Atomics.add(ctl, 7, 1)) * job.sLen;
      P1 = A1 + Kp1 * ld1;
      pad = P1 + (job.expand === 1 ? Fgp1 * ld1 : 0);
      B3 = pad + padLen;
      P3 = B3 + Kp3 * ld3;
      P4 = P3 + Fgp3 * ld3;
      // Squeeze-and-excitation's columns: the means (KpS1 rows), fc1's product, its activated
      // rows (KpS2 rows), fc2's product.
      S1 = P4 + (job.residual === 2 ? Fgp3 * ld3 : 0);
      Q1 = S1 + job.KpS1 * job.ldS;
      S2 = Q1 + job.FgpS1 * job.ldS;
      Q2 = S2 + job.KpS2 * job.ldS;
      if (job.se === 1) {
        F.fill(0, S1 + planes * job.ldS, S1 + job.KpS1 * job.ldS);
        F.fill(1, S1 + planes * job.ldS, S1 + (planes + 1) * job.ldS);
        F.fill(0, S2 + job.sq * job.ldS, S2 + job.KpS2 * job.ldS);
        F.fill(1, S2 + job.sq * job.ldS, S2 + (job.sq + 1) * job.ldS);
      }
      F.fill(0, A1 + Cin * ld1, A1 + Kp1 * ld1);
      F.fill(1, A1 + Cin * ld1, A1 + (Cin + 1) * ld1);
      F.fill(0, B3 + planes * ld3, B3 + Kp3 * ld3);
      F.fill(1, B3 + planes * ld3, B3 + (planes + 1) * ld3);
    }
    const n = t * S;
    const ns = Math.min(S, N - n);
    // The samples' channels side by side: row c holds channel c of sample i at columns [i·HW, (i + 1)·HW).
    for (let i = 0; i < ns; i++) {
      for (let c = 0; c < Cin; c++) {
        const src = ((n + i) * job.xC + job.xC0 + c) * HW;
        const dst = A1 + c * ld1 + i * HW;
        if (HW >= 64) F.set(x.subarray(src, src + HW), dst);
        else for (let q = 0; q < HW; q++) F[dst + q] = x[src + q];
      }
    }
    // The depthwise's input: the expansion's product, or the input's own rows.
    const D = job.expand === 1 ? P1 : A1;
    if (job.expand === 1) {
      product(job.w1Off, Kp1, Fgp1, A1, ld1, P1, ns * HW);
      activate(job.act1, P1, Fgp1, ns * HW, ld1, job.lo1, job.hi1);
    }
    for (let i = 0; i < ns; i++) {
      dw(4 * (D + i * HW), 4 * job.wdOff, 4 * job.bdOff, 4 * (B3 + i * P), planes, H, W, outH, outW, stride, 1, kp,
        4 * pad, 4 * (W + 2 * kp), 4 * padLen, 4 * ld1, 4 * ld3, 1);
    }
    activate(job.act2, B3, planes, ns * P, ld3, job.lo2, job.hi2);
    if (job.se === 1) {
      const ldS = job.ldS;
      // Each plane's mean as the pooling op takes it (ops/kernels/planeTasks.ts 'mean'): four
      // interleaved partial sums, ((s0 + s1) + (s2 + s3)) / P, rounded to float32 when stored.
      for (let c = 0; c < planes; c++) {
        for (let i = 0; i < ns; i++) {
          let s0 = 0, s1 = 0, s2 = 0, s3 = 0;
          let q = B3 + c * ld3 + i * P;
          const end = q + P;
          for (; q + 4 <= end; q += 4) {
            s0 += F[q];
            s1 += F[q + 1];
            s2 += F[q + 2];
            s3 += F[q + 3];
          }
          for (; q < end; q++) s0 += F[q];
          F[S1 + c * ldS + i] = (s0 + s1 + (s2 + s3)) / P;
        }
      }
      product(job.wS1Off, job.KpS1, job.FgpS1, S1, ldS, Q1, ns);
      activate(job.act4, Q1, job.FgpS1, ns, ldS, job.lo4, job.hi4);
      F.copyWithin(S2, Q1, Q1 + job.sq * ldS);
      product(job.wS2Off, job.KpS2, job.FgpS2, S2, ldS, Q2, ns);
      e.sigmoidFwd32(4 * Q2, 4 * Q2, planes * ldS);
      // The planes times their gate, as the channel-scale op (one float32 product each).
      for (let c = 0; c < planes; c++) {
        for (let i = 0; i < ns; i++) {
          const v = F[Q2 + c * ldS + i];
          const q0 = B3 + c * ld3 + i * P;
          for (let q = q0; q < q0 + P; q++) F[q] = F[q] * v;
        }
      }
    }
    product(job.w3Off, Kp3, Fgp3, B3, ld3, P3, ns * P);
    activate(job.act3, P3, Cout, ns * P, ld3, job.lo3, job.hi3);
    if (job.residual === 2) product(job.w4Off, Kp1, Fgp3, A1, ld1, P4, ns * HW);
    // Out: the projection, plus the input (row f of the unfolded block is channel f) or the shortcut.
    const R = job.residual === 1 ? A1 : P4;
    const rs = job.residual === 1 ? ld1 : ld3;
    for (let i = 0; i < ns; i++) {
      for (let k = 0; k < job.pass; k++) {
        const o = ((n + i) * job.outC + job.passC0 + k * job.outStep) * P;
        const src = ((n + i) * job.xC + k) * HW;
        if (P >= 64) out.set(x.subarray(src, src + P), o);
        else for (let q = 0; q < P; q++) out[o + q] = x[src + q];
      }
      for (let f = 0; f < Cout; f++) {
        const o = ((n + i) * job.outC + job.outC0 + f * job.outStep) * P;
        const p = P3 + f * ld3 + i * P;
        if (job.residual === 0) {
          if (P >= 64) out.set(F.subarray(p, p + P), o);
          else for (let q = 0; q < P; q++) out[o + q] = F[p + q];
          continue;
        }
        const r = R + f * rs + i * P;
        for (let q = 0; q < P; q++) out[o + q] = F[p + q] + F[r + q];
      }
    }
    if (ctl !== null) {
      if (job.worker === true) Atomics.add(ctl, 3, 1);
      Atomics.add(ctl, 1, 1);
      if (Atomics.load(ctl, 6) !== 0) Atomics.notify(ctl, 1);
    }
  }
}

registerWorkerKernel('invRes', invResTasks as never, (job: InvResJob) => Math.ceil(job.N / job.S));

/** The folded layers of one block: filters (F, C/groups, kh, kw) flattened, a bias per filter. */
export interface FoldedConv {
  w: FloatArray;
  b: FloatArray;
}

/** What {@link invertedResidualForward} runs. */
export interface InvResSpec extends InvResGeometry {
  /** The 1×1 expansion, or null (then planes = Cin: the depthwise reads the input). */
  expand: FoldedConv | null;
  depthwise: FoldedConv;
  project: FoldedConv;
  /** 'identity': out += x; a folded 1×1 conv: out += shortcut(x); null: no residual. */
  residual: 'identity' | FoldedConv | null;
  /** The activations after the expansion, the depthwise and the projection (before the residual); null: none. */
  act1: BlockActivation | null;
  act2: BlockActivation | null;
  act3: BlockActivation | null;
  /** The depthwise's window: 3 (default) or 5, padding k >> 1. */
  k?: 3 | 5;
  /** Squeeze-and-excitation after the depthwise's activation (EfficientNet's MBConv), or null. */
  se?: {
    fc1: FoldedConv;
    fc2: FoldedConv;
    squeeze: number;
    act: BlockActivation;
  } | null;
}

/** An activation the block runs in place: a clamp [lo, hi] (ReLU, ReLU6) or SiLU. */
export type BlockActivation = { clamp: readonly [number, number] } | { silu: true };

const ceil4 = (v: number): number => (v + 3) & ~3;
/** Rows of whole 4-wide panels, and not a multiple of 4 KiB apart (see padLd in core/convFused.ts). */
const padLd = (v: number): number => ((ceil4(v) * 4) % 4096 === 0 ? ceil4(v) + 4 : ceil4(v));
/** Floats the arena may give one call (as the fused convolution's budget). */
const BUDGET = (48 << 20) / 4;
/**
 * Most floats of one thread's scratch (4 MiB): the block's middle should stay in L2 between
 * the steps; larger maps (ImageNet's 112×112 and 56×56 stages) run the layers one by one,
 * which block their rows for the cache.
 */
const SCRATCH_MAX = 1 << 20;

/** A {@link BlockActivation} as the job's act{i} (0 none, 1 clamp, 2 SiLU) and its clamp's [lo{i}, hi{i}]. */
const kindOf = (a: BlockActivation | null): number => (a === null ? 0 : 'silu' in a ? 2 : 1);
const boundsOf = (a: BlockActivation | null): readonly [number, number] => (a !== null && 'clamp' in a ? a.clamp : [0, 0]);

/** True when this process can run the fused block (float32 on the wasm tiles). */
export function invertedResidualAvailable(): boolean {
  return gemmKernel() === 'wasm' && wasmAvailable();
}

/**
 * The block's eval forward into `out` (N, Cout, outH, outW) — or, with `place`, into its
 * channels of a larger output — float32: the layers' bits (see the file comment). False,
 * writing nothing, when its scratch does not fit the arena (the caller then runs the layers
 * one by one).
 */
export function invertedResidualForward(spec: InvResSpec, x: Float32Array, out: Float32Array, place?: InvResPlacement): boolean {
  const { N, Cin, H, W, planes, Cout, stride } = spec;
  if (!spec.expand && planes !== Cin) throw new RangeError(`planes: a block without expansion keeps its Cin = ${Cin} channels, got ${planes}`);
  const k = spec.k ?? 3;
  const kp = k >> 1;
  const outH = Math.floor((H - 1) / stride) + 1;
  const outW = Math.floor((W - 1) / stride) + 1;
  const HW = H * W;
  const P = outH * outW;
  let threads = threadCount();
  if (threads > 1 && (N < 2 || !workersUsable())) threads = 1;
  // Small maps: several samples side by side, up to 64 columns, two tasks a thread at least.
  const S = Math.max(1, Math.min(Math.ceil(64 / P), Math.floor(N / (2 * threads))));
  const Kp1 = ceil4(Cin + 1);
  const Fgp1 = ceil4(planes);
  const Kp3 = ceil4(planes + 1);
  const Fgp3 = ceil4(Cout);
  const ld1 = padLd(S * HW);
  const ld3 = padLd(S * P);
  // The depthwise's padded plane (as the unrolled planes' driver sizes it), 16 floats of slack.
  const padLen = ceil4((H + 2 * kp) * (W + 2 * kp) + 16);
  const se = spec.se ?? null;
  const sq = se ? se.squeeze : 0;
  const KpS1 = ceil4(planes + 1);
  const FgpS1 = ceil4(sq);
  const KpS2 = ceil4(sq + 1);
  const FgpS2 = ceil4(planes);
  const ldS = padLd(S);
  const shortcut = spec.residual !== null && spec.residual !== 'identity' ? spec.residual : null;
  const w1Off = 0;
  const w3Off = w1Off + Fgp1 * Kp1;
  const w4Off = w3Off + Fgp3 * Kp3;
  const wS1Off = w4Off + (shortcut ? Fgp3 * Kp1 : 0);
  const wS2Off = wS1Off + (se ? FgpS1 * KpS1 : 0);
  const wdOff = wS2Off + (se ? FgpS2 * KpS2 : 0);
  const bdOff = wdOff + planes * k * k;
  const sOff = ceil4(bdOff + planes);
  const sLen = Kp1 * ld1 + (spec.expand ? Fgp1 * ld1 : 0) + padLen + Kp3 * ld3 + Fgp3 * ld3 + (shortcut ? Fgp3 * ld3 : 0) +
    (se ? (KpS1 + FgpS1 + KpS2 + FgpS2) * ldS : 0);
  if (sLen > SCRATCH_MAX || sOff + sLen > BUDGET) return false;
  // Stores the workers cannot see (small tensors are not shared, core/bufferPool.ts) go through
  // the arena after the slots: x copied in, the output copied in and back out (a placement
  // writes only some of its channels).
  const stageX = threads > 1 && !isShared(x) ? x.length : 0;
  const stageOut = threads > 1 && !isShared(out) ? out.length : 0;
  while (threads > 1 && sOff + threads * sLen + stageX + stageOut > BUDGET) threads--;
  const end = sOff + threads * sLen;
  const arena = getArena('wasm', Math.ceil((end + (threads > 1 ? stageX + stageOut : 0)) / 2));
  if (arena === null || arena.exports === null) return false;
  if (threads > 1 && !arena.shared) threads = 1;
  const A = arena.F32;
  let xs = x;
  let os = out;
  if (threads > 1 && stageX > 0) {
    xs = A.subarray(end, end + stageX);
    xs.set(x);
  }
  if (threads > 1 && stageOut > 0) {
    os = A.subarray(end + stageX, end + stageX + stageOut);
    os.set(out);
  }
  // Filters as rows of Kp with the bias in column K, zero elsewhere, in panels: the fused convolution's layout.
  const rows = (at: number, f: FoldedConv, F: number, K: number, Fgp: number, Kp: number): void => packFiltersWithBias(A, at, f.w, f.b, F, K, Fgp, Kp);
  if (spec.expand) rows(w1Off, spec.expand, planes, Cin, Fgp1, Kp1);
  rows(w3Off, spec.project, Cout, planes, Fgp3, Kp3);
  if (shortcut) rows(w4Off, shortcut, Cout, Cin, Fgp3, Kp1);
  if (se) {
    rows(wS1Off, se.fc1, sq, planes, FgpS1, KpS1);
    rows(wS2Off, se.fc2, planes, sq, FgpS2, KpS2);
  }
  A.set(spec.depthwise.w.subarray(0, planes * k * k), wdOff);
  A.set(spec.depthwise.b.subarray(0, planes), bdOff);
  const job: InvResJob = {
    kind: 'invRes', ctl: null, f32: true, fma: gemmFma(), wasm: true, buf: null,
    N, S, Cin, H, W, planes, Cout, stride, outH, outW,
    expand: spec.expand ? 1 : 0,
    act1: kindOf(spec.act1), lo1: boundsOf(spec.act1)[0], hi1: boundsOf(spec.act1)[1],
    act2: kindOf(spec.act2), lo2: boundsOf(spec.act2)[0], hi2: boundsOf(spec.act2)[1],
    act3: kindOf(spec.act3), lo3: boundsOf(spec.act3)[0], hi3: boundsOf(spec.act3)[1],
    act4: kindOf(se ? se.act : null), lo4: boundsOf(se ? se.act : null)[0], hi4: boundsOf(se ? se.act : null)[1],
    k, se: se ? 1 : 0, sq, wS1Off, wS2Off, KpS1, FgpS1, KpS2, FgpS2, ldS,
    residual: spec.residual === null ? 0 : spec.residual === 'identity' ? 1 : 2,
    w1Off, w3Off, w4Off, Kp1, Fgp1, Kp3, Fgp3, wdOff, bdOff, ld1, ld3, padLen, sOff, sLen, x: xs, out: os,
    ...(place ?? { xC: Cin, xC0: 0, outC: Cout, outC0: 0, outStep: 1, pass: 0, passC0: 0 }),
  };
  if (job.pass > 0 && P !== HW) throw new RangeError(`place.pass: channels pass through only at stride 1, got stride ${stride}`);
  if (!(threads > 1 && tryThreaded(job, threads, arena))) {
    const { block, blockS } = arenaTiles(arena, true, job.fma);
    invResTasks({ ...job, ctl: null }, A, block, blockS, null, gemmBlock, arena.exports);
  }
  if (os !== out) out.set(os);
  return true;
}
