/**
 * Does prefetching the next batch pay? Times one CIFAR-shaped training batch of the
 * DataLoader (128 uint8 32×32×3 images → float32 NCHW, randomCrop(32, 4), flip, normalize)
 * beside the same batch in numpy (vectorised gather/transpose/scale, per-sample crop and flip,
 * broadcast normalise) and beside the forward + backward of a single 3→64 3×3 convolution on
 * that batch — the first layer of the CIFAR models, far less than a whole training step. If the
 * loader is a small fraction of that one layer, overlapping it with training cannot save more
 * than that fraction, and a worker thread is not worth its copy and complexity.
 *
 * Run: `npx tsx bench/dataLoader.ts` (writes the `## data loader` section of RESULTS.md).
 */
import { spawnSync } from 'node:child_process';
import os from 'node:os';
import ndarray from 'ndarray';
import { RandomState } from '../src/core/random';
import { conv2dBackward, conv2dForward } from '../src/layers/convFast';
import { compose, DataLoader, normalize, randomCrop, randomHorizontalFlip } from '../src/training';
import { writeResultsSection } from './results';
import { bestOf } from './timing';

const N = 1024;
const B = 128;
const rs = new RandomState(0);
const images = ndarray(Uint8Array.from(rs.randint(0, 256, [N * 32 * 32 * 3]).data), [N, 32, 32, 3]);
const labels = ndarray(new Int32Array(N), [N]);
const loader = new DataLoader(images, labels, {
  batchSize: B, shuffle: true, seed: 0, dtype: 'float32',
  transform: compose([randomCrop(32, 4), randomHorizontalFlip(), normalize([0.4914, 0.4822, 0.4465], [0.2023, 0.1994, 0.201])]),
});
const idx = Int32Array.from({ length: B }, (_, i) => (i * 7) % N);
const load0 = os.loadavg()[0];
const tLoader = bestOf(20, () => loader.batch(idx), { runs: 5, ms: 500 });

const x = loader.batch(idx).x;
const w = ndarray(Float32Array.from(rs.randn(64 * 3 * 3 * 3).data, (v) => v * 0.1), [64, 3, 3, 3]);
const b = ndarray(new Float32Array(64), [64]);
const tConv = bestOf(5, () => {
  const { out, cache } = conv2dForward(x, w, b, { stride: 1, pad: 1 });
  conv2dBackward(out, cache);
}, { runs: 2, ms: 500 });

const py = `
import numpy as np, time
rs = np.random.RandomState(0)
imgs = rs.randint(0, 256, size=(${N}, 32, 32, 3)).astype(np.uint8)
idx = (np.arange(${B}) * 7) % ${N}
mean = np.array([0.4914, 0.4822, 0.4465], np.float32).reshape(1, 3, 1, 1)
std = np.array([0.2023, 0.1994, 0.201], np.float32).reshape(1, 3, 1, 1)
def batch():
    x = imgs[idx].transpose(0, 3, 1, 2).astype(np.float32) / np.float32(255)
    p = np.zeros((${B}, 3, 40, 40), np.float32); p[:, :, 4:36, 4:36] = x
    out = np.empty((${B}, 3, 32, 32), np.float32)
    for n in range(${B}):
        t = rs.randint(0, 9); l = rs.randint(0, 9)
        out[n] = p[n, :, t:t + 32, l:l + 32]
        if rs.random_sample() < 0.5: out[n] = out[n, :, :, ::-1]
    return (out - mean) / std
for _ in range(5): batch()
best = 1e9
for _ in range(20):
    t0 = time.perf_counter(); batch(); best = min(best, time.perf_counter() - t0)
print(best, np.__version__)
`;
const env = { ...process.env };
delete env.OPENBLAS_CORETYPE;
delete env.OPENBLAS_L2_SIZE;
const r = spawnSync('/usr/bin/python3', ['-c', py], { env, encoding: 'utf8' });
if (r.status !== 0) throw new Error(`numpy reference failed: ${r.stderr}`);
const [tNumpy, npVersion] = r.stdout.trim().split(' ');
const load1 = os.loadavg()[0];
const ms = (s: number): string => `${(s * 1000).toFixed(2)} ms`;
const body = `Command: \`npx tsx bench/dataLoader.ts\` (${new Date().toISOString()})

Machine: ${os.cpus()[0]?.model ?? 'unknown CPU'}, ${os.cpus().length} cores, node ${process.version}; numpy ${npVersion} (OPENBLAS_CORETYPE / OPENBLAS_L2_SIZE unset). Load average (1 min) ${load0.toFixed(2)} at the start, ${load1.toFixed(2)} at the end.

| one batch of 128 CIFAR images (float32) | best time |
| --- | ---: |
| DataLoader: gather + uint8→float NCHW + randomCrop(32, 4) + flip + normalize | ${ms(tLoader)} |
| numpy, the same steps | ${ms(Number(tNumpy))} |
| one 3→64 3×3 conv, forward + backward (ours) | ${ms(tConv)} |
| loader / that one conv layer | ${((tLoader / tConv) * 100).toFixed(1)}% |

Prefetching the next batch on another thread could hide at most the loader's time, which is the
fraction above of a single conv layer's forward and backward (a whole CIFAR model step is many
such layers), so the loader stays synchronous.
`;
writeResultsSection('## data loader', body);
console.log(body);
