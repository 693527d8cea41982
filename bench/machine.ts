import os from 'node:os';
import { spawnSync } from 'node:child_process';

/**
 * The reference interpreter of every bench: Debian's python3 with its numpy (and PyTorch),
 * not whatever `python3` comes first on PATH. Run with OPENBLAS_CORETYPE / OPENBLAS_L2_SIZE
 * removed from its environment, as `env -u OPENBLAS_CORETYPE -u OPENBLAS_L2_SIZE /usr/bin/python3`.
 */
export const PYTHON = '/usr/bin/python3';

/** `lscpu`'s model name and the SIMD flags that decide what numpy's BLAS can use. */
export function cpuInfo(): { model: string; simd: string } {
  const r = spawnSync('lscpu', [], { encoding: 'utf8', env: { ...process.env, LC_ALL: 'C' } });
  if (r.error || r.status !== 0) return { model: os.cpus()[0]?.model ?? 'unknown CPU', simd: 'unknown (no lscpu)' };
  const field = (name: string) => r.stdout.split('\n').find((l) => l.startsWith(`${name}:`))?.slice(name.length + 1).trim() ?? '';
  const flags = field('Flags').split(/\s+/);
  const simd = flags.filter((f) => /^(sse4_2|avx|avx2|fma|f16c|avx512.*|avx_vnni|amx.*)$/.test(f));
  return { model: field('Model name') || 'unknown', simd: simd.join(' ') };
}
