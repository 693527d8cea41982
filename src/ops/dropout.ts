import ndarray from 'ndarray';
import { assertArg, assertSameShape } from '../core/check';
import { allocFloat, type DType } from '../core/dtype';
import { RandomState } from '../core/random';
import { copy, dtypeOf } from '../core/tensor';
import { dense, denseAs } from '../layers/layerArgs';
import { defineOp } from './op';

/** Attributes of {@link dropout}: PyTorch's convention, `p` is the probability of DROPPING a unit. */
export interface DropoutAttrs {
  /** Drop probability in [0, 1]. */
  p: number;
  /** Train mode drops; eval mode is the identity. */
  training: boolean;
  /** Where the mask is drawn from (one `rand` per element, kept where u < 1 − p). */
  rng: RandomState;
}

/** What {@link dropout} and {@link stochasticDepth} keep for backward: the per-element or per-sample multiplier. */
export interface MaskCache {
  shape: number[];
  dtype: DType;
  /** null: identity (eval mode or p = 0). */
  mask: Float64Array | null;
  /** Elements per mask entry: 1 for dropout, the sample size for stochastic depth. */
  block: number;
}

function checkMaskAttrs(op: string, attrs: { p: number; training: boolean; rng: RandomState }): void {
  if (!attrs || typeof attrs !== 'object') throw new TypeError(`${op} attrs: expected an object { p, training, rng }, got ${String(attrs)}`);
  assertArg(typeof attrs.p === 'number' && attrs.p >= 0 && attrs.p <= 1, 'p', 'a drop probability in [0, 1]', attrs.p);
  assertArg(typeof attrs.training === 'boolean', 'training', 'a boolean', attrs.training);
  if (attrs.training && attrs.p > 0 && !(attrs.rng instanceof RandomState)) throw new TypeError(`rng: expected a RandomState, got ${String(attrs.rng)}`);
}

/**
 * Inverted-dropout multipliers: `count` draws u = rng.rand(), each 1/keep where u < keep, else 0
 * (all zero when keep = 0, as PyTorch's p = 1). Shared by the ops here and cs231n's
 * `dropoutForward`, which passes its keep probability directly.
 */
export function invertedDropoutMask(rng: RandomState, count: number, keep: number): Float64Array {
  const scale = keep > 0 ? 1 / keep : 0;
  const u = rng.rand(count).data;
  const m = new Float64Array(count);
  for (let i = 0; i < count; i++) m[i] = u[i] < keep ? scale : 0;
  return m;
}

/** src·mask in `dtype`, each mask entry covering `block` consecutive elements (zero entries skip their block). */
export function applyMask(src: ArrayLike<number>, mask: Float64Array, block: number, dtype: DType): ReturnType<typeof allocFloat> {
  const out = allocFloat(dtype, src.length);
  for (let b = 0; b < mask.length; b++) {
    const m = mask[b];
    if (m === 0) continue;
    for (let i = b * block; i < (b + 1) * block; i++) out[i] = src[i] * m;
  }
  return out;
}

function maskBackward(dout: Parameters<typeof dense>[1], cache: MaskCache) {
  assertSameShape('x', { shape: cache.shape }, 'dout', dout);
  const d = denseAs('dout', dout, cache.dtype);
  if (!cache.mask) return [copy(d)];
  return [ndarray(applyMask(d.data, cache.mask, cache.block, cache.dtype), cache.shape.slice())];
}

/**
 * Inverted dropout (PyTorch's): train `x·m/(1 − p)`, m ~ Bernoulli(1 − p) per element, so eval
 * is the identity. (cs231n's `dropoutForward` keeps its own keep-probability convention.)
 */
export const dropout = defineOp<DropoutAttrs, MaskCache>({
  name: 'dropout',
  forward(inputs, attrs) {
    const [x] = inputs;
    checkMaskAttrs('dropout', attrs);
    const xd = dense('x', x);
    const dtype = dtypeOf(x);
    if (!attrs.training || attrs.p === 0) return { out: copy(xd), cache: { shape: x.shape.slice(), dtype, mask: null, block: 1 } };
    const mask = invertedDropoutMask(attrs.rng, x.size, 1 - attrs.p);
    return { out: ndarray(applyMask(xd.data, mask, 1, dtype), x.shape.slice()), cache: { shape: x.shape.slice(), dtype, mask, block: 1 } };
  },
  backward: maskBackward,
});

/** Attributes of {@link stochasticDepth} (torchvision's `stochastic_depth`). */
export interface StochasticDepthAttrs extends DropoutAttrs {
  /** 'row': one draw per sample (axis 0); 'batch': one draw for the whole batch. */
  mode: 'row' | 'batch';
}

/**
 * Stochastic depth on a residual branch (torchvision's `StochasticDepth`): in training, each
 * sample ('row') or the whole batch ('batch') is kept with probability 1 − p and scaled by
 * 1/(1 − p), or zeroed; eval (or p = 0) is the identity. The caller adds the identity path.
 */
export const stochasticDepth = defineOp<StochasticDepthAttrs, MaskCache>({
  name: 'stochastic_depth',
  forward(inputs, attrs) {
    const [x] = inputs;
    checkMaskAttrs('stochastic_depth', attrs);
    assertArg(attrs.mode === 'row' || attrs.mode === 'batch', 'mode', "'row' or 'batch'", attrs.mode);
    assertArg(x.shape.length >= 1, 'x', 'an array with a batch axis', `shape ()`);
    const xd = dense('x', x);
    const dtype = dtypeOf(x);
    if (!attrs.training || attrs.p === 0) return { out: copy(xd), cache: { shape: x.shape.slice(), dtype, mask: null, block: 1 } };
    const draws = attrs.mode === 'row' ? x.shape[0] : 1;
    const block = draws === 0 ? 0 : x.size / draws;
    const mask = invertedDropoutMask(attrs.rng, draws, 1 - attrs.p);
    return { out: ndarray(applyMask(xd.data, mask, block, dtype), x.shape.slice()), cache: { shape: x.shape.slice(), dtype, mask, block } };
  },
  backward: maskBackward,
});
