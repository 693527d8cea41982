import fs from 'fs';
import path from 'path';
import type { BlockFn, BlockSFn } from './wasm';

/*
 * The optional native float32 tiles (native/sgemm.c): where `npm install` found a C compiler
 * (native/build.js), float32 products and convolutions run their tiles there — AVX-512 or
 * AVX2 + FMA, 2–4× the WebAssembly tile's 16 flops a cycle — with the WebAssembly FMA tile's
 * bits (each element one fused multiply-add per k step, in order from 0). Everything else
 * (packing, the drivers, the threads) is unchanged: the native code computes on the same
 * WebAssembly memory, whose base each thread binds once.
 *
 * The same module holds the float32 batch-norm rows (native/batchnorm.c, used by
 * ops/kernels/batchNormTasks.ts): they read and write the JS tensors themselves, where the wasm
 * rows must copy each task's block into the wasm memory and back.
 *
 * Off with CS231N_NATIVE=0; absent (no compiler, another OS or CPU) the wasm kernels run as
 * before. `nativeStatus()` says which and why.
 */

/** The native module's exports. */
export interface NativeTiles {
  /** The file it was loaded from (the workers load the same one). */
  path: string;
  /** 'avx512f' or 'avx2' (the vector width the tiles use). */
  features: string;
  /** Binds this thread's tiles to a Float32Array over the whole wasm memory; returns its base address. */
  bind(view: Float32Array): number;
  /** The wasm `block32f` contract (byte addresses in the bound memory). */
  block32: BlockFn;
  /** The wasm `blockS32f` contract. */
  blockS32: BlockSFn;
  /**
   * One pass of a float32 batch-norm task on the tensors themselves (native/batchnorm.c, the
   * task runner's float32 loops' bits): op 0 Σx, 1 Σ(x − μ)², 2 normalise, 3 gradient sums, 4 dx.
   */
  bnRows32?: (op: number, a: Float32Array, b: Float32Array, c: Float32Array, acc: Float64Array, pr: Float64Array, N: number, C: number, T: number, c0: number, nc: number, relu: number) => void;
  /** Picks the vector width ('avx2' or 'avx512f', one the CPU has; none: the widest) for this process; returns it. */
  isa(name?: 'avx2' | 'avx512f'): string;
}

let loaded: NativeTiles | null | undefined;
let status = '';

/** The file name native/build.js writes for this platform and architecture. */
function nativeFileName(): string {
  return `sgemm-${process.platform}-${process.arch}.node`;
}

/** Where the built module may be: native/build/ of the package (from src/ or from dist/src/). */
function candidates(): string[] {
  const file = nativeFileName();
  return [path.resolve(__dirname, '..', '..', '..', 'native', 'build', file), path.resolve(__dirname, '..', '..', '..', '..', 'native', 'build', file)];
}

/** The native tiles, loaded on first use, or null (see {@link nativeStatus} for why). */
export function nativeTiles(): NativeTiles | null {
  if (loaded !== undefined) return loaded;
  loaded = null;
  const env = process.env.CS231N_NATIVE;
  if (env !== undefined && /^(0|off|false|no)$/i.test(env.trim())) {
    status = 'off (CS231N_NATIVE=0)';
    return null;
  }
  const file = candidates().find((f) => fs.existsSync(f));
  if (file === undefined) {
    status = `not built (no native/build/${nativeFileName()}: \`npm run build:native\` needs a C compiler; the WebAssembly tiles run instead)`;
    return null;
  }
  try {
    const m = require(file) as Omit<NativeTiles, 'path' | 'features'> & { features(): string };
    const features = m.features();
    if (features !== 'avx512f' && features !== 'avx2') {
      status = `built, but this CPU has neither AVX-512F nor AVX2 with FMA (${file})`;
      return null;
    }
    loaded = { path: file, features, bind: m.bind, block32: m.block32, blockS32: m.blockS32, bnRows32: m.bnRows32, isa: m.isa };
    status = `on (${features}, ${file})`;
  } catch (e) {
    status = `could not be loaded (${(e as Error).message.split('\n')[0]})`;
  }
  return loaded;
}

/** Whether the native tiles are in use, and if not why (for tests and benches). */
export function nativeStatus(): string {
  nativeTiles();
  return status;
}

let rowsOn = true;
/**
 * Whether ops beyond the GEMM tiles (the batch-norm rows) run natively where the module has
 * them. Tests turn it off to hold the WebAssembly rows to the same bits; returns the old value.
 */
export function setNativeRows(on: boolean): boolean {
  const old = rowsOn;
  rowsOn = on;
  return old;
}

/** The native batch-norm rows when they are loaded and on, else null. */
export function nativeBatchNormRows(): NonNullable<NativeTiles['bnRows32']> | null {
  if (!rowsOn) return null;
  return nativeTiles()?.bnRows32 ?? null;
}
