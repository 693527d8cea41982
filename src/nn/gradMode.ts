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
