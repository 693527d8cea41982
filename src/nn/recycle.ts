import { recycleFloat } from '../core/bufferPool';
import type { FloatArray } from '../core/dtype';
import type { Tensor } from '../core/tensor';
import { forwardHooksActive } from './module';

/*
 * The containers' side of the buffer pool (core/bufferPool.ts): after a backward, or a forward
 * under noGrad, the activations and gradients a container made between its children are dead,
 * except those whose buffer is also the container's input, output, incoming gradient or
 * returned gradient (views share buffers: Flatten, Identity, a residual add's gradient), which
 * belong to the caller. Liveness is decided by buffer, not by tensor, and each buffer is given
 * back once.
 */

/** Whether a container should recycle what this forward makes: not while forward hooks (which may keep activations) are registered. */
export function recyclingAllowed(): boolean {
  return !forwardHooksActive();
}

/** Gives back the buffers of `dead` that no tensor of `keep` shares. */
export function recycleDead(dead: Iterable<Tensor | null | undefined>, keep: Iterable<Tensor | null | undefined>): void {
  const kept = new Set<ArrayBufferLike>();
  for (const t of keep) if (t) kept.add(t.data.buffer);
  for (const t of dead) {
    if (!t || kept.has(t.data.buffer)) continue;
    kept.add(t.data.buffer);
    recycleFloat(t.data as FloatArray);
  }
}
