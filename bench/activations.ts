/**
 * Elementwise activations alone: forward and backward ms of SiLU and ReLU on a 64×96×16×16
 * float32 tensor, giving the stores back to the pool as a training step does.
 *
 *   CS231N_THREADS=1 npx tsx bench/activations.ts
 *
 * Prints the last two of six repetitions.
 */
import { recycleFloat } from '../src/core/bufferPool';
import type { FloatArray } from '../src/core/dtype';
import { RandomState } from '../src/core/random';
import { astype, type Tensor } from '../src/core/tensor';
import { relu, silu } from '../src/ops/activations';

const x = astype(new RandomState(0).randn(64, 96, 16, 16), 'float32');
const g = astype(new RandomState(1).randn(64, 96, 16, 16), 'float32');
for (const op of [silu, relu]) {
  for (let r = 0; r < 6; r++) {
    const t0 = performance.now();
    const f = op.forward([x], {});
    const t1 = performance.now();
    const [d] = op.backward(g, f.cache) as Tensor[];
    const t2 = performance.now();
    recycleFloat(f.out.data as FloatArray);
    recycleFloat(d.data as FloatArray);
    if (r >= 4) console.log(`${op.name} threads ${process.env.CS231N_THREADS ?? 'all'}: fwd ${(t1 - t0).toFixed(2)} ms, bwd ${(t2 - t1).toFixed(2)} ms (${x.size} elements)`);
  }
}
