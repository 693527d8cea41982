/**
 * Deep Learning from Scratch ch08/half_float_network.py: the trained DeepConvNet's test
 * accuracy in float64, float32 and float16. float16 is emulated exactly: weights, inputs and
 * every layer's output are rounded to binary16 (round-to-nearest-even, subnormals;
 * src/core/float16.ts), the arithmetic between roundings in float64.
 *
 *   npx tsx assignments/cnn/halfFloatNetwork.ts [--dataset mnist|fashion-mnist] [--quick] [--out DIR] [--seed N]
 */
import ndarray from 'ndarray';
import { roundArrayToFloat16 } from '../../src/core/float16';
import { copy, sliceRows, type IntTensor, type Tensor } from '../../src/core/tensor';
import * as dlfs from '../../src/dlfs';
import type { AssignmentScript } from '../common';
import { cnnMain, loadBookData, trainedDeepConvNet } from './shared';

/** Accuracy with every layer's output passed through `round` (identity, or to binary16). */
function accuracyRounded(net: dlfs.BookNet, x: Tensor, t: IntTensor, round: (a: Tensor) => Tensor): number {
  let hits = 0;
  const N = x.shape[0];
  for (let s = 0; s < N; s += 100) {
    let a = round(sliceRows(x, s, Math.min(N, s + 100)));
    for (const [, layer] of net.layers) a = round(layer.forward(a, false));
    const C = a.shape[1];
    for (let i = 0; i < a.shape[0]; i++) {
      let best = 0;
      for (let j = 1; j < C; j++) if (a.data[i * C + j] > a.data[i * C + best]) best = j;
      if (best === t.data[s + i]) hits++;
    }
  }
  return hits / N;
}

export const script: AssignmentScript = {
  name: 'half_float_network',
  title: 'ch08 half_float_network: DeepConvNet inference in float64, float32 and float16',
  description: 'DeepConvNet inference in float64, float32 and float16',
  async run(ctx) {
    const { opts, report } = ctx;
    const data = loadBookData(opts, { flatten: false, maxTrain: opts.quick ? 500 : undefined, maxTest: opts.quick ? 500 : undefined });
    report.text(data.description);
    const net = trainedDeepConvNet(ctx);
    const acc64 = net.accuracy(data.xTest, data.tTest);
    report.text(`caluculate accuracy (float64) ... ${acc64}`);
    // float32: parameters and inputs in float32; every layer then computes in its input's dtype.
    const keep = Object.fromEntries(Object.entries(net.params).map(([k, v]) => [k, copy(v)]));
    const setParams = (f: (a: Float64Array) => ArrayLike<number>) => {
      for (const [k, v] of Object.entries(net.params)) v.data.set(f(keep[k].data as Float64Array));
    };
    setParams((a) => Float32Array.from(a));
    const x32 = ndarray(Float32Array.from(data.xTest.data), data.xTest.shape.slice());
    const acc32 = accuracyRounded(net, x32, data.tTest, (a) => a);
    report.text(`caluculate accuracy (float32) ... ${acc32}`);
    setParams((a) => roundArrayToFloat16(Float64Array.from(a)));
    const acc16 = accuracyRounded(net, data.xTest, data.tTest, (a) => {
      const c = copy(a, 'float64');
      roundArrayToFloat16(c.data as Float64Array);
      return c;
    });
    setParams((a) => a);
    report.text(`caluculate accuracy (float16) ... ${acc16}`);
    report.check('float16 accuracy within 0.5 points of float64', Math.abs(acc16 - acc64), '≤ 0.005', { ok: Math.abs(acc16 - acc64) <= 0.005, digits: 4 });
    report.check('float32 accuracy within 0.1 points of float64', Math.abs(acc32 - acc64), '≤ 0.001', { ok: Math.abs(acc32 - acc64) <= 0.001, digits: 4 });
  },
};

export default script;

if (require.main === module) cnnMain(script, 'DLFS ch08 half_float_network');
