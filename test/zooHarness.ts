/*
 * Checks one zoo fixture (test/fixtures/zoo/<name>.json, written by make_zoo.py): our builder
 * with the same deterministic weights (test/zooWeights.ts) must have torchvision's state-dict
 * keys in torchvision's order, load them with strict: true, give PyTorch's eval logits to 1e-9
 * (float64), and for the `train` cases PyTorch's parameter gradients and running statistics
 * after one train-mode forward + backward.
 */
import { readFileSync } from 'fs';
import { join } from 'path';
import { copy, type Tensor } from '../src/core/tensor';
import { createModel, type ModelOptions } from '../src/models';
import type { Module } from '../src/nn/module';
import { zooInput, zooStateDict } from './zooWeights';

export interface Summary {
  n: number;
  sum: number;
  sumsq: number;
  at: [number, number, number];
}

/** A zoo fixture file. */
export interface ZooFixture {
  name: string;
  builder: string;
  options: ModelOptions;
  input: number[];
  logits: number[];
  logitsShape: number[];
  stateKeys: string[];
  /** Factor on the running variances of the deterministic weights (default 1). */
  varScale?: number;
  trainLogits?: Summary;
  grads?: Record<string, Summary>;
  buffers?: Record<string, Summary>;
}

export function loadZooFixture(name: string): ZooFixture {
  return JSON.parse(readFileSync(join(__dirname, 'fixtures', 'zoo', `${name}.json`), 'utf8')) as ZooFixture;
}

export function summarize(t: Tensor): Summary {
  const d = copy(t, 'float64').data;
  let sum = 0;
  let sumsq = 0;
  for (let i = 0; i < d.length; i++) {
    sum += d[i];
    sumsq += d[i] * d[i];
  }
  return { n: d.length, sum, sumsq, at: [d[0], d[d.length >> 1], d[d.length - 1]] };
}

export function expectSummary(what: string, a: Summary, b: Summary, tol: number): void {
  const scale = Math.max(1, Math.sqrt(b.sumsq));
  const bad: string[] = [];
  if (a.n !== b.n) bad.push(`n ${a.n} ≠ ${b.n}`);
  if (Math.abs(a.sum - b.sum) > tol * Math.max(scale, Math.abs(b.sum))) bad.push(`sum ${a.sum} ≠ ${b.sum}`);
  if (Math.abs(a.sumsq - b.sumsq) > tol * Math.max(1, b.sumsq)) bad.push(`sumsq ${a.sumsq} ≠ ${b.sumsq}`);
  a.at.forEach((v, i) => {
    if (Math.abs(v - b.at[i]) > tol * Math.max(scale, Math.abs(b.at[i]))) bad.push(`entry ${i} ${v} ≠ ${b.at[i]}`);
  });
  if (bad.length) throw new Error(`${what}: ${bad.join('; ')}`);
}

/** Builds the fixture's model in float64 with the deterministic weights, loaded strictly. */
export function zooModel(fx: ZooFixture, name = fx.name): Module {
  const model = createModel(name, { ...fx.options, numClasses: fx.logitsShape[1], dtype: 'float64', init: false });
  model.loadStateDict(zooStateDict(model, fx.varScale ?? 1), { strict: true });
  return model;
}

/**
 * Runs every check of the fixture against our model `name` (default: the fixture's name);
 * `build` replaces `createModel` for a model checked at a reduced configuration.
 */
export function checkZooFixture(fx: ZooFixture, name = fx.name, tol = 1e-9, build?: (opts: ModelOptions) => Module): void {
  const opts: ModelOptions = { ...fx.options, numClasses: fx.logitsShape[1], dtype: 'float64', init: false };
  const model = build ? build(opts) : createModel(name, opts);
  expect(Object.keys(model.stateDict())).toEqual(fx.stateKeys);
  model.loadStateDict(zooStateDict(model, fx.varScale ?? 1), { strict: true });
  const x = zooInput(fx.input);
  model.eval();
  const logits = model.forward(x);
  expect(logits.shape).toEqual(fx.logitsShape);
  const got = Array.from(copy(logits).data);
  const worst = got.reduce((m, v, i) => Math.max(m, Math.abs(v - fx.logits[i]) / Math.max(1, Math.abs(fx.logits[i]))), 0);
  if (!(worst <= tol)) throw new Error(`${name}: eval logits differ from PyTorch by ${worst}\n ours  ${got.slice(0, 6)}\n torch ${fx.logits.slice(0, 6)}`);
  if (!fx.grads) return;
  model.train();
  const y = model.forward(x);
  expectSummary(`${name} train logits`, summarize(y), fx.trainLogits!, tol);
  model.zeroGrad();
  model.backward(zooInput(y.shape, 'dout'));
  for (const [k, p] of model.namedParameters()) {
    const want = fx.grads[k];
    if (!want) throw new Error(`${name}: PyTorch has no parameter ${k}`);
    if (!p.grad) throw new Error(`${name}: ${k} got no gradient`);
    expectSummary(`${name} grad ${k}`, summarize(p.grad), want, tol);
  }
  const bufs = new Map(model.namedBuffers());
  for (const [k, want] of Object.entries(fx.buffers ?? {})) {
    const b = bufs.get(k);
    if (!b) throw new Error(`${name}: no buffer ${k}`);
    expectSummary(`${name} buffer ${k}`, summarize(b as Tensor), want, tol);
  }
}
