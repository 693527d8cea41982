/**
 * The Winograd F(4×4, 3×3) kernel against the fused GEMM kernel on the 3×3 stride-1
 * convolutions of the zoo (float32, batch 64 unless given), forward and backward, on the
 * threads CS231N_THREADS says; and whether conv2d picks Winograd there by default.
 *
 *   npx tsx bench/winograd.ts [--reps 3] [--shapes C,F,H,pad;…] [--batch 64]
 *
 * Times are the best of `reps` runs after one warm-up, alternating the two kernels run by run.
 */
import ndarray from 'ndarray';
import { parseArgs } from 'util';
import { RandomState } from '../src/core/random';
import { astype } from '../src/core/tensor';
import { conv2d, convProblem } from '../src/ops/conv2d';
import { withKernel } from '../src/ops/kernelRegistry';
import { winogradPrefers } from '../src/ops/kernels/winograd';

const { values } = parseArgs({ options: { reps: { type: 'string', default: '3' }, shapes: { type: 'string' }, batch: { type: 'string', default: '64' } } });
const reps = Number(values.reps);
const N = Number(values.batch);
// ResNet-18 / VGG (CIFAR) stages, DeepConvNet (28×28 MNIST), small channel counts.
const defaults = '64,64,32,1;128,128,16,1;256,256,8,1;512,512,4,1;512,512,2,1;16,16,28,1;16,32,14,1;32,32,14,2;32,64,8,1;64,64,7,1;32,32,32,1;3,64,32,1';
const shapes = (values.shapes ?? defaults).split(';').map((s) => s.split(',').map(Number));

const rng = new RandomState(0);
console.log(`| C → F, H×W, pad | gemm-fused fwd / bwd (ms) | winograd fwd / bwd (ms) | speed-up fwd / bwd | default |`);
console.log(`|---|---:|---:|---:|---|`);
for (const [C, F, H, pad] of shapes) {
  const x = astype(rng.randn(N, C, H, H), 'float32');
  const w = astype(rng.randn(F, C, 3, 3), 'float32');
  const b = astype(rng.randn(F), 'float32');
  const p = convProblem(x, w, b, { padding: pad });
  const best: Record<string, [number, number]> = { 'gemm-fused': [Infinity, Infinity], winograd: [Infinity, Infinity] };
  for (let r = 0; r <= reps; r++) {
    for (const k of Object.keys(best)) {
      withKernel('conv2d', k, () => {
        const t0 = performance.now();
        const { out, cache } = conv2d.forward([x, w, b], { padding: pad });
        const t1 = performance.now();
        conv2d.backward(ndarray(out.data, out.shape), cache);
        const t2 = performance.now();
        if (r > 0) best[k] = [Math.min(best[k][0], t1 - t0), Math.min(best[k][1], t2 - t1)];
      });
    }
  }
  const [gf, gb] = best['gemm-fused'];
  const [wf, wb] = best.winograd;
  console.log(`| ${C} → ${F}, ${H}×${H}, ${pad} | ${gf.toFixed(1)} / ${gb.toFixed(1)} | ${wf.toFixed(1)} / ${wb.toFixed(1)} | ${(gf / wf).toFixed(2)}× / ${(gb / wb).toFixed(2)}× | ${winogradPrefers(p) ? 'winograd' : 'gemm-fused'} |`);
}
