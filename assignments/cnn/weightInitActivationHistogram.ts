/**
 * Deep Learning from Scratch ch06/weight_init_activation_histogram.py: 1000 random inputs
 * through 5 layers of 100 units (no bias), histograms of each layer's activations for the
 * weight scales and activations the book compares (Figures 6-10 to 6-14).
 *
 *   npx tsx assignments/cnn/weightInitActivationHistogram.ts [--out DIR] [--seed N]
 */
import { matmul } from '../../src/core/matmul';
import type { RandomState } from '../../src/core/random';
import type { Tensor } from '../../src/core/tensor';
import * as dlfs from '../../src/dlfs';
import { reluForward } from '../../src/layers/relu';
import type { AssignmentScript } from '../common';
import { figure, histogramSpec, panels } from './figures';
import { checkRange, cnnMain, rngFor } from './shared';

const std = (a: ArrayLike<number>): number => {
  let m = 0;
  for (let i = 0; i < a.length; i++) m += a[i];
  m /= a.length;
  let v = 0;
  for (let i = 0; i < a.length; i++) v += (a[i] - m) ** 2;
  return Math.sqrt(v / a.length);
};
const frac = (a: ArrayLike<number>, pred: (v: number) => boolean): number => {
  let n = 0;
  for (let i = 0; i < a.length; i++) if (pred(a[i])) n++;
  return n / a.length;
};

/** The five layers' activations for one weight scale and activation (the book's loop). */
export function activations(x: Tensor, scale: number, act: 'sigmoid' | 'relu', rng: RandomState): Tensor[] {
  const out: Tensor[] = [];
  let a = x;
  for (let i = 0; i < 5; i++) {
    const w = rng.randn(100, 100);
    for (let k = 0; k < w.data.length; k++) w.data[k] *= scale;
    const z = matmul(a, w);
    a = act === 'sigmoid' ? dlfs.sigmoid(z) : reluForward(z).out;
    out.push(a);
  }
  return out;
}

export const script: AssignmentScript = {
  name: 'weight_init_activation_histogram',
  title: 'ch06 weight_init_activation_histogram: activation distributions per initialisation',
  description: 'Activation distributions per initialisation',
  async run({ opts, report, outDir }) {
    const x = rngFor(opts, 1).randn(1000, 100);
    const cases: Array<{ key: string; label: string; scale: number; act: 'sigmoid' | 'relu' }> = [
      { key: 'sigmoid_std1', label: 'sigmoid, std 1', scale: 1, act: 'sigmoid' },
      { key: 'sigmoid_std001', label: 'sigmoid, std 0.01', scale: 0.01, act: 'sigmoid' },
      { key: 'sigmoid_xavier', label: 'sigmoid, Xavier √(1/n)', scale: Math.sqrt(1 / 100), act: 'sigmoid' },
      { key: 'relu_he', label: 'ReLU, He √(2/n)', scale: Math.sqrt(2 / 100), act: 'relu' },
      { key: 'relu_std001', label: 'ReLU, std 0.01', scale: 0.01, act: 'relu' },
      { key: 'relu_xavier', label: 'ReLU, Xavier √(1/n)', scale: Math.sqrt(1 / 100), act: 'relu' },
    ];
    const acts: Record<string, Tensor[]> = {};
    for (const [i, c] of cases.entries()) {
      acts[c.key] = activations(x, c.scale, c.act, rngFor(opts, 10 + i));
      // The book's histograms: range (0, 1), 30 bins. For ReLU the exact zeros (half the units)
      // are left out, so the shape of the positive part stays visible, as in the book's figure.
      const hist = acts[c.key].map((a, l) => histogramSpec(c.act === 'relu' ? Array.from(a.data).filter((v) => v > 0) : a.data, { title: `${l + 1}-layer`, bins: 30, lo: 0, hi: 1 }));
      await figure(report, outDir, `hist_${c.key}.svg`, `Activations of layers 1–5, ${c.label}`, panels(hist, 5));
      report.text(`${c.label}: std of activations per layer ${acts[c.key].map((a) => std(a.data).toFixed(4)).join(', ')}`);
    }
    const last = (k: string) => acts[k][4].data;
    const piled = frac(last('sigmoid_std1'), (v) => v < 0.1 || v > 0.9);
    report.check('sigmoid std 1: layer-5 activations piled at 0 and 1 (fraction < 0.1 or > 0.9)', piled, '> 0.5', { ok: piled > 0.5, digits: 3 });
    const s001 = std(last('sigmoid_std001'));
    report.check('sigmoid std 0.01: all near 0.5 (layer-5 std)', s001, '< 0.02', { ok: s001 < 0.02, digits: 3 });
    const xav = Math.min(...acts.sigmoid_xavier.map((a) => std(a.data)));
    report.check('sigmoid Xavier: spread in every layer (smallest per-layer std)', xav, '> 0.05', { ok: xav > 0.05, digits: 3 });
    const he = acts.relu_he.map((a) => std(a.data));
    checkRange(report, 'ReLU He: same spread in every layer (std layer 5 / layer 1)', he[4] / he[0], 0.5, 2, 3);
    const small = acts.relu_std001.map((a) => std(a.data));
    report.check('ReLU std 0.01: activations shrink toward 0 (std layer 5 / layer 1)', small[4] / small[0], '< 1e-3', { ok: small[4] / small[0] < 1e-3, digits: 3 });
  },
};

export default script;

if (require.main === module) cnnMain(script, 'DLFS ch06 weight_init_activation_histogram');
