/**
 * The model zoo beside PyTorch CPU, float32, on the same threads and batch, in the same run:
 * one training step (zeroGrad, forward, softmax cross-entropy, backward to the parameters —
 * `backwardParams`, as PyTorch's input does not require grad —, SGD step with momentum 0.9)
 * and one eval forward (eval mode, under `nn.noGrad` / `torch.no_grad()`), batch 64 at
 * the model's default input (batch 50 for the cs231n three-layer convnet), plus the peak memory
 * of a batch-128 training step on both sides.
 *
 *   npx tsx bench/cnn.ts                                    # every model; writes `## cnn` of RESULTS.md
 *   npx tsx bench/cnn.ts --models resnet18_cifar,mobilenet_v2_cifar --reps 2 --warm 1
 *   npx tsx bench/cnn.ts --no-memory                        # timings only
 *
 * Rows are kept per model in bench/cnn-results.json, so a run over some models replaces only
 * their rows; each row records its date, repetitions and the load average when it was measured
 * (the benchmark machine is shared, and its load moves both columns).
 *
 * Peak memory, both sides measured the same way, each in a fresh process: build the model and
 * a batch-128 input, read the resident set size (RSS), run two training steps (the second is
 * the steady state, with momentum buffers and gradients allocated), then read the process's
 * peak RSS (VmHWM of /proc/self/status). The table gives that peak and its rise over the RSS before
 * the steps. Ours counts everything in the process: the V8 heap, typed-array stores and the
 * worker threads' shared arena.
 *
 * The PyTorch side is bench/cnn_torch.py (Debian's python3-torch), run without the OpenBLAS
 * pins, with `torch.set_num_threads` set to our thread count; it takes the structures from the
 * zoo fixture scripts. A model that is not in our zoo or has no PyTorch structure gets a row
 * saying so.
 */
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import ndarray from 'ndarray';
import { getArena } from '../src/core/gemm/arena';
import { gemmFma } from '../src/core/gemm/gemm';
import { threadCount } from '../src/core/gemm/workers';
import { RandomState } from '../src/core/random';
import { astype, type IntTensor, type Tensor } from '../src/core/tensor';
import { createModel, listModels } from '../src/models';
import { noGrad } from '../src/nn/gradMode';
import type { Module } from '../src/nn/module';
import { crossEntropyLoss } from '../src/training/fit';
import { SGD } from '../src/training/sgd';
import { writeFileAtomic } from '../src/util/atomicWrite';
import { writeResultsSection } from './results';
import { bestOf } from './timing';

export const MODELS = [
  'mobilenet_v1_cifar', 'mobilenet_v2_cifar', 'shufflenet_v1_g3_cifar', 'shufflenet_v2_cifar', 'resnet18_cifar',
  'vgg16_cifar', 'efficientnet_b0_cifar', 'three_layer_convnet', 'simple_convnet', 'deep_convnet',
];
/** The issue's batch for each model: cs231n trains its three-layer convnet in batches of 50. */
const BATCH: Record<string, number> = { three_layer_convnet: 50 };
const PEAK_BATCH = 128;
const STORE = path.join(__dirname, 'cnn-results.json');

/** One model's measurements (seconds, bytes), or why it has none. */
interface Row {
  model: string;
  batch: number;
  input?: number[];
  date: string;
  load: number[];
  reps: number;
  threads: number;
  /** The runtime ours ran on: node's version, "FMA" when the float32 tiles used FMA, and which ("native avx512f" / "native avx2" for the native tiles). */
  runtime?: string;
  ours?: { train: number; eval: number; kernels?: string };
  torch?: { train: number; eval: number } | { missing: string };
  peak?: { ours: Peak | { error: string }; torch: Peak | { error: string } | { missing: string } };
  missing?: string;
}
interface Peak {
  rssBefore: number;
  maxRss: number;
}

function flag(name: string): boolean {
  return process.argv.includes(name);
}

function option(name: string): string | undefined {
  const i = process.argv.indexOf(name);
  return i < 0 ? undefined : process.argv[i + 1];
}

function intOption(name: string, dflt: number): number {
  const s = option(name);
  if (s === undefined) return dflt;
  const v = Number(s);
  if (!Number.isInteger(v) || v < 0) throw new RangeError(`${name}: expected a non-negative integer, got ${s}`);
  return v;
}

/** A model, its input batch and labels, and a train step and an eval forward over them. */
export function setup(name: string, batch: number): { model: Module; train: () => void; evalForward: () => void } {
  const entry = listModels().find((e) => e.name === name)!;
  const rng = new RandomState(0);
  const model = createModel(name, { dtype: 'float32', rng });
  const x: Tensor = astype(rng.randn(batch, ...entry.input), 'float32');
  const labels: IntTensor = ndarray(Int32Array.from({ length: batch }, () => rng.randint(0, entry.numClasses)), [batch]);
  const opt = new SGD(model.parameters(), { lr: 0.01, momentum: 0.9 });
  const train = (): void => {
    model.train();
    opt.zeroGrad();
    const logits = model.forward(x);
    const { dlogits } = crossEntropyLoss(logits, labels);
    model.backwardParams(dlogits);
    opt.step();
  };
  const evalForward = (): void => {
    model.eval();
    noGrad(() => model.forward(x));
  };
  return { model, train, evalForward };
}

function rssNow(): number {
  return process.memoryUsage().rss;
}

/**
 * Peak RSS of this process image (VmHWM, bytes). WHY not getrusage's ru_maxrss: Linux keeps
 * that across fork and exec, so a child spawned by this bench would report the parent's peak.
 */
export function peakRss(): number {
  const m = /VmHWM:\s*(\d+)\s*kB/.exec(fs.readFileSync('/proc/self/status', 'utf8'));
  if (!m) throw new Error('peak memory: /proc/self/status has no VmHWM line');
  return Number(m[1]) * 1024;
}

/** Child mode (`--peak name`): two batch-128 training steps; prints {rssBefore, maxRss}. */
function peakChild(name: string): void {
  const { train } = setup(name, PEAK_BATCH);
  const rssBefore = rssNow();
  train();
  train();
  console.log(JSON.stringify({ rssBefore, maxRss: peakRss() }));
}

function lastJson<T>(stdout: string): T {
  return JSON.parse(stdout.trim().split('\n').pop() ?? '{}') as T;
}

export function runTorch<T>(cfg: object): T | { error: string } {
  const env = { ...process.env };
  delete env.OPENBLAS_CORETYPE;
  delete env.OPENBLAS_L2_SIZE;
  const r = spawnSync('/usr/bin/python3', [path.join(__dirname, 'cnn_torch.py'), JSON.stringify(cfg)], { env, encoding: 'utf8', maxBuffer: 1 << 24 });
  if (r.error || r.status !== 0) return { error: (r.stderr || r.error?.message || 'failed').trim().split('\n').pop() ?? 'failed' };
  return lastJson<T>(r.stdout);
}

function oursPeak(name: string): Peak | { error: string } {
  const r = spawnSync(process.execPath, [...process.execArgv, __filename, '--peak', name], { encoding: 'utf8', maxBuffer: 1 << 24 });
  if (r.error || r.status !== 0) return { error: (r.stderr || r.error?.message || 'failed').trim().split('\n').pop() ?? 'failed' };
  return lastJson<Peak>(r.stdout);
}

function measure(name: string, reps: number, warm: number, memory: boolean): Row {
  const batch = BATCH[name] ?? 64;
  const threads = threadCount();
  const base = { model: name, batch, date: new Date().toISOString().slice(0, 16).replace('T', ' '), load: os.loadavg(), reps, threads, runtime: runtime() };
  const entry = listModels().find((e) => e.name === name);
  if (!entry) return { ...base, missing: 'not in our zoo yet' };
  const { train, evalForward } = setup(name, batch);
  const ours = { train: bestOf(reps, train, { runs: warm }), eval: bestOf(reps, evalForward, { runs: warm }) };
  const cfg = { model: name, input: entry.input, batch, threads, reps, warm };
  const t = runTorch<{ train: number; eval: number } | { missing: string }>({ ...cfg, mode: 'time' });
  const torch = 'error' in t ? { missing: `failed: ${t.error}` } : t;
  const row: Row = { ...base, input: entry.input, ours, torch };
  if (memory) {
    const tp = runTorch<Peak | { missing: string }>({ ...cfg, batch: PEAK_BATCH, mode: 'peak' });
    row.peak = { ours: oursPeak(name), torch: tp };
  }
  return row;
}

const ms = (s: number): string => (s * 1e3).toFixed(0);
const mb = (b: number): string => (b / 2 ** 20).toFixed(0);

function peakCell(p: Peak | { error: string } | { missing: string } | undefined): string {
  if (!p) return '—';
  if ('error' in p) return 'failed';
  if ('missing' in p) return 'n/a';
  return `${mb(p.maxRss)} (+${mb(p.maxRss - p.rssBefore)})`;
}

function render(rows: Row[]): string {
  const cpu = lscpu();
  const lines = [
    'Command: `npx tsx bench/cnn.ts [--models a,b] [--reps 3] [--warm 1] [--no-memory]`; rows are kept per model in bench/cnn-results.json.',
    'float32; one train step = zeroGrad + forward + softmax cross-entropy + backward to the parameters (`backwardParams`; PyTorch\'s input does not require grad either) + SGD (momentum 0.9); eval = eval-mode forward under noGrad / torch.no_grad().',
    'Times are the best of `reps` runs after `warm` warm-up runs, ms per batch; the ratio is ours / PyTorch (lower is better).',
    `PyTorch: bench/cnn_torch.py (Debian python3-torch ${torchVersion()}), the zoo fixture structures, \`torch.set_num_threads\` = our thread count, run with \`env -u OPENBLAS_CORETYPE -u OPENBLAS_L2_SIZE\`.`,
    `Peak memory: MiB of peak RSS (VmHWM) of a fresh process running two batch-${PEAK_BATCH} train steps, and in brackets its rise over the RSS before the steps (model and input built).`,
    `Machine: ${cpu.model}; ${os.cpus().length} logical CPUs, shared with other jobs: each row gives the 1/5/15-minute load average when it was measured.`,
    `Flags (SIMD): ${cpu.flags}.`,
    '',
    'Runtime: node\'s version for our side, "+ FMA" where the float32 tiles ran relaxed-SIMD FMA (on by default from node 22; node 20 with `CS231N_RELAXED_SIMD=1` or `--experimental-wasm-relaxed-simd`), "+ native avx512f" (or avx2) where they ran the native tiles (native/sgemm.c, the same bits).',
    '',
    '| model | batch | threads | ours train (ms) | PyTorch train (ms) | ratio | ours eval (ms) | PyTorch eval (ms) | ratio | peak MiB ours | peak MiB PyTorch | reps | runtime | load | measured |',
    '|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---|---|---|',
  ];
  for (const r of rows) {
    const load = r.load.map((v) => v.toFixed(1)).join(' ');
    if (r.missing || !r.ours) {
      lines.push(`| ${r.model} | ${r.batch} | ${r.threads} | not available (${r.missing}) | | | | | | | | | ${r.runtime ?? '—'} | ${load} | ${r.date} |`);
      continue;
    }
    const t = r.torch && !('missing' in r.torch) ? r.torch : undefined;
    const ratio = (a: number, b?: number): string => (b ? `${(a / b).toFixed(2)}×` : '—');
    const tcell = (v?: number): string => (v === undefined ? (r.torch && 'missing' in r.torch ? 'not available' : '—') : ms(v));
    lines.push(
      `| ${r.model} | ${r.batch} | ${r.threads} | ${ms(r.ours.train)} | ${tcell(t?.train)} | ${ratio(r.ours.train, t?.train)} | ${ms(r.ours.eval)} | ${tcell(t?.eval)} | ${ratio(r.ours.eval, t?.eval)} | ${peakCell(r.peak?.ours)} | ${peakCell(r.peak?.torch)} | ${r.reps} | ${r.runtime ?? '—'} | ${load} | ${r.date} |`,
    );
  }
  return lines.join('\n');
}

/** node's version, and whether the float32 tiles use relaxed-SIMD FMA in this process. */
function runtime(): string {
  const native = getArena('wasm', 1)?.native ?? null;
  return `node ${process.version}${native !== null ? ` + native ${native.features}` : gemmFma() ? ' + FMA' : ''}`;
}

function lscpu(): { model: string; flags: string } {
  const r = spawnSync('lscpu', [], { encoding: 'utf8' });
  const get = (k: string): string => r.stdout?.split('\n').find((l) => l.startsWith(`${k}:`))?.slice(k.length + 1).trim() ?? '?';
  const simd = get('Flags').split(/\s+/).filter((f) => /^(sse4_2|avx|avx2|fma|avx512f|avx512bw|avx512vl|avx512_vnni|avx512_bf16|amx\w*)$/.test(f));
  return { model: get('Model name'), flags: simd.join(' ') || '?' };
}

function torchVersion(): string {
  const r = spawnSync('/usr/bin/python3', ['-c', 'import torch; print(torch.__version__)'], { encoding: 'utf8' });
  return r.status === 0 ? r.stdout.trim() : 'not found';
}

function loadStore(): Row[] {
  if (!fs.existsSync(STORE)) return [];
  const v = JSON.parse(fs.readFileSync(STORE, 'utf8'));
  if (!Array.isArray(v)) throw new TypeError(`${STORE}: expected a JSON array of rows`);
  return v as Row[];
}

function main(): void {
  const peak = option('--peak');
  if (peak !== undefined) return peakChild(peak);
  const models = option('--models')?.split(',').map((s) => s.trim()).filter(Boolean) ?? MODELS;
  const unknown = models.filter((m) => !MODELS.includes(m));
  if (unknown.length) throw new RangeError(`--models: unknown ${unknown.join(', ')} (known: ${MODELS.join(', ')})`);
  const reps = Math.max(1, intOption('--reps', 3));
  const warm = intOption('--warm', 1);
  const memory = !flag('--no-memory');
  const stored = new Map(loadStore().map((r) => [r.model, r]));
  for (const m of models) {
    const row = measure(m, reps, warm, memory);
    if (!memory && stored.get(m)?.peak && row.ours) row.peak = stored.get(m)!.peak;
    stored.set(m, row);
    console.log(JSON.stringify(row));
    writeFileAtomic(STORE, `${JSON.stringify(MODELS.filter((k) => stored.has(k)).map((k) => stored.get(k)), null, 1)}\n`);
  }
  const body = render(MODELS.filter((k) => stored.has(k)).map((k) => stored.get(k)!));
  console.log(body);
  writeResultsSection('## cnn', body);
}

if (require.main === module) main();
