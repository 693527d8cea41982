import type { BestDataset } from '../../src/data/resolve';
import type { Report } from '../../src/vis/report';
import { parseScriptArgs, runAssignment, type AssignmentScript, type ScriptOptions } from '../common';
import { loadBestDataset } from '../../src/data/resolve';
import { script as knn } from './knn';
import { script as softmax } from './softmax';
import { script as svm } from './svm';
import { script as twoLayerNet } from './twoLayerNet';
import { script as features } from './features';

/*
 * Assignment 1's notebooks in order, and one entry that runs them all on data
 * chosen once — what `npm start` runs (SPEC §5: full CIFAR-10, else a smaller CIFAR-10 given
 * with --data, else the embedded MNIST digits, said in the first line).
 * Run: `npx tsx assignments/assignment1/index.ts [--data DIR] [--out DIR] [--quick] [--seed N]`.
 */

/** knn, svm, softmax, two_layer_net, features: the notebooks' order. */
export const ASSIGNMENT1_SCRIPTS: readonly AssignmentScript[] = [knn, svm, softmax, twoLayerNet, features];

/** Result of {@link runAssignment1}: each script's report, and the names of failed checks. */
export interface Assignment1Result {
  reports: Report[];
  failures: string[];
}

/**
 * Runs every script on `best` (loaded here when absent; its description is printed first
 * either way). A script that throws is reported as a failure and the others still run.
 */
export async function runAssignment1(
  opts: ScriptOptions,
  best?: BestDataset,
  scripts: readonly AssignmentScript[] = ASSIGNMENT1_SCRIPTS,
): Promise<Assignment1Result> {
  const print = opts.print ?? ((l: string) => console.log(l));
  const chosen = best ?? loadBestDataset({ path: opts.data });
  print(chosen.description);
  const reports: Report[] = [];
  const failures: string[] = [];
  for (const s of scripts) {
    print(`\n######## ${s.title} (assignments/assignment1/${s.name}.ts) ########`);
    try {
      const r = await runAssignment(s, opts, chosen);
      reports.push(r);
      failures.push(...r.failures.map((f) => `${s.name}: ${f}`));
    } catch (e) {
      failures.push(`${s.name}: threw ${(e as Error).message}`);
      print(`error in ${s.name}: ${(e as Error).message}`);
    }
  }
  print(`\nassignment 1: ${scripts.length} notebook(s), ${failures.length} failure(s)${failures.length ? `: ${failures.join('; ')}` : ''}`);
  return { reports, failures };
}

if (require.main === module) {
  const opts = parseScriptArgs('assignment1', 'cs231n assignment 1: kNN, SVM, softmax, two-layer net and features notebooks on the best data found');
  runAssignment1(opts)
    .then((r) => {
      if (r.failures.length) process.exitCode = 1;
    })
    .catch((err: Error) => {
      console.error(`error: ${err.message}`);
      process.exitCode = 1;
    });
}
