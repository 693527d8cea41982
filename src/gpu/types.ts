/*
 * The public face of src/gpu: what callers hold. No gpu.js type appears here.
 */
import type { NdArray } from 'ndarray';
import type { IntTensor, NumStore, Tensor } from '../core/tensor';
import type { MatmulOpts } from './args';
import type { BackendMode, RequestedMode } from './modes';
import type { TileLimits } from './tiling';

export type { MatmulOpts } from './args';

/** A linear loss and its gradient (same shape as the classifiers' `{ loss, dW }`). */
export interface LossAndGrad {
  /** Mean data loss over the N examples plus reg·ΣW². */
  loss: number;
  /** ∂loss/∂W in W's shape and dtype. */
  dW: Tensor;
}

/** Options of {@link Backend.distances}. */
export interface DistanceOptions {
  /** Return squared distances instead of Euclidean ones (cs231n returns Euclidean). */
  squared?: boolean;
}

/**
 * The accelerated vectorized ops. Every method validates its arguments, accepts Float64 or
 * Float32 ndarrays (any strides) and returns dense row-major ndarrays. gpu.js modes compute in
 * float32 and return the usual dtype (the caller's); the 'ts' mode computes in the input's dtype.
 */
export interface Backend {
  /** What actually runs: a gpu.js mode, or 'ts' for this package's pure-TypeScript kernels. */
  readonly mode: BackendMode;
  /** True when the mode runs on a graphics device (webgpu, headlessgl, webgl2, webgl). */
  readonly onDevice: boolean;
  /** op(A)·op(B) for 2-d float tensors; the result has A's dtype (as core `matmul`). */
  matmul(A: Tensor, B: Tensor, opts?: MatmulOpts): Tensor;
  /**
   * Distances (M, N) between test rows (M, D) and training rows (N, D), the kNN no-loop way
   * (‖a‖² + ‖b‖² − 2a·b, negative round-off clamped to 0; gpu.js modes first centre both sets
   * on the training mean, which leaves distances unchanged and cuts float32 cancellation).
   * Result dtype: float64 unless both are float32.
   */
  distances(test: Tensor, train: Tensor, opts?: DistanceOptions): Tensor;
  /** Multiclass SVM loss (delta 1) and gradient of W (D, C) on X (N, D) with labels y. */
  svmLoss(W: Tensor, X: Tensor, y: NdArray<NumStore>, reg: number): LossAndGrad;
  /** Softmax (cross-entropy) loss and gradient of W (D, C) on X (N, D) with labels y. */
  softmaxLoss(W: Tensor, X: Tensor, y: NdArray<NumStore>, reg: number): LossAndGrad;
  /**
   * kNN labels (M,) from distances (M, N): the k nearest training points, ordered by distance
   * then training index, vote; ties go to the smaller label. `numClasses` defaults to
   * max(yTrain) + 1.
   */
  knnVote(dists: Tensor, yTrain: NdArray<NumStore>, k: number, numClasses?: number): IntTensor;
  /** Frees the compiled kernels and the device context. The backend is unusable afterwards. */
  dispose(): void;
}

/** The same ops with Promise results: the only way to run webgpu, whose readback is async. */
export interface AsyncBackend {
  readonly mode: BackendMode;
  readonly onDevice: boolean;
  matmul(A: Tensor, B: Tensor, opts?: MatmulOpts): Promise<Tensor>;
  distances(test: Tensor, train: Tensor, opts?: DistanceOptions): Promise<Tensor>;
  svmLoss(W: Tensor, X: Tensor, y: NdArray<NumStore>, reg: number): Promise<LossAndGrad>;
  softmaxLoss(W: Tensor, X: Tensor, y: NdArray<NumStore>, reg: number): Promise<LossAndGrad>;
  knnVote(dists: Tensor, yTrain: NdArray<NumStore>, k: number, numClasses?: number): Promise<IntTensor>;
  dispose(): void;
}

/** Options of `createBackend` / `createBackendAsync`. */
export interface BackendOptions {
  /**
   * 'auto' (default) picks a graphics-device mode when one works, otherwise 'ts' — on a CPU,
   * gpu.js (webasm, cpu) is slower than the TypeScript kernels. Any other mode is used exactly
   * or throws a BackendUnavailableError saying why; there is no silent fallback.
   */
  mode?: RequestedMode;
  /** Say on stderr, once, which mode 'auto' chose and why. */
  verbose?: boolean;
  /**
   * Smaller per-launch limits than gpu.js's (for tests that exercise tiling cheaply); they can
   * only be lowered: maxElements ≤ 2^24.
   */
  limits?: Partial<TileLimits>;
  /** Compiled kernels kept per backend (least recently used are destroyed). Default 64. */
  cacheSize?: number;
}
