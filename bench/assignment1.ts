/**
 * Assignment 1 hot paths next to numpy on the same machine, in the same run:
 *
 *   - SVM and softmax loss + gradient, naive (loops) and vectorized, at the notebook's dev
 *     size (500 × 3073, C = 10) and at the full training size (49000 × 3073, C = 10);
 *   - the three kNN distance routines at 500 test × 5000 train × 3072.
 *
 *   npx tsx bench/assignment1.ts
 *
 * Both sides draw the same data from a MT19937 `RandomState(0)` (ours is numpy-compatible),
 * so they also print the same losses; the bench checks that they agree. numpy runs the
 * textbook formulas (loops over examples/classes for "naive", whole-array expressions for
 * "vectorized"; for kNN two loops, one loop over test points, and ‖a‖²+‖b‖²−2abᵀ).
 * Writes the table, with this command, into the `## assignment 1` section of
 * bench/RESULTS.md (other sections are kept).
 */
import os from 'node:os';
import path from 'node:path';
import ndarray from 'ndarray';
import { KNearestNeighbor, softmaxLossNaive, softmaxLossVectorized, svmLossNaive, svmLossVectorized, type LossResult } from '../src/classifiers';
import { threadCount } from '../src/core/gemm/workers';
import { RandomState } from '../src/core/random';
import type { IntTensor, Tensor, Tensor64 } from '../src/core/tensor';
import { writeResultsSection } from './results';
import { bestOf } from './timing';
import { runNumpyJson } from './numpy';

const RESULTS = path.join(__dirname, 'RESULTS.md');
const SECTION = '## assignment 1';
const D = 3073;
const C = 10;
const REG = 5e-6;
const KNN_NAMES = { two: 'two loops', one: 'one loop', none: 'no loops' } as const;
const KNN = { numTest: 500, numTrain: 5000, dim: 3072 };

/**
 * The linear-loss data, drawn exactly as the numpy side draws it: X ~ U(-128, 128) like
 * mean-subtracted pixels (last column 1, the bias), W = 1e-4·N(0, 1), y ~ U{0..C-1}.
 */
function linearData(N: number): { X: Tensor64; W: Tensor64; y: IntTensor } {
  const rng = new RandomState(0);
  const X = rng.uniform(-128, 128, [N, D]);
  for (let i = 0; i < N; i++) X.data[i * D + D - 1] = 1;
  const W = rng.randn(D, C);
  for (let t = 0; t < W.data.length; t++) W.data[t] *= 1e-4;
  const y = rng.randint(0, C, N) as IntTensor;
  return { X, W, y };
}

/** kNN data: train (5000, 3072) then test (500, 3072), U(0, 255) like raw pixels. */
function knnData(): { Xtr: Tensor64; Xte: Tensor64; ytr: IntTensor } {
  const rng = new RandomState(1);
  const Xtr = rng.uniform(0, 255, [KNN.numTrain, KNN.dim]);
  const Xte = rng.uniform(0, 255, [KNN.numTest, KNN.dim]);
  const ytr = ndarray(Int32Array.from({ length: KNN.numTrain }, (_, i) => i % C), [KNN.numTrain]);
  return { Xtr, Xte, ytr };
}

/*
 * The numpy side: the same data, the same formulas, the same repetitions. OPENBLAS_CORETYPE
 * and OPENBLAS_L2_SIZE are removed from its environment (they slow a current numpy).
 */
const NUMPY_SCRIPT = String.raw`
import json, sys, time
import numpy as np
cfg = json.loads(sys.argv[1])
D, C, REG = cfg["D"], cfg["C"], cfg["reg"]

def best_of(reps, warm, f):
    out = None
    for _ in range(warm):
        out = f()
    best = float("inf")
    for _ in range(reps):
        t0 = time.perf_counter()
        out = f()
        best = min(best, time.perf_counter() - t0)
    return best, out

def linear_data(N):
    rng = np.random.RandomState(0)
    X = rng.uniform(-128, 128, (N, D))
    X[:, -1] = 1
    W = rng.randn(D, C) * 1e-4
    y = rng.randint(0, C, N)
    return X, W, y

def svm_naive(W, X, y, reg):
    N = X.shape[0]
    dW = np.zeros_like(W)
    loss = 0.0
    for i in range(N):
        s = X[i].dot(W)
        yi = y[i]
        for j in range(C):
            if j == yi:
                continue
            m = s[j] - s[yi] + 1
            if m > 0:
                loss += m
                dW[:, j] += X[i]
                dW[:, yi] -= X[i]
    return loss / N + reg * np.sum(W * W), dW / N + 2 * reg * W

def svm_vec(W, X, y, reg):
    N = X.shape[0]
    rows = np.arange(N)
    S = X.dot(W)
    M = S - S[rows, y][:, None] + 1
    M[rows, y] = 0
    active = M > 0
    loss = M[active].sum() / N + reg * np.sum(W * W)
    G = active.astype(X.dtype)
    G[rows, y] = -G.sum(axis=1)
    return loss, X.T.dot(G) / N + 2 * reg * W

def softmax_naive(W, X, y, reg):
    N = X.shape[0]
    dW = np.zeros_like(W)
    loss = 0.0
    for i in range(N):
        s = X[i].dot(W)
        s = s - s.max()
        e = np.exp(s)
        p = e / e.sum()
        loss -= np.log(p[y[i]])
        for j in range(C):
            dW[:, j] += (p[j] - (j == y[i])) * X[i]
    return loss / N + reg * np.sum(W * W), dW / N + 2 * reg * W

def softmax_vec(W, X, y, reg):
    N = X.shape[0]
    rows = np.arange(N)
    S = X.dot(W)
    S -= S.max(axis=1, keepdims=True)
    E = np.exp(S)
    P = E / E.sum(axis=1, keepdims=True)
    loss = -np.log(P[rows, y]).sum() / N + reg * np.sum(W * W)
    P[rows, y] -= 1
    return loss, X.T.dot(P) / N + 2 * reg * W

FNS = {"svm_naive": svm_naive, "svm_vec": svm_vec, "softmax_naive": softmax_naive, "softmax_vec": softmax_vec}
res = {"numpy": np.__version__, "linear": [], "knn": {}}
for job in cfg["linear"]:
    X, W, y = linear_data(job["N"])
    for name, reps, warm in job["fns"]:
        t, (loss, dW) = best_of(reps, warm, lambda: FNS[name](W, X, y, REG))
        res["linear"].append({"N": job["N"], "fn": name, "t": t, "loss": float(loss), "dwNorm": float(np.sqrt((dW * dW).sum()))})
    del X

k = cfg["knn"]
rng = np.random.RandomState(1)
Xtr = rng.uniform(0, 255, (k["numTrain"], k["dim"]))
Xte = rng.uniform(0, 255, (k["numTest"], k["dim"]))

def two_loops():
    d = np.zeros((Xte.shape[0], Xtr.shape[0]))
    for i in range(Xte.shape[0]):
        for j in range(Xtr.shape[0]):
            d[i, j] = np.sqrt(np.sum((Xte[i] - Xtr[j]) ** 2))
    return d

def one_loop():
    d = np.zeros((Xte.shape[0], Xtr.shape[0]))
    for i in range(Xte.shape[0]):
        d[i, :] = np.sqrt(np.sum((Xtr - Xte[i]) ** 2, axis=1))
    return d

def no_loops():
    sq = (Xte ** 2).sum(axis=1)[:, None] + (Xtr ** 2).sum(axis=1)[None, :] - 2 * Xte.dot(Xtr.T)
    return np.sqrt(np.maximum(sq, 0))

for name, f, reps, warm in (("two", two_loops, 1, 0), ("one", one_loop, 1, 0), ("none", no_loops, 3, 1)):
    t, d = best_of(reps, warm, f)
    res["knn"][name] = {"t": t, "sum": float(d.sum())}
print(json.dumps(res))
`;

interface NumpyResult {
  numpy: string;
  linear: Array<{ N: number; fn: string; t: number; loss: number; dwNorm: number }>;
  knn: Record<'two' | 'one' | 'none', { t: number; sum: number }>;
}

type LossFn = (W: Tensor, X: Tensor, y: IntTensor, reg: number) => LossResult;
const FNS: Record<string, { label: string; f: LossFn }> = {
  svm_naive: { label: 'SVM naive', f: svmLossNaive },
  svm_vec: { label: 'SVM vectorized', f: svmLossVectorized },
  softmax_naive: { label: 'softmax naive', f: softmaxLossNaive },
  softmax_vec: { label: 'softmax vectorized', f: softmaxLossVectorized },
};

/** [fn, reps, warm-up runs] per size: the loops at 49000 take seconds, so one timed run (the dev size warmed the JIT). */
const LINEAR_JOBS: Array<{ N: number; fns: Array<[string, number, number]> }> = [
  { N: 500, fns: [['svm_naive', 3, 1], ['svm_vec', 10, 3], ['softmax_naive', 3, 1], ['softmax_vec', 10, 3]] },
  { N: 49000, fns: [['svm_naive', 1, 0], ['svm_vec', 3, 1], ['softmax_naive', 1, 0], ['softmax_vec', 3, 1]] },
];

function runNumpy(): NumpyResult | { error: string } {
  const cfg = { D, C, reg: REG, linear: LINEAR_JOBS, knn: KNN };
  return runNumpyJson<NumpyResult>(NUMPY_SCRIPT, cfg);
}

const fmtT = (t: number | null) => (t === null ? 'n/a' : t < 1 ? `${(t * 1000).toFixed(1)} ms` : `${t.toFixed(2)} s`);
const ratio = (a: number, b: number | null) => (b === null ? 'n/a' : `${(a / b).toFixed(1)}×`);
function frob(a: Tensor): number {
  let s = 0;
  for (let i = 0; i < a.data.length; i++) s += a.data[i] * a.data[i];
  return Math.sqrt(s);
}
function sumOf(a: Tensor): number {
  let s = 0;
  for (let i = 0; i < a.data.length; i++) s += a.data[i];
  return s;
}

/** Replaces (or appends) only this bench's section of RESULTS.md. */
function writeSection(body: string): void {
  writeResultsSection(SECTION, body, RESULTS);
}

function main(): void {
  const load0 = os.loadavg()[0];
  const started = new Date();
  const log = (s: string) => console.log(s);

  // ---- ours: linear losses
  const ours: Array<{ N: number; fn: string; t: number; loss: number; dwNorm: number }> = [];
  for (const job of LINEAR_JOBS) {
    const { X, W, y } = linearData(job.N);
    for (const [fn, reps, warm] of job.fns) {
      let out: LossResult | null = null;
      const t = bestOf(reps, () => {
        out = FNS[fn].f(W, X, y, REG);
      }, { runs: warm });
      const r = out as unknown as LossResult;
      ours.push({ N: job.N, fn, t, loss: r.loss, dwNorm: frob(r.dW) });
      log(`ours ${FNS[fn].label} N=${job.N}: ${fmtT(t)} (loss ${r.loss.toFixed(6)})`);
    }
  }

  // ---- ours: kNN distances
  const { Xtr, Xte, ytr } = knnData();
  const knn = new KNearestNeighbor();
  knn.train(Xtr, ytr);
  const small = ndarray(Xte.data.subarray(0, 8 * KNN.dim), [8, KNN.dim]);
  const knnOurs: Record<'two' | 'one' | 'none', { t: number; sum: number }> = {} as never;
  for (const [name, f, reps] of [
    ['two', (x: Tensor) => knn.computeDistancesTwoLoops(x), 1],
    ['one', (x: Tensor) => knn.computeDistancesOneLoop(x), 1],
    ['none', (x: Tensor) => knn.computeDistancesNoLoops(x), 3],
  ] as const) {
    f(small); // JIT warm-up on 8 test rows
    let d: Tensor | null = null;
    const t = bestOf(reps, () => {
      d = f(Xte);
    }, { runs: name === 'none' ? 1 : 0 });
    knnOurs[name] = { t, sum: sumOf(d as unknown as Tensor) };
    log(`ours kNN ${KNN_NAMES[name]}: ${fmtT(t)}`);
  }

  // ---- numpy
  log('running numpy (same data, same formulas)…');
  const np = runNumpy();
  const problems: string[] = [];
  if ('error' in np) problems.push(`numpy: ${np.error}`);
  const npOk = 'error' in np ? null : np;
  const load1 = os.loadavg()[0];

  // ---- tables
  const linRows = ['| loss + gradient | N × D | ours | numpy | ours / numpy | \\|loss ours − numpy\\| |', '| --- | --- | ---: | ---: | ---: | ---: |'];
  for (const o of ours) {
    const n = npOk?.linear.find((r) => r.N === o.N && r.fn === o.fn) ?? null;
    if (n && (Math.abs(n.loss - o.loss) > 1e-9 * Math.max(1, Math.abs(n.loss)) || Math.abs(n.dwNorm - o.dwNorm) > 1e-9 * Math.max(1, n.dwNorm))) {
      problems.push(`${FNS[o.fn].label} N=${o.N}: results differ from numpy (loss ${o.loss} vs ${n.loss}, ‖dW‖ ${o.dwNorm} vs ${n.dwNorm})`);
    }
    linRows.push(`| ${FNS[o.fn].label} | ${o.N} × ${D} | ${fmtT(o.t)} | ${fmtT(n?.t ?? null)} | ${ratio(o.t, n?.t ?? null)} | ${n ? Math.abs(n.loss - o.loss).toExponential(1) : 'n/a'} |`);
  }
  const knnRows = ['| kNN distances | test × train × D | ours | numpy | ours / numpy |', '| --- | --- | ---: | ---: | ---: |'];
  for (const k of ['two', 'one', 'none'] as const) {
    const n = npOk?.knn[k] ?? null;
    if (n && Math.abs(n.sum - knnOurs[k].sum) > 1e-9 * Math.abs(n.sum)) problems.push(`kNN ${KNN_NAMES[k]}: distance sum ${knnOurs[k].sum} vs numpy ${n.sum}`);
    knnRows.push(`| ${KNN_NAMES[k]} | ${KNN.numTest} × ${KNN.numTrain} × ${KNN.dim} | ${fmtT(knnOurs[k].t)} | ${fmtT(n?.t ?? null)} | ${ratio(knnOurs[k].t, n?.t ?? null)} |`);
  }

  // ---- targets (pure-TS path)
  const at = (fn: string, N: number) => ({ o: ours.find((r) => r.fn === fn && r.N === N)!.t, n: npOk?.linear.find((r) => r.fn === fn && r.N === N)?.t ?? null });
  const targets: string[] = [];
  for (const fn of ['svm_vec', 'softmax_vec']) {
    const { o, n } = at(fn, 49000);
    targets.push(`- ${FNS[fn].label} at N = 49000 within 6× numpy: ${n === null ? 'n/a' : `${(o / n).toFixed(1)}× → ${o / n <= 6 ? 'met' : 'NOT met'}`}`);
  }
  const nl = npOk ? knnOurs.none.t / npOk.knn.none.t : null;
  targets.push(`- kNN no loops within 12× numpy: ${nl === null ? 'n/a' : `${nl.toFixed(1)}× → ${nl <= 12 ? 'met' : 'NOT met'}`}`);
  const sp = knnOurs.two.t / knnOurs.none.t;
  targets.push(`- kNN no loops at least 10× faster than two loops (ours): ${sp.toFixed(1)}× → ${sp >= 10 ? 'met' : 'NOT met'}`);

  const cpu = os.cpus()[0]?.model ?? 'unknown CPU';
  const body = [
    `Command: \`npx tsx bench/assignment1.ts\` (${started.toISOString()})`,
    '',
    `Machine: ${cpu}, ${os.cpus().length} cores, node ${process.version}; ours: pure-TS path, core matmul on ${threadCount()} thread(s); ` +
      `numpy ${npOk?.numpy ?? 'n/a'} in a python3 child with OPENBLAS_CORETYPE / OPENBLAS_L2_SIZE unset. ` +
      `Both sides use the same data (MT19937 RandomState, X ~ U(−128, 128) with a bias column, W = 1e−4·N(0, 1), reg ${REG}; kNN X ~ U(0, 255)) ` +
      `and the results are compared (losses, ‖dW‖, distance sums).`,
    '',
    linRows.join('\n'),
    '',
    knnRows.join('\n'),
    '',
    'Targets (pure-TS path):',
    ...targets,
    '',
    `Times are the best of several runs after warm-up (vectorized: 10 at N = 500, 3 at 49000; naive: 3 at 500, 1 at 49000; ` +
      `kNN: 1 run of the loop versions after an 8-row warm-up, best of 3 for no loops). ` +
      `Load average (1 min) was ${load0.toFixed(2)} at the start and ${load1.toFixed(2)} at the end: the 2 cores are shared, so both columns may be slowed by other work.`,
    ...(problems.length ? ['', ...problems.map((p) => `- ${p}`)] : ['', 'All results agree with numpy (losses and ‖dW‖ to 1e−9 relative, distance sums to 1e−9 relative).']),
  ].join('\n');
  writeSection(body);
  log(`\n${linRows.join('\n')}\n\n${knnRows.join('\n')}\n\n${targets.join('\n')}`);
  if (problems.length) log(`\nproblems:\n${problems.join('\n')}`);
  log(`load average ${load0.toFixed(2)} -> ${load1.toFixed(2)}; wrote ${path.relative(process.cwd(), RESULTS)} (${SECTION})`);
}

main();
