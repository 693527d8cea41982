/*
 * Measures the largest typed-array allocation a call makes, for the fuzz tests' "no allocation
 * beyond the file size" check. While installed, the global typed-array and ArrayBuffer
 * constructors are Proxies that record the byte size of every new store (views over an existing
 * buffer cost nothing); `Buffer.alloc*` and `%TypedArray%.prototype.slice` are wrapped the same
 * way. `instanceof`, statics (`from`, `BYTES_PER_ELEMENT`) and prototypes are untouched, so the
 * code under test behaves as usual.
 *
 * What it cannot see: stores made inside node or V8 internals (zlib, Buffer.concat, TextDecoder)
 * and constructors captured in a module variable before installation. The readers allocate
 * through the globals, so their stores are all seen.
 */

const NAMES = [
  'Float64Array', 'Float32Array', 'Int32Array', 'Uint32Array', 'Int16Array', 'Uint16Array', 'Int8Array', 'Uint8Array',
  'Uint8ClampedArray', 'BigInt64Array', 'BigUint64Array',
] as const;

let largest = 0;
const note = (bytes: number): void => {
  if (bytes > largest) largest = bytes;
};

function storeBytes(bpe: number, args: unknown[]): number {
  const a = args[0];
  if (a instanceof ArrayBuffer || (typeof SharedArrayBuffer !== 'undefined' && a instanceof SharedArrayBuffer)) return 0;
  if (typeof a === 'number') return a * bpe;
  if (a && typeof a === 'object' && typeof (a as { length?: unknown }).length === 'number') return (a as { length: number }).length * bpe;
  return 0;
}

/** Replaces the globals (idempotent); returns a function that puts the originals back. */
export function installAllocationTracker(): () => void {
  const g = globalThis as unknown as Record<string, unknown>;
  const saved: Array<[object, string, unknown]> = [];
  const swap = (obj: object, key: string, value: unknown) => {
    saved.push([obj, key, (obj as Record<string, unknown>)[key]]);
    (obj as Record<string, unknown>)[key] = value;
  };
  for (const name of NAMES) {
    const C = g[name] as { BYTES_PER_ELEMENT: number } & (new (...a: unknown[]) => object);
    swap(g, name, new Proxy(C, {
      construct(target, args, newTarget) {
        note(storeBytes(C.BYTES_PER_ELEMENT, args));
        return Reflect.construct(target, args, newTarget === g[name] ? target : newTarget);
      },
    }));
  }
  const AB = g.ArrayBuffer as new (n: number) => ArrayBuffer;
  swap(g, 'ArrayBuffer', new Proxy(AB, {
    construct(target, args, newTarget) {
      note(Number(args[0]) || 0);
      return Reflect.construct(target, args, newTarget === g.ArrayBuffer ? target : newTarget);
    },
  }));
  for (const fn of ['alloc', 'allocUnsafe', 'allocUnsafeSlow'] as const) {
    const orig = Buffer[fn] as (...a: unknown[]) => Buffer;
    swap(Buffer, fn, function (this: unknown, ...args: unknown[]) {
      note(Number(args[0]) || 0);
      return orig.apply(this, args);
    });
  }
  const TypedArrayProto = Object.getPrototypeOf(Uint8Array.prototype) as { slice: (...a: unknown[]) => { byteLength: number } };
  const slice = TypedArrayProto.slice;
  swap(TypedArrayProto, 'slice', function (this: unknown, ...args: unknown[]) {
    const out = slice.apply(this, args);
    note(out.byteLength);
    return out;
  });
  return () => {
    for (const [obj, key, value] of saved.reverse()) (obj as Record<string, unknown>)[key] = value;
  };
}

/** Runs `fn` and returns the largest single store (bytes) it allocated, with its result or error. */
export function largestAllocation<T>(fn: () => T): { bytes: number; result?: T; error?: unknown } {
  largest = 0;
  try {
    const result = fn();
    return { bytes: largest, result };
  } catch (error) {
    return { bytes: largest, error };
  }
}
