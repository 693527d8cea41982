/**
 * The assignment-2 fast layers next to numpy on the same machine, in the same run:
 * conv forward/backward (the fused per-sample im2col kernels of src/core/convFused.ts) and max
 * pooling, against a numpy im2col + GEMM implementation of the same ops, plus the naive conv
 * for the "fast backward ≥ 20× naive" ratio.
 *
 *   npx tsx bench/assignment2.ts                       # all cases, float64 and float32
 *   npx tsx bench/assignment2.ts --reps 3 --rounds 2   # fewer timed repetitions / rounds
 *
 * Both sides get the same inputs (written to a temporary directory as raw float64) and their
 * outputs are compared through checksums, so the two columns time the same computation. The
 * machine is shared, so the measurement alternates: each round times every case on our side,
 * then every case in one numpy process; each cell is the best over all rounds.
 * Prints a table and writes it, with the command, into the `## assignment 2` section of
 * bench/RESULTS.md (other sections are kept as they are).
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { spawnSync } from 'node:child_process';
import { threadCount } from '../src/core/gemm/workers';
import { RandomState } from '../src/core/random';
import { astype, type Tensor } from '../src/core/tensor';
import type { DType } from '../src/core/dtype';
import { convBackwardFast, convBackwardNaive, convForwardFast, convForwardNaive, maxPoolBackwardFast, maxPoolForwardFast } from '../src/layers';
import { cpuInfo, PYTHON } from './machine';
import { writeResultsSection } from './results';
import { bestOf } from './timing';

/** Warm-up before timing: at least 2 runs and 0.3 s. */
const WARM = { runs: 2, ms: 300 };

const RESULTS = path.join(__dirname, 'RESULTS.md');
const SECTION = '## assignment 2';

interface ConvCase { kind: 'conv'; name: string; N: number; C: number; H: number; W: number; F: number; k: number; stride: number; pad: number }
interface PoolCase { kind: 'pool'; name: string; N: number; C: number; H: number; W: number; k: number; stride: number }
type Case = ConvCase | PoolCase;

const CASES: Case[] = [
  { kind: 'conv', name: 'conv 50×3×32×32, 32 filters 3×3, stride 1, pad 1', N: 50, C: 3, H: 32, W: 32, F: 32, k: 3, stride: 1, pad: 1 },
  { kind: 'conv', name: 'conv 100×3×31×31, 25 filters 3×3, stride 2, pad 1 (notebook)', N: 100, C: 3, H: 31, W: 31, F: 25, k: 3, stride: 2, pad: 1 },
  { kind: 'pool', name: 'max pool 100×3×32×32, 2×2 stride 2 (reshape path)', N: 100, C: 3, H: 32, W: 32, k: 2, stride: 2 },
  { kind: 'pool', name: 'max pool 100×3×31×31, 3×3 stride 2 (overlapping, im2col path)', N: 100, C: 3, H: 31, W: 31, k: 3, stride: 2 },
];
const DTYPES: DType[] = ['float64', 'float32'];

function parseCount(argv: string[], flag: string): number | null {
  const i = argv.indexOf(flag);
  if (i < 0) return null;
  const v = Number(argv[i + 1]);
  if (!Number.isInteger(v) || v < 1) throw new RangeError(`${flag}: expected a positive integer, got ${argv[i + 1]}`);
  return v;
}

/** Σ v² in float64: a checksum both sides can compute the same way. */
function sumSq(t: Tensor): number {
  let s = 0;
  const d = t.data;
  for (let i = 0; i < d.length; i++) s += d[i] * d[i];
  return s;
}

/*
 * The numpy side: im2col through sliding_window_view, one GEMM, and col2im as fh·fw strided
 * adds — the usual fast pure-numpy convolution (cs231n's Cython helpers are not pure numpy).
 * OPENBLAS_CORETYPE / OPENBLAS_L2_SIZE are removed from its environment (they slow a current
 * numpy on these machines).
 */
const NUMPY_SCRIPT = String.raw`
import json, sys, time, os
import numpy as np
from numpy.lib.stride_tricks import sliding_window_view
cases, dtypes, reps, tmp = json.loads(sys.argv[1])

def best_of(f):
    t = time.perf_counter(); n = 0
    while n < 2 or time.perf_counter() - t < 0.3:
        f(); n += 1
    b = float('inf')
    for _ in range(reps):
        t0 = time.perf_counter(); f(); b = min(b, time.perf_counter() - t0)
    return b

def conv_forward(x, w, b, stride, pad):
    N, C, H, W = x.shape
    F, _, fh, fw = w.shape
    xp = np.pad(x, ((0, 0), (0, 0), (pad, pad), (pad, pad)))
    Ho = 1 + (H + 2 * pad - fh) // stride
    Wo = 1 + (W + 2 * pad - fw) // stride
    win = sliding_window_view(xp, (fh, fw), axis=(2, 3))[:, :, ::stride, ::stride]  # N C Ho Wo fh fw
    cols = win.transpose(1, 4, 5, 0, 2, 3).reshape(C * fh * fw, N * Ho * Wo)
    out = (w.reshape(F, -1) @ cols + b[:, None]).reshape(F, N, Ho, Wo).transpose(1, 0, 2, 3)
    return np.ascontiguousarray(out), (x.shape, w, cols, stride, pad, Ho, Wo)

def conv_backward(dout, cache):
    (N, C, H, W), w, cols, stride, pad, Ho, Wo = cache
    F, _, fh, fw = w.shape
    d = dout.transpose(1, 0, 2, 3).reshape(F, -1)
    db = dout.sum(axis=(0, 2, 3))
    dw = (d @ cols.T).reshape(w.shape)
    dcols = (w.reshape(F, -1).T @ d).reshape(C, fh, fw, N, Ho, Wo)
    dxp = np.zeros((N, C, H + 2 * pad, W + 2 * pad), dtype=dout.dtype)
    for i in range(fh):
        for j in range(fw):
            dxp[:, :, i:i + stride * Ho:stride, j:j + stride * Wo:stride] += dcols[:, i, j].transpose(1, 0, 2, 3)
    return dxp[:, :, pad:pad + H, pad:pad + W], dw, db

def pool_forward(x, k, s):
    N, C, H, W = x.shape
    if k == s and H % k == 0 and W % k == 0:
        xr = x.reshape(N, C, H // k, k, W // k, k)
        out = xr.max(axis=(3, 5))
        return out, ('reshape', x, xr, out)
    Ho, Wo = 1 + (H - k) // s, 1 + (W - k) // s
    win = sliding_window_view(x, (k, k), axis=(2, 3))[:, :, ::s, ::s].reshape(N, C, Ho, Wo, k * k)
    arg = win.argmax(axis=-1)
    out = np.take_along_axis(win, arg[..., None], axis=-1)[..., 0]
    return out, ('im2col', x, arg, (k, s, Ho, Wo))

def pool_backward(dout, cache):
    if cache[0] == 'reshape':
        _, x, xr, out = cache
        mask = xr == out[:, :, :, None, :, None]
        dxr = mask * (dout[:, :, :, None, :, None] / mask.sum(axis=(3, 5), keepdims=True))
        return dxr.reshape(x.shape)
    _, x, arg, (k, s, Ho, Wo) = cache
    dx = np.zeros_like(x)
    for q in range(k * k):
        i, j = divmod(q, k)
        dx[:, :, i:i + s * Ho:s, j:j + s * Wo:s] += dout * (arg == q)
    return dx

def load(name, shape, dtype):
    return np.fromfile(os.path.join(tmp, name + '.bin'), dtype=np.float64).reshape(shape).astype(dtype)

res = {"numpy": np.__version__, "rows": []}
for ci, c in enumerate(cases):
    for dt in dtypes:
        dtype = np.float64 if dt == 'float64' else np.float32
        x = load(f'{ci}_x', (c['N'], c['C'], c['H'], c['W']), dtype)
        if c['kind'] == 'conv':
            w = load(f'{ci}_w', (c['F'], c['C'], c['k'], c['k']), dtype)
            b = load(f'{ci}_b', (c['F'],), dtype)
            out, cache = conv_forward(x, w, b, c['stride'], c['pad'])
            dout = load(f'{ci}_dout', out.shape, dtype)
            dx, dw, db = conv_backward(dout, cache)
            fwd = best_of(lambda: conv_forward(x, w, b, c['stride'], c['pad']))
            bwd = best_of(lambda: conv_backward(dout, cache))
            sums = [float(np.sum(np.square(a, dtype=np.float64))) for a in (out, dx, dw, db)]
        else:
            out, cache = pool_forward(x, c['k'], c['stride'])
            dout = load(f'{ci}_dout', out.shape, dtype)
            dx = pool_backward(dout, cache)
            fwd = best_of(lambda: pool_forward(x, c['k'], c['stride']))
            bwd = best_of(lambda: pool_backward(dout, cache))
            sums = [float(np.sum(np.square(a, dtype=np.float64))) for a in (out, dx)]
        res["rows"].append({"case": ci, "dtype": dt, "fwd": fwd, "bwd": bwd, "sums": sums})
print(json.dumps(res))
`;

interface NumpyRow { case: number; dtype: DType; fwd: number; bwd: number; sums: number[] }

function runNumpy(reps: number, tmp: string): { numpy: string; rows: NumpyRow[] } | { error: string } {
  const env = { ...process.env };
  delete env.OPENBLAS_CORETYPE;
  delete env.OPENBLAS_L2_SIZE;
  const arg = JSON.stringify([CASES, DTYPES, reps, tmp]);
  const r = spawnSync(PYTHON, ['-c', NUMPY_SCRIPT, arg], { env, encoding: 'utf8', maxBuffer: 1 << 24 });
  if (r.error) return { error: r.error.message };
  if (r.status !== 0) return { error: (r.stderr || `exit ${r.status}`).trim().split('\n').pop() ?? 'failed' };
  try {
    return JSON.parse(r.stdout.trim().split('\n').pop() ?? '');
  } catch {
    return { error: `unreadable output: ${r.stdout.slice(0, 200)}` };
  }
}

interface Row {
  c: Case;
  dtype: DType;
  fwd: number;
  bwd: number;
  sums: number[];
  naiveFwd?: number;
  naiveBwd?: number;
  np?: NumpyRow;
}

const fmtT = (t: number | undefined): string => (t === undefined ? 'n/a' : t < 1 ? `${(t * 1000).toFixed(2)} ms` : `${t.toFixed(3)} s`);
const ratio = (a: number, b: number | undefined): string => (b === undefined ? 'n/a' : `${(a / b).toFixed(1)}×`);

function checksumAgreement(r: Row): string {
  if (!r.np) return 'n/a';
  const tol = r.dtype === 'float64' ? 1e-9 : 1e-4;
  const worst = Math.max(...r.sums.map((s, i) => Math.abs(s - r.np!.sums[i]) / Math.max(1e-300, Math.abs(s) + Math.abs(r.np!.sums[i]))));
  return worst <= tol ? `yes (${worst.toExponential(0)})` : `NO (${worst.toExponential(1)})`;
}

function table(rows: Row[]): string {
  const lines = [
    '| case | dtype | ours fwd | numpy fwd | ours / numpy | ours bwd | numpy bwd | ours / numpy | ours fwd+bwd / numpy | same result |',
    '| --- | --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | --- |',
  ];
  for (const r of rows) {
    const np = r.np;
    lines.push(
      `| ${r.c.name} | ${r.dtype} | ${fmtT(r.fwd)} | ${fmtT(np?.fwd)} | ${ratio(r.fwd, np?.fwd)} | ${fmtT(r.bwd)} | ${fmtT(np?.bwd)} | ${ratio(r.bwd, np?.bwd)} | ` +
        `${np ? ratio(r.fwd + r.bwd, np.fwd + np.bwd) : 'n/a'} | ${checksumAgreement(r)} |`,
    );
  }
  return lines.join('\n');
}

function naiveTable(rows: Row[]): string {
  const lines = [
    '| case | dtype | naive fwd | fast fwd | fast / naive speedup | naive bwd | fast bwd | fast / naive speedup (target ≥ 20×) |',
    '| --- | --- | ---: | ---: | ---: | ---: | ---: | ---: |',
  ];
  for (const r of rows) {
    if (r.naiveBwd === undefined) continue;
    lines.push(`| ${r.c.name} | ${r.dtype} | ${fmtT(r.naiveFwd)} | ${fmtT(r.fwd)} | ${(r.naiveFwd! / r.fwd).toFixed(1)}× | ${fmtT(r.naiveBwd)} | ${fmtT(r.bwd)} | ${(r.naiveBwd / r.bwd).toFixed(1)}× |`);
  }
  return lines.join('\n');
}

/** Replaces (or appends) only this bench's section of RESULTS.md. */
function writeSection(body: string): void {
  writeResultsSection(SECTION, body, RESULTS);
}

function writeRaw(dir: string, name: string, t: Tensor): void {
  const d = Float64Array.from(t.data);
  fs.writeFileSync(path.join(dir, `${name}.bin`), new Uint8Array(d.buffer));
}

/** Inputs of every case (float64), written for the numpy side as well. */
function makeInputs(tmp: string): Array<{ x: Tensor; w?: Tensor; b?: Tensor; dout: Tensor }> {
  const rng = new RandomState(0);
  return CASES.map((c, ci) => {
    const x = rng.randn(c.N, c.C, c.H, c.W);
    writeRaw(tmp, `${ci}_x`, x);
    if (c.kind === 'conv') {
      const w = rng.randn(c.F, c.C, c.k, c.k);
      const b = rng.randn(c.F);
      const out = convForwardNaive(x, w, b, { stride: c.stride, pad: c.pad }).out;
      const dout = rng.randn(...out.shape);
      writeRaw(tmp, `${ci}_w`, w);
      writeRaw(tmp, `${ci}_b`, b);
      writeRaw(tmp, `${ci}_dout`, dout);
      return { x, w, b, dout };
    }
    const out = maxPoolForwardFast(x, { poolHeight: c.k, poolWidth: c.k, stride: c.stride }).out;
    const dout = rng.randn(...out.shape);
    writeRaw(tmp, `${ci}_dout`, dout);
    return { x, dout };
  });
}

/** One round of our side: every case and dtype (naive conv only when `naive`). */
function measureOurs(inputs: ReturnType<typeof makeInputs>, reps: number, naive: boolean): Row[] {
  const rows: Row[] = [];
  CASES.forEach((c, ci) => {
    for (const dtype of DTYPES) {
      const inp = inputs[ci];
      const x = astype(inp.x, dtype);
      const dout = astype(inp.dout, dtype);
      let row: Row;
      if (c.kind === 'conv') {
        const w = astype(inp.w!, dtype);
        const b = astype(inp.b!, dtype);
        const cp = { stride: c.stride, pad: c.pad };
        const f = convForwardFast(x, w, b, cp);
        const g = convBackwardFast(dout, f.cache);
        row = {
          c, dtype,
          fwd: bestOf(reps, () => convForwardFast(x, w, b, cp), WARM),
          bwd: bestOf(reps, () => convBackwardFast(dout, f.cache), WARM),
          sums: [sumSq(f.out), sumSq(g.dx), sumSq(g.dw), sumSq(g.db)],
        };
        if (naive && dtype === 'float64') {
          const n = convForwardNaive(x, w, b, cp);
          row.naiveFwd = bestOf(Math.min(reps, 3), () => convForwardNaive(x, w, b, cp), WARM);
          row.naiveBwd = bestOf(Math.min(reps, 3), () => convBackwardNaive(dout, n.cache), WARM);
        }
      } else {
        const pp = { poolHeight: c.k, poolWidth: c.k, stride: c.stride };
        const f = maxPoolForwardFast(x, pp);
        const dx = maxPoolBackwardFast(dout, f.cache).dx;
        row = {
          c, dtype,
          fwd: bestOf(reps, () => maxPoolForwardFast(x, pp), WARM),
          bwd: bestOf(reps, () => maxPoolBackwardFast(dout, f.cache), WARM),
          sums: [sumSq(f.out), sumSq(dx)],
        };
      }
      rows.push(row);
    }
  });
  return rows;
}

function main(): void {
  const argv = process.argv.slice(2);
  const repsArg = parseCount(argv, '--reps');
  const roundsArg = parseCount(argv, '--rounds');
  const reps = repsArg ?? 5;
  const rounds = roundsArg ?? 3;
  const load0 = os.loadavg()[0];
  const started = new Date();
  const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'bench-a2-'));
  try {
    const inputs = makeInputs(tmp);
    let rows: Row[] = [];
    let numpyVersion = 'n/a';
    const problems: string[] = [];
    for (let round = 0; round < rounds; round++) {
      const ours = measureOurs(inputs, reps, round === 0);
      if (round === 0) rows = ours;
      else {
        ours.forEach((r, i) => {
          rows[i].fwd = Math.min(rows[i].fwd, r.fwd);
          rows[i].bwd = Math.min(rows[i].bwd, r.bwd);
        });
      }
      const np = runNumpy(reps, tmp);
      if ('error' in np) {
        problems.push(`numpy (round ${round + 1}): ${np.error}`);
        continue;
      }
      numpyVersion = np.numpy;
      for (const r of np.rows) {
        const row = rows.find((x) => x.c === CASES[r.case] && x.dtype === r.dtype);
        if (!row) continue;
        if (!row.np) row.np = r;
        else row.np = { ...row.np, fwd: Math.min(row.np.fwd, r.fwd), bwd: Math.min(row.np.bwd, r.bwd) };
      }
      console.log(`round ${round + 1}/${rounds} done (load ${os.loadavg()[0].toFixed(2)})`);
    }
    const load1 = os.loadavg()[0];
    const cpu = cpuInfo();
    const flags = `${repsArg === null ? '' : ` --reps ${repsArg}`}${roundsArg === null ? '' : ` --rounds ${roundsArg}`}`;
    const body = [
      `Command: \`npx tsx bench/assignment2.ts${flags}\` (${started.toISOString()})`,
      '',
      `Machine: \`lscpu\` model ${cpu.model}, ${os.cpus().length} cores, SIMD flags: ${cpu.simd}; node ${process.version}; ours: the pure-TS path ` +
        `(fused per-sample im2col + the matmul's wasm tiles, float32 in float32, on ${threadCount()} thread(s)); ` +
        `numpy ${numpyVersion} (im2col via sliding_window_view + one GEMM, col2im as strided adds) under \`env -u OPENBLAS_CORETYPE -u OPENBLAS_L2_SIZE ${PYTHON}\` (unpinned).`,
      '',
      'Fast layers against numpy (same inputs; "same result" compares Σv² of every output, relative tolerance 1e-9 in float64, 1e-4 in float32):',
      '',
      table(rows),
      '',
      'Fast against naive (ours, float64):',
      '',
      naiveTable(rows),
      '',
      `Each cell is the best over ${rounds} alternating rounds (ours, then numpy) of the best of ${reps} runs after warm-up runs (naive conv: one round, best of ${Math.min(reps, 3)});` +
        ' backward is timed from a cached forward. ours / numpy < 1 means faster than numpy.' +
        ` Load average (1 min) was ${load0.toFixed(2)} at the start and ${load1.toFixed(2)} at the end:` +
        ' the machine is shared, so both columns may be slowed by other work.',
      ...(problems.length ? ['', ...problems.map((p) => `- ${p}`)] : []),
    ].join('\n');
    console.log(`\n${table(rows)}\n\n${naiveTable(rows)}`);
    writeSection(body);
    console.log(`\nload average ${load0.toFixed(2)} -> ${load1.toFixed(2)}; wrote ${path.relative(process.cwd(), RESULTS)} (${SECTION})`);
  } finally {
    fs.rmSync(tmp, { recursive: true, force: true });
  }
}

main();
