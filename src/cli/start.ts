import type { ResolveOptions } from '../data/resolve';
import { chooseData, findScripts, runScripts } from './runScripts';
import type { ScriptFamily } from './script';

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
  /** `--only knn,svm`: run just these notebooks (any registered names; default: the main job's). */
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
 * first line, then run the main job — the first family's notebooks (assignment 1), or the
 * registered notebooks named by `only` — each writing its figures and report.html under
 * `<out>/<notebook>`.
 */
export async function runStart(families: readonly ScriptFamily[], opts: StartOptions = {}): Promise<StartResult> {
  if (!families.length) throw new RangeError('families: expected at least one registered script family, got none');
  const log = opts.log ?? ((s: string) => console.log(s));
  const names = opts.only ?? families[0].scripts.map((s) => s.name);
  const found = findScripts(families, names, 'only');
  const scriptOpts = { data: opts.data, out: opts.out ?? 'out', quick: Boolean(opts.quick), seed: opts.seed ?? 0, print: log };
  const best = chooseData(scriptOpts, opts.resolve);
  // runScripts prints best.description as its first line.
  const r = await runScripts(found, scriptOpts, best);
  return { notebooks: found.map((f) => f.script.name), failures: r.failures };
}
