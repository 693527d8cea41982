/**
 * One model's training step (or eval forward), op by op beside PyTorch's, measured in the same
 * run: every convolution and batch-norm shape, then the step's time by kind of op — so a
 * ratio in bench/RESULTS.md's `## cnn` table can be traced to the ops that make it.
 *
 *   npx tsx bench/opsVsTorch.ts shufflenet_v2_cifar [--steps 4] [--eval] [--threads 2] [--batch 64]
 *
 * Ours: bench/profileStep.ts --shapes --json in a child process (CS231N_THREADS = threads).
 * PyTorch: bench/profile_torch.py (Debian python3-torch, the zoo fixture structures) under
 * /usr/bin/python3 without the OpenBLAS pins. Both time each op with its children, ms per step
 * averaged over `steps` steps after warm-up ones. PyTorch's rows come from steps under its
 * profiler, which records every op and runs the step ~1.6× slower (mostly outside these rows),
 * so they are upper bounds; its whole step is timed without the profiler. Ours come from timed
 * steps (a timer per op: a few percent).
 * Our batch norm includes the ReLU it fuses; PyTorch's activations are rows of their own and
 * go to the batch-norm group in the totals.
 */
import { spawnSync } from 'node:child_process';
import path from 'node:path';
import { listModels } from '../src/models';

interface Row { key: string; ms: number; calls: number }
interface Side { total: number; rows: Row[]; profiled?: number }

const arg = (flag: string, d: number): number => (process.argv.includes(flag) ? Number(process.argv[process.argv.indexOf(flag) + 1]) : d);

function ours(model: string, steps: number, batch: number, threads: number, evalOnly: boolean): Side {
  const args = [...process.execArgv, path.join(__dirname, 'profileStep.ts'), model, '--shapes', '--json', '--steps', String(steps), '--batch', String(batch)];
  if (evalOnly) args.push('--eval');
  const r = spawnSync(process.execPath, args, { env: { ...process.env, CS231N_THREADS: String(threads) }, encoding: 'utf8', maxBuffer: 1 << 24 });
  if (r.status !== 0) throw new Error(`bench/profileStep.ts failed: ${r.stderr || r.error}`);
  return JSON.parse(r.stdout.trim().split('\n').pop() as string) as Side;
}

function torch(model: string, input: number[], steps: number, batch: number, threads: number, evalOnly: boolean): (Side & { torch: string }) | null {
  const env = { ...process.env };
  delete env.OPENBLAS_CORETYPE;
  delete env.OPENBLAS_L2_SIZE;
  const cfg = { model, input, batch, threads, steps, eval: evalOnly };
  const r = spawnSync('/usr/bin/python3', [path.join(__dirname, 'profile_torch.py'), JSON.stringify(cfg)], { env, encoding: 'utf8', maxBuffer: 1 << 24 });
  if (r.error || r.status !== 0) {
    console.error(`PyTorch side unavailable (${r.error?.message ?? r.stderr.trim().split('\n').pop()}); install python3-torch python3-torchvision`);
    return null;
  }
  const out = JSON.parse(r.stdout.trim().split('\n').pop() as string);
  if (out.missing) {
    console.error(`PyTorch side: ${out.missing}`);
    return null;
  }
  return out;
}

/** Our conv rows name the kernel: 'conv gemm-fused 116→116 1×1 at 8×8 bwd' → its key without it, and the kernel. */
function splitKernel(key: string): { key: string; kernel: string } {
  const m = /^conv (\S+) (\d+→.*)$/.exec(key);
  return m ? { key: `conv ${m[2]}`, kernel: m[1] } : { key, kernel: '' };
}

/** The kind of op a row is, for the totals. */
function groupOf(key: string): string | null {
  const conv = /^conv (\d+)→(\d+) (\d+)×(\d+)(?: s\d+)?(?: g(\d+))? at/.exec(key);
  if (conv) {
    const [, c, f, kh, kw, g] = conv;
    if (g !== undefined && Number(g) === Number(c) && Number(g) === Number(f)) return 'depthwise convolutions';
    if (kh === '1' && kw === '1' && g === undefined) return 'pointwise (1×1) convolutions';
    return 'other convolutions';
  }
  if (/^batch_norm /.test(key) || /^relu6? (fwd|bwd)$/.test(key)) return 'batch norm + activation';
  return null;
}

function main(): void {
  const model = process.argv[2];
  const entry = listModels().find((e) => e.name === model);
  if (!entry) throw new RangeError(`model: expected one of ${listModels().map((e) => e.name).join(', ')}, got '${model}'`);
  const steps = arg('--steps', 4);
  const batch = arg('--batch', 64);
  const threads = arg('--threads', 2);
  const evalOnly = process.argv.includes('--eval');
  const a = ours(model, steps, batch, threads, evalOnly);
  const b = torch(model, entry.input, steps, batch, threads, evalOnly);
  const mine = new Map<string, { ms: number; calls: number; kernel: string }>();
  for (const r of a.rows) {
    const { key, kernel } = splitKernel(r.key);
    if (groupOf(key) !== null) mine.set(key, { ms: r.ms, calls: r.calls, kernel });
  }
  const theirs = new Map<string, Row>((b?.rows ?? []).map((r) => [r.key, r]));
  const keys = [...new Set([...mine.keys(), ...theirs.keys()])].sort((p, q) => (mine.get(q)?.ms ?? 0) - (mine.get(p)?.ms ?? 0) || (theirs.get(q)?.ms ?? 0) - (theirs.get(p)?.ms ?? 0));
  const f = (v: number | undefined): string => (v === undefined ? '—' : v.toFixed(1));
  const ratio = (p: number | undefined, q: number | undefined): string => (p === undefined || q === undefined || q === 0 ? '—' : `${(p / q).toFixed(2)}×`);
  const what = evalOnly ? 'eval forward' : 'train step';
  const lines = [
    `${model}, batch ${batch}, float32, ${threads} threads, ${what}: ours ${a.total.toFixed(0)} ms (timed steps), PyTorch ${b ? `${b.total.toFixed(0)} ms (untimed steps; ${b.profiled?.toFixed(0)} profiled; torch ${b.torch})` : 'unavailable'}`,
    '',
    '| op (shape) | our kernel | ours ms / step | PyTorch ms / step | ratio | calls / step |',
    '|---|---|---:|---:|---:|---:|',
  ];
  for (const k of keys) {
    const m = mine.get(k);
    const t = theirs.get(k);
    lines.push(`| ${k} | ${m?.kernel || ''} | ${f(m?.ms)} | ${f(t?.ms)} | ${ratio(m?.ms, t?.ms)} | ${m?.calls ?? t?.calls ?? ''} |`);
  }
  const sums = new Map<string, [number, number]>();
  for (const k of keys) {
    const g = groupOf(k) as string;
    const s = sums.get(g) ?? [0, 0];
    s[0] += mine.get(k)?.ms ?? 0;
    s[1] += theirs.get(k)?.ms ?? 0;
    sums.set(g, s);
  }
  const groups = [...sums.entries()].sort((p, q) => q[1][0] - p[1][0]);
  // PyTorch's rows come from profiled steps, which run slower than untimed ones (its profiler
  // records every op: 411 against 259 ms a ShuffleNet V2 step here), mostly outside these
  // rows; so its rows are upper bounds and its rest (untimed step less the rows) a lower bound.
  const rest: [number, number] = [a.total - groups.reduce((s, [, v]) => s + v[0], 0), (b?.total ?? 0) - groups.reduce((s, [, v]) => s + v[1], 0)];
  lines.push('', '| kind of op | ours ms / step | PyTorch ms / step | ratio |', '|---|---:|---:|---:|');
  for (const [g, [p, q]] of groups) lines.push(`| ${g} | ${p.toFixed(0)} | ${b ? q.toFixed(0) : '—'} | ${b ? ratio(p, q) : '—'} |`);
  lines.push(`| everything else (the ${what} less the rows above; PyTorch's a lower bound) | ${rest[0].toFixed(0)} | ${b ? rest[1].toFixed(0) : '—'} | ${b ? ratio(rest[0], rest[1]) : '—'} |`);
  lines.push(`| **whole ${what}** (untimed on PyTorch's side) | ${a.total.toFixed(0)} | ${b ? b.total.toFixed(0) : '—'} | ${b ? ratio(a.total, b.total) : '—'} |`);
  console.log(lines.join('\n'));
}

main();
