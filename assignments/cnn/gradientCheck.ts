/**
 * Deep Learning from Scratch ch07/gradient_check.py: a SimpleConvNet on 1×10×10 input (10
 * filters 3×3, hidden 10, weight_init_std 0.01), one sample with label 1, backprop against the
 * numerical gradient (h = 1e-4) per parameter. Run on the book's random input and on a 10×10
 * crop of the first --dataset training image.
 *
 * The book prints the mean |backprop − numerical| per parameter, which is occasionally ~1e-4
 * for b1/b2 (cnn-chapters.md §A.3): the 1e-4 step crosses a ReLU or max-pool kink, where the
 * centred difference averages two slopes and backprop gives the one at the point. Here each
 * entry is judged by its relative error; an entry whose error is large is excused as a kink only
 * when backprop itself changes within the step (the ReLU/pool pattern switched there).
 *
 *   npx tsx assignments/cnn/gradientCheck.ts [--dataset mnist|fashion-mnist] [--quick] [--out DIR] [--seed N]
 */
import ndarray from 'ndarray';
import type { IntTensor, Tensor } from '../../src/core/tensor';
import * as dlfs from '../../src/dlfs';
import type { AssignmentScript } from '../common';
import { figure, histogramSpec } from './figures';
import { cnnMain, loadBookData, rngFor } from './shared';

/** Relative error |a − b| / max(|a| + |b|, 1e-6): below the floor, float64 round-off of the loss (~2e-12 in the numerical gradient) decides. */
function rel(a: number, b: number): number {
  return Math.abs(a - b) / Math.max(Math.abs(a) + Math.abs(b), 1e-6);
}

/** Entries worse than this are either kinks or wrong; the book's 1e-7 inside the log alone gives ~1e-7/p_t ≈ 1e-6. */
const REL_TOL = 1e-4;

export interface ParamResult {
  name: string;
  meanAbs: number;
  worstSmooth: number;
  kinks: number;
  size: number;
  relErrors: number[];
}

/** Backprop vs numerical gradient of every parameter of `net` at (x, t), kinks told apart. */
export function checkNet(net: dlfs.SimpleConvNet, x: Tensor, t: IntTensor): ParamResult[] {
  // Copied: the layers may reuse their gradient arrays on the next backward pass.
  const back = Object.fromEntries(Object.entries(net.gradient(x, t)).map(([k, g]) => [k, Float64Array.from(g.data)]));
  const num = net.numericalGradient(x, t);
  const h = dlfs.NUMERICAL_GRADIENT_H;
  return Object.keys(net.params).map((name) => {
    const p = net.params[name].data;
    const a = back[name];
    const n = num[name].data;
    let sum = 0;
    let worstSmooth = 0;
    let kinks = 0;
    const relErrors: number[] = [];
    for (let i = 0; i < p.length; i++) {
      sum += Math.abs(a[i] - n[i]);
      const e = rel(a[i], n[i]);
      relErrors.push(e);
      if (e <= REL_TOL) {
        worstSmooth = Math.max(worstSmooth, e);
        continue;
      }
      // A kink in [p−h, p+h] changes the activation pattern, so backprop one step to either
      // side differs from backprop at p; a wrong backprop stays consistently wrong instead.
      const old = p[i];
      p[i] = old + h;
      const ap = net.gradient(x, t)[name].data[i];
      p[i] = old - h;
      const am = net.gradient(x, t)[name].data[i];
      p[i] = old;
      const kink = rel(ap, a[i]) > 1e-3 || rel(am, a[i]) > 1e-3;
      if (kink) kinks++;
      else worstSmooth = Number.isNaN(e) ? NaN : Math.max(worstSmooth, e);
    }
    return { name, meanAbs: sum / p.length, worstSmooth, kinks, size: p.length, relErrors };
  });
}

export const script: AssignmentScript = {
  name: 'gradient_check',
  title: 'ch07 gradient_check: SimpleConvNet backprop vs numerical gradient',
  description: 'SimpleConvNet backprop vs numerical gradient',
  async run({ opts, report, outDir }) {
    const data = loadBookData(opts, { flatten: false, maxTrain: 1, maxTest: 1 });
    report.text(data.description);
    const rng = rngFor(opts, 2);
    // A 10×10 window of the first image, centred (28 → rows/columns 9…18).
    const img = data.xTrain;
    const crop = ndarray(new Float64Array(100), [1, 1, 10, 10]);
    for (let y = 0; y < 10; y++) for (let x = 0; x < 10; x++) crop.set(0, 0, y, x, img.get(0, 0, y + 9, x + 9));
    const inputs: Array<[string, Tensor]> = [['random input (the book: np.random.rand(100))', rng.rand(1, 1, 10, 10)], [`${data.dataset} image 0, centre 10×10`, crop]];
    const allRel: number[] = [];
    for (const [label, x] of inputs) {
      report.section(label);
      const net = new dlfs.SimpleConvNet({ inputDim: [1, 10, 10], convParam: { filterNum: 10, filterSize: 3, pad: 0, stride: 1 }, hiddenSize: 10, outputSize: 10, weightInitStd: 0.01, rng: rngFor(opts, 1) });
      const t = ndarray(Int32Array.of(1), [1]);
      const results = checkNet(net, x, t);
      report.table(['param', 'size', 'mean |backprop − numerical| (the book)', 'worst relative error off kinks', 'entries at a kink'], results.map((r) => [r.name, r.size, r.meanAbs.toExponential(3), r.worstSmooth.toExponential(3), r.kinks]));
      for (const r of results) {
        allRel.push(...r.relErrors);
        if (r.kinks === r.size) report.text(`${label}: every ${r.name} entry is at a kink here (on an image, blank pixels put conv outputs exactly at the ReLU's 0), so ${r.name} is checked only on the other input`);
        report.check(`${label}: ${r.name}: worst relative error off kinks`, r.worstSmooth, `< ${REL_TOL}`, { ok: r.worstSmooth < REL_TOL, digits: 3 });
      }
      // Kinks must stay rare, or the check above would be judging few entries.
      const kinks = results.reduce((s, r) => s + r.kinks, 0);
      const total = results.reduce((s, r) => s + r.size, 0);
      report.check(`${label}: entries excused as kinks (of ${total})`, kinks, `≤ ${Math.floor(total * 0.02)}`, { ok: kinks <= total * 0.02 });
    }
    const logs = allRel.map((e) => Math.log10(Math.max(e, 1e-16)));
    await figure(report, outDir, 'gradient_check_relerr.svg', 'log10 relative error |backprop − numerical| / (|backprop| + |numerical|) of every parameter entry, both inputs (the book\'s 1e-7 inside the log puts the bulk near 1e-6)', histogramSpec(logs, { title: 'log10 relative error', bins: 32, lo: -16, hi: 0, width: 420, height: 180 }));
  },
};

export default script;

if (require.main === module) cnnMain(script, 'DLFS ch07 gradient_check');
