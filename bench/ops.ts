/**
 * The MobileNet-style ops beside PyTorch CPU, float32, on the same threads, in the same run:
 * depthwise 3×3 (stride 1 and 2), a pointwise 1×1 convolution, and BatchNorm2d + ReLU6, each
 * forward and forward + backward.
 *
 *   npx tsx bench/ops.ts             # writes the `## ops` section of bench/RESULTS.md
 *   npx tsx bench/ops.ts --reps 3
 *
 * The PyTorch side is bench/ops_torch.py (Debian's python3-torch) run with the OpenBLAS pins
 * removed; without PyTorch its column says so.
 */
import { spawnSync } from 'node:child_process';
import os from 'node:os';
import path from 'node:path';
import { recycleFloat } from '../src/core/bufferPool';
import type { FloatArray } from '../src/core/dtype';
import { threadCount } from '../src/core/gemm/workers';
import { RandomState } from '../src/core/random';
import { astype, type Tensor } from '../src/core/tensor';
import { relu6 } from '../src/ops/activations';
import { batchNorm } from '../src/ops/batchNorm';
import { conv2d } from '../src/ops/conv2d';
import { selectKernel } from '../src/ops/kernelRegistry';
import { convProblem } from '../src/ops/conv2d';
import { writeResultsSection } from './results';
import { bestOf } from './timing';

interface ConvCase { kind: 'conv'; name: string; N: number; C: number; H: number; W: number; F: number; k: number; stride: number; pad: number; groups: number }
interface BnCase { kind: 'bnrelu6'; name: string; N: number; C: number; H: number; W: number }
type Case = ConvCase | BnCase;

const CASES: Case[] = [
  { kind: 'conv', name: 'depthwise 3×3, 64×144×16×16, stride 1', N: 64, C: 144, H: 16, W: 16, F: 144, k: 3, stride: 1, pad: 1, groups: 144 },
  { kind: 'conv', name: 'depthwise 3×3, 64×144×16×16, stride 2', N: 64, C: 144, H: 16, W: 16, F: 144, k: 3, stride: 2, pad: 1, groups: 144 },
  { kind: 'conv', name: 'pointwise 1×1, 64×64×16×16 → 384', N: 64, C: 64, H: 16, W: 16, F: 384, k: 1, stride: 1, pad: 0, groups: 1 },
  { kind: 'bnrelu6', name: 'BatchNorm2d + ReLU6, 64×144×16×16', N: 64, C: 144, H: 16, W: 16 },
];

function arg(flag: string, dflt: number): number {
  const i = process.argv.indexOf(flag);
  if (i < 0) return dflt;
  const v = Number(process.argv[i + 1]);
  if (!Number.isInteger(v) || v < 1) throw new RangeError(`${flag}: expected a positive integer, got ${process.argv[i + 1]}`);
  return v;
}

function giveBack(ts: Array<Tensor | null>): void {
  for (const t of ts) if (t) recycleFloat(t.data as FloatArray);
}

function ours(c: Case, reps: number): { fwd: number; fwdbwd: number; kernel: string } {
  const rng = new RandomState(0);
  const x = astype(rng.randn(c.N, c.C, c.H, c.W), 'float32');
  // Every store a run makes is given back to the buffer pool after it, as the nn containers do
  // in training (PyTorch's caching allocator reuses its blocks too): a fresh store per run
  // would time first-touch page faults, not the kernels.
  let fwd: () => { out: Tensor; back: (d: Tensor) => void; done: () => void };
  let kernel = 'batch_norm + relu6';
  if (c.kind === 'conv') {
    const w = astype(rng.randn(c.F, c.C / c.groups, c.k, c.k), 'float32');
    const attrs = { stride: c.stride, padding: c.pad, groups: c.groups };
    kernel = selectKernel('conv2d', convProblem(x, w, undefined, attrs)).name;
    fwd = () => {
      const r = conv2d.forward([x, w], attrs);
      return { out: r.out, back: (d) => giveBack(conv2d.backward(d, r.cache)), done: () => giveBack([r.out]) };
    };
  } else {
    const g = astype(rng.randn(c.C), 'float32');
    const b = astype(rng.randn(c.C), 'float32');
    const state = { runningMean: new Float32Array(c.C), runningVar: new Float32Array(c.C).fill(1), numBatchesTracked: 0 };
    fwd = () => {
      const bn = batchNorm.forward([x, g, b], { training: true, state });
      const a = relu6.forward([bn.out], {});
      return {
        out: a.out,
        back: (d) => {
          const da = relu6.backward(d, a.cache);
          giveBack(batchNorm.backward(da[0]!, bn.cache));
          giveBack(da);
        },
        done: () => giveBack([bn.out, a.out]),
      };
    };
  }
  const dout = astype(rng.randn(...fwd().out.shape), 'float32');
  const warm = { runs: 3, ms: 500 };
  const timed = (withBack: boolean): (() => void) => {
    let last: { done: () => void } | null = null;
    return () => {
      last?.done();
      const r = fwd();
      if (withBack) r.back(dout);
      last = r;
    };
  };
  return { fwd: bestOf(reps, timed(false), warm), fwdbwd: bestOf(reps, timed(true), warm), kernel };
}

function torchSide(threads: number, reps: number): { torch: string; threads: number; rows: Array<{ name: string; fwd: number; fwdbwd: number }> } | { error: string } {
  const env = { ...process.env };
  delete env.OPENBLAS_CORETYPE;
  delete env.OPENBLAS_L2_SIZE;
  const r = spawnSync('/usr/bin/python3', [path.join(__dirname, 'ops_torch.py'), JSON.stringify([CASES, threads, reps])], { env, encoding: 'utf8' });
  if (r.error || r.status !== 0) return { error: (r.stderr || r.error?.message || 'failed').trim().split('\n').pop() ?? 'failed' };
  return JSON.parse(r.stdout.trim().split('\n').pop() ?? '{}');
}

function main(): void {
  const reps = arg('--reps', 5);
  const threads = threadCount();
  const mine = CASES.map((c) => ours(c, reps));
  const ref = torchSide(threads, reps);
  const ms = (s: number): string => (s * 1e3).toFixed(2);
  const lines = [
    `Command: \`npx tsx bench/ops.ts\`; float32; ${threads} threads on both sides; best of ${reps} after warm-up.`,
    `Machine: ${os.cpus()[0]?.model ?? '?'}, ${os.cpus().length} logical CPUs; load average ${os.loadavg().map((v) => v.toFixed(1)).join(' ')} at the start.`,
    'error' in ref ? `PyTorch: not run (${ref.error}).` : `PyTorch ${ref.torch} (${ref.threads} threads), run without the OpenBLAS pins.`,
    '',
    '| case | our kernel | ours fwd (ms) | PyTorch fwd (ms) | ratio | ours fwd+bwd (ms) | PyTorch fwd+bwd (ms) | ratio |',
    '|---|---|---:|---:|---:|---:|---:|---:|',
  ];
  CASES.forEach((c, i) => {
    const t = 'error' in ref ? undefined : ref.rows[i];
    const ratio = (a: number, b?: number): string => (b ? `${(a / b).toFixed(2)}×` : '—');
    lines.push(`| ${c.name} | ${mine[i].kernel} | ${ms(mine[i].fwd)} | ${t ? ms(t.fwd) : '—'} | ${ratio(mine[i].fwd, t?.fwd)} | ${ms(mine[i].fwdbwd)} | ${t ? ms(t.fwdbwd) : '—'} | ${ratio(mine[i].fwdbwd, t?.fwdbwd)} |`);
  });
  const body = lines.join('\n');
  console.log(body);
  writeResultsSection('## ops', body);
}

main();
