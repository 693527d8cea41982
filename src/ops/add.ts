import ndarray from 'ndarray';
import { assertArg, assertSameShape } from '../core/check';
import { recycleFloat } from '../core/bufferPool';
import { allocFloatUninit, type DType, type FloatArray } from '../core/dtype';
import { copy, dtypeOf, type Tensor } from '../core/tensor';
import { dense, denseAs } from '../layers/layerArgs';
import { relu } from './activations';
import { registerElementwise } from './kernels/elementwise';
import { defineOp } from './op';
import { sumReluRow } from './reluMath';

/*
 * The residual join. WHY its own threaded loops and a fused ReLU: a JS loop on the main thread
 * was a quarter of ShuffleNet V1's eval forward (92 ms of 371 on node 20, 13 adds), and the
 * ReLU after it (ResNet, ShuffleNet V1) another full pass over the sum.
 */

/*
 * Float32 stores go through the wasm loops add32 / addRelu32 (core/gemm/wasmActivations.ts,
 * the same bits): copied through the arena a range at a time they ran a 64×64×32×32 join
 * 2.0 → 0.6 ns an element on one thread (JS converts every float32 to float64 and back).
 */

/** c[i] = a[i] + b[i] (c may be a: the third and later inputs add into the output). Self-contained. */
const sumLoop = registerElementwise('add.sum', (a: FloatArray, b: FloatArray, c: FloatArray, i0: number, i1: number) => {
  for (let i = i0; i < i1; i++) c[i] = a[i] + b[i];
}, 1, 'add32');

/** relu(a + b) in one pass (ops/reluMath.ts, self-contained as the threaded loops must be). */
const sumReluLoop = registerElementwise('add.sumRelu', sumReluRow, 1, 'addRelu32');

/** Attributes of {@link add}. */
export interface AddAttrs {
  /** max(0, ·) of the sum in the same pass (`relu(a + b)`, a ResNet block's output). */
  relu?: boolean;
}

/** What {@link add} keeps for backward. */
export interface AddCache {
  dtype: DType;
  count: number;
  /** The output, with `relu`: its sign is the ReLU's mask (nothing writes into it before backward). */
  out: Tensor | null;
}

/**
 * Elementwise sum of tensors of one shape (a residual connection `F(x) + x`), with `relu`
 * its max(0, ·) (exactly `relu(add(…))`); the gradient of each input is dout, masked where the
 * output is 0 with `relu` (a copy each, so a caller may modify one without touching the others).
 * On every thread when the stores are shared.
 */
export const add = defineOp<AddAttrs, AddCache>({
  name: 'add',
  forward(inputs, attrs) {
    assertArg(inputs.length >= 2, 'inputs', 'at least two tensors', `${inputs.length}`);
    const withRelu = attrs?.relu ?? false;
    assertArg(typeof withRelu === 'boolean', 'relu', 'a boolean', withRelu);
    const dtype = dtypeOf(inputs[0]);
    const stores = inputs.map((t, i) => {
      assertSameShape('inputs[0]', inputs[0], `inputs[${i}]`, t);
      if (dtypeOf(t) !== dtype) throw new TypeError(`inputs[${i}]: expected dtype ${dtype} (as inputs[0]), got ${dtypeOf(t)}`);
      return dense(`inputs[${i}]`, t).data;
    });
    const n = inputs[0].size;
    const shape = inputs[0].shape.slice();
    const out = allocFloatUninit(dtype, n);
    // One pass for the usual two inputs, not a zero fill plus one per input.
    if (withRelu && stores.length === 2) sumReluLoop(n, stores[0], stores[1], out);
    else for (let i = 1; i < stores.length; i++) sumLoop(n, i === 1 ? stores[0] : out, stores[i], out);
    let y = ndarray(out, shape);
    // More inputs with the ReLU (no model has them): the ReLU op after the sum (sumReluLoop
    // redoes a row from its inputs, which must not be the output it writes).
    if (withRelu && stores.length > 2) {
      y = relu.forward([y], {}).out;
      recycleFloat(out);
    }
    return { out: y, cache: { dtype, count: inputs.length, out: withRelu ? y : null } };
  },
  backward(dout, cache) {
    const d = addGrad(dout, cache);
    // The masked gradient is fresh: the first input may keep it.
    return Array.from({ length: cache.count }, (_, i) => (i === 0 && cache.out !== null ? d : copy(d)));
  },
});

/**
 * The one gradient every input of {@link add} receives: dout itself (in the cache's dtype), or
 * with `relu` dout·[out > 0], ReLU's own backward on the output (out > 0 exactly where the sum
 * is). For callers that may hand one tensor to every input (Tape.add).
 */
export function addGrad(dout: Tensor, cache: AddCache): Tensor {
  if (cache.out === null) return denseAs('dout', dout, cache.dtype);
  assertSameShape('out', cache.out, 'dout', dout);
  return relu.backward(dout, { x: cache.out })[0] as Tensor;
}
