import { getArena, wasmAvailable, type Arena, type KernelKind } from './arena';
import { gemmBlock, SCRATCH_ELEMS, type GemmJob } from './kernel';
import { packPanels, type StridedView } from './pack';
import { PoolFailure, poolUsable, runThreaded, threadCount } from './pool';

/** k-slice length: a 4 x KC panel of A and of B (8 KiB each) sit in L1 together. */
const KC = 256;
/** Task tile of C: a MC_BLK x KC block of A (256 KiB) stays in L2 while B slivers stream. */
const MC_BLK = 128;
const NC_BLK = 256;
/**
 * Rows / columns of C computed per round. Bounds the arena (C chunk 32 MiB + packed A and
 * B 4 MiB each) whatever the operands, e.g. a 49000 x 3072 data matrix.
 */
const M_CHUNK = 2048;
const N_CHUNK = 2048;
/**
 * m·n·k from which the product is split over threads. On the 2-core dev machine two threads
 * won from about 100³ (1e6) up and lost below ~80³, where posting the job costs as much as
 * the tiles it hands over.
 */
export const THREAD_MIN_WORK = 1e6;
/** Below this m·n there are too few 16x16 tiles of C to share. */
const THREAD_MIN_TILES_AREA = 512;

/** Where C goes: element (i, j) is data[off + i * rs + j * cs]. */
export interface OutView {
  data: Float64Array | Float32Array;
  off: number;
  rs: number;
  cs: number;
}

let forced: KernelKind | null = null;

/**
 * Selects the tile routine: 'wasm' (WebAssembly SIMD, the default where it runs), 'js'
 * (scalar TypeScript), or null for the default. Both give bit-identical results; tests use
 * this to check the JS fallback. Returns the kind now in effect.
 */
export function setGemmKernel(kind: KernelKind | null): KernelKind {
  forced = kind;
  return gemmKernel();
}

/** The tile routine products use now. */
export function gemmKernel(): KernelKind {
  if (forced !== null) return forced === 'wasm' && !wasmAvailable() ? 'js' : forced;
  return wasmAvailable() ? 'wasm' : 'js';
}

/**
 * C = op(A) · op(B), GotoBLAS order. For each chunk of C and each k-slice, op(B) is packed
 * into 4-column panels and op(A) into 4-row panels inside the arena; the tiles of the C
 * chunk are computed by {@link gemmBlock}, on this thread or on the pool, into a float64
 * workspace that is copied (and rounded, for float32) into `out` once the chunk is done.
 *
 * `a` views op(A) as (i, p); `bt` views op(B)ᵀ as (j, p). Requires m, n, k ≥ 1 and `out`
 * not sharing memory with the inputs (the caller guarantees both).
 */
export function gemm(a: StridedView, bt: StridedView, m: number, n: number, k: number, out: OutView): void {
  let threads = threadCount();
  if (threads > 1 && (m * n * k < THREAD_MIN_WORK || m * n < THREAD_MIN_TILES_AREA || !poolUsable())) threads = 1;
  const kind = gemmKernel();
  if (threads > 1) {
    try {
      run(a, bt, m, n, k, out, threads, kind);
      return;
    } catch (e) {
      if (!(e instanceof PoolFailure)) throw e;
      // The pool is now retired; every C chunk is recomputed from its first k-slice.
    }
  }
  run(a, bt, m, n, k, out, 1, kind);
}

function run(a: StridedView, bt: StridedView, m: number, n: number, k: number, out: OutView, threads: number, kind: KernelKind): void {
  const mChunk = Math.min(m, M_CHUNK);
  const nChunk = Math.min(n, N_CHUNK);
  const kcMax = Math.min(k, KC);
  // Arena layout (float64 elements): per-thread scratch | packed A | packed B | C chunk.
  const aOff = SCRATCH_ELEMS;
  const bOff = aOff + Math.ceil(mChunk / 4) * 4 * kcMax;
  const cOff = bOff + Math.ceil(nChunk / 4) * 4 * kcMax;
  const need = cOff + mChunk * nChunk;
  const arena: Arena | null = getArena(kind, need) ?? getArena('js', need);
  if (arena === null) throw new Error('matmul: no work memory available');
  if (threads > 1 && !arena.shared) threads = 1;
  const F = arena.F;
  for (let jc = 0; jc < n; jc += N_CHUNK) {
    const nc = Math.min(N_CHUNK, n - jc);
    for (let ic = 0; ic < m; ic += M_CHUNK) {
      const mc = Math.min(M_CHUNK, m - ic);
      const [mcBlk, ncBlk] = tileShape(mc, nc, threads);
      for (let pc = 0; pc < k; pc += KC) {
        const kc = Math.min(KC, k - pc);
        packPanels(bt, jc, nc, pc, kc, F, bOff);
        packPanels(a, ic, mc, pc, kc, F, aOff);
        const job: GemmJob = {
          aOff, bOff, cOff, ldc: nc, m: mc, n: nc, kc, acc: pc > 0, mcBlk, ncBlk,
          wasm: arena.kind === 'wasm', buf: arena.kind === 'wasm' ? null : F.buffer, ctl: null,
        };
        if (threads > 1) runThreaded(job, threads, arena);
        else gemmBlock(job, F, arena.tile, 0);
      }
      const { data, off, rs, cs } = out;
      for (let i = 0; i < mc; i++) {
        const src = cOff + i * nc;
        const dst = off + (ic + i) * rs + jc * cs;
        for (let j = 0; j < nc; j++) data[dst + j * cs] = F[src + j];
      }
    }
  }
}

/**
 * Task tile for an m x n region: the cache-friendly MC_BLK x NC_BLK, shrunk (columns first,
 * then rows, not below 16) until there are at least four tasks per thread, so that every
 * core gets work and a core that is busy with another process can leave tiles to the others.
 */
function tileShape(m: number, n: number, threads: number): [number, number] {
  let mb = MC_BLK;
  let nb = NC_BLK;
  if (threads > 1) {
    const want = 4 * threads;
    const tasks = () => Math.ceil(m / mb) * Math.ceil(n / nb);
    while (tasks() < want && (nb > 16 || mb > 16)) {
      if (nb >= mb && nb > 16) nb >>= 1;
      else mb >>= 1;
    }
  }
  return [mb, nb];
}
