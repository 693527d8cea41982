import type { DatasetName } from '../data/dataset';
import type { BestDataset } from '../data/resolve';
import type { Backend } from '../gpu';
import type { Report } from '../vis/report';

/*
 * The contract between the `cs231n` command and the notebook scripts it runs. Script families
 * (assignment 1, assignment 2, the CNN chapters) each export a list of {@link AssignmentScript};
 * a registry hands the lists to the CLI, which never imports a family itself.
 */

/** Options every script takes (the shared command line). */
export interface ScriptOptions {
  /** `--data DIR`: searched before $CS231N_DATA, ./datasets and the user cache. */
  data?: string;
  /** `--dataset NAME`: use this dataset (or fail saying why) instead of the best one found. */
  dataset?: DatasetName;
  /** `--out DIR`: figures and report.html go to `<out>/<script name>`. Default `out`. */
  out: string;
  /** `--quick`: small subsets and few iterations. */
  quick: boolean;
  /** `--seed N`: the seed of every random choice (default 0). */
  seed: number;
  /** `--backend MODE`, for the scripts whose {@link AssignmentScript.usesBackend} is set. */
  backend?: string;
  /** Where lines go (default console.log). */
  print?: (line: string) => void;
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

/** One runnable notebook: what `cs231n list` shows and `cs231n run NAME` runs. */
export interface AssignmentScript {
  /** Unique, file-like name: `knn`, `convolutionalNetworks`, … (also the sub-directory of --out). */
  name: string;
  /** The notebook's title, printed as the report's heading. */
  title: string;
  /** One line on what the script does, shown by `cs231n list`. */
  description: string;
  /** True when the script runs some kernels on `--backend`; `run --backend` refuses the others. */
  usesBackend?: boolean;
  /** Runs the notebook's flow on `ctx.best`, writing checks and figures into `ctx.report`. */
  run(ctx: ScriptContext): Promise<void>;
}

/** A group of scripts registered with the CLI (one assignment folder). */
export interface ScriptFamily {
  /** Short id, e.g. `assignment1`. */
  name: string;
  /** Heading in `cs231n list`, e.g. `cs231n assignment 1`. */
  title: string;
  /** The folder the scripts live in, e.g. `assignments/assignment1` (shown in run headings). */
  folder: string;
  scripts: readonly AssignmentScript[];
}
