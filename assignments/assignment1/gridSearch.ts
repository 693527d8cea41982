import { progressBar } from '../../src/util/progress';

/*
 * The notebooks' tuning loops: train one model per setting, keep the one with the best
 * validation accuracy. The progress bar's trailing text is the best validation accuracy so
 * far, the number a person waits for.
 */

/** One trained setting. */
export interface SearchResult<P, M> {
  params: P;
  model: M;
  trainAcc: number;
  valAcc: number;
}

/** Every setting's result (in the order given) and the best one (first on ties). */
export interface SearchOutcome<P, M> {
  results: Array<SearchResult<P, M>>;
  best: SearchResult<P, M>;
}

/** Every combination of the given axes, the last axis varying fastest. */
export function gridOf<T extends Record<string, readonly unknown[]>>(axes: T): Array<{ [K in keyof T]: T[K][number] }> {
  let out: Array<Record<string, unknown>> = [{}];
  for (const [key, values] of Object.entries(axes)) {
    out = out.flatMap((partial) => values.map((v) => ({ ...partial, [key]: v })));
  }
  return out as Array<{ [K in keyof T]: T[K][number] }>;
}

/** Options of {@link searchSettings}. */
export interface SearchOptions {
  /**
   * Steps one setting takes (e.g. SGD iterations), for a bar that moves within a setting: `fit`
   * then calls its `step` callback once per step. Default 1 (the bar moves once per setting).
   */
  stepsPerSetting?: number;
}

/**
 * Trains `fit(params, step)` for every setting, in order, under a progress bar labelled
 * `label` whose trailing text is the setting being trained and the best validation accuracy
 * so far. A setting whose validation accuracy is NaN (a diverged run) never becomes the best.
 */
export function searchSettings<P, M>(
  label: string,
  settings: readonly P[],
  fit: (params: P, step: () => void) => { model: M; trainAcc: number; valAcc: number },
  opts: SearchOptions = {},
): SearchOutcome<P, M> {
  if (settings.length === 0) throw new RangeError(`${label}: expected at least one setting to try`);
  const steps = opts.stepsPerSetting ?? 1;
  const bar = progressBar(settings.length * steps, { label });
  const results: Array<SearchResult<P, M>> = [];
  let best: SearchResult<P, M> | null = null;
  const status = (k: number) => `setting ${Math.min(k + 1, settings.length)}/${settings.length}, best val ${best ? best.valAcc.toFixed(3) : '-'}`;
  try {
    settings.forEach((params, k) => {
      let taken = 0;
      const step = () => {
        if (taken < steps) {
          taken++;
          bar.tick(1, status(k));
        }
      };
      const r = { params, ...fit(params, step) };
      results.push(r);
      if (best === null || r.valAcc > best.valAcc || (Number.isNaN(best.valAcc) && !Number.isNaN(r.valAcc))) best = r;
      bar.tick(steps - taken, status(k + 1));
    });
  } finally {
    bar.stop();
  }
  return { results, best: best as unknown as SearchResult<P, M> };
}

/** A hyperparameter as a short label: `0.25`, `1`, `500` as they are, `1e-3`, `2.5e4` outside [0.01, 1000). */
export function fmtParam(v: number): string {
  const a = Math.abs(v);
  if (a === 0 || (a >= 0.01 && a < 1000)) return String(Number(v.toPrecision(6)));
  const [m, e] = v.toExponential().split('e');
  return `${Number(m)}e${Number(e)}`;
}
