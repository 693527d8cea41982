/**
 * Where a training step's time goes, per op kind: every op's forward and backward is wrapped
 * with a timer (conv2d also per kernel, so the op's own share — validation, dense copies,
 * output allocation — shows beside the kernel's), plus the parameter-gradient accumulation
 * and the optimizer step; what is left is module / tape bookkeeping, gradient sums of tensors
 * used twice, the loss and the garbage collector.
 *
 *   npx tsx bench/profileStep.ts mobilenet_v2_cifar [--batch 64] [--steps 2] [--shapes] [--eval] [--json]
 * `--shapes` times each convolution and batch-norm shape apart; `--eval` profiles an eval-mode
 * forward instead; `--json` prints {total, rows} (bench/opsVsTorch.ts reads it).
 *   node --expose-gc … adds a forced GC before the timed steps.
 *
 * Prints a markdown table (ms per step, averaged over the timed steps after one warm-up step).
 */
import ndarray from 'ndarray';
import { RandomState } from '../src/core/random';
import { astype } from '../src/core/tensor';
import { createModel, listModels } from '../src/models';
import { Parameter } from '../src/nn/parameter';
import * as ops from '../src/ops';
import { kernelsOf } from '../src/ops/kernelRegistry';
import type { ConvProblem } from '../src/ops/kernels/convProblem';
import { noGrad } from '../src/nn';
import { crossEntropyLoss } from '../src/training/fit';
import { SGD } from '../src/training/sgd';

const times = new Map<string, number>();
const counts = new Map<string, number>();
let recording = false;

function timed<F extends (...args: never[]) => unknown>(key: string, f: F): F {
  return function (this: unknown, ...args: Parameters<F>) {
    if (!recording) return f.apply(this, args);
    const t0 = performance.now();
    try {
      return f.apply(this, args);
    } finally {
      times.set(key, (times.get(key) ?? 0) + performance.now() - t0);
      counts.set(key, (counts.get(key) ?? 0) + 1);
    }
  } as F;
}

/** Wraps every op object's forward/backward, and every conv2d kernel's implementation. */
function instrument(byShape: boolean): void {
  for (const v of Object.values(ops)) {
    const op = v as { name?: unknown; forward?: unknown; backward?: unknown };
    if (op && typeof op === 'object' && typeof op.name === 'string' && typeof op.forward === 'function' && typeof op.backward === 'function') {
      const o = op as { name: string; forward: (...a: never[]) => unknown; backward: (...a: never[]) => unknown };
      const fwd = o.forward.bind(o);
      const bwd = o.backward.bind(o);
      if (byShape && o.name === 'batch_norm') {
        // Per input shape, keyed as bench/profile_torch.py keys PyTorch's.
        const shapeOf = (t: unknown): string => ((t as { shape?: number[] })?.shape ?? []).join('×');
        o.forward = ((inputs: unknown[], ...rest: never[]) => timed(`batch_norm ${shapeOf(inputs[0])} fwd`, fwd)(inputs as never, ...rest)) as never;
        o.backward = ((dout: unknown, ...rest: never[]) => timed(`batch_norm ${shapeOf(dout)} bwd`, bwd)(dout as never, ...rest)) as never;
      } else {
        o.forward = timed(`${o.name} fwd`, fwd);
        o.backward = timed(`${o.name} bwd`, bwd);
      }
    }
  }
  for (const k of kernelsOf('conv2d')) {
    const impl = k.impl as { forward: (p: ConvProblem, ...a: never[]) => unknown; backward: (p: ConvProblem, ...a: never[]) => unknown };
    const key = (p: ConvProblem, dir: string): string =>
      byShape ? `  conv ${k.name} ${p.C}→${p.F} ${p.kh}×${p.kw}${p.stride > 1 ? ` s${p.stride}` : ''}${p.groups > 1 ? ` g${p.groups}` : ''} at ${p.H}×${p.W} ${dir}` : `  conv kernel ${k.name} ${dir}`;
    for (const dir of ['fwd', 'bwd'] as const) {
      const f = dir === 'fwd' ? impl.forward : impl.backward;
      const wrapped = (p: ConvProblem, ...a: never[]): unknown => timed(key(p, dir), f)(p, ...a);
      if (dir === 'fwd') impl.forward = wrapped;
      else impl.backward = wrapped;
    }
  }
  const acc = Parameter.prototype.accumulate;
  Parameter.prototype.accumulate = timed('Parameter.accumulate (grad +=)', acc);
}

function main(): void {
  const name = process.argv[2];
  const entry = listModels().find((e) => e.name === name);
  if (!entry) throw new RangeError(`model: unknown '${name}'`);
  const arg = (f: string, d: number): number => (process.argv.includes(f) ? Number(process.argv[process.argv.indexOf(f) + 1]) : d);
  const batch = arg('--batch', 64);
  const steps = arg('--steps', 2);
  instrument(process.argv.includes('--shapes'));
  const rng = new RandomState(0);
  const model = createModel(name, { dtype: 'float32', rng });
  const x = astype(rng.randn(batch, ...entry.input), 'float32');
  const labels = ndarray(Int32Array.from({ length: batch }, () => rng.randint(0, entry.numClasses)), [batch]);
  const opt = new SGD(model.parameters(), { lr: 0.01, momentum: 0.9 });
  const sgdStep = timed('SGD step', () => opt.step());
  const zero = timed('zeroGrad', () => opt.zeroGrad());
  const fwd = timed('forward (total)', () => model.forward(x));
  const bwd = timed('backward (total)', (d: Parameters<typeof model.backward>[0]) => model.backwardParams(d));
  const evalOnly = process.argv.includes('--eval');
  const step = (): void => {
    if (evalOnly) {
      model.eval();
      noGrad(() => fwd());
      return;
    }
    model.train();
    zero();
    const logits = fwd();
    const t0 = performance.now();
    const { dlogits } = crossEntropyLoss(logits, labels);
    if (recording) times.set('loss', (times.get('loss') ?? 0) + performance.now() - t0);
    if (recording) counts.set('loss', (counts.get('loss') ?? 0) + 1);
    bwd(dlogits);
    sgdStep();
  };
  step();
  (globalThis as { gc?: () => void }).gc?.();
  recording = true;
  const t0 = performance.now();
  for (let s = 0; s < steps; s++) step();
  const total = (performance.now() - t0) / steps;
  recording = false;
  const rows = [...times.entries()].map(([k, v]) => [k, v / steps, (counts.get(k) ?? steps) / steps] as const);
  rows.sort((a, b) => b[1] - a[1]);
  if (process.argv.includes('--json')) {
    console.log(JSON.stringify({ total, rows: rows.map(([key, ms, calls]) => ({ key: key.trim(), ms, calls })) }));
    return;
  }
  const lines = [`${name}, batch ${batch}, float32, ${process.env.CS231N_THREADS ?? 'default'} threads: ${total.toFixed(0)} ms per ${evalOnly ? 'eval forward' : 'step'} (mean of ${steps})`, '', '| part | ms / step | % | calls / step |', '|---|---:|---:|---:|'];
  for (const [k, v, c] of rows) lines.push(`| ${k} | ${v.toFixed(1)} | ${((100 * v) / total).toFixed(1)} | ${c} |`);
  console.log(lines.join('\n'));
}

main();
