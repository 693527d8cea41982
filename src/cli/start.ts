import { loadBestDataset, type BestDataset, type ResolveOptions } from '../data/resolve';
import { runDataInfo } from './dataInfo';

/** Options of {@link runStart}. */
export interface StartOptions {
  /** `--data DIR`. */
  data?: string;
  /** `--out DIR` for what the job writes. */
  out?: string;
  log?: (line: string) => void;
  /** Search settings other than the path (env, cwd, home; tests make them hermetic). */
  resolve?: Omit<ResolveOptions, 'path'>;
}

/** The main job, given the chosen data. */
export type StartJob = (best: BestDataset, opts: StartOptions) => void | Promise<void>;

/** For now `data info` on the chosen data; the assignment scripts replace this line later. */
export const startJob: StartJob = (best, opts) => void runDataInfo({ ...opts, best });

/**
 * `npm start` / `cs231n start`: choose the best data found (full CIFAR-10, else any
 * CIFAR-10, else the embedded MNIST digits), say which in the first line, then run the job.
 */
export async function runStart(opts: StartOptions = {}): Promise<void> {
  const log = opts.log ?? ((s: string) => console.log(s));
  const best = loadBestDataset({ ...opts.resolve, path: opts.data });
  log(best.description);
  await startJob(best, { ...opts, log });
}
