import ndarray from 'ndarray';
import { assertArg, assertSameShape } from '../core/check';
import { allocFloatUninit, type DType } from '../core/dtype';
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
    const out = allocFloatUninit(dtype, inputs[0].size);
    const stores = inputs.map((t, i) => {
      assertSameShape('inputs[0]', inputs[0], `inputs[${i}]`, t);
      if (dtypeOf(t) !== dtype) throw new TypeError(`inputs[${i}]: expected dtype ${dtype} (as inputs[0]), got ${dtypeOf(t)}`);
      return dense(`inputs[${i}]`, t).data;
    });
    // One pass for the usual two inputs (a residual join), not a zero fill plus one per input.
    const [a, b] = stores;
    for (let k = 0; k < out.length; k++) out[k] = a[k] + b[k];
    for (let i = 2; i < stores.length; i++) {
      const s = stores[i];
      for (let k = 0; k < s.length; k++) out[k] += s[k];
    }
    return { out: ndarray(out, inputs[0].shape.slice()), cache: { dtype, count: inputs.length } };
  },
  backward(dout, cache) {
    const d = denseAs('dout', dout, cache.dtype);
    return Array.from({ length: cache.count }, () => copy(d));
  },
});
