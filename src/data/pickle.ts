import * as fs from 'fs';
import type { NdArray } from 'ndarray';
import type { NumStore } from '../core/tensor';
import { DataFormatError } from './errors';
import { OPCODE_NAMES } from './pickleOpcodes';
import { buildNdarray, isDtype, makeDtype, setDtypeState, type PickledDtype } from './pickleNumpy';

/** A Python dict read from a pickle. Keys are str/int/bool/None; Python bytes keys become latin1 strings. */
export type PickleDict = Map<PickleKey, PickleValue>;
/** Dict keys this reader accepts (Python's hashable scalars). */
export type PickleKey = string | number | bigint | boolean | null;
/**
 * A value read from a pickle. Python str (and, as with `encoding='latin1'`, Python 2 str)
 * → string; bytes → Uint8Array; list and tuple → array; dict → Map; numpy arrays → ndarray;
 * numpy dtypes → {@link PickledDtype}; anything else is an error naming the callable.
 */
export type PickleValue =
  | null
  | boolean
  | number
  | bigint
  | string
  | Uint8Array
  | PickleValue[]
  | PickleDict
  | NdArray<NumStore>
  | PickledDtype
  | PickleGlobal;

/** A class or function reference (pickle `GLOBAL`), kept until something calls it. */
export class PickleGlobal {
  constructor(
    readonly module: string,
    readonly name: string,
  ) {}
  /** `module.name`, as Python prints it. */
  get qualname(): string {
    return `${this.module}.${this.name}`;
  }
}

/**
 * Thrown for malformed, truncated or unsupported pickles; the message names the file and offset.
 * A {@link DataFormatError}, so one `catch` handles every bad data file; its message keeps the
 * `pickle <file>: ` prefix it has always had.
 */
export class PickleError extends DataFormatError {
  constructor(file: string, problem: string) {
    super(file, problem);
    this.name = 'PickleError';
    this.message = `pickle ${file}: ${problem}`;
  }
}

/** The empty ndarray `_reconstruct` returns; BUILD fills it and replaces it everywhere it was stored. */
class PendingArray {
  /** Memo slots holding this placeholder, so BUILD can swap the finished ndarray into them. */
  readonly memoSlots: number[] = [];
}

/**
 * A large Python 2 str (BINSTRING) kept as bytes until we know how it is used: numpy array
 * payloads go straight into the array (no latin1 decode/encode round trip of megabytes);
 * anything still holding one when the pickle ends is decoded to a string then.
 */
class Str8 {
  constructor(readonly bytes: Uint8Array) {}
  text(): string {
    return asBuffer(this.bytes).toString('latin1');
  }
}

/** BINSTRINGs at least this long are kept as {@link Str8}. */
const LAZY_STR8 = 4096;

/** Marks the position of a MARK on the stack (protocol's "mark object"). */
const MARK_OBJ = Symbol('MARK');

/**
 * What the stack holds. A {@link Str8} can also sit inside lists/tuples typed as PickleValue
 * while reading (hence a few casts); {@link decodeLazy} removes them before the value escapes.
 */
type StackItem = PickleValue | PendingArray | Str8 | typeof MARK_OBJ;

/** Options of {@link readPickle}. */
export interface ReadPickleOptions {
  /** Name used in error messages (default `<buffer>`). */
  file?: string;
}

/** Reads a pickle file (see {@link readPickle} for what is supported). */
export function loadPickle(file: string): PickleValue {
  let buf: Buffer;
  try {
    buf = fs.readFileSync(file);
  } catch (e) {
    const err = e as NodeJS.ErrnoException;
    throw new PickleError(file, err.code === 'ENOENT' ? 'missing file (no such file)' : `cannot read (${err.code ?? err.message})`);
  }
  return readPickle(buf, { file });
}

/**
 * Decodes a pickle held in memory. Supports what CIFAR-10 batches and numpy arrays pickled
 * with protocols 2–5 need (plus the protocol-0 INT/FLOAT text opcodes; other protocol-0/1
 * text opcodes and out-of-band buffers are reported as unsupported): dicts, lists, tuples, ints, floats, strings, bytes,
 * `numpy.core.multiarray._reconstruct` / `numpy.dtype` / `_codecs.encode` calls and the memo.
 * Python 2 `str` payloads (BINSTRING) are decoded as latin1, like
 * `pickle.load(f, encoding='latin1')` in cs231n; an ndarray's raw bytes are taken as they are.
 */
export function readPickle(buf: Uint8Array, opts: ReadPickleOptions = {}): PickleValue {
  return new Reader(buf, opts.file ?? '<buffer>').run();
}

/**
 * Replaces every {@link Str8} left in the result by its latin1 text. Iterative, with an explicit
 * work list: a hostile pickle can nest lists a hundred thousand deep in a few hundred kilobytes,
 * which a recursive walk would turn into a stack overflow.
 */
function decodeLazy(root: PickleValue): PickleValue {
  if ((root as unknown) instanceof Str8) return (root as unknown as Str8).text();
  const seen = new Set<object>();
  const todo: Array<PickleValue[] | PickleDict> = [];
  const visit = (v: PickleValue): void => {
    if ((Array.isArray(v) || v instanceof Map) && !seen.has(v)) {
      seen.add(v);
      todo.push(v);
    }
  };
  visit(root);
  while (todo.length > 0) {
    const c = todo.pop() as PickleValue[] | PickleDict;
    if (Array.isArray(c)) {
      for (let i = 0; i < c.length; i++) {
        const x = c[i];
        if ((x as unknown) instanceof Str8) c[i] = (x as unknown as Str8).text();
        else visit(x);
      }
    } else {
      for (const [k, x] of c) {
        if ((x as unknown) instanceof Str8) c.set(k, (x as unknown as Str8).text());
        else visit(x);
      }
    }
  }
  return root;
}

/** A Buffer over the same memory (Buffer.from(typedArray) would copy). */
function asBuffer(b: Uint8Array): Buffer {
  return Buffer.from(b.buffer, b.byteOffset, b.byteLength);
}

/** Text encoded to a plain Uint8Array (no second copy of the Buffer's bytes). */
function encodeText(s: string, enc: 'latin1' | 'utf8'): Uint8Array {
  const b = Buffer.from(s, enc);
  return new Uint8Array(b.buffer, b.byteOffset, b.byteLength);
}

function opName(code: number): string {
  const name = OPCODE_NAMES[code];
  const hex = `0x${code.toString(16).padStart(2, '0')}`;
  return name ? `${hex} (${name})` : hex;
}

class Reader {
  private pos = 0;
  private stack: StackItem[] = [];
  private readonly memo = new Map<number, StackItem>();
  private readonly view: DataView;
  /** Offset of the opcode being executed, for error messages. */
  private opAt = 0;
  /** How many {@link Str8} were created (0: the result needs no decoding pass). */
  private lazyCount = 0;
  private op = 0;

  constructor(
    private readonly buf: Uint8Array,
    private readonly file: string,
  ) {
    this.view = new DataView(buf.buffer, buf.byteOffset, buf.byteLength);
  }

  private fail(what: string): never {
    throw new PickleError(this.file, `${what} (opcode ${opName(this.op)} at offset ${this.opAt})`);
  }

  /** Reserves `n` bytes, failing with the truncation offset when the file ends first. */
  private take(n: number): number {
    const start = this.pos;
    if (n < 0 || start + n > this.buf.length) {
      throw new PickleError(
        this.file,
        `truncated at offset ${this.buf.length} (opcode ${opName(this.op)} at offset ${this.opAt} needs ${n} bytes from offset ${start}; file has ${this.buf.length} bytes)`,
      );
    }
    this.pos += n;
    return start;
  }

  private u8(): number {
    return this.buf[this.take(1)];
  }
  private u16(): number {
    return this.view.getUint16(this.take(2), true);
  }
  private u32(): number {
    return this.view.getUint32(this.take(4), true);
  }
  private i32(): number {
    return this.view.getInt32(this.take(4), true);
  }
  private u64(): number {
    const at = this.take(8);
    const v = this.view.getBigUint64(at, true);
    if (v > BigInt(Number.MAX_SAFE_INTEGER)) this.fail(`length ${v} too large`);
    return Number(v);
  }
  private bytes(n: number): Uint8Array {
    const at = this.take(n);
    // A plain Uint8Array view (not a Buffer slice), so consumers never see Buffer's API.
    return new Uint8Array(this.buf.buffer, this.buf.byteOffset + at, n);
  }
  /** A newline-terminated argument (protocol-0 style, used by GLOBAL/INT/FLOAT). */
  private line(): string {
    const nl = this.buf.indexOf(0x0a, this.pos);
    if (nl < 0) this.take(this.buf.length - this.pos + 1);
    const s = asBuffer(this.buf.subarray(this.pos, nl)).toString('latin1');
    this.pos = nl + 1;
    return s;
  }

  private push(v: StackItem): void {
    this.stack.push(v);
  }
  private pop(): StackItem {
    if (this.stack.length === 0) this.fail('stack underflow');
    return this.stack.pop() as StackItem;
  }
  private popValue(): PickleValue {
    const v = this.pop();
    if (v === MARK_OBJ) this.fail('unexpected MARK on the stack');
    if (v instanceof PendingArray) this.fail('numpy array used before its BUILD');
    return v as PickleValue;
  }
  private top(): StackItem {
    if (this.stack.length === 0) this.fail('stack underflow');
    return this.stack[this.stack.length - 1];
  }
  /** Pops everything above the topmost MARK, and the MARK. */
  private popMark(): PickleValue[] {
    const idx = this.stack.lastIndexOf(MARK_OBJ);
    if (idx < 0) this.fail('no MARK on the stack');
    const items = this.stack.splice(idx);
    items.shift();
    for (const it of items) if (it instanceof PendingArray) this.fail('numpy array used before its BUILD');
    return items as PickleValue[];
  }
  private memoPut(idx: number): void {
    const v = this.top();
    if (v === MARK_OBJ) this.fail('cannot memoize a MARK');
    if (v instanceof PendingArray) v.memoSlots.push(idx);
    this.memo.set(idx, v);
  }
  private memoGet(idx: number): void {
    if (!this.memo.has(idx)) this.fail(`memo key ${idx} was never stored`);
    this.push(this.memo.get(idx) as StackItem);
  }

  private key(k: PickleValue): PickleKey {
    if (k instanceof Str8) return k.text();
    if (k === null || typeof k === 'string' || typeof k === 'number' || typeof k === 'bigint' || typeof k === 'boolean') return k;
    if (k instanceof Uint8Array) return asBuffer(k).toString('latin1');
    return this.fail('unsupported dict key type (only str, bytes, int, bool, None keys are read)');
  }
  private setItems(dict: StackItem, items: PickleValue[]): void {
    if (!(dict instanceof Map)) this.fail('SETITEM(S) target is not a dict');
    if (items.length % 2 !== 0) this.fail('odd number of items for SETITEMS');
    for (let i = 0; i < items.length; i += 2) dict.set(this.key(items[i]), items[i + 1]);
  }
  private appendItems(list: StackItem, items: PickleValue[]): void {
    if (!Array.isArray(list)) this.fail('APPEND(S) target is not a list');
    for (const it of items) list.push(it);
  }

  /** Calls a GLOBAL: only the few callables numpy arrays and bytes need are allowed. */
  private call(fn: StackItem, args: PickleValue): StackItem {
    if (!(fn instanceof PickleGlobal)) this.fail('REDUCE target is not a global');
    if (!Array.isArray(args)) this.fail(`arguments of ${fn.qualname} are not a tuple`);
    const q = fn.qualname;
    if (q === 'numpy.core.multiarray._reconstruct' || q === 'numpy._core.multiarray._reconstruct') {
      return new PendingArray();
    }
    if (q === 'numpy.dtype') {
      const spec = args[0];
      const s = spec instanceof Uint8Array ? asBuffer(spec).toString('latin1') : spec;
      if (typeof s !== 'string') this.fail('numpy.dtype argument is not a string');
      try {
        return makeDtype(s);
      } catch (e) {
        return this.fail((e as Error).message);
      }
    }
    if (q === '_codecs.encode') {
      // Protocol 2 writes Python 3 bytes as encode(<latin1 text>, 'latin1').
      const [text, enc] = args;
      if (typeof text !== 'string') this.fail('_codecs.encode argument is not a string');
      const e = enc === undefined ? 'utf-8' : enc;
      if (e !== 'latin1' && e !== 'latin-1' && e !== 'utf-8' && e !== 'utf8') this.fail(`unsupported encoding '${String(enc)}'`);
      return encodeText(text, e === 'latin1' || e === 'latin-1' ? 'latin1' : 'utf8');
    }
    if (q === '__builtin__.bytes' || q === 'builtins.bytes' || q === '__builtin__.bytearray' || q === 'builtins.bytearray') {
      if (args.length === 0) return new Uint8Array(0);
      const a = args[0];
      if (a instanceof Uint8Array) return a;
      if ((a as unknown) instanceof Str8) return (a as unknown as Str8).bytes;
      if (typeof a === 'string') return encodeText(a, 'latin1');
      if (Array.isArray(a) && a.every((x) => typeof x === 'number')) return Uint8Array.from(a as number[]);
      this.fail(`unsupported argument for ${q}`);
    }
    if (q === 'numpy.core.multiarray.scalar' || q === 'numpy._core.multiarray.scalar') {
      const [dt, raw] = args;
      if (!isDtype(dt)) this.fail('numpy scalar without a dtype');
      const bytes = (raw as unknown) instanceof Str8 ? (raw as unknown as Str8).bytes : typeof raw === 'string' ? encodeText(raw, 'latin1') : raw;
      if (!(bytes instanceof Uint8Array)) this.fail('numpy scalar payload is not bytes');
      try {
        return buildNdarray([], dt, false, bytes).get();
      } catch (e) {
        return this.fail((e as Error).message);
      }
    }
    return this.fail(`unsupported callable ${q}`);
  }

  private build(obj: StackItem, state: PickleValue): void {
    if (obj instanceof PendingArray) {
      // ndarray.__setstate__: (version, shape, dtype, is_fortran, rawdata)
      if (!Array.isArray(state) || state.length < 4) this.fail('ndarray state is not a tuple (version, shape, dtype, fortran, data)');
      const st = state.length === 5 ? state.slice(1) : state;
      const [shape, dt, fortran, raw] = st;
      if (!Array.isArray(shape) || !shape.every((d) => typeof d === 'number')) this.fail('ndarray shape is not a tuple of ints');
      if (!isDtype(dt)) this.fail('ndarray dtype is not a numpy.dtype');
      let bytes: Uint8Array;
      if (raw instanceof Uint8Array) bytes = raw;
      else if ((raw as unknown) instanceof Str8) bytes = (raw as unknown as Str8).bytes;
      else if (typeof raw === 'string') bytes = encodeText(raw, 'latin1');
      else return this.fail(`ndarray data of dtype ${dt.str} as a Python list is not supported (object arrays)`);
      let arr: NdArray<NumStore>;
      try {
        arr = buildNdarray(shape as number[], dt, Boolean(fortran), bytes);
      } catch (e) {
        return this.fail((e as Error).message);
      }
      this.stack[this.stack.length - 1] = arr;
      for (const slot of obj.memoSlots) this.memo.set(slot, arr);
      return;
    }
    if (isDtype(obj)) {
      try {
        setDtypeState(obj, state);
      } catch (e) {
        this.fail((e as Error).message);
      }
      return;
    }
    this.fail('BUILD on an object this reader does not construct');
  }

  run(): PickleValue {
    const buf = this.buf;
    for (;;) {
      this.opAt = this.pos;
      if (this.pos >= buf.length) {
        throw new PickleError(this.file, `truncated at offset ${buf.length} (no STOP opcode; file has ${buf.length} bytes)`);
      }
      const op = buf[this.pos++];
      this.op = op;
      switch (op) {
        case 0x80: { // PROTO
          const v = this.u8();
          if (v > 5) this.fail(`unsupported protocol ${v}`);
          break;
        }
        case 0x95: // FRAME: framing is only a read-ahead hint
          this.u64();
          break;
        case 0x2e: { // STOP
          const v = this.popValue();
          return this.lazyCount > 0 ? decodeLazy(v) : v;
        }
        case 0x28: this.push(MARK_OBJ); break; // MARK
        case 0x7d: this.push(new Map()); break; // EMPTY_DICT
        case 0x5d: this.push([]); break; // EMPTY_LIST
        case 0x29: this.push([]); break; // EMPTY_TUPLE
        case 0x4e: this.push(null); break; // NONE
        case 0x88: this.push(true); break; // NEWTRUE
        case 0x89: this.push(false); break; // NEWFALSE
        case 0x4b: this.push(this.u8()); break; // BININT1
        case 0x4d: this.push(this.u16()); break; // BININT2
        case 0x4a: this.push(this.i32()); break; // BININT
        case 0x8a: this.push(this.long(this.u8())); break; // LONG1
        case 0x8b: { // LONG4
          const n = this.i32();
          if (n < 0) this.fail('negative LONG4 length');
          this.push(this.long(n));
          break;
        }
        case 0x47: { // BINFLOAT (big-endian double)
          const at = this.take(8);
          this.push(this.view.getFloat64(at, false));
          break;
        }
        case 0x49: { // INT (protocol 0 text)
          const s = this.line();
          if (s === '01') this.push(true);
          else if (s === '00') this.push(false);
          else {
            const v = Number(s);
            if (!Number.isInteger(v)) this.fail(`bad INT literal '${s}'`);
            this.push(v);
          }
          break;
        }
        case 0x46: { // FLOAT (protocol 0 text)
          const s = this.line();
          const v = Number(s);
          if (Number.isNaN(v) && s.trim().toLowerCase() !== 'nan') this.fail(`bad FLOAT literal '${s}'`);
          this.push(v);
          break;
        }
        case 0x55: this.push(this.latin1(this.u8())); break; // SHORT_BINSTRING
        case 0x54: { // BINSTRING
          const n = this.i32();
          if (n < 0) this.fail('negative BINSTRING length');
          if (n >= LAZY_STR8) {
            this.lazyCount++;
            this.push(new Str8(this.bytes(n)) as unknown as PickleValue);
          } else this.push(this.latin1(n));
          break;
        }
        case 0x58: this.push(this.utf8(this.u32())); break; // BINUNICODE
        case 0x8c: this.push(this.utf8(this.u8())); break; // SHORT_BINUNICODE
        case 0x8d: this.push(this.utf8(this.u64())); break; // BINUNICODE8
        case 0x43: this.push(this.bytes(this.u8())); break; // SHORT_BINBYTES
        case 0x42: this.push(this.bytes(this.u32())); break; // BINBYTES
        case 0x8e: this.push(this.bytes(this.u64())); break; // BINBYTES8
        case 0x96: this.push(this.bytes(this.u64())); break; // BYTEARRAY8
        case 0x71: this.memoPut(this.u8()); break; // BINPUT
        case 0x72: this.memoPut(this.u32()); break; // LONG_BINPUT
        case 0x94: this.memoPut(this.memo.size); break; // MEMOIZE
        case 0x68: this.memoGet(this.u8()); break; // BINGET
        case 0x6a: this.memoGet(this.u32()); break; // LONG_BINGET
        case 0x73: { // SETITEM
          const v = this.popValue();
          const k = this.popValue();
          this.setItems(this.top(), [k, v]);
          break;
        }
        case 0x75: { // SETITEMS
          const items = this.popMark();
          this.setItems(this.top(), items);
          break;
        }
        case 0x61: { // APPEND
          const v = this.popValue();
          this.appendItems(this.top(), [v]);
          break;
        }
        case 0x65: { // APPENDS
          const items = this.popMark();
          this.appendItems(this.top(), items);
          break;
        }
        case 0x6c: this.push(this.popMark()); break; // LIST
        case 0x74: this.push(this.popMark()); break; // TUPLE
        case 0x85: this.push([this.popValue()]); break; // TUPLE1
        case 0x86: { // TUPLE2
          const b = this.popValue();
          const a = this.popValue();
          this.push([a, b]);
          break;
        }
        case 0x87: { // TUPLE3
          const c = this.popValue();
          const b = this.popValue();
          const a = this.popValue();
          this.push([a, b, c]);
          break;
        }
        case 0x64: { // DICT
          const items = this.popMark();
          const d: PickleDict = new Map();
          this.setItems(d, items);
          this.push(d);
          break;
        }
        case 0x30: this.pop(); break; // POP
        case 0x31: this.popMark(); break; // POP_MARK
        case 0x32: this.push(this.top()); break; // DUP
        case 0x63: { // GLOBAL "module\nname\n"
          const mod = this.line();
          const name = this.line();
          this.push(new PickleGlobal(mod, name));
          break;
        }
        case 0x93: { // STACK_GLOBAL
          const name = this.popValue();
          const mod = this.popValue();
          if (typeof mod !== 'string' || typeof name !== 'string') this.fail('STACK_GLOBAL needs two strings');
          this.push(new PickleGlobal(mod, name));
          break;
        }
        case 0x52: { // REDUCE
          const args = this.popValue();
          const fn = this.pop();
          this.push(this.call(fn, args));
          break;
        }
        case 0x62: { // BUILD
          const state = this.popValue();
          this.build(this.top(), state);
          break;
        }
        default:
          throw new PickleError(this.file, `unsupported opcode ${opName(op)} at offset ${this.opAt}`);
      }
    }
  }

  private long(n: number): number | bigint {
    if (n === 0) return 0;
    const b = this.bytes(n);
    // Parsed from hex (most significant byte first) in linear time: shifting in one byte at a
    // time is quadratic, and a hostile megabyte-long LONG4 would take minutes.
    let v = BigInt(`0x${Buffer.from(b).reverse().toString('hex')}`);
    if (b[n - 1] & 0x80) v -= 1n << BigInt(8 * n);
    return v >= BigInt(Number.MIN_SAFE_INTEGER) && v <= BigInt(Number.MAX_SAFE_INTEGER) ? Number(v) : v;
  }
  private latin1(n: number): string {
    return asBuffer(this.bytes(n)).toString('latin1');
  }
  private utf8(n: number): string {
    return asBuffer(this.bytes(n)).toString('utf8');
  }
}
