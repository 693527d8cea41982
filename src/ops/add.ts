import ndarray from 'ndarray';
import { assertArg, assertSameShape } from '../core/check';
import { allocFloat, type DType } from '../core/dtype';
import { copy, dtypeOf } from '../core/tensor';
import { dense, denseAs } from '../layers/layerArgs';
import { defineOp } from './op';

/** What {@link add} keeps for backward. */
export interface AddCache {
  dtype: DType;
  count: number;
}

/**
 * Elementwise sum of tensors of one shape (a residual connection `F(x) + x`); the gradient of
 * each input is dout (a copy each, so a caller may modify one without touching the others).
 */
export const add = defineOp<Record<string, never>, AddCache>({
  name: 'add',
  forward(inputs) {
    assertArg(inputs.length >= 2, 'inputs', 'at least two tensors', `${inputs.length}`);
    const dtype = dtypeOf(inputs[0]);
    const out = allocFloat(dtype, inputs[0].size);
    inputs.forEach((t, i) => {
      assertSameShape('inputs[0]', inputs[0], `inputs[${i}]`, t);
      if (dtypeOf(t) !== dtype) throw new TypeError(`inputs[${i}]: expected dtype ${dtype} (as inputs[0]), got ${dtypeOf(t)}`);
      const s = dense(`inputs[${i}]`, t).data;
      for (let k = 0; k < s.length; k++) out[k] += s[k];
    });
    return { out: ndarray(out, inputs[0].shape.slice()), cache: { dtype, count: inputs.length } };
  },
  backward(dout, cache) {
    const d = denseAs('dout', dout, cache.dtype);
    return Array.from({ length: cache.count }, () => copy(d));
  },
});
