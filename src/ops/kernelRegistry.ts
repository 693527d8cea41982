/*
 * Ops ask for kernels; kernels register by name. An op keeps its validation, its reference
 * implementation and its backward rules; which loop nest or library computes a given problem is
 * the registry's choice: the first registered kernel, in priority order, whose `supports`
 * accepts the problem. New kernels (Winograd, gpu.js, a wasm depthwise) slot in with one
 * `registerKernel` call and no change to the op.
 */

/** A way to compute one op on the problems it supports. */
export interface Kernel<P, I> {
  /** Unique within the op ('gemm-fused', 'depthwise-direct', 'direct'). */
  readonly name: string;
  /** Higher runs first among the kernels that support a problem. */
  readonly priority: number;
  /** True when this kernel can compute `problem`. */
  supports(problem: P): boolean;
  /**
   * False when the kernel can compute `problem` but another should by default (a shape where
   * it was measured slower); forcing it still works. Absent: always preferred where supported.
   */
  prefers?(problem: P): boolean;
  /** The implementation (its shape is the op's business). */
  readonly impl: I;
}

const registry = new Map<string, Kernel<unknown, unknown>[]>();
/** Forced kernels per op (tests compare every kernel with the reference this way). */
const forced = new Map<string, string>();

/** Adds a kernel for `op` (replacing one of the same name). */
export function registerKernel<P, I>(op: string, kernel: Kernel<P, I>): void {
  const list = (registry.get(op) ?? []).filter((k) => k.name !== kernel.name);
  list.push(kernel as Kernel<unknown, unknown>);
  list.sort((a, b) => b.priority - a.priority);
  registry.set(op, list);
}

/** The kernels registered for `op`, highest priority first. */
export function kernelsOf(op: string): ReadonlyArray<Kernel<unknown, unknown>> {
  return registry.get(op) ?? [];
}

/**
 * The kernel that computes `problem` for `op`: the forced one if set (an error when it cannot),
 * else the highest-priority kernel that supports it.
 */
export function selectKernel<P, I>(op: string, problem: P): Kernel<P, I> {
  const list = (registry.get(op) ?? []) as Kernel<P, I>[];
  const want = forced.get(op);
  if (want !== undefined) {
    const k = list.find((c) => c.name === want);
    if (!k) throw new RangeError(`kernel: no kernel '${want}' is registered for ${op} (known: ${list.map((c) => c.name).join(', ')})`);
    if (!k.supports(problem)) throw new RangeError(`kernel: the forced kernel '${want}' of ${op} does not support this problem`);
    return k;
  }
  const k = list.find((c) => c.supports(problem) && (c.prefers === undefined || c.prefers(problem)));
  if (!k) throw new Error(`${op}: no registered kernel supports this problem`);
  return k;
}

/** Runs `fn` with `op` forced onto the kernel named `name` (for tests and benchmarks). */
export function withKernel<T>(op: string, name: string, fn: () => T): T {
  const prev = forced.get(op);
  forced.set(op, name);
  try {
    return fn();
  } finally {
    if (prev === undefined) forced.delete(op);
    else forced.set(op, prev);
  }
}
