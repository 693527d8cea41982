/**
 * matmul next to numpy on the same machine, in the same run: square-ish sizes, then the thin
 * products that convolutions and classifiers run (short k, or a small side).
 *
 *   npx tsx bench/matmul.ts            # all sizes, both dtypes
 *   npx tsx bench/matmul.ts --reps 2   # fewer timed repetitions
 *   node --experimental-wasm-relaxed-simd --import tsx bench/matmul.ts   # float32 with FMA tiles (node 20)
 *
 * Prints a table and writes it, with the command, the machine's `lscpu` model and SIMD flags,
 * into the `## matmul` section of bench/RESULTS.md (`## matmul, relaxed-SIMD FMA` when the
 * float32 tiles use FMA, `## matmul, native tiles` when they are the optional native ones —
 * `CS231N_NATIVE=0` measures the others); other sections of that file are kept as they are. The float32 /
 * float64 table is this package's acceptance check: float32 at ≥ 1.8× float64's GFLOP/s.
 */
import os from 'node:os';
import path from 'node:path';
import { spawnSync } from 'node:child_process';
import ndarray from 'ndarray';
import { matmul } from '../src/core/matmul';
import { threadCount } from '../src/core/gemm/workers';
import { gemmFma } from '../src/core/gemm/gemm';
import { nativeTiles } from '../src/core/gemm/native';
import type { DType } from '../src/core/dtype';
import type { Tensor } from '../src/core/tensor';
import { cpuInfo, PYTHON } from './machine';
import { writeResultsSection } from './results';
import { bestCpuAlternating, bestOf, bestOfAlternating } from './timing';

/** Warm-up before timing: at least 2 runs and 0.5 s (V8 tiering, worker start-up). */
const WARM = { runs: 2, ms: 500 };

/** (M, K, N): C(M×N) = A(M×K) · B(K×N). */
const SIZES: Array<[number, number, number]> = [
  [512, 512, 512],
  [1024, 1024, 1024],
  [500, 3072, 5000],
];
const DTYPES: DType[] = ['float64', 'float32'];
/**
 * Thin products the layers and classifiers actually run (C = op(A) · op(B), op(A) M×K,
 * op(B) K×N): im2col convolutions (k = C·HH·WW = 27 or 147, N·H'·W' = 51200 or 25600), a
 * linear classifier's X · W and Xᵀ · dS on the full CIFAR-10 training set, kNN's X · Xtrᵀ.
 */
const THIN: Array<{ M: number; K: number; N: number; transA: boolean; transB: boolean; dtypes: DType[]; what: string }> = [
  { M: 32, K: 27, N: 51200, transA: false, transB: false, dtypes: ['float64', 'float32'], what: 'conv fwd W·cols (50×3×32×32, 32 3×3)' },
  { M: 32, K: 51200, N: 27, transA: false, transB: true, dtypes: ['float64', 'float32'], what: 'conv bwd dW = dout·colsᵀ' },
  { M: 27, K: 32, N: 51200, transA: true, transB: false, dtypes: ['float64', 'float32'], what: 'conv bwd dcols = Wᵀ·dout' },
  { M: 32, K: 147, N: 51200, transA: false, transB: false, dtypes: ['float64'], what: 'conv fwd, 7×7 filters (ThreeLayerConvNet)' },
  { M: 25, K: 27, N: 25600, transA: false, transB: false, dtypes: ['float64'], what: 'conv fwd (notebook 100×3×31×31, 25 3×3, stride 2)' },
  { M: 25, K: 25600, N: 27, transA: false, transB: true, dtypes: ['float64'], what: 'conv bwd dW (notebook)' },
  { M: 27, K: 25, N: 25600, transA: true, transB: false, dtypes: ['float64'], what: 'conv bwd dcols (notebook)' },
  { M: 49000, K: 3073, N: 10, transA: false, transB: false, dtypes: ['float64'], what: 'linear classifier scores X·W' },
  { M: 3073, K: 49000, N: 10, transA: true, transB: false, dtypes: ['float64'], what: 'linear classifier dW = Xᵀ·dS' },
  { M: 500, K: 3072, N: 5000, transA: false, transB: true, dtypes: ['float64'], what: 'kNN no-loop cross term X·Xtrᵀ' },
];
const RESULTS = path.join(__dirname, 'RESULTS.md');
const NATIVE = nativeTiles();
const SECTION = NATIVE !== null ? '## matmul, native tiles' : gemmFma() ? '## matmul, relaxed-SIMD FMA' : '## matmul';

interface Row {
  M: number;
  K: number;
  N: number;
  dtype: DType;
  ours: number;
  numpy: number | null;
  transA?: boolean;
  transB?: boolean;
  what?: string;
  /** Best CPU time of the product on one thread (square shapes). */
  cpu1?: number;
}

function parseReps(argv: string[]): number | null {
  const i = argv.indexOf('--reps');
  if (i < 0) return null;
  const v = Number(argv[i + 1]);
  if (!Number.isInteger(v) || v < 1) throw new RangeError(`--reps: expected a positive integer, got ${argv[i + 1]}`);
  return v;
}

/** Deterministic filler (an LCG): the bench needs no statistics, only non-trivial numbers. */
function filled(rows: number, cols: number, dtype: DType, seed: number): Tensor {
  const data = dtype === 'float64' ? new Float64Array(rows * cols) : new Float32Array(rows * cols);
  let s = seed >>> 0;
  for (let i = 0; i < data.length; i++) {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    data[i] = s / 2147483648 - 1;
  }
  return ndarray(data, [rows, cols]);
}

/*
 * The numpy side. OPENBLAS_CORETYPE / OPENBLAS_L2_SIZE may be set on the dev machines (for
 * old OpenBLAS builds); they slow a current numpy, so they are removed for this child only
 * (as `env -u OPENBLAS_CORETYPE -u OPENBLAS_L2_SIZE /usr/bin/python3` would).
 * The kernel actually running is reported via threadpoolctl, or OpenBLAS's own
 * get_corename through ctypes (on the BLAS libraries the process has mapped) when
 * threadpoolctl is not installed.
 */
const NUMPY_SCRIPT = String.raw`
import json, sys, time, glob, os, ctypes
import numpy as np
M, K, N, dtype, reps, transA, transB = json.loads(sys.argv[1])
info = {"numpy": np.__version__}
try:
    from threadpoolctl import threadpool_info
    info["blas"] = [{k: d.get(k) for k in ("internal_api", "version", "architecture", "num_threads")} for d in threadpool_info()]
except Exception:
    libs = glob.glob(os.path.join(os.path.dirname(np.__file__), "..", "numpy.libs", "*openblas*"))
    with open("/proc/self/maps") as maps:
        libs += sorted({l.split()[-1] for l in maps if "openblas" in l.lower() and "/" in l})
    for lib in libs:
        try:
            h = ctypes.CDLL(lib)
        except OSError:
            continue
        for pre in ("scipy_openblas_", "openblas_"):
            for suf in ("64_", ""):
                try:
                    core = getattr(h, pre + "get_corename" + suf)
                    core.restype = ctypes.c_char_p
                    nthr = getattr(h, pre + "get_num_threads" + suf)
                    info["blas"] = [{"internal_api": "openblas", "architecture": core().decode(), "num_threads": nthr(), "via": "ctypes"}]
                    break
                except AttributeError:
                    pass
            if "blas" in info:
                break
rng = np.random.default_rng(0)
# Stored as ours are; .T is a view, which BLAS takes as a transpose flag (no copy).
A = rng.standard_normal((K, M) if transA else (M, K)).astype(dtype)
B = rng.standard_normal((N, K) if transB else (K, N)).astype(dtype)
opA = A.T if transA else A
opB = B.T if transB else B
opA @ opB
best = float("inf")
for _ in range(reps):
    t0 = time.perf_counter()
    opA @ opB
    best = min(best, time.perf_counter() - t0)
info["best"] = best
print(json.dumps(info))
`;

interface NumpyResult {
  best: number;
  numpy: string;
  blas?: Array<Record<string, unknown>>;
}

function runNumpy(M: number, K: number, N: number, dtype: DType, reps: number, transA = false, transB = false): NumpyResult | { error: string } {
  const env = { ...process.env };
  delete env.OPENBLAS_CORETYPE;
  delete env.OPENBLAS_L2_SIZE;
  const r = spawnSync(PYTHON, ['-c', NUMPY_SCRIPT, JSON.stringify([M, K, N, dtype, reps, transA, transB])], { env, encoding: 'utf8', maxBuffer: 1 << 20 });
  if (r.error) return { error: r.error.message };
  if (r.status !== 0) return { error: (r.stderr || `exit ${r.status}`).trim().split('\n').pop() ?? 'failed' };
  try {
    return JSON.parse(r.stdout.trim().split('\n').pop() ?? '') as NumpyResult;
  } catch {
    return { error: `unreadable output: ${r.stdout.slice(0, 200)}` };
  }
}

const gflops = (M: number, K: number, N: number, t: number) => (2 * M * K * N) / t / 1e9;
const fmtT = (t: number) => (t < 1 ? `${(t * 1000).toFixed(1)} ms` : `${t.toFixed(3)} s`);

function table(rows: Row[]): string {
  const lines = [
    '| M×K×N | dtype | ours (best) | ours GFLOP/s | numpy (best) | numpy GFLOP/s | ours / numpy time |',
    '| --- | --- | ---: | ---: | ---: | ---: | ---: |',
  ];
  for (const r of rows) {
    const np = r.numpy;
    lines.push(
      `| ${r.M}×${r.K}×${r.N} | ${r.dtype} | ${fmtT(r.ours)} | ${gflops(r.M, r.K, r.N, r.ours).toFixed(2)} | ` +
        `${np === null ? 'n/a' : fmtT(np)} | ${np === null ? 'n/a' : gflops(r.M, r.K, r.N, np).toFixed(1)} | ` +
        `${np === null ? 'n/a' : `${(r.ours / np).toFixed(1)}×`} |`,
    );
  }
  return lines.join('\n');
}

/**
 * float32 against float64 on the same shapes, ours and numpy's: GFLOP/s of each and their
 * ratio (f32x4 lanes hold twice the f64x2 ones, so 2× is WebAssembly SIMD's ceiling).
 */
function ratioTable(rows: Row[]): string {
  const lines = [
    '| M×K×N | ours float64 GFLOP/s | ours float32 GFLOP/s | ours float32 / float64 | 1 thread, CPU time: float64 / float32 GFLOP/s | ratio | numpy float64 GFLOP/s | numpy float32 GFLOP/s | numpy float32 / float64 |',
    '| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |',
  ];
  const key = (r: Row) => `${r.M}×${r.K}×${r.N}`;
  for (const r64 of rows.filter((r) => r.dtype === 'float64')) {
    const r32 = rows.find((r) => r.dtype === 'float32' && key(r) === key(r64));
    if (r32 === undefined) continue;
    const g = (r: Row, t: number) => gflops(r.M, r.K, r.N, t);
    const np64 = r64.numpy === null ? null : g(r64, r64.numpy);
    const np32 = r32.numpy === null ? null : g(r32, r32.numpy);
    lines.push(
      `| ${key(r64)} | ${g(r64, r64.ours).toFixed(1)} | ${g(r32, r32.ours).toFixed(1)} | **${(r64.ours / r32.ours).toFixed(2)}×** | ` +
        (r64.cpu1 !== undefined && r32.cpu1 !== undefined
          ? `${g(r64, r64.cpu1).toFixed(1)} / ${g(r32, r32.cpu1).toFixed(1)} | **${(r64.cpu1 / r32.cpu1).toFixed(2)}×** | `
          : 'n/a | n/a | ') +
        `${np64 === null ? 'n/a' : np64.toFixed(1)} | ${np32 === null ? 'n/a' : np32.toFixed(1)} | ` +
        `${np64 === null || np32 === null ? 'n/a' : `${(np32 / np64).toFixed(2)}×`} |`,
    );
  }
  return lines.join('\n');
}

const opName = (r: Row) => `${r.transA ? 'Aᵀ' : 'A'}·${r.transB ? 'Bᵀ' : 'B'}`;

function thinTable(rows: Row[]): string {
  const lines = [
    '| used for | M×K×N | op | dtype | ours (best) | ours GFLOP/s | numpy (best) | numpy GFLOP/s | ours / numpy time |',
    '| --- | --- | --- | --- | ---: | ---: | ---: | ---: | ---: |',
  ];
  for (const r of rows) {
    const np = r.numpy;
    lines.push(
      `| ${r.what ?? ''} | ${r.M}×${r.K}×${r.N} | ${opName(r)} | ${r.dtype} | ${fmtT(r.ours)} | ${gflops(r.M, r.K, r.N, r.ours).toFixed(2)} | ` +
        `${np === null ? 'n/a' : fmtT(np)} | ${np === null ? 'n/a' : gflops(r.M, r.K, r.N, np).toFixed(1)} | ` +
        `${np === null ? 'n/a' : `${(r.ours / np).toFixed(1)}×`} |`,
    );
  }
  return lines.join('\n');
}

/** Replaces (or appends) only this bench's section of RESULTS.md. */
function writeSection(body: string): void {
  writeResultsSection(SECTION, body, RESULTS);
}

function main(): void {
  const repsArg = parseReps(process.argv.slice(2));
  const load0 = os.loadavg()[0];
  const started = new Date();
  const rows: Row[] = [];
  const blasSeen = new Set<string>();
  let numpyVersion = '';
  const problems: string[] = [];
  for (const [M, K, N] of SIZES) {
    const big = M * K * N > 2e9;
    const reps = repsArg ?? (big ? 4 : 10);
    const ops = DTYPES.map((dtype) => ({ dtype, A: filled(M, K, dtype, 1), B: filled(K, N, dtype, 2) }));
    // Both dtypes alternate run by run (their ratio is the point); each allocates its result
    // per call, as `A @ B` does on the numpy side.
    const ours = bestOfAlternating(reps, ops.map((o) => () => matmul(o.A, o.B)), WARM);
    // The same on one thread in CPU time: the float32 / float64 ratio a busy machine barely moves.
    const saved = process.env.CS231N_THREADS;
    process.env.CS231N_THREADS = '1';
    const cpu1 = bestCpuAlternating(Math.max(2, Math.ceil(reps / 2)), ops.map((o) => () => matmul(o.A, o.B)), WARM);
    if (saved === undefined) delete process.env.CS231N_THREADS;
    else process.env.CS231N_THREADS = saved;
    ops.forEach(({ dtype }, i) => {
      const np = runNumpy(M, K, N, dtype, reps);
      let numpy: number | null = null;
      if ('error' in np) {
        problems.push(`numpy ${M}×${K}×${N} ${dtype}: ${np.error}`);
      } else {
        numpy = np.best;
        numpyVersion = np.numpy;
        for (const b of np.blas ?? []) blasSeen.add(JSON.stringify(b));
      }
      const row: Row = { M, K, N, dtype, ours: ours[i], numpy, cpu1: cpu1[i] };
      rows.push(row);
      console.log(table([row]).split('\n')[2]);
    });
  }
  const thinRows: Row[] = [];
  for (const t of THIN) {
    for (const dtype of t.dtypes) {
      const big = t.M * t.K * t.N > 2e9;
      const reps = repsArg ?? (big ? 3 : 5);
      const A = t.transA ? filled(t.K, t.M, dtype, 1) : filled(t.M, t.K, dtype, 1);
      const B = t.transB ? filled(t.N, t.K, dtype, 2) : filled(t.K, t.N, dtype, 2);
      const opts = { transA: t.transA, transB: t.transB };
      const ours = bestOf(reps, () => matmul(A, B, opts), WARM);
      const np = runNumpy(t.M, t.K, t.N, dtype, reps, t.transA, t.transB);
      let numpy: number | null = null;
      if ('error' in np) problems.push(`numpy ${t.M}×${t.K}×${t.N} ${dtype}: ${np.error}`);
      else numpy = np.best;
      const row: Row = { M: t.M, K: t.K, N: t.N, dtype, ours, numpy, transA: t.transA, transB: t.transB, what: t.what };
      thinRows.push(row);
      console.log(thinTable([row]).split('\n')[2]);
    }
  }
  const load1 = os.loadavg()[0];
  const cpu = cpuInfo();
  const fma = gemmFma();
  const cmd = `${fma && NATIVE === null ? 'node --experimental-wasm-relaxed-simd --import tsx' : 'npx tsx'} bench/matmul.ts${repsArg === null ? '' : ` --reps ${repsArg}`}`;
  const tiles = NATIVE !== null ? `the native ${NATIVE.features} tiles (native/sgemm.c, FMA)` : fma ? 'with relaxed-SIMD FMA' : 'mul + add (no relaxed SIMD)';
  const body = [
    `Command: \`${cmd}\` (${started.toISOString()})`,
    '',
    `Machine: \`lscpu\` model ${cpu.model}, ${os.cpus().length} cores, SIMD flags: ${cpu.simd}; node ${process.version};` +
      ` ours on ${threadCount()} thread(s) (main + ${threadCount() - 1} worker), float32 tiles ${tiles};` +
      ` numpy ${numpyVersion || 'n/a'} under \`env -u OPENBLAS_CORETYPE -u OPENBLAS_L2_SIZE ${PYTHON}\` (unpinned).`,
    `numpy BLAS: ${blasSeen.size ? [...blasSeen].join('; ') : 'unknown'}.`,
    '',
    table(rows),
    '',
    '### float32 against float64',
    '',
    NATIVE !== null
      ? 'Same shapes; float64 runs the WebAssembly f64x2 tiles, float32 the native tiles at the CPU\'s own vector width (as numpy\'s BLAS:'
      : 'Same shapes; WebAssembly SIMD is 128 bits wide whatever the CPU, so float32 can reach at most twice float64 here,',
    NATIVE !== null
      ? 'AVX2 / AVX-512 in the flags above), so float32 can reach far more than twice float64 here. The 1-thread columns time'
      : 'while numpy\'s BLAS uses the CPU\'s own vector width (AVX2 / AVX-512 in the flags above). The 1-thread columns time',
    'the same products on the main thread alone in CPU time, which other processes on a busy machine barely move.',
    '',
    ratioTable(rows),
    '',
    '### Thin shapes',
    '',
    'The products the layers and classifiers run, where one of M, N, K is small: short k or a small side means',
    'copying operands and C dominates rather than arithmetic (see `gemmPlan` for how each is scheduled).',
    '',
    thinTable(thinRows),
    '',
    `Time is the best of several runs after warm-up runs (square shapes: float64 and float32 alternating run by run, 4 timed runs each over 2e9` +
      ` multiply-adds, else 10; thin shapes: 3 over 2e9, else 5); GFLOP/s = 2·M·K·N / time.` +
      ` ours / numpy < 1 would mean faster than numpy.` +
      ` Load average (1 min) was ${load0.toFixed(2)} at the start and ${load1.toFixed(2)} at the end:` +
      ` the machine is shared, so both columns may be slowed by other work.`,
    ...(problems.length ? ['', ...problems.map((p) => `- ${p}`)] : []),
  ].join('\n');
  writeSection(body);
  console.log(`\nnumpy BLAS: ${[...blasSeen].join('; ') || 'unknown'}`);
  console.log(`load average ${load0.toFixed(2)} -> ${load1.toFixed(2)}; wrote ${path.relative(process.cwd(), RESULTS)} (${SECTION})`);
}

main();
