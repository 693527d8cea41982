import type { Tensor } from '../core/tensor';

/*
 * An op is defined once: validation, forward, backward. The cs231n layer functions
 * (`convForwardFast`, `reluForward`, …) and the `nn` modules are two faces of the same op,
 * and the test harness (test/opHarness.ts) drives every op through this one interface —
 * a Float64 gradient check of each input and a comparison with PyTorch's fixtures.
 *
 * WHY inputs as a list and attributes apart: what is differentiated (x, weight, bias) and
 * what is fixed (stride, padding, mode) are different things for the gradient check and for
 * the modules (whose parameters are inputs of their op); an op that keeps state across calls
 * (batch norm's running statistics) receives that state in its attributes and updates it in
 * place, like cs231n's `bn_param`.
 */

/** The result of an op's forward: the output and whatever its backward needs. */
export interface OpForward<C> {
  out: Tensor;
  cache: C;
}

/**
 * Which inputs' gradients a backward caller will read (absent: all). An op may return null for
 * an input marked false and skip its work (conv2d and linear skip dx for `input: false`); the
 * other gradients keep their bits.
 */
export interface OpNeeds {
  input: boolean;
}

/** An op: forward over a list of inputs with fixed attributes, backward to every input. */
export interface Op<A = Record<string, never>, C = unknown> {
  /** The op's name (PyTorch's functional name where there is one: `conv2d`, `hardswish`). */
  readonly name: string;
  /** Output and cache for `inputs` (all of one float dtype; the output has that dtype). */
  forward(inputs: readonly Tensor[], attrs: A): OpForward<C>;
  /**
   * Gradients with respect to each input, in the order of the forward's inputs (null for an
   * input that has none, e.g. integer labels); each has its input's shape and dtype.
   */
  backward(dout: Tensor, cache: C, needs?: OpNeeds): Array<Tensor | null>;
  /**
   * Gives the op's private scratch in `cache` (never its inputs or output) back to the buffer
   * pool once nothing will read the cache again: the `nn` modules call it after their one
   * backward, or at once under noGrad. The cs231n layer functions, whose callers may run
   * backward twice on one cache, never do.
   */
  release?(cache: C): void;
}

/** Defines an op (a typed identity: it gives the object its `Op` type). */
export function defineOp<A, C>(op: Op<A, C>): Op<A, C> {
  return op;
}
