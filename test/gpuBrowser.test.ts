/*
 * The GPU code path for real: the same kernels and the same tiling plans (src/gpu, transpiled
 * as they are) run in headless Chromium on gpu.js's WebGL2 backend (software GL there:
 * SwiftShader), from a page served on 127.0.0.1, and agree with Float64 references computed
 * here. Chromium is required: without it this test fails (CI installs it).
 */
import type { Page } from 'playwright-core';
import { labels, refDistances, refLoss, refMatmul, refTranspose, refVote, relError, scaledMaxError, TOL, uniform } from './gpuReference';
import { openGpuPage, type GpuPage } from './gpuBrowserHarness';

/** Runs one op on gpu.js WebGL2 with the package's own plans; returns plain arrays. */
const PAGE_SCRIPT = `
window.__run = function (req) {
  const { KernelRunner } = __require('runner');
  const { denseView, transposed } = __require('matView');
  const { defaultLimits } = __require('tiling');
  const { gemmSteps } = __require('gemmSteps');
  const { distanceSteps } = __require('distanceSteps');
  const { linearLossSteps } = __require('linearLossSteps');
  const { knnVoteSteps } = __require('voteSteps');
  const gpujs = { GPU: window.GPU, input: window.GPU.input };
  const gpu = new window.GPU({ mode: 'webgl2' });
  const runner = new KernelRunner(gpujs, gpu, 'webgl2');
  const lim = Object.assign(defaultLimits(true), req.limits || {});
  const arr = (a, f32) => (f32 ? Float32Array.from(a) : Float64Array.from(a));
  const a = req.args;
  let out;
  try {
    if (req.op === 'matmul') {
      let A = denseView(arr(a.A, a.f32), a.Arows, a.Acols);
      if (a.transA) A = transposed(A);
      let B = denseView(arr(a.B, a.f32), a.Brows, a.Bcols);
      if (a.transB) B = transposed(B);
      out = Array.from(runner.runSync(gemmSteps(A, B, lim)));
    } else if (req.op === 'distances') {
      out = Array.from(runner.runSync(distanceSteps(denseView(arr(a.X), a.M, a.D), denseView(arr(a.T), a.N, a.D), lim, { squared: a.squared })));
    } else if (req.op === 'svm' || req.op === 'softmax') {
      const r = runner.runSync(linearLossSteps(req.op, denseView(arr(a.W), a.D, a.C), denseView(arr(a.X, a.f32), a.N, a.D), Int32Array.from(a.y), a.reg, lim));
      out = { loss: r.loss, dW: Array.from(r.dW) };
    } else if (req.op === 'vote') {
      out = Array.from(runner.runSync(knnVoteSteps(denseView(arr(a.d), a.M, a.N), Int32Array.from(a.y), a.k, a.classes, lim)));
    } else throw new Error('unknown op ' + req.op);
    return { out, kernel: gpu.Kernel && gpu.Kernel.name };
  } finally {
    runner.dispose();
  }
};
`;

let gp: GpuPage | undefined;
let page: Page;

beforeAll(async () => {
  gp = await openGpuPage(PAGE_SCRIPT);
  page = gp.page;
}, 60000);

afterAll(async () => {
  await gp?.close();
});

interface RunResult<T> {
  out: T;
  kernel: string;
}

async function run<T>(op: string, args: Record<string, unknown>, limits?: Record<string, number>): Promise<T> {
  const r = (await page.evaluate((req) => (globalThis as unknown as { __run(q: unknown): unknown }).__run(req), { op, args, limits })) as RunResult<T>;
  // The runner already throws on a fallback; this also pins the backend gpu.js chose.
  expect(r.kernel).toBe('WebGL2Kernel');
  return r.out;
}

/** Forces splits of rows, columns and reductions with only a few dozen launches. */
const SMALL = { maxElements: 8000, maxOutputDim: 4 };
/** For the losses: row chunks of 2 examples and a split gradient, at the GL output side. */
const SMALL_ROWS = { maxElements: 8000, maxOutputDim: 4096 };

test.each([
  ['plain', undefined],
  ['tiled', SMALL],
] as const)('matmul with and without transposes, k = 1100 (%s)', async (_name, limits) => {
  const [m, k, n] = [5, 1100, 6];
  const a = uniform(1, m * k);
  const b = uniform(2, k * n);
  const ref = refMatmul(a, b, m, k, n);
  for (const [transA, transB] of [[false, false], [true, false], [false, true], [true, true]]) {
    const A = transA ? refTranspose(a, m, k) : a;
    const B = transB ? refTranspose(b, k, n) : b;
    const out = await run<number[]>('matmul', {
      A: Array.from(A), Arows: transA ? k : m, Acols: transA ? m : k, transA,
      B: Array.from(B), Brows: transB ? n : k, Bcols: transB ? k : n, transB,
      f32: transB,
    }, limits);
    expect(scaledMaxError(out, ref)).toBeLessThan(TOL.grad);
  }
});

test.each([
  ['plain', undefined],
  ['tiled', SMALL],
] as const)('kNN distances, D = 3073 (%s)', async (_name, limits) => {
  const [M, N, D] = [4, 7, 3073];
  const X = uniform(3, M * D, 0, 255);
  const T = uniform(4, N * D, 0, 255);
  for (const squared of [false, true]) {
    const out = await run<number[]>('distances', { X: Array.from(X), T: Array.from(T), M, N, D, squared }, limits);
    expect(scaledMaxError(out, refDistances(X, T, M, N, D, squared))).toBeLessThan(TOL.grad);
  }
});

test.each([
  ['svm', undefined],
  ['svm', SMALL_ROWS],
  ['softmax', SMALL_ROWS],
] as const)('%s loss and gradient, D = 3073, C = 10 (limits %j)', async (kind, limits) => {
  const [N, D, C] = [9, 3073, 10];
  const W = uniform(5, D * C, -0.01, 0.01);
  const X = Float32Array.from(uniform(6, N * D));
  const y = labels(7, N, C);
  const out = await run<{ loss: number; dW: number[] }>(kind, { W: Array.from(W), X: Array.from(X), f32: true, y: Array.from(y), N, D, C, reg: 0.1 }, limits);
  const ref = refLoss(kind, W, X, y, 0.1, N, D, C);
  expect(relError(out.loss, ref.loss)).toBeLessThan(TOL.loss);
  expect(scaledMaxError(out.dW, ref.dW)).toBeLessThan(TOL.grad);
});

test('kNN vote with ties, 1300 training points, k = 1, 5, 12', async () => {
  const [M, N, classes] = [6, 1300, 4];
  const d = uniform(8, M * N, 0, 40).map(Math.floor);
  const y = labels(9, N, classes);
  for (const k of [1, 5, 12]) {
    const out = await run<number[]>('vote', { d: Array.from(d), M, N, y: Array.from(y), k, classes }, { maxElements: 2 ** 24, maxOutputDim: 4 });
    expect(out).toEqual(Array.from(refVote(d, M, N, y, k, classes)));
  }
});
