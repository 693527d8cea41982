/**
 * Best wall time (s) of `reps` timed runs of `f`, after untimed warm-up runs: at least
 * `warm.runs` of them, and more until `warm.ms` milliseconds have passed, so that V8 has
 * optimised the hot loops and the worker threads are up (on a loaded machine the background
 * compiler can lag behind by a few runs). The best run is the one least disturbed by other work.
 */
export function bestOf(reps: number, f: () => void, warm: { runs: number; ms?: number }): number {
  const warmStart = performance.now();
  const warmMs = warm.ms ?? 0;
  for (let w = 0; w < warm.runs || performance.now() - warmStart < warmMs; w++) f();
  let best = Infinity;
  for (let r = 0; r < reps; r++) {
    const t0 = performance.now();
    f();
    best = Math.min(best, (performance.now() - t0) / 1000);
  }
  return best;
}

/**
 * {@link bestOf} for several functions timed in turn (f0, f1, …, f0, f1, …): each one's best
 * wall time (s). Alternating puts every function through the same spells of load on a shared
 * machine, so ratios between them (float32 against float64) are fair even when it is busy.
 */
export function bestOfAlternating(reps: number, fs: Array<() => void>, warm: { runs: number; ms?: number }): number[] {
  for (const f of fs) bestOf(0, f, warm);
  const best = fs.map(() => Infinity);
  for (let r = 0; r < reps; r++) {
    fs.forEach((f, i) => {
      const t0 = performance.now();
      f();
      best[i] = Math.min(best[i], (performance.now() - t0) / 1000);
    });
  }
  return best;
}

/**
 * {@link bestOfAlternating} in CPU time of this process (user + system) instead of wall time:
 * for single-threaded runs, where the process's CPU time is the run's own work, a measure
 * that other processes on a busy machine barely move (they take turns, not cycles).
 */
export function bestCpuAlternating(reps: number, fs: Array<() => void>, warm: { runs: number; ms?: number }): number[] {
  for (const f of fs) bestOf(0, f, warm);
  const best = fs.map(() => Infinity);
  for (let r = 0; r < reps; r++) {
    fs.forEach((f, i) => {
      const c0 = process.cpuUsage();
      f();
      const c = process.cpuUsage(c0);
      best[i] = Math.min(best[i], (c.user + c.system) / 1e6);
    });
  }
  return best;
}
