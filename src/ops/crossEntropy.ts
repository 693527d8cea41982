import ndarray from 'ndarray';
import { assertArg } from '../core/check';
import { allocFloat, type DType } from '../core/dtype';
import { dtypeOf } from '../core/tensor';
import { dense, denseAs } from '../layers/layerArgs';
import { softmaxLoss, type Labels } from '../layers/losses';
import { defineOp } from './op';

/** Attributes of {@link crossEntropy}. */
export interface CrossEntropyAttrs {
  /** Integer class labels `(N,)`. */
  labels: Labels;
  /** ε in [0, 1]: the target is (1 − ε)·onehot + ε/C (PyTorch's `label_smoothing`). Default 0. */
  labelSmoothing?: number;
}

/** What {@link crossEntropy} keeps for backward: dL/dlogits for dout = 1. */
export interface CrossEntropyCache {
  dx: Float64Array | Float32Array;
  shape: number[];
  dtype: DType;
}

/**
 * PyTorch's `cross_entropy(logits, labels, label_smoothing=ε)` with mean reduction, on logits
 * `(N, C)`: `L = (1/N)·Σ_i [(1 − ε)·(−log p_{i,t_i}) + ε·(−(1/C)·Σ_j log p_ij)]`; the output is a
 * 0-d tensor. Built on cs231n's {@link softmaxLoss} (the ε = 0 loss and its gradient
 * `(p − onehot)/N`): since −log p_ij = logZ_i − z_ij, the smoothing term adds
 * `ε·(1/N)·Σ_i (z_{i,t_i} − mean_j z_ij)` to the loss and `ε·(onehot − 1/C)/N` to the gradient.
 */
export const crossEntropy = defineOp<CrossEntropyAttrs, CrossEntropyCache>({
  name: 'cross_entropy',
  forward(inputs, attrs) {
    const [z] = inputs;
    const eps = attrs?.labelSmoothing ?? 0;
    assertArg(typeof eps === 'number' && eps >= 0 && eps <= 1, 'labelSmoothing', 'a number in [0, 1]', eps);
    const { loss, dx } = softmaxLoss(z, attrs.labels);
    const [N, C] = z.shape;
    const zs = dense('logits', z).data;
    const g = dx.data;
    let smooth = 0;
    if (eps > 0) {
      for (let i = 0; i < N; i++) {
        const t = Number(attrs.labels.get(i));
        let mean = 0;
        for (let j = 0; j < C; j++) mean += zs[i * C + j];
        mean /= C;
        smooth += zs[i * C + t] - mean;
        for (let j = 0; j < C; j++) g[i * C + j] += (eps * ((j === t ? 1 : 0) - 1 / C)) / N;
      }
    }
    const dtype = dtypeOf(z);
    const out = allocFloat(dtype, 1);
    out[0] = loss + (eps * smooth) / N;
    return { out: ndarray(out, []), cache: { dx: g, shape: z.shape.slice(), dtype } };
  },
  backward(dout, cache) {
    assertArg(dout.size === 1, 'dout', 'a scalar (the gradient of the loss)', `shape (${dout.shape.join(', ')})`);
    const s = denseAs('dout', dout, cache.dtype).data[0];
    const dx = allocFloat(cache.dtype, cache.dx.length);
    for (let i = 0; i < dx.length; i++) dx[i] = cache.dx[i] * s;
    return [ndarray(dx, cache.shape.slice())];
  },
});
