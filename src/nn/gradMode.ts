/*
 * Whether forward passes keep what backward needs. Off inside `noGrad`, as PyTorch's
 * `torch.no_grad()`: evaluation loops then allocate no caches at all.
 */
let enabled = true;

/** True unless inside {@link noGrad}. */
export function isGradEnabled(): boolean {
  return enabled;
}

/** Runs `fn` with caching for backward turned off (nested calls are fine). */
export function noGrad<T>(fn: () => T): T {
  const prev = enabled;
  enabled = false;
  try {
    return fn();
  } finally {
    enabled = prev;
  }
}

let inputGradOff = false;

/**
 * False while a backward runs whose input gradient nobody will read ({@link withInputGrad}):
 * the module about to go backward may then skip it (a convolution its dx).
 */
export function inputGradWanted(): boolean {
  return !inputGradOff;
}

/**
 * Runs `fn` (a module's backward) with its input gradient wanted or not. Containers use it to
 * pass "not wanted" down to the modules that read their own input and to want it everywhere
 * else; {@link Module.backwardParams} starts it.
 */
export function withInputGrad<T>(wanted: boolean, fn: () => T): T {
  const prev = inputGradOff;
  inputGradOff = !wanted;
  try {
    return fn();
  } finally {
    inputGradOff = prev;
  }
}
