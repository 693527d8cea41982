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
