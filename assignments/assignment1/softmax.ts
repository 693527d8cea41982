import { Softmax, softmaxLossNaive, softmaxLossVectorized } from '../../src/classifiers';
import { main, type AssignmentScript } from '../common';
import { LINEAR_REFERENCE } from './reference';
import { runLinearNotebook, type LinearNotebookSpec } from './linearNotebook';

/*
 * softmax.ipynb as a script (the softmax classifier on raw pixels).
 * Run: `npx tsx assignments/assignment1/softmax.ts [--data DIR] [--quick]`.
 */

/** What the softmax notebook checks and expects. */
export const SOFTMAX_SPEC: LinearNotebookSpec = {
  lossName: 'softmax',
  naive: softmaxLossNaive,
  vectorized: softmaxLossVectorized,
  create: () => new Softmax(),
  firstReg: 0,
  firstLossReference: (C) => ({
    ref: Math.log(C),
    band: [Math.log(C) - 0.1, Math.log(C) + 0.15],
    why: `with W this small all ${C} classes are about equally likely: loss ≈ -log(1/${C}) = ${Math.log(C).toFixed(6)} on any ${C}-class data (notebook solutions 2.305–2.384)`,
  }),
  judgeGradCheck(report, name, rel) {
    // The softmax loss is smooth: every coordinate must match (solutions: 1e-9…5e-7).
    report.check(`${name}: max relative error`, Math.max(...rel), 0, { lessThan: 1e-5 });
  },
  reference: LINEAR_REFERENCE.softmax,
};

async function run(ctx: Parameters<AssignmentScript['run']>[0]): Promise<void> {
  await runLinearNotebook(SOFTMAX_SPEC, ctx);
}

/** softmax.ipynb. */
export const script: AssignmentScript = {
  name: 'softmax',
  title: 'Softmax exercise',
  description: 'softmax.ipynb: naive and vectorized softmax loss and gradient, SGD, a learning-rate × reg search, the learned weights',
  usesBackend: true,
  run,
};

export default script;

if (require.main === module) main(script);
