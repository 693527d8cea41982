import ndarray from 'ndarray';
import { assertArg, assertSameShape, ShapeError, shapeStr } from '../core/check';
import { recycleFloat } from '../core/bufferPool';
import { allocFloat, allocFloatUninit, type DType, type FloatArray } from '../core/dtype';
import { dtypeOf, type Tensor } from '../core/tensor';
import { dense, denseAs } from '../layers/layerArgs';
import { copyRows, shuffleSplitRows } from './kernels/copyTasks';
import { defineOp } from './op';

/*
 * Channel ops of NCHW (any rank ≥ 2: axis 1 is the channel axis, everything after it one
 * contiguous block per channel): shuffle, concatenation and slicing. They only move blocks
 * (on every thread: kernels/copyTasks.ts), so forward and backward are exact in either dtype.
 */

function checkRank(name: string, x: Tensor): { N: number; C: number; inner: number } {
  assertArg(Array.isArray(x?.shape) && x.shape.length >= 2, name, 'an array of shape (N, C, …)', Array.isArray(x?.shape) ? shapeStr(x.shape) : String(x));
  const [N, C, ...rest] = x.shape;
  return { N, C, inner: rest.reduce((a, b) => a * b, 1) };
}

/** Attributes of {@link channelShuffle}. */
export interface ChannelShuffleAttrs {
  /** Number of groups g; C must be a multiple of g. */
  groups: number;
}

/** Input channel `i·n + j` (group i of g, n = C/g per group) moves to output channel `j·g + i`. */
function shuffle(src: FloatArray, dst: FloatArray, N: number, g: number, n: number, inner: number): void {
  const row = g * n * inner;
  copyRows(N, row, src, 0, row, dst, 0, row, [g, n]);
}

/** What {@link channelShuffle} keeps for backward. */
export interface ChannelShuffleCache {
  shape: number[];
  groups: number;
  dtype: DType;
}

/**
 * ShuffleNet's channel shuffle: view `(N, g, C/g, …)`, swap the two channel axes, flatten back.
 * Backward applies the inverse permutation (a shuffle with C/g groups).
 */
export const channelShuffle = defineOp<ChannelShuffleAttrs, ChannelShuffleCache>({
  name: 'channel_shuffle',
  forward(inputs, attrs) {
    const [x] = inputs;
    const { N, C, inner } = checkRank('x', x);
    const g = attrs?.groups;
    assertArg(typeof g === 'number' && Number.isInteger(g) && g > 0 && C % g === 0, 'groups', `a positive integer dividing the ${C} channels`, g);
    const dtype = dtypeOf(x);
    const out = allocFloatUninit(dtype, x.size);
    shuffle(dense('x', x).data, out, N, g, C / g, inner);
    return { out: ndarray(out, x.shape.slice()), cache: { shape: x.shape.slice(), groups: g, dtype } };
  },
  backward(dout, cache) {
    const { shape, groups, dtype } = cache;
    assertSameShape('x', { shape }, 'dout', dout);
    const [N, C] = shape;
    const dx = allocFloatUninit(dtype, dout.size);
    shuffle(denseAs('dout', dout, dtype).data, dx, N, C / groups, groups, dout.size / (N * C));
    return [ndarray(dx, shape.slice())];
  },
});

/** What {@link catChannels} keeps for backward: each input's channel count. */
export interface CatCache {
  channels: number[];
  shape: number[];
  dtype: DType;
}

/** `torch.cat(inputs, dim=1)`: inputs agree on every axis but the channels; backward splits dout by channel ranges. */
export const catChannels = defineOp<Record<string, never>, CatCache>({
  name: 'cat',
  forward(inputs) {
    const channels = catChannelCounts(inputs);
    const first = checkRank('inputs[0]', inputs[0]);
    const dtype = dtypeOf(inputs[0]);
    const Ctot = channels.reduce((a, b) => a + b, 0);
    const { N, inner } = first;
    const out = allocFloatUninit(dtype, N * Ctot * inner);
    let c0 = 0;
    inputs.forEach((t, i) => {
      const src = dense(`inputs[${i}]`, t).data;
      const block = channels[i] * inner;
      copyRows(N, block, src, 0, block, out, c0 * inner, Ctot * inner);
      c0 += channels[i];
    });
    const shape = inputs[0].shape.slice();
    shape[1] = Ctot;
    return { out: ndarray(out, shape), cache: { channels, shape, dtype } };
  },
  backward(dout, cache) {
    const { channels, shape, dtype } = cache;
    assertSameShape('out', { shape }, 'dout', dout);
    const d = denseAs('dout', dout, dtype).data;
    const [N, Ctot] = shape;
    const inner = dout.size / (N * Ctot);
    let c0 = 0;
    return channels.map((c) => {
      const g = allocFloatUninit(dtype, N * c * inner);
      copyRows(N, c * inner, d, c0 * inner, Ctot * inner, g, 0, c * inner);
      c0 += c;
      const s = shape.slice();
      s[1] = c;
      return ndarray(g, s) as Tensor;
    });
  },
});

/** What {@link catShuffle} keeps for backward. */
export interface CatShuffleCache extends CatCache {
  groups: number;
}

/** Checks cat's inputs (same shape but channels, one dtype); returns their channel counts. */
function catChannelCounts(inputs: readonly Tensor[]): number[] {
  assertArg(inputs.length >= 1, 'inputs', 'at least one tensor', 'none');
  checkRank('inputs[0]', inputs[0]);
  const dtype = dtypeOf(inputs[0]);
  return inputs.map((t, i) => {
    const r = checkRank(`inputs[${i}]`, t);
    const same = t.shape.length === inputs[0].shape.length && t.shape.every((d, k) => k === 1 || d === inputs[0].shape[k]);
    if (!same) throw new ShapeError(`inputs[${i}]: expected shape ${shapeStr(inputs[0].shape.map((d, k) => (k === 1 ? 'C' : d)))} (as inputs[0] except channels), got ${shapeStr(t.shape)}`);
    if (dtypeOf(t) !== dtype) throw new TypeError(`inputs[${i}]: expected dtype ${dtype} (as inputs[0]), got ${dtypeOf(t)}`);
    return r.C;
  });
}

/**
 * `channel_shuffle(torch.cat(inputs, 1), groups)` in one pass when every input has C/groups
 * channels (ShuffleNet V2's join: input i's channel j lands on output channel j·groups + i);
 * otherwise the two ops one after the other. Same bits as the two ops either way (only moves).
 *
 * WHY: the concatenation wrote a full activation that the shuffle read straight back, in
 * every ShuffleNet V2 unit, forward and backward (~8 % of its eval forward at batch 64).
 */
export const catShuffle = defineOp<ChannelShuffleAttrs, CatShuffleCache>({
  name: 'cat_shuffle',
  forward(inputs, attrs) {
    const channels = catChannelCounts(inputs);
    const Ctot = channels.reduce((a, b) => a + b, 0);
    const g = attrs?.groups;
    assertArg(typeof g === 'number' && Number.isInteger(g) && g > 0 && Ctot % g === 0, 'groups', `a positive integer dividing the ${Ctot} channels`, g);
    const dtype = dtypeOf(inputs[0]);
    const shape = inputs[0].shape.slice();
    shape[1] = Ctot;
    const cache = { channels, shape, dtype, groups: g };
    if (channels.length !== g || channels.some((c) => c !== Ctot / g)) {
      const joined = catChannels.forward(inputs, {}).out;
      const out = channelShuffle.forward([joined], { groups: g }).out;
      recycleFloat(joined.data as FloatArray);
      return { out, cache };
    }
    const { N, inner } = checkRank('inputs[0]', inputs[0]);
    const n = Ctot / g;
    const out = allocFloatUninit(dtype, N * Ctot * inner);
    // Row (sample s, channel j) of input i goes to output channel j·g + i of sample s.
    inputs.forEach((t, i) => copyRows(N * n, inner, dense(`inputs[${i}]`, t).data, 0, inner, out, i * inner, g * inner));
    return { out: ndarray(out, shape), cache };
  },
  backward(dout, cache) {
    const { channels, shape, dtype, groups: g } = cache;
    assertSameShape('out', { shape }, 'dout', dout);
    const [N, Ctot] = shape;
    const inner = dout.size / (N * Ctot);
    if (channels.length !== g || channels.some((c) => c !== Ctot / g)) {
      const joined = channelShuffle.backward(dout, { shape, groups: g, dtype })[0] as Tensor;
      const grads = catChannels.backward(joined, { channels, shape, dtype });
      recycleFloat(joined.data as FloatArray);
      return grads;
    }
    const d = denseAs('dout', dout, dtype).data;
    const n = Ctot / g;
    return channels.map((c, i) => {
      const gi = allocFloatUninit(dtype, N * n * inner);
      copyRows(N * n, inner, d, i * inner, g * inner, gi, 0, inner);
      const s = shape.slice();
      s[1] = c;
      return ndarray(gi, s) as Tensor;
    });
  },
});

/**
 * ShuffleNet V2's join and the next unit's split in one pass: the two halves [0, c) and
 * [c, 2c) of `channel_shuffle(torch.cat([a, b], 1), 2)`, for a and b of one shape (N, c, …)
 * and dtype — channel k of the join is a's channel k/2 (k even) or b's (k − 1)/2 (k odd).
 * The same values as catShuffle then a split, with one pass instead of two (the join is never
 * written whole); {@link shuffleSplitBackward} is its adjoint.
 */
export function shuffleSplit(a: Tensor, b: Tensor): [Tensor, Tensor] {
  const { N, C, inner } = checkRank('a', a);
  assertSameShape('a', a, 'b', b);
  const dtype = dtypeOf(a);
  if (dtypeOf(b) !== dtype) throw new TypeError(`b: expected dtype ${dtype} (as a), got ${dtypeOf(b)}`);
  const p = allocFloatUninit(dtype, N * C * inner);
  const q = allocFloatUninit(dtype, N * C * inner);
  shuffleSplitRows(true, N, C, inner, dense('a', a).data, dense('b', b).data, p, q);
  return [ndarray(p, a.shape.slice()), ndarray(q, a.shape.slice())];
}

/** The gradients of {@link shuffleSplit}'s inputs from those of its two outputs (its adjoint: the same moves back). */
export function shuffleSplitBackward(dp: Tensor, dq: Tensor): [Tensor, Tensor] {
  const { N, C, inner } = checkRank('dp', dp);
  assertSameShape('dp', dp, 'dq', dq);
  const dtype = dtypeOf(dp);
  const da = allocFloatUninit(dtype, N * C * inner);
  const db = allocFloatUninit(dtype, N * C * inner);
  shuffleSplitRows(false, N, C, inner, da, db, denseAs('dp', dp, dtype).data, denseAs('dq', dq, dtype).data);
  return [ndarray(da, dp.shape.slice()), ndarray(db, dp.shape.slice())];
}

/** Attributes of {@link narrowChannels}: channels [start, start + length). */
export interface NarrowAttrs {
  start: number;
  length: number;
}

/** What {@link narrowChannels} keeps for backward. */
export interface NarrowCache {
  shape: number[];
  start: number;
  length: number;
  dtype: DType;
}

/**
 * A channel range `x[:, start:start+length]` (ShuffleNet V2's split is two of these, as
 * `x.chunk(2, dim=1)`); backward writes dout into those channels of a zero gradient.
 */
export const narrowChannels = defineOp<NarrowAttrs, NarrowCache>({
  name: 'narrow',
  forward(inputs, attrs) {
    const [x] = inputs;
    const { N, C, inner } = checkRank('x', x);
    const start = attrs?.start;
    const length = attrs?.length;
    assertArg(typeof start === 'number' && Number.isInteger(start) && start >= 0 && start < C, 'start', `an integer in [0, ${C})`, start);
    assertArg(typeof length === 'number' && Number.isInteger(length) && length >= 1 && start + length <= C, 'length', `an integer in [1, ${C - start}]`, length);
    const dtype = dtypeOf(x);
    const src = dense('x', x).data;
    const out = allocFloatUninit(dtype, N * length * inner);
    copyRows(N, length * inner, src, start * inner, C * inner, out, 0, length * inner);
    const shape = x.shape.slice();
    shape[1] = length;
    return { out: ndarray(out, shape), cache: { shape: x.shape.slice(), start, length, dtype } };
  },
  backward(dout, cache) {
    const { shape, start, length, dtype } = cache;
    const outShape = shape.slice();
    outShape[1] = length;
    assertSameShape('out', { shape: outShape }, 'dout', dout);
    const [N, C] = shape;
    const inner = dout.size / (N * length);
    const d = denseAs('dout', dout, dtype).data;
    const dx = allocFloat(dtype, N * C * inner);
    copyRows(N, length * inner, d, 0, length * inner, dx, start * inner, C * inner);
    return [ndarray(dx, shape.slice())];
  },
});
