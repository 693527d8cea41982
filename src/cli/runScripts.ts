import path from 'node:path';
import { Command, Option } from 'commander';
import type { DatasetName } from '../data/dataset';
import { DATASET_NAMES, loadBestDataset, type BestDataset, type ResolveOptions } from '../data/resolve';
import { createBackend, type RequestedMode } from '../gpu';
import { REQUESTED_MODES } from '../gpu/modes';
import { Report } from '../vis/report';
import type { AssignmentScript, ScriptFamily, ScriptOptions } from './script';

/*
 * Running scripts: the shared command-line options (parsed the same way by `cs231n run` and
 * by a script run directly with tsx), choosing the data once, one Report per script, and the
 * failures that set the exit status.
 */

/** `--seed`: an integer in [0, 2**32 − 1] (numpy's seed range), or an error naming the flag. */
export function parseSeed(v: string): number {
  const n = /^\s*\d+\s*$/.test(v) ? Number(v) : Number.NaN;
  if (!Number.isInteger(n) || n < 0 || n > 2 ** 32 - 1) throw new RangeError(`--seed: expected an integer in [0, 2**32-1], got ${JSON.stringify(v)}`);
  return n;
}

/** Adds the shared script options (`--data --dataset --out --quick --seed`, and `--backend` when asked) to `cmd`. */
export function addScriptOptions(cmd: Command, opts: { backend: boolean }): Command {
  cmd
    .option('--data <dir>', 'data directory searched first (CIFAR-10 in either layout, or MNIST-format IDX files)')
    .addOption(new Option('--dataset <name>', 'use this dataset instead of the best one found').choices(DATASET_NAMES as string[]))
    .option('--out <dir>', 'output directory (one sub-directory per script)', 'out')
    .option('--quick', 'small subsets and few iterations', false)
    .option('--seed <n>', 'seed of every random choice', '0');
  if (opts.backend) {
    cmd.addOption(new Option('--backend <mode>', 'where the kernels that have a gpu.js version run (knn, svm, softmax); ts = the pure-TypeScript path').choices(REQUESTED_MODES as string[]));
  }
  return cmd;
}

/** The parsed values of {@link addScriptOptions} as {@link ScriptOptions}. */
export function scriptOptionsFrom(o: { data?: string; dataset?: string; out: string; quick?: boolean; seed: string; backend?: string }): ScriptOptions {
  return { data: o.data, dataset: o.dataset as DatasetName | undefined, out: o.out, quick: Boolean(o.quick), seed: parseSeed(o.seed), backend: o.backend };
}

/** The data a run uses: `--dataset` when given, else the best found (SPEC §5). */
export function chooseData(opts: ScriptOptions, resolve: Omit<ResolveOptions, 'path'> = {}): BestDataset {
  return loadBestDataset({ ...resolve, path: opts.data, dataset: opts.dataset });
}

/** Runs one script with already-chosen data (chosen here when absent); returns its report (written). */
export async function runScript(script: AssignmentScript, opts: ScriptOptions, best?: BestDataset): Promise<Report> {
  const print = opts.print ?? ((l: string) => console.log(l));
  if (opts.backend && !script.usesBackend) {
    throw new RangeError(`--backend: ${script.name} has no gpu.js kernels, so --backend ${opts.backend} would do nothing; run it without --backend`);
  }
  const chosen = best ?? chooseData(opts);
  const outDir = path.join(opts.out, script.name);
  const report = new Report(script.title, outDir, { print });
  if (!best) report.text(chosen.description);
  report.text(`${script.title}${opts.quick ? ' (--quick)' : ''}; seed ${opts.seed}; output in ${outDir}`);
  const backend = opts.backend ? createBackend({ mode: opts.backend as RequestedMode }) : undefined;
  if (backend) report.text(`backend: ${backend.mode} (asked for --backend ${opts.backend})`);
  try {
    await script.run({ opts, best: chosen, report, outDir, backend });
  } finally {
    backend?.dispose();
  }
  report.write();
  return report;
}

/** What {@link runScripts} ran and how it went. */
export interface RunResult {
  reports: Report[];
  /** `script: check` for each failed check, `script: threw …` for each script that threw. */
  failures: string[];
}

/** A script and the family it belongs to. */
export interface FoundScript {
  family: ScriptFamily;
  script: AssignmentScript;
}

/** Every registered script, in family order. */
export function allScripts(families: readonly ScriptFamily[]): FoundScript[] {
  return families.flatMap((family) => family.scripts.map((script) => ({ family, script })));
}

/** The scripts named, in the order given; an unknown name is an error listing the known ones. */
export function findScripts(families: readonly ScriptFamily[], names: readonly string[], what = 'names'): FoundScript[] {
  const all = allScripts(families);
  const unknown = names.filter((n) => !all.some((f) => f.script.name === n));
  if (unknown.length) throw new RangeError(`${what}: expected names among ${all.map((f) => f.script.name).join(', ')}, got ${unknown.join(', ')}`);
  return names.map((n) => all.find((f) => f.script.name === n) as FoundScript);
}

/**
 * Runs the scripts one after another on data chosen once (its description is printed first).
 * A script that throws is reported as a failure and the others still run; the last line
 * counts the scripts and failures.
 */
export async function runScripts(found: readonly FoundScript[], opts: ScriptOptions, best?: BestDataset): Promise<RunResult> {
  const print = opts.print ?? ((l: string) => console.log(l));
  if (opts.backend) {
    const without = found.filter((f) => !f.script.usesBackend).map((f) => f.script.name);
    if (without.length) throw new RangeError(`--backend: ${without.join(', ')} ${without.length > 1 ? 'have' : 'has'} no gpu.js kernels, so --backend would do nothing there; use it only with the scripts marked [--backend] in \`cs231n list\``);
  }
  const chosen = best ?? chooseData(opts);
  print(chosen.description);
  const reports: Report[] = [];
  const failures: string[] = [];
  for (const { family, script } of found) {
    print(`\n######## ${script.title} (${family.folder}/${script.name}.ts) ########`);
    try {
      const r = await runScript(script, opts, chosen);
      reports.push(r);
      failures.push(...r.failures.map((f) => `${script.name}: ${f}`));
    } catch (e) {
      failures.push(`${script.name}: threw ${(e as Error).message}`);
      print(`error in ${script.name}: ${(e as Error).message}`);
    }
  }
  const families = [...new Set(found.map((f) => f.family.title))].join(', ');
  print(`\n${families}: ${found.length} notebook(s), ${failures.length} failure(s)${failures.length ? `: ${failures.join('; ')}` : ''}`);
  return { reports, failures };
}
