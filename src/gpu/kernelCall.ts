/*
 * The unit of work the planners hand to a runner: one gpu.js kernel launch, described as plain
 * data so that the same plan runs synchronously (Node, WebGL) or asynchronously (WebGPU,
 * threaded WebAssembly). Browser-safe.
 */
import type { KernelName } from './kernelSource';

/** A dense row-major float32 matrix argument: `height` rows of `width`. */
export interface MatArg {
  kind: 'mat';
  data: Float32Array;
  width: number;
  height: number;
}

/** A float32 vector argument. */
export interface VecArg {
  kind: 'vec';
  data: Float32Array;
}

/** One kernel launch. `output` is gpu.js's [width] or [width, height]. */
export interface KernelCall {
  name: KernelName;
  constants: Record<string, number>;
  output: [number] | [number, number];
  args: Array<MatArg | VecArg>;
}

/**
 * A plan: a generator that yields kernel launches and receives each launch's output as a
 * dense row-major Float32Array (height·width), returning its result at the end.
 */
export type Steps<T> = Generator<KernelCall, T, Float32Array>;

/** Matrix argument helper. */
export function mat(data: Float32Array, width: number, height: number): MatArg {
  if (data.length !== width * height) {
    throw new Error(`internal: matrix argument of ${data.length} elements for ${height}x${width}`);
  }
  return { kind: 'mat', data, width, height };
}

/** Vector argument helper. */
export function vec(data: Float32Array): VecArg {
  return { kind: 'vec', data };
}

/** Runs a plan to completion with a synchronous launcher. */
export function runStepsSync<T>(steps: Steps<T>, launch: (call: KernelCall) => Float32Array): T {
  let r = steps.next();
  while (!r.done) r = steps.next(launch(r.value));
  return r.value;
}

/** Runs a plan to completion with an asynchronous launcher (one launch in flight at a time). */
export async function runStepsAsync<T>(steps: Steps<T>, launch: (call: KernelCall) => Promise<Float32Array>): Promise<T> {
  let r = steps.next();
  while (!r.done) r = steps.next(await launch(r.value));
  return r.value;
}
