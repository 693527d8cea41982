/*
 * The deterministic pseudo-random weights of test/fixtures/zoo/zoo_weights.py, recomputed here:
 * each state-dict tensor from mulberry32 seeded with the FNV-1a hash of its key. The zoo
 * fixtures then need to hold only PyTorch's outputs, not the weights.
 */
import ndarray from 'ndarray';
import type { Tensor } from '../src/core/tensor';
import type { Module, StateTensor } from '../src/nn/module';

// Module-level alias: a global lookup (Math) in a hot loop is very slow inside jest's vm context.
const imul = Math.imul;

function fnv1a(s: string): number {
  let h = 0x811c9dc5;
  for (const b of Buffer.from(s, 'utf8')) {
    h ^= b;
    h = imul(h, 0x01000193) >>> 0;
  }
  return h >>> 0;
}

function mulberry32(seed: number, n: number): Float64Array {
  const out = new Float64Array(n);
  let a = seed >>> 0;
  for (let i = 0; i < n; i++) {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = imul(t ^ (t >>> 15), t | 1) >>> 0;
    t = (t ^ ((t + (imul(t ^ (t >>> 7), t | 61) >>> 0)) >>> 0)) >>> 0;
    out[i] = ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  }
  return out;
}

/** The values of state-dict entry `key` with `shape` (see zoo_weights.py `values`). */
export function zooValues(key: string, shape: readonly number[], varScale = 1): Float64Array {
  const n = shape.reduce((a, b) => a * b, 1);
  const u = mulberry32(fnv1a(key), n);
  const leaf = key.slice(key.lastIndexOf('.') + 1);
  let f: (v: number) => number;
  if (leaf === 'running_var') f = (v) => (0.5 + v) * varScale;
  else if (leaf === 'running_mean') f = (v) => 0.2 * (2 * v - 1);
  else if (leaf === 'weight' && shape.length === 1) f = (v) => 1 + 0.2 * (2 * v - 1);
  else if (leaf === 'weight') {
    const b = Math.sqrt(6 / (n / shape[0]));
    f = (v) => b * (2 * v - 1);
  } else f = (v) => 0.1 * (2 * v - 1);
  for (let i = 0; i < n; i++) u[i] = f(u[i]);
  return u;
}

/** A full state dict for `model` with every float entry from {@link zooValues} (counters kept). */
export function zooStateDict(model: Module, varScale = 1): Record<string, StateTensor> {
  const out: Record<string, StateTensor> = {};
  for (const [k, t] of Object.entries(model.stateDict())) {
    out[k] = t.data instanceof Int32Array ? t : ndarray(zooValues(k, t.shape, varScale), t.shape.slice());
  }
  return out;
}

/** The fixture input of `shape` (zoo_weights.py `input_tensor`). */
export function zooInput(shape: readonly number[], key = 'input'): Tensor {
  const n = shape.reduce((a, b) => a * b, 1);
  const u = mulberry32(fnv1a(key), n);
  for (let i = 0; i < n; i++) u[i] = 2 * u[i] - 1;
  return ndarray(u, shape.slice());
}
