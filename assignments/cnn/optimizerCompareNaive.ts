/**
 * Deep Learning from Scratch ch06/optimizer_compare_naive.py: SGD, Momentum, AdaGrad and Adam
 * minimising f(x, y) = x²/20 + y² from (−7, 2) for 30 updates, each path drawn over the
 * contour lines (Figure 6-8). Deterministic: the end points are exact checks.
 *
 *   npx tsx assignments/cnn/optimizerCompareNaive.ts [--out DIR]
 */
import { array } from '../../src/core/tensor';
import * as dlfs from '../../src/dlfs';
import type { AssignmentScript } from '../common';
import { contourPathSpec, figure, panels } from './figures';
import { cnnMain } from './shared';

/** Positions before each update (the book's x_history) and after the last one. */
export function optimizerPath(opt: dlfs.Optimizer, steps: number): Array<[number, number]> {
  const params = { x: array([-7.0]), y: array([2.0]) };
  const path: Array<[number, number]> = [[-7, 2]];
  for (let i = 0; i < steps; i++) {
    opt.update(params, { x: array([params.x.data[0] / 10]), y: array([2 * params.y.data[0]]) });
    path.push([params.x.data[0], params.y.data[0]]);
  }
  return path;
}

const RUNS: Array<{ name: string; make: () => dlfs.Optimizer; one: [number, number]; end: [number, number] }> = [
  { name: 'SGD', make: () => new dlfs.SGD({ lr: 0.95 }), one: [-6.335, -1.8], end: [-0.350393, 0.084782] },
  { name: 'Momentum', make: () => new dlfs.Momentum({ lr: 0.1 }), one: [-6.93, 1.6], end: [0.896414, 0.088086] },
  { name: 'AdaGrad', make: () => new dlfs.AdaGrad({ lr: 1.5 }), one: [-5.5, 0.5], end: [-0.120162, 0] },
  { name: 'Adam', make: () => new dlfs.Adam({ lr: 0.3 }), one: [-6.700001, 1.7], end: [0.136007, 0.318245] },
];

export const script: AssignmentScript = {
  name: 'optimizer_compare_naive',
  title: 'ch06 optimizer_compare_naive: SGD, Momentum, AdaGrad, Adam on x²/20 + y²',
  description: 'SGD, Momentum, AdaGrad, Adam on x²/20 + y²',
  async run({ report, outDir }) {
    report.section('30 updates from (−7, 2)');
    const specs = [];
    for (const r of RUNS) {
      const path = optimizerPath(r.make(), 30);
      report.check(`${r.name} after 1 update`, `(${path[1][0].toFixed(6)}, ${path[1][1].toFixed(6)})`, `(${r.one[0].toFixed(6)}, ${r.one[1].toFixed(6)})`, { ok: Math.abs(path[1][0] - r.one[0]) < 1e-6 && Math.abs(path[1][1] - r.one[1]) < 1e-6 });
      report.check(`${r.name} after 30 updates`, `(${path[30][0].toFixed(6)}, ${path[30][1].toFixed(6)})`, `(${r.end[0].toFixed(6)}, ${r.end[1].toFixed(6)})`, { ok: Math.abs(path[30][0] - r.end[0]) < 1e-6 && Math.abs(path[30][1] - r.end[1]) < 1e-6 });
      // The book plots x_history, the 30 points before each update.
      specs.push(contourPathSpec(path.slice(0, 30), r.name));
    }
    await figure(report, outDir, 'optimizer_paths.svg', 'Paths of the four optimizers over the contours of x²/20 + y² (book Figure 6-8)', panels(specs, 2));
  },
};

export default script;

if (require.main === module) cnnMain(script, 'DLFS ch06 optimizer_compare_naive');
