import { nativeTiles, type NativeTiles } from './native';
import { gemmWasmModule, wasmApi, type BlockFn, type BlockSFn, type RowsFn, type WasmMemory, type WasmModule } from './wasm';

/** Which tile routine runs: the WebAssembly SIMD one, or the scalar JS one. */
export type KernelKind = 'wasm' | 'js';

/** A thread's wasm loops for one element type (see wasm.ts). */
export interface TileFns {
  block: BlockFn;
  blockS: BlockSFn;
  rows: RowsFn;
}

/**
 * The one work store that packed panels, the C workspace and per-thread scratch live in,
 * shared with the workers when SharedArrayBuffer exists. A float64 product or convolution
 * views it as `F`, a float32 one as `F32` (offsets then count float32 elements).
 *
 * WHY one store: the wasm tile can only address its own linear memory, so for the wasm
 * kernel everything it touches must be inside that memory; the JS kernel uses the same
 * layout over a plain (Shared)ArrayBuffer so both paths share the driver code.
 * The store is kept for the life of the process and only grows (it is bounded: at most
 * ~56 MiB, because the driver packs and computes in chunks; see gemm.ts for the budget).
 */
export interface Arena {
  kind: KernelKind;
  /** Lives in a SharedArrayBuffer (usable by workers). */
  shared: boolean;
  F: Float64Array;
  /** The same bytes as float32 elements (float32 products and convolutions). */
  F32: Float32Array;
  /** This thread's wasm tile loops (packed / strided operands); null for the JS kernel. */
  block: BlockFn | null;
  blockS: BlockSFn | null;
  /** This thread's wasm strided row copy / add (convolution unfold and fold); null for the JS kernel. */
  rows: RowsFn | null;
  /**
   * This thread's float32 loops (mul + add), and the FMA ones — the native tiles where they
   * are built (native.ts), else the relaxed-SIMD wasm ones where the runtime has them (the
   * same bits); null for the JS kernel.
   */
  f32: TileFns | null;
  f32fma: TileFns | null;
  /** The native tiles bound to this memory (rebound when it grows), or null. */
  native: NativeTiles | null;
  /** This thread's wasm instance exports (the depthwise planes and all); null for the JS kernel. */
  exports: Record<string, unknown> | null;
  /** The wasm memory and module (wasm kernel) — posted once to each worker. */
  memory: WasmMemory | null;
  module: WasmModule | null;
}

const PAGE_BYTES = 65536;
/** 64 MiB: above the driver's largest need (~56 MiB), and reserved as address space only. */
export const MAX_PAGES = 1024;

let wasmArena: Arena | null | undefined;
let jsArena: Arena | null = null;
const canShare = (): boolean => typeof SharedArrayBuffer === 'function' && typeof Atomics === 'object';

function makeWasmArena(): Arena | null {
  const shared = canShare();
  const module = gemmWasmModule(shared, MAX_PAGES);
  if (module === null || wasmApi === null) return null;
  try {
    const memory = new wasmApi.Memory({ initial: 1, maximum: MAX_PAGES, shared });
    const instance = new wasmApi.Instance(module, { env: { mem: memory } });
    const block = instance.exports.block as BlockFn;
    const blockS = instance.exports.blockS as BlockSFn;
    const rows = instance.exports.rows as RowsFn;
    const ex = instance.exports as Record<string, unknown>;
    const f32: TileFns = { block: ex.block32 as BlockFn, blockS: ex.blockS32 as BlockSFn, rows: ex.rows32 as RowsFn };
    let f32fma: TileFns | null = typeof ex.block32f === 'function'
      ? { block: ex.block32f as BlockFn, blockS: ex.blockS32f as BlockSFn, rows: ex.rows32 as RowsFn }
      : null;
    let native = nativeTiles();
    if (native !== null) {
      try {
        native.bind(new Float32Array(memory.buffer));
        f32fma = { block: native.block32, blockS: native.blockS32, rows: ex.rows32 as RowsFn };
      } catch {
        native = null;
      }
    }
    return {
      kind: 'wasm', shared, F: new Float64Array(memory.buffer), F32: new Float32Array(memory.buffer),
      block, blockS, rows, f32, f32fma, native, memory, module,
      // The native rows beside the wasm ones, as in the workers (the wasm tiles keep their names here).
      exports: native?.bnRows32 ? Object.assign({}, ex, { bnRows32: native.bnRows32 }) : ex,
    };
  } catch {
    return null;
  }
}

/**
 * The arena of `kind`, holding at least `elems` float64 elements (2·elems float32 ones);
 * null when the wasm kernel is unavailable here (no WebAssembly / SIMD) or `elems` exceeds
 * its memory limit.
 */
export function getArena(kind: KernelKind, elems: number): Arena | null {
  const bytes = elems * 8;
  if (kind === 'wasm') {
    if (wasmArena === undefined) wasmArena = makeWasmArena();
    const arena = wasmArena;
    if (arena === null || arena.memory === null) return null;
    const have = arena.memory.buffer.byteLength;
    if (have < bytes) {
      const pages = Math.ceil((bytes - have) / PAGE_BYTES);
      if (have / PAGE_BYTES + pages > MAX_PAGES) return null;
      arena.memory.grow(pages);
    }
    // The view goes stale when the memory grows (here or before): refresh it when needed.
    if (arena.F.byteLength !== arena.memory.buffer.byteLength) {
      arena.F = new Float64Array(arena.memory.buffer);
      arena.F32 = new Float32Array(arena.memory.buffer);
      // The native tiles check every address against the memory's length.
      arena.native?.bind(arena.F32);
    }
    return arena;
  }
  if (jsArena === null || jsArena.F.length < elems) {
    const shared = canShare();
    const size = Math.max(elems, jsArena === null ? 0 : jsArena.F.length * 2);
    const buf = shared ? new SharedArrayBuffer(size * 8) : new ArrayBuffer(size * 8);
    jsArena = {
      kind: 'js', shared, F: new Float64Array(buf), F32: new Float32Array(buf),
      block: null, blockS: null, rows: null, f32: null, f32fma: null, native: null, exports: null, memory: null, module: null,
    };
  }
  return jsArena;
}

/**
 * This thread's loops for a job: float64, float32 (mul + add) or float32 FMA; all null for
 * the JS kernel (or if the FMA loops are missing, which the driver never asks for then).
 */
export function arenaTiles(arena: Arena, f32: boolean, fma: boolean): { block: BlockFn | null; blockS: BlockSFn | null; rows: RowsFn | null } {
  if (!f32) return { block: arena.block, blockS: arena.blockS, rows: arena.rows };
  const t = fma ? arena.f32fma : arena.f32;
  return t === null ? { block: null, blockS: null, rows: null } : t;
}

/** True when the WebAssembly SIMD kernel can run in this process. */
export function wasmAvailable(): boolean {
  if (wasmArena === undefined) wasmArena = makeWasmArena();
  return wasmArena !== null;
}
