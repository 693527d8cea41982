/*
 * Wall-clock timing for the notebooks' "took X seconds" lines. One run, as the notebooks'
 * `time_function`: these are illustrations, the bench has the careful numbers.
 */

/** Runs `f` once; returns its value and the wall time in seconds. */
export function timed<T>(f: () => T): { value: T; seconds: number } {
  const t0 = performance.now();
  const value = f();
  return { value, seconds: (performance.now() - t0) / 1000 };
}

/** A duration for people: `0.0123 s`, `12.3 s`. */
export function fmtSeconds(s: number): string {
  return s < 10 ? `${s.toPrecision(3)} s` : `${s.toFixed(1)} s`;
}

/**
 * Runs `f` once untimed (first-call costs: JIT, the matmul worker starting) and then `reps`
 * times; returns the last value and the best wall time. For short calls whose single timing
 * would mostly measure warm-up.
 */
export function timedBest<T>(f: () => T, reps = 3): { value: T; seconds: number } {
  let value = f();
  let best = Infinity;
  for (let r = 0; r < reps; r++) {
    const t0 = performance.now();
    value = f();
    best = Math.min(best, (performance.now() - t0) / 1000);
  }
  return { value, seconds: best };
}
