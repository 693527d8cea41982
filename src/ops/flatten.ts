import { assertArg, assertSameShape } from '../core/check';
import { copy, reshape } from '../core/tensor';
import { dense } from '../layers/layerArgs';
import { defineOp } from './op';

/** Attributes of {@link flatten}: the axes [startDim, endDim] merged into one (negative counts from the end). */
export interface FlattenAttrs {
  /** Default 1 (keep the batch axis, as `nn.Flatten`). */
  startDim?: number;
  /** Default −1. */
  endDim?: number;
}

/** What {@link flatten} keeps for backward: the input shape. */
export interface FlattenCache {
  shape: number[];
}

function axis(name: string, v: number, rank: number): number {
  assertArg(Number.isInteger(v) && v >= -rank && v < rank, name, `an axis in [${-rank}, ${rank})`, v);
  return v < 0 ? v + rank : v;
}

/** `torch.flatten(x, startDim, endDim)`: a reshape (a fresh dense copy); backward reshapes dout back. */
export const flatten = defineOp<FlattenAttrs, FlattenCache>({
  name: 'flatten',
  forward(inputs, attrs) {
    const [x] = inputs;
    const rank = x.shape.length;
    const s = axis('startDim', attrs?.startDim ?? 1, rank);
    const e = axis('endDim', attrs?.endDim ?? -1, rank);
    assertArg(s <= e, 'endDim', `an axis at or after startDim ${s}`, e);
    const shape = [...x.shape.slice(0, s), x.shape.slice(s, e + 1).reduce((a, b) => a * b, 1), ...x.shape.slice(e + 1)];
    return { out: reshape(copy(dense('x', x)), shape), cache: { shape: x.shape.slice() } };
  },
  backward(dout, cache) {
    assertArg(dout.size === cache.shape.reduce((a, b) => a * b, 1), 'dout', `${cache.shape.reduce((a, b) => a * b, 1)} elements (the forward output)`, dout.size);
    const dx = reshape(copy(dense('dout', dout)), cache.shape);
    assertSameShape('x', { shape: cache.shape }, 'dx', dx);
    return [dx];
  },
});
