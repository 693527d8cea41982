import { gemmWasmModule, wasmApi, type BlockFn, type BlockSFn, type RowsFn, type WasmMemory, type WasmModule } from './wasm';

/** Which tile routine runs: the WebAssembly SIMD one, or the scalar JS one. */
export type KernelKind = 'wasm' | 'js';

/**
 * The one Float64 work store that packed panels, the C workspace and per-thread scratch
 * live in, shared with the workers when SharedArrayBuffer exists.
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
  /** This thread's wasm tile loops (packed / strided operands); null for the JS kernel. */
  block: BlockFn | null;
  blockS: BlockSFn | null;
  /** This thread's wasm strided row copy / add (convolution unfold and fold); null for the JS kernel. */
  rows: RowsFn | null;
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
    return { kind: 'wasm', shared, F: new Float64Array(memory.buffer), block, blockS, rows, memory, module };
  } catch {
    return null;
  }
}

/**
 * The arena of `kind`, holding at least `elems` float64 elements; null when the wasm kernel
 * is unavailable here (no WebAssembly / SIMD) or `elems` exceeds its memory limit.
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
    if (arena.F.byteLength !== arena.memory.buffer.byteLength) arena.F = new Float64Array(arena.memory.buffer);
    return arena;
  }
  if (jsArena === null || jsArena.F.length < elems) {
    const shared = canShare();
    const size = Math.max(elems, jsArena === null ? 0 : jsArena.F.length * 2);
    const buf = shared ? new SharedArrayBuffer(size * 8) : new ArrayBuffer(size * 8);
    jsArena = { kind: 'js', shared, F: new Float64Array(buf), block: null, blockS: null, rows: null, memory: null, module: null };
  }
  return jsArena;
}

/** True when the WebAssembly SIMD kernel can run in this process. */
export function wasmAvailable(): boolean {
  if (wasmArena === undefined) wasmArena = makeWasmArena();
  return wasmArena !== null;
}
