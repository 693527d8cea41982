/*
 * Issue 12, acceptance 1: three steps of SGD (nesterov, weight decay, no decay on BN and biases)
 * with CosineAnnealingLR, and of AdamW with StepLR, on torchvision's ResNet-18 in float64 leave
 * every parameter and batch-norm statistic equal to PyTorch's (1e-9). Fixture:
 * test/fixtures/training/make_resnet_steps.py; weights and inputs from test/zooWeights.ts.
 */
import { readFileSync } from 'fs';
import { join } from 'path';
import ndarray from 'ndarray';
import { copy, type Tensor } from '../src/core/tensor';
import { createModel } from '../src/models';
import type { Module } from '../src/nn/module';
import { AdamW, CosineAnnealingLR, crossEntropyLoss, SGD, StepLR, type Optimizer, type BaseOptimizerOptions, type Scheduler } from '../src/training';
import { zooInput, zooStateDict } from './zooWeights';

interface Summary {
  n: number;
  sum: number;
  sumsq: number;
  wsum: number;
  at: [number, number, number];
}
interface Case {
  losses: number[];
  lrs: number[];
  params: Record<string, Summary>;
  buffers: Record<string, Summary>;
}
const fx = JSON.parse(readFileSync(join(__dirname, 'fixtures', 'training', 'resnet18_steps.json'), 'utf8')) as {
  input: number[];
  labels: number[][];
  numClasses: number;
  cases: Record<string, Case>;
};

function summarize(t: Tensor | ndarray.NdArray<Int32Array>): Summary {
  const d = t.data instanceof Int32Array ? Float64Array.from(t.data) : copy(t as Tensor, 'float64').data;
  let sum = 0;
  let sumsq = 0;
  let wsum = 0;
  for (let i = 0; i < d.length; i++) {
    sum += d[i];
    sumsq += d[i] * d[i];
    wsum += d[i] * ((i % 7) - 3);
  }
  return { n: d.length, sum, sumsq, wsum, at: [d[0], d[d.length >> 1], d[d.length - 1]] };
}

/** Every field of `got` within `tol` of `want`, relative to the tensor's norm (at least 1). */
function mismatches(what: string, got: Summary, want: Summary, tol: number): string[] {
  const scale = Math.max(1, Math.sqrt(want.sumsq));
  const bad: string[] = [];
  if (got.n !== want.n) bad.push(`${what}: n ${got.n} ≠ ${want.n}`);
  const near = (a: number, b: number, s: number) => Math.abs(a - b) <= tol * s;
  if (!near(got.sum, want.sum, Math.max(scale, Math.abs(want.sum)))) bad.push(`${what}: sum ${got.sum} ≠ ${want.sum}`);
  if (!near(got.sumsq, want.sumsq, Math.max(1, want.sumsq))) bad.push(`${what}: sumsq ${got.sumsq} ≠ ${want.sumsq}`);
  if (!near(got.wsum, want.wsum, 3 * Math.max(scale, Math.abs(want.wsum)))) bad.push(`${what}: wsum ${got.wsum} ≠ ${want.wsum}`);
  got.at.forEach((v, i) => {
    if (!near(v, want.at[i], scale)) bad.push(`${what}: entry ${i} ${v} ≠ ${want.at[i]}`);
  });
  return bad;
}

function resnet18(): Module {
  const model = createModel('resnet18', { numClasses: fx.numClasses, dtype: 'float64', init: false });
  model.loadStateDict(zooStateDict(model), { strict: true });
  return model.train();
}

/** The fixture's three steps; returns the losses and the lr each step used. */
function threeSteps(model: Module, optimizer: Optimizer<BaseOptimizerOptions>, scheduler: Scheduler): { losses: number[]; lrs: number[] } {
  const losses: number[] = [];
  const lrs: number[] = [];
  fx.labels.forEach((labels, s) => {
    const x = zooInput(fx.input, `train${s}`);
    optimizer.zeroGrad();
    const { loss, dlogits } = crossEntropyLoss(model.forward(x), ndarray(Int32Array.from(labels), [labels.length]));
    model.backward(dlogits);
    lrs.push(optimizer.lr);
    optimizer.step();
    scheduler.step();
    losses.push(loss);
  });
  return { losses, lrs };
}

function expectLikeTorch(model: Module, want: Case, got: { losses: number[]; lrs: number[] }): void {
  got.losses.forEach((l, i) => expect(Math.abs(l - want.losses[i])).toBeLessThanOrEqual(1e-9 * Math.max(1, Math.abs(want.losses[i]))));
  got.lrs.forEach((lr, i) => expect(lr).toBeCloseTo(want.lrs[i], 15));
  const bad: string[] = [];
  const params = model.namedParameters();
  expect(params.map(([k]) => k)).toEqual(Object.keys(want.params));
  for (const [k, p] of params) bad.push(...mismatches(k, summarize(p.data), want.params[k], 1e-9));
  const buffers = model.namedBuffers();
  expect(buffers.map(([k]) => k)).toEqual(Object.keys(want.buffers));
  for (const [k, b] of buffers) bad.push(...mismatches(k, summarize(b), want.buffers[k], 1e-9));
  expect(bad).toEqual([]);
}

describe('ResNet-18, three optimizer steps equal PyTorch (float64, 1e-9)', () => {
  test('SGD (nesterov, weight decay on conv/linear weights only) with CosineAnnealingLR', () => {
    const model = resnet18();
    const decay = model.parameters().filter((p) => p.data.shape.length > 1);
    const rest = model.parameters().filter((p) => p.data.shape.length === 1);
    const optimizer = new SGD([{ params: decay, weightDecay: 5e-4 }, { params: rest, weightDecay: 0 }], { lr: 0.01, momentum: 0.9, nesterov: true });
    const scheduler = new CosineAnnealingLR(optimizer, { tMax: 4, etaMin: 0.001 });
    expectLikeTorch(model, fx.cases.sgd_nesterov_cosine, threeSteps(model, optimizer, scheduler));
  });

  test('AdamW with StepLR', () => {
    const model = resnet18();
    const optimizer = new AdamW(model.parameters(), { lr: 2e-3, betas: [0.9, 0.99], weightDecay: 0.05 });
    const scheduler = new StepLR(optimizer, { stepSize: 1, gamma: 0.5 });
    expectLikeTorch(model, fx.cases.adamw_step, threeSteps(model, optimizer, scheduler));
  });
});
