import type { Tensor } from '../core/tensor';
import type { Labels, LossAndGrads } from '../layers/losses';

export type { LossAndGrads };

/**
 * The model contract the {@link Solver} trains (cs231n's duck-typed `model`):
 * - `params`: every trainable array by name. The solver replaces entries (`params[k] = nextW`)
 *   after each update and at the end (best parameters), so `loss` must read `this.params[k]`
 *   on every call rather than holding on to arrays.
 * - `loss(X)` (no labels): test mode, returns the class scores `(N, C)`.
 * - `loss(X, y)`: training mode, returns `{ loss, grads }` with a gradient for every param.
 * Optionally a model exposes state that is not trained by gradient (batch-norm running
 * statistics) through `getBuffers`/`setBuffers`, so checkpoints can save and restore it.
 */
export interface Model {
  params: Record<string, Tensor>;
  loss(X: Tensor, y?: Labels): Tensor | LossAndGrads;
  /** Non-trained state to put into checkpoints (copies or live arrays; they are only read). */
  getBuffers?(): Record<string, Tensor>;
  /** Restores what {@link Model.getBuffers} returned. */
  setBuffers?(buffers: Record<string, Tensor>): void;
}

/** cs231n's `data` dict, camelCased (the fields {@link getCifar10Data} returns). */
export interface SolverData {
  /** Training images, first axis = examples (e.g. `(N, C, H, W)` or `(N, D)`). */
  XTrain: Tensor;
  yTrain: Labels;
  XVal: Tensor;
  yVal: Labels;
}
