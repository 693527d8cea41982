import ndarray from 'ndarray';
import { assertArg, assertSameShape, shapeStr } from '../core/check';
import { allocFloat } from '../core/dtype';
import { defaultRandomState, RandomState } from '../core/random';
import { copy, dtypeOf, type Tensor } from '../core/tensor';
import { applyMask, invertedDropoutMask } from '../ops/dropout';
import { dense, modeOf } from './layerArgs';

/** cs231n's `dropout_param`. */
export interface DropoutParam {
  /** Probability of KEEPING each unit, in (0, 1] (cs231n's convention; 1 = no dropout). */
  p: number;
  /** 'train' drops units; 'test' passes x through. */
  mode: 'train' | 'test';
  /**
   * When given, every training call draws its mask from a fresh `RandomState(seed)`, so the
   * same mask comes back each call (cs231n calls `np.random.seed(seed)` each time; that is
   * what makes gradient checks of dropout nets possible). When absent, the mask is drawn from
   * the process-wide {@link defaultRandomState}, continuing its stream as `np.random` does.
   */
  seed?: number;
}

/** What {@link dropoutForward} keeps for the backward pass. */
export interface DropoutCache {
  dropoutParam: DropoutParam;
  mode: 'train' | 'test';
  /** Kept units (1) in train mode; null in test mode. */
  keep: Uint8Array | null;
  /** The mask's non-zero value 1/p. */
  scale: number;
  shape: number[];
}

function checkParam(dropoutParam: DropoutParam): { p: number; mode: 'train' | 'test' } {
  if (!dropoutParam || typeof dropoutParam !== 'object') {
    throw new TypeError(`dropoutParam: expected an object { p, mode, seed? }, got ${String(dropoutParam)}`);
  }
  const { p } = dropoutParam;
  assertArg(typeof p === 'number' && p > 0 && p <= 1, 'dropoutParam.p', 'a keep probability in (0, 1]', p);
  return { p, mode: modeOf('dropoutParam.mode', dropoutParam.mode) };
}

/**
 * Inverted dropout. Train: mask = (rand(shape) < p) / p and out = x·mask, so test time needs
 * no rescaling; test: out = a copy of x. Output dtype = x's dtype.
 */
export function dropoutForward(x: Tensor, dropoutParam: DropoutParam): { out: Tensor; cache: DropoutCache } {
  const { p, mode } = checkParam(dropoutParam);
  const xd = dense('x', x);
  const shape = x.shape.slice();
  assertArg(shape.length >= 1, 'x', 'an array with at least one axis', shapeStr(shape));
  // The mask value is 1/p (numpy's True/p); multiplying by it, not dividing by p, keeps the
  // products bit-identical to cs231n's `x * mask`.
  const scale = 1 / p;
  if (mode === 'test') {
    return { out: copy(xd), cache: { dropoutParam, mode, keep: null, scale, shape } };
  }
  const seed = dropoutParam.seed;
  const rng = seed === undefined || seed === null ? defaultRandomState() : new RandomState(seed);
  // The dropout op's mask (rand(shape) < p, each kept unit scaled by 1/p), with cs231n's keep probability.
  const mask = invertedDropoutMask(rng, xd.data.length, p);
  const out = applyMask(xd.data, mask, 1, dtypeOf(xd));
  const keep = Uint8Array.from(mask, (m) => (m !== 0 ? 1 : 0));
  return { out: ndarray(out, shape), cache: { dropoutParam, mode, keep, scale, shape } };
}

/** Backward of {@link dropoutForward}: dout·mask in train mode, dout (copied) in test mode. */
export function dropoutBackward(dout: Tensor, cache: DropoutCache): { dx: Tensor } {
  assertSameShape('x', { shape: cache.shape }, 'dout', dout);
  const dd = dense('dout', dout);
  if (cache.mode === 'test' || cache.keep === null) return { dx: copy(dd) };
  const g = dd.data;
  const { keep, scale } = cache;
  const dx = allocFloat(dtypeOf(dd), g.length);
  for (let i = 0; i < g.length; i++) if (keep[i]) dx[i] = g[i] * scale;
  return { dx: ndarray(dx, cache.shape.slice()) };
}
