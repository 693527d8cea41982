/*
 * The quick run every zoo model must pass: built in Float32 and in Float64 with the same
 * deterministic weights, one train-mode forward and backward at a small input gives finite
 * logits, an input gradient of the input's shape and a finite gradient for every parameter;
 * and the two dtypes' eval logits agree to float32 precision (so the Float32 path computes
 * the same function, not merely something finite).
 */
import { copy, type Tensor } from '../src/core/tensor';
import { createModel, type ModelOptions } from '../src/models';
import type { Module } from '../src/nn/module';
import { zooInput, zooStateDict } from './zooWeights';

function finite(t: Tensor): boolean {
  const d = t.data;
  for (let i = 0; i < d.length; i++) if (!Number.isFinite(d[i])) return false;
  return true;
}

function build(name: string, opts: ModelOptions, dtype: 'float32' | 'float64', make?: (opts: ModelOptions) => Module): Module {
  const o: ModelOptions = { ...opts, dtype, init: false };
  const m = make ? make(o) : createModel(name, o);
  m.loadStateDict(zooStateDict(m), { strict: true });
  return m;
}

/**
 * Runs the quick check of model `name` on an input of `shape` (N, C, H, W); `make` replaces
 * `createModel` for a model checked at a reduced configuration.
 */
export function quickRun(name: string, opts: ModelOptions, shape: number[], make?: (opts: ModelOptions) => Module): void {
  const evalLogits: Tensor[] = [];
  for (const dtype of ['float32', 'float64'] as const) {
    const m = build(name, opts, dtype, make);
    const x = copy(zooInput(shape), dtype);
    m.eval();
    evalLogits.push(m.forward(x));
    m.train();
    const y = m.forward(x);
    expect(y.shape[0]).toBe(shape[0]);
    expect(finite(y)).toBe(true);
    m.zeroGrad();
    const dx = m.backward(copy(zooInput(y.shape, 'dout'), dtype));
    expect(dx.shape).toEqual(shape);
    expect(finite(dx)).toBe(true);
    for (const [k, p] of m.namedParameters()) {
      if (!p.grad) throw new Error(`${name} (${dtype}): ${k} got no gradient`);
      expect(p.grad.shape).toEqual(p.data.shape);
      if (!finite(p.grad)) throw new Error(`${name} (${dtype}): ${k} has a non-finite gradient`);
    }
  }
  const [a, b] = evalLogits.map((t) => Array.from(copy(t, 'float64').data));
  const scale = Math.max(1, ...b.map(Math.abs));
  const worst = a.reduce((w, v, i) => Math.max(w, Math.abs(v - b[i])), 0) / scale;
  expect(worst).toBeLessThan(1e-3);
}
