import { spawnSync } from 'node:child_process';

/**
 * Runs a numpy script (`python3 -c script cfgJson`) and parses the JSON on its last stdout line.
 * OPENBLAS_CORETYPE and OPENBLAS_L2_SIZE are removed for the child only: this machine sets them
 * for old OpenBLAS builds, and they slow a current numpy down by about 2×.
 */
export function runNumpyJson<T>(script: string, cfg: unknown): T | { error: string } {
  const env = { ...process.env };
  delete env.OPENBLAS_CORETYPE;
  delete env.OPENBLAS_L2_SIZE;
  const r = spawnSync('python3', ['-c', script, JSON.stringify(cfg)], { env, encoding: 'utf8', maxBuffer: 1 << 24 });
  if (r.error) return { error: r.error.message };
  if (r.status !== 0) return { error: (r.stderr || `exit ${r.status}`).trim().split('\n').pop() ?? 'failed' };
  try {
    return JSON.parse(r.stdout.trim().split('\n').pop() ?? '') as T;
  } catch {
    return { error: `unreadable output: ${r.stdout.slice(0, 200)}` };
  }
}
