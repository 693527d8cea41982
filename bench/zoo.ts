/**
 * Eval forward of every CIFAR-10 model of the zoo beside PyTorch CPU (issue 11): batch 64,
 * float32, eval mode under noGrad / torch.no_grad(), the same structure and thread count, in
 * the same run. The PyTorch structures are the zoo fixture scripts' (via bench/cnn_torch.py).
 *
 *   npx tsx bench/zoo.ts            # writes the `## zoo` section of bench/RESULTS.md
 *   npx tsx bench/zoo.ts --reps 3
 */
import os from 'node:os';
import { threadCount } from '../src/core/gemm/workers';
import { listModels } from '../src/models';
import { runTorch, setup } from './cnn';
import { cpuInfo } from './machine';
import { writeResultsSection } from './results';
import { bestOf } from './timing';

function main(): void {
  const i = process.argv.indexOf('--reps');
  const reps = i < 0 ? 2 : Number(process.argv[i + 1]);
  if (!Number.isInteger(reps) || reps < 1) throw new RangeError(`--reps: expected a positive integer, got ${process.argv[i + 1]}`);
  const threads = threadCount();
  const cpu = cpuInfo();
  const rows: string[] = [];
  for (const e of listModels().filter((m) => m.name.endsWith('_cifar'))) {
    const load = os.loadavg()[0].toFixed(1);
    const { evalForward } = setup(e.name, 64);
    const ours = bestOf(reps, evalForward, { runs: 1 });
    const t = runTorch<{ eval: number } | { missing: string }>({ model: e.name, input: e.input, batch: 64, threads, reps, warm: 1, mode: 'eval' });
    const torch = 'error' in t || 'missing' in t ? null : t.eval;
    const why = 'error' in t ? `failed: ${t.error}` : 'missing' in t ? t.missing : '';
    const ms = (s: number): string => (s * 1e3).toFixed(0);
    rows.push(`| ${e.name} | ${ms(ours)} | ${torch ? ms(torch) : why} | ${torch ? `${(ours / torch).toFixed(2)}×` : '—'} | ${load} |`);
    console.log(rows[rows.length - 1]);
  }
  const body = [
    'Command: `npx tsx bench/zoo.ts`; eval forward of each CIFAR-10 variant, batch 64, float32, ms per batch, best of',
    `${reps} after one warm-up; PyTorch ${'(Debian python3-torch, bench/cnn_torch.py, the zoo fixture structures)'} on the same ${threads} threads, run without the OpenBLAS pins.`,
    `Machine: ${cpu.model}, ${os.cpus().length} logical CPUs; SIMD flags: ${cpu.simd}. The load column is the 1-minute load average when the row started.`,
    '',
    '| model | ours (ms) | PyTorch (ms) | ours / PyTorch | load |',
    '|---|---:|---:|---:|---:|',
    ...rows,
  ].join('\n');
  writeResultsSection('## zoo', body);
}

main();
