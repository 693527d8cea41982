/** Test helpers for thread-count, kernel and bit-for-bit comparisons. */
import { setGemmKernel } from '../src/core/gemm/gemm';

/** Runs `f` with CS231N_THREADS set to `value`, restoring it afterwards. */
export function withThreads<T>(value: string, f: () => T): T {
  const saved = process.env.CS231N_THREADS;
  process.env.CS231N_THREADS = value;
  try {
    return f();
  } finally {
    if (saved === undefined) delete process.env.CS231N_THREADS;
    else process.env.CS231N_THREADS = saved;
  }
}

/**
 * Elements whose bits differ between two lists of float32 arrays (lists of unequal length
 * count as a difference). A NaN equals any NaN: JavaScript leaves the bits of a NaN stored in
 * a typed array to the engine, and x86 propagates whichever NaN operand the compiler put
 * first, so a NaN's sign is not part of a result (a sum of NaNs from 0·∞ and from a NaN input
 * came out with either sign in JS and wasm).
 */
export function bitDiffs(a: Float32Array[], b: Float32Array[]): number {
  let n = a.length === b.length ? 0 : 1;
  a.forEach((t, i) => {
    if (!b[i] || b[i].length !== t.length) {
      n++;
      return;
    }
    const u = new Uint32Array(t.buffer, t.byteOffset, t.length);
    const v = new Uint32Array(b[i].buffer, b[i].byteOffset, b[i].length);
    for (let j = 0; j < u.length; j++) if (u[j] !== v[j] && !(Number.isNaN(t[j]) && Number.isNaN(b[i][j]))) n++;
  });
  return n;
}

/** Runs `f` with the JS kernels (no WebAssembly), restoring the default afterwards. */
export function withJsKernel<T>(f: () => T): T {
  setGemmKernel('js');
  try {
    return f();
  } finally {
    setGemmKernel(null);
  }
}
