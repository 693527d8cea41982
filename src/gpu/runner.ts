/*
 * Compiles, caches and launches gpu.js kernels for the plans. Browser-safe: it receives the
 * gpu.js module (Node's require('gpu.js') or the browser bundle's global) from its caller.
 */
import type { GpuJsInstance, GpuJsKernel, GpuJsModule } from './gpujsTypes';
import { KERNELS } from './kernelSource';
import { runStepsAsync, runStepsSync, type KernelCall, type Steps } from './kernelCall';

/** Options of {@link KernelRunner}. */
export interface RunnerOptions {
  /** Compiled kernels kept; the least recently used beyond it are destroyed. Default 64. */
  cacheSize?: number;
  /** Launch kernels with gpu.js's asyncMode (required by webgpu; threads webasm). */
  asyncMode?: boolean;
}

/**
 * Owns one gpu.js instance. Each distinct (kernel, constants, output) is compiled once and
 * reused; `dispose()` destroys them all. After each launch it checks that the kernel gpu.js
 * ran is the one it chose for the instance: gpu.js degrades some kernels to its CPU backend
 * with only a console warning, which would make the reported mode a lie.
 */
export class KernelRunner {
  private readonly cache = new Map<string, GpuJsKernel>();
  private readonly cacheSize: number;
  private readonly asyncMode: boolean;
  private disposed = false;

  constructor(
    private readonly gpujs: GpuJsModule,
    private readonly gpu: GpuJsInstance,
    /** The mode name reported in errors. */
    readonly mode: string,
    opts: RunnerOptions = {},
  ) {
    this.cacheSize = opts.cacheSize ?? 64;
    this.asyncMode = opts.asyncMode === true;
  }

  /** Number of compiled kernels currently cached. */
  get cachedKernels(): number {
    return this.cache.size;
  }

  /** Runs a plan, launching its kernels synchronously. */
  runSync<T>(steps: Steps<T>): T {
    if (this.asyncMode) throw new Error(`the ${this.mode} runner is asynchronous: use runAsync`);
    return runStepsSync(steps, (call) => {
      const k = this.kernelFor(call);
      const res = k(...this.argsOf(call));
      this.checkRan(k, call);
      return flatten(res, call);
    });
  }

  /** Runs a plan, awaiting each launch. */
  runAsync<T>(steps: Steps<T>): Promise<T> {
    return runStepsAsync(steps, async (call) => {
      const k = this.kernelFor(call);
      const res = await (k(...this.argsOf(call)) as Promise<unknown>);
      this.checkRan(k, call);
      return flatten(res, call);
    });
  }

  /** Destroys every compiled kernel and the gpu.js instance. */
  dispose(): void {
    if (this.disposed) return;
    this.disposed = true;
    for (const k of this.cache.values()) k.destroy();
    this.cache.clear();
    this.gpu.destroy();
  }

  private kernelFor(call: KernelCall): GpuJsKernel {
    if (this.disposed) throw new Error(`backend ${this.mode}: used after dispose()`);
    const key = `${call.name}|${call.output.join('x')}|${JSON.stringify(call.constants)}|${call.args
      .map((a) => (a.kind === 'mat' ? `${a.width}x${a.height}` : `${a.data.length}`))
      .join(',')}`;
    const hit = this.cache.get(key);
    if (hit) {
      // Re-insert: Map order is the LRU order.
      this.cache.delete(key);
      this.cache.set(key, hit);
      return hit;
    }
    const kernel = this.gpu.createKernel(KERNELS[call.name] as unknown as (...args: never[]) => number, {
      output: call.output.slice(),
      constants: call.constants,
      precision: 'single',
      tactic: 'precision',
      pipeline: false,
      immutable: true,
      dynamicOutput: false,
      dynamicArguments: false,
      // Every loop is bounded by a constant; this only guards a bound gpu.js failed to inline.
      loopMaxIterations: 2 ** 30,
      ...(this.asyncMode ? { asyncMode: true } : {}),
    });
    this.cache.set(key, kernel);
    while (this.cache.size > this.cacheSize) {
      const [oldKey, old] = this.cache.entries().next().value as [string, GpuJsKernel];
      this.cache.delete(oldKey);
      old.destroy();
    }
    return kernel;
  }

  private argsOf(call: KernelCall): unknown[] {
    return call.args.map((a) => (a.kind === 'mat' ? this.gpujs.input(a.data, [a.width, a.height]) : a.data));
  }

  private checkRan(k: GpuJsKernel, call: KernelCall): void {
    const ran = k.kernel;
    if (ran && this.gpu.Kernel && ran.constructor !== this.gpu.Kernel) {
      const why = ran.fallbackReason ? `: ${ran.fallbackReason}` : '';
      throw new Error(`gpu.js ran kernel ${call.name} on ${ran.constructor.name} instead of the ${this.mode} backend${why}`);
    }
  }
}

/** A kernel result ([h][w] rows or a [w] vector) as one dense row-major Float32Array copy. */
function flatten(res: unknown, call: KernelCall): Float32Array {
  const w = call.output[0];
  const h = call.output.length === 2 ? call.output[1] : 1;
  const out = new Float32Array(w * h);
  if (call.output.length === 1) {
    const v = res as ArrayLike<number>;
    if (!v || v.length !== w) throw new Error(`gpu.js returned ${describe(res)} for kernel ${call.name}, expected ${w} values`);
    for (let j = 0; j < w; j++) out[j] = v[j];
    return out;
  }
  const rows = res as ArrayLike<ArrayLike<number>>;
  if (!rows || rows.length !== h) throw new Error(`gpu.js returned ${describe(res)} for kernel ${call.name}, expected ${h} rows`);
  for (let i = 0; i < h; i++) {
    const row = rows[i];
    if (!row || row.length !== w) throw new Error(`gpu.js returned a row of ${describe(row)} for kernel ${call.name}, expected ${w} values`);
    if (row instanceof Float32Array) out.set(row, i * w);
    else for (let j = 0; j < w; j++) out[i * w + j] = row[j];
  }
  return out;
}

function describe(v: unknown): string {
  if (v === null || v === undefined) return String(v);
  const len = (v as { length?: unknown }).length;
  return `${(v as object).constructor?.name ?? typeof v}${typeof len === 'number' ? ` of length ${len}` : ''}`;
}
