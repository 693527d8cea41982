import type { BestDataset } from '../../src/data/resolve';
import { runScripts, type RunResult } from '../../src/cli/runScripts';
import type { ScriptFamily } from '../../src/cli/script';
import { parseScriptArgs, type AssignmentScript, type ScriptOptions } from '../common';
import { script as knn } from './knn';
import { script as softmax } from './softmax';
import { script as svm } from './svm';
import { script as twoLayerNet } from './twoLayerNet';
import { script as features } from './features';

/*
 * Assignment 1's notebooks in order, and one entry that runs them all on data chosen once —
 * what `npm start` runs (SPEC §5: full CIFAR-10, else a smaller CIFAR-10 given with --data,
 * else the embedded MNIST digits, said in the first line).
 * Run: `npx tsx assignments/assignment1/index.ts [--data DIR] [--dataset NAME] [--out DIR] [--quick] [--seed N]`.
 */

/** knn, svm, softmax, two_layer_net, features: the notebooks' order. */
export const ASSIGNMENT1_SCRIPTS: readonly AssignmentScript[] = [knn, svm, softmax, twoLayerNet, features];

/** Assignment 1 as registered with the CLI. */
export const ASSIGNMENT1: ScriptFamily = { name: 'assignment1', title: 'assignment 1', folder: 'assignments/assignment1', scripts: ASSIGNMENT1_SCRIPTS };

/**
 * Runs every script on `best` (loaded here when absent; its description is printed first
 * either way). A script that throws is reported as a failure and the others still run.
 */
export function runAssignment1(opts: ScriptOptions, best?: BestDataset, scripts: readonly AssignmentScript[] = ASSIGNMENT1_SCRIPTS): Promise<RunResult> {
  return runScripts(scripts.map((script) => ({ family: ASSIGNMENT1, script })), opts, best);
}

if (require.main === module) {
  try {
    const opts = parseScriptArgs('assignment1', 'cs231n assignment 1: kNN, SVM, softmax, two-layer net and features notebooks on the best data found');
    runAssignment1(opts)
      .then((r) => {
        if (r.failures.length) process.exitCode = 1;
      })
      .catch((err: Error) => {
        console.error(`error: ${err.message}`);
        process.exitCode = 1;
      });
  } catch (err) {
    console.error(`error: ${(err as Error).message}`);
    process.exitCode = 1;
  }
}
