/*
 * createBackend / createBackendAsync: an explicit, observable choice of where the vectorized
 * ops run.
 */
import { showValue } from '../core/check';
import type { NdArray } from 'ndarray';
import type { IntTensor, NumStore, Tensor } from '../core/tensor';
import type { MatmulOpts } from './args';
import type { GpuJsModule } from './gpujsTypes';
import {
  BackendUnavailableError,
  DEVICE_MODES,
  installNodeWebGpu,
  loadGpuJs,
  REQUESTED_MODES,
  unavailableReason,
  type BackendMode,
  type GpuMode,
  type RequestedMode,
} from './modes';
import { distancesPlan, lossPlan, gpuMatmulPlan, votePlan, type KernelPlan } from './plans';
import { KernelRunner } from './runner';
import { checkLimits, defaultLimits, type TileLimits } from './tiling';
import { tsDistances, tsKnnVote, tsLinearLoss, tsMatmul } from './tsPath';
import type { AsyncBackend, Backend, BackendOptions, DistanceOptions, LossAndGrad } from './types';

/**
 * A backend for `opts.mode` (default 'auto'). Synchronous, like the rest of the numeric API,
 * so 'webgpu' (whose readback is asynchronous) is only available from
 * {@link createBackendAsync}. Throws a BackendUnavailableError naming the mode and the reason
 * when the mode cannot run here.
 */
export function createBackend(opts: BackendOptions = {}): Backend {
  const requested = checkMode(opts.mode);
  if (requested === 'ts') return new TsBackend();
  if (requested === 'webgpu') {
    const reason = unavailableReason(loadGpuJs(), 'webgpu');
    throw new BackendUnavailableError('webgpu', reason ?? 'WebGPU kernels return their results asynchronously; use await createBackendAsync({ mode: "webgpu" })');
  }
  if (requested === 'auto') {
    const mod = loadGpuJs();
    const { mode, why } = pickAuto(mod, ['headlessgl', 'webgl2', 'webgl']);
    if (opts.verbose) say(mode, why);
    return mode === 'ts' ? new TsBackend() : new GpuBackend(mod, mode, opts);
  }
  const mod = loadGpuJs();
  const reason = unavailableReason(mod, requested);
  if (reason) throw new BackendUnavailableError(requested, reason);
  return new GpuBackend(mod, requested, opts);
}

/**
 * The same with Promise results. Needed for 'webgpu' (in Node through the `webgpu` package,
 * which it installs as navigator.gpu); 'auto' here also considers WebGPU, first. On other
 * modes the kernels run with gpu.js's async contract (threaded on webasm).
 */
export async function createBackendAsync(opts: BackendOptions = {}): Promise<AsyncBackend> {
  const requested = checkMode(opts.mode);
  if (requested === 'ts') return new AsyncTsBackend();
  const mod = loadGpuJs();
  if (requested === 'webgpu' || requested === 'auto') {
    const why = await webgpuUnavailable(mod);
    if (!why) {
      if (opts.verbose && requested === 'auto') say('webgpu', 'a WebGPU adapter answered');
      return new AsyncGpuBackend(mod, 'webgpu', opts);
    }
    if (requested === 'webgpu') throw new BackendUnavailableError('webgpu', why);
    const { mode, why: why2 } = pickAuto(mod, ['headlessgl', 'webgl2', 'webgl']);
    if (opts.verbose) say(mode, `webgpu: ${why}; ${why2}`);
    return mode === 'ts' ? new AsyncTsBackend() : new AsyncGpuBackend(mod, mode, opts);
  }
  const reason = unavailableReason(mod, requested);
  if (reason) throw new BackendUnavailableError(requested, reason);
  return new AsyncGpuBackend(mod, requested, opts);
}

function checkMode(mode: unknown): RequestedMode {
  const m = mode ?? 'auto';
  if (!REQUESTED_MODES.includes(m as RequestedMode)) {
    throw new RangeError(`mode: expected one of ${REQUESTED_MODES.map((x) => `'${x}'`).join(', ')}, got ${showValue(mode)}`);
  }
  return m as RequestedMode;
}

function pickAuto(mod: GpuJsModule, order: GpuMode[]): { mode: GpuMode | 'ts'; why: string } {
  const reasons: string[] = [];
  for (const m of order) {
    const r = unavailableReason(mod, m);
    if (!r) return { mode: m, why: `${m} is available` };
    reasons.push(`${m}: ${r}`);
  }
  return { mode: 'ts', why: `no graphics device (${reasons.join('; ')}); gpu.js on the CPU is slower than the TypeScript kernels` };
}

async function webgpuUnavailable(mod: GpuJsModule): Promise<string | null> {
  try {
    installNodeWebGpu();
  } catch (e) {
    return e instanceof BackendUnavailableError ? e.reason : String(e);
  }
  try {
    return (await mod.GPU.isWebGPUAvailable()) ? null : 'navigator.gpu exists but no WebGPU adapter answered';
  } catch (e) {
    return `requesting a WebGPU adapter failed: ${e instanceof Error ? e.message : String(e)}`;
  }
}

function say(mode: BackendMode, why: string): void {
  process.stderr.write(`cs231n-ts: backend auto -> ${mode} (${why})\n`);
}

function limitsFor(mode: GpuMode, opts: BackendOptions): TileLimits {
  const base = defaultLimits(mode === 'webgl2' || mode === 'webgl' || mode === 'headlessgl');
  return checkLimits({ ...base, ...(opts.limits ?? {}) });
}

/** mode 'ts': the TypeScript kernels. */
class TsBackend implements Backend {
  readonly mode = 'ts' as const;
  readonly onDevice = false;
  matmul(A: Tensor, B: Tensor, opts: MatmulOpts = {}): Tensor {
    return tsMatmul(A, B, opts);
  }
  distances(test: Tensor, train: Tensor, opts: DistanceOptions = {}): Tensor {
    return tsDistances(test, train, opts);
  }
  svmLoss(W: Tensor, X: Tensor, y: NdArray<NumStore>, reg: number): LossAndGrad {
    return tsLinearLoss('svm', W, X, y, reg);
  }
  softmaxLoss(W: Tensor, X: Tensor, y: NdArray<NumStore>, reg: number): LossAndGrad {
    return tsLinearLoss('softmax', W, X, y, reg);
  }
  knnVote(dists: Tensor, yTrain: NdArray<NumStore>, k: number, numClasses?: number): IntTensor {
    return tsKnnVote(dists, yTrain, k, numClasses);
  }
  dispose(): void {}
}

/** A gpu.js mode, synchronous. */
class GpuBackend implements Backend {
  readonly onDevice: boolean;
  private readonly runner: KernelRunner;
  private readonly lim: TileLimits;

  constructor(
    mod: GpuJsModule,
    readonly mode: GpuMode,
    opts: BackendOptions,
  ) {
    this.onDevice = DEVICE_MODES.includes(mode);
    this.lim = limitsFor(mode, opts);
    this.runner = new KernelRunner(mod, new mod.GPU({ mode }), mode, { cacheSize: opts.cacheSize });
  }
  private run<R, T>(plan: KernelPlan<R, T>): T {
    return plan.finish(this.runner.runSync(plan.steps));
  }
  matmul(A: Tensor, B: Tensor, opts: MatmulOpts = {}): Tensor {
    return this.run(gpuMatmulPlan(A, B, opts, this.lim));
  }
  distances(test: Tensor, train: Tensor, opts: DistanceOptions = {}): Tensor {
    return this.run(distancesPlan(test, train, opts, this.lim));
  }
  svmLoss(W: Tensor, X: Tensor, y: NdArray<NumStore>, reg: number): LossAndGrad {
    return this.run(lossPlan('svm', W, X, y, reg, this.lim));
  }
  softmaxLoss(W: Tensor, X: Tensor, y: NdArray<NumStore>, reg: number): LossAndGrad {
    return this.run(lossPlan('softmax', W, X, y, reg, this.lim));
  }
  knnVote(dists: Tensor, yTrain: NdArray<NumStore>, k: number, numClasses?: number): IntTensor {
    return this.run(votePlan(dists, yTrain, k, numClasses, this.lim));
  }
  /** Compiled kernels currently cached (for tests of the cache). */
  get cachedKernels(): number {
    return this.runner.cachedKernels;
  }
  dispose(): void {
    this.runner.dispose();
  }
}

/** mode 'ts' behind the async interface. */
class AsyncTsBackend implements AsyncBackend {
  readonly mode = 'ts' as const;
  readonly onDevice = false;
  private readonly ts = new TsBackend();
  async matmul(A: Tensor, B: Tensor, opts: MatmulOpts = {}): Promise<Tensor> {
    return this.ts.matmul(A, B, opts);
  }
  async distances(test: Tensor, train: Tensor, opts: DistanceOptions = {}): Promise<Tensor> {
    return this.ts.distances(test, train, opts);
  }
  async svmLoss(W: Tensor, X: Tensor, y: NdArray<NumStore>, reg: number): Promise<LossAndGrad> {
    return this.ts.svmLoss(W, X, y, reg);
  }
  async softmaxLoss(W: Tensor, X: Tensor, y: NdArray<NumStore>, reg: number): Promise<LossAndGrad> {
    return this.ts.softmaxLoss(W, X, y, reg);
  }
  async knnVote(dists: Tensor, yTrain: NdArray<NumStore>, k: number, numClasses?: number): Promise<IntTensor> {
    return this.ts.knnVote(dists, yTrain, k, numClasses);
  }
  dispose(): void {}
}

/** A gpu.js mode under gpu.js's async contract. */
class AsyncGpuBackend implements AsyncBackend {
  readonly onDevice: boolean;
  private readonly runner: KernelRunner;
  private readonly lim: TileLimits;

  constructor(
    mod: GpuJsModule,
    readonly mode: GpuMode,
    opts: BackendOptions,
  ) {
    this.onDevice = DEVICE_MODES.includes(mode);
    this.lim = limitsFor(mode, opts);
    this.runner = new KernelRunner(mod, new mod.GPU({ mode }), mode, { cacheSize: opts.cacheSize, asyncMode: true });
  }
  private async run<R, T>(plan: KernelPlan<R, T>): Promise<T> {
    return plan.finish(await this.runner.runAsync(plan.steps));
  }
  matmul(A: Tensor, B: Tensor, opts: MatmulOpts = {}): Promise<Tensor> {
    return this.run(gpuMatmulPlan(A, B, opts, this.lim));
  }
  distances(test: Tensor, train: Tensor, opts: DistanceOptions = {}): Promise<Tensor> {
    return this.run(distancesPlan(test, train, opts, this.lim));
  }
  svmLoss(W: Tensor, X: Tensor, y: NdArray<NumStore>, reg: number): Promise<LossAndGrad> {
    return this.run(lossPlan('svm', W, X, y, reg, this.lim));
  }
  softmaxLoss(W: Tensor, X: Tensor, y: NdArray<NumStore>, reg: number): Promise<LossAndGrad> {
    return this.run(lossPlan('softmax', W, X, y, reg, this.lim));
  }
  knnVote(dists: Tensor, yTrain: NdArray<NumStore>, k: number, numClasses?: number): Promise<IntTensor> {
    return this.run(votePlan(dists, yTrain, k, numClasses, this.lim));
  }
  dispose(): void {
    this.runner.dispose();
  }
}
