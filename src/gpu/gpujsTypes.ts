/*
 * The few parts of gpu.js this package touches, typed locally. gpu.js's own declarations
 * need the DOM lib (this package compiles without it) and reject Float32Array/Float64Array
 * arguments in places, so its types never leak past src/gpu: everything else sees only the
 * Backend interface.
 */

/** Settings passed to `gpu.createKernel`; only the ones this package sets. */
export interface GpuJsKernelSettings {
  output: number[];
  constants: Record<string, number>;
  precision: 'single';
  tactic: 'precision';
  pipeline: false;
  immutable: boolean;
  dynamicOutput: false;
  dynamicArguments: false;
  loopMaxIterations: number;
  asyncMode?: boolean;
}

/** The gpu.js Kernel object behind a callable kernel (what actually runs). */
export interface GpuJsKernelImpl {
  constructor: { name: string };
  fallbackReason?: string | null;
}

/** A compiled gpu.js kernel: call it with the kernel's arguments. */
export interface GpuJsKernel {
  (...args: unknown[]): unknown;
  /** The backend kernel that runs; replaced by gpu.js when it falls back to another backend. */
  kernel?: GpuJsKernelImpl;
  destroy(removeCanvasReferences?: boolean): void;
}

/** A `new GPU(...)` instance. */
export interface GpuJsInstance {
  /** The Kernel class gpu.js chose for this instance (compared against what ran). */
  Kernel: { name: string } | null;
  createKernel(fn: (...args: never[]) => number, settings: GpuJsKernelSettings): GpuJsKernel;
  destroy(): unknown;
}

/** The `GPU` class with the static feature checks used to pick a mode. */
export interface GpuJsClass {
  new (settings: { mode: string }): GpuJsInstance;
  readonly isHeadlessGLSupported: boolean;
  readonly isWebGL2Supported: boolean;
  readonly isWebGLSupported: boolean;
  readonly isWebGPUSupported: boolean;
  readonly isWebAssemblySupported: boolean;
  isWebGPUAvailable(): Promise<boolean>;
}

/** What `require('gpu.js')` (or the browser bundle's global `GPU`) provides. */
export interface GpuJsModule {
  GPU: GpuJsClass;
  /** Wraps a flat array as a [width, height] argument without copying it into nested arrays. */
  input(value: Float32Array, size: number[]): unknown;
}
