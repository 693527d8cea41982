import path from 'node:path';
import { Command } from 'commander';
import { loadBestDataset, type BestDataset } from '../src/data/resolve';
import { Report } from '../src/vis/report';
import { createBackend, type Backend, type RequestedMode } from '../src/gpu';

/*
 * What every assignment script shares: the command line (`--data`, `--out`, `--quick`,
 * `--seed`), choosing the data once, the Report that prints checks and writes report.html,
 * and the exit status (non-zero when a check failed or the script threw).
 */

/** Options every assignment script takes. */
export interface ScriptOptions {
  /** `--data DIR`: searched before $CS231N_DATA, ./datasets and the user cache. */
  data?: string;
  /** `--out DIR`: figures and report.html go to `<out>/<script name>`. Default `out`. */
  out: string;
  /** `--quick`: small subsets and few iterations, under a minute. */
  quick: boolean;
  /** `--seed N`: the seed of every random choice (default 0). */
  seed: number;
  /** `--backend MODE` for the scripts that can use gpu.js (default: the pure-TS path). */
  backend?: string;
  /** Where lines go (default console.log). */
  print?: (line: string) => void;
}

/** One runnable notebook. */
export interface AssignmentScript {
  /** File-like name: `knn`, `svm`, … (also the sub-directory of --out). */
  name: string;
  /** The notebook's title. */
  title: string;
  /** Runs the notebook's flow on `best`, writing into `report`. */
  run(ctx: ScriptContext): Promise<void>;
}

/** What a script's `run` gets. */
export interface ScriptContext {
  opts: ScriptOptions;
  best: BestDataset;
  report: Report;
  /** `<out>/<name>`: where this script's figures go. */
  outDir: string;
  /** The backend asked for with `--backend` (its `mode` says what runs); absent: the pure-TS path. */
  backend?: Backend;
}

/** Parses the shared command line. */
export function parseScriptArgs(name: string, description: string, argv: string[] = process.argv): ScriptOptions {
  const program = new Command(name)
    .description(description)
    .option('--data <dir>', 'data directory searched first (CIFAR-10 in either layout)')
    .option('--out <dir>', 'output directory for figures and report.html', 'out')
    .option('--quick', 'small subsets and few iterations (under a minute)', false)
    .option('--seed <n>', 'seed of every random choice', (v) => {
      const n = Number(v);
      if (!Number.isInteger(n) || n < 0 || n > 2 ** 32 - 1) throw new Error(`--seed: expected an integer in [0, 2**32-1], got ${v}`);
      return n;
    }, 0)
    .option('--backend <mode>', 'gpu.js mode for the kernels that have one (auto|webgl2|webgl|headlessgl|webgpu|webasm|cpu)')
    .showHelpAfterError();
  program.parse(argv);
  const o = program.opts<{ data?: string; out: string; quick: boolean; seed: number; backend?: string }>();
  return { data: o.data, out: o.out, quick: Boolean(o.quick), seed: o.seed, backend: o.backend };
}

/** Runs one script with already-chosen data; returns its report (written). */
export async function runAssignment(script: AssignmentScript, opts: ScriptOptions, best?: BestDataset): Promise<Report> {
  const print = opts.print ?? ((l: string) => console.log(l));
  const chosen = best ?? loadBestDataset({ path: opts.data });
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

/** Entry point of a script run directly: parse argv, run, set the exit status. */
export function main(script: AssignmentScript, description: string): void {
  const opts = parseScriptArgs(script.name, description);
  runAssignment(script, opts)
    .then((report) => {
      if (report.failures.length) {
        console.error(`${report.failures.length} check(s) failed: ${report.failures.join(', ')}`);
        process.exitCode = 1;
      }
    })
    .catch((err: Error) => {
      console.error(`error: ${err.message}`);
      if (process.env.CS231N_DEBUG) console.error(err.stack);
      process.exitCode = 1;
    });
}
