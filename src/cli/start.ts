import { loadBestDataset, type ResolveOptions } from '../data/resolve';
import { ASSIGNMENT1_SCRIPTS, runAssignment1 } from '../../assignments/assignment1';

/** Options of {@link runStart}. */
export interface StartOptions {
  /** `--data DIR`. */
  data?: string;
  /** `--out DIR` for what the job writes (one sub-directory per notebook). Default `out`. */
  out?: string;
  /** `--quick`: small subsets and few iterations. */
  quick?: boolean;
  /** `--seed N` (default 0). */
  seed?: number;
  /** `--only knn,svm`: run just these notebooks (names as in assignments/assignment1). */
  only?: string[];
  log?: (line: string) => void;
  /** Search settings other than the path (env, cwd, home; tests make them hermetic). */
  resolve?: Omit<ResolveOptions, 'path'>;
}

/** What {@link runStart} ran and how it went. */
export interface StartResult {
  notebooks: string[];
  failures: string[];
}

/**
 * `npm start` / `cs231n start`: choose the best data found (full CIFAR-10, else any CIFAR-10
 * such as the mini set given with --data, else the embedded MNIST digits), say which in the
 * first line, then run assignment 1's notebooks on it, each writing its figures and
 * report.html under `<out>/<notebook>`.
 */
export async function runStart(opts: StartOptions = {}): Promise<StartResult> {
  const log = opts.log ?? ((s: string) => console.log(s));
  const known = ASSIGNMENT1_SCRIPTS.map((s) => s.name);
  const only = opts.only ?? known;
  const unknown = only.filter((n) => !known.includes(n));
  if (unknown.length) throw new RangeError(`only: expected names among ${known.join(', ')}, got ${unknown.join(', ')}`);
  const best = loadBestDataset({ ...opts.resolve, path: opts.data });
  const scripts = ASSIGNMENT1_SCRIPTS.filter((s) => only.includes(s.name));
  // runAssignment1 prints best.description as its first line.
  const r = await runAssignment1(
    { data: opts.data, out: opts.out ?? 'out', quick: Boolean(opts.quick), seed: opts.seed ?? 0, print: log },
    best,
    scripts,
  );
  return { notebooks: scripts.map((s) => s.name), failures: r.failures };
}
