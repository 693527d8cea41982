// Helpers for the data tests: writers for small synthetic CIFAR pickles, .bin batches and
// IDX files, so loaders are tested on data the tests build themselves (including bad input).
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import * as zlib from 'zlib';

/** The shared real CIFAR-10 subset, resolved relative to the repo (../shared). */
export const SHARED_MINI = path.resolve(__dirname, '../../shared/data/cifar-10-mini');

/** A fresh temporary directory, removed by the returned cleanup. */
export function tmpDir(prefix = 'cs231n-data-'): { dir: string; cleanup: () => void } {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), prefix));
  return { dir, cleanup: () => fs.rmSync(dir, { recursive: true, force: true }) };
}

/** Minimal protocol-2 pickle writer using the opcodes the official CIFAR batches use. */
export class PickleWriter {
  private parts: Buffer[] = [Buffer.from([0x80, 0x02])];
  private memo = 0;

  private op(...bytes: number[]): this {
    this.parts.push(Buffer.from(bytes));
    return this;
  }
  raw(b: Uint8Array): this {
    this.parts.push(Buffer.from(b));
    return this;
  }
  put(): this {
    return this.op(0x71, this.memo++ & 0xff);
  }
  mark(): this {
    return this.op(0x28);
  }
  emptyDict(): this {
    return this.op(0x7d);
  }
  emptyList(): this {
    return this.op(0x5d);
  }
  setitems(): this {
    return this.op(0x75);
  }
  appends(): this {
    return this.op(0x65);
  }
  tuple(): this {
    return this.op(0x74);
  }
  tupleN(n: 1 | 2 | 3): this {
    return this.op(0x84 + n);
  }
  none(): this {
    return this.op(0x4e);
  }
  bool(v: boolean): this {
    return this.op(v ? 0x88 : 0x89);
  }
  int(v: number): this {
    if (v >= 0 && v < 256) return this.op(0x4b, v);
    if (v >= 0 && v < 65536) return this.op(0x4d, v & 0xff, v >> 8);
    const b = Buffer.alloc(5);
    b[0] = 0x4a;
    b.writeInt32LE(v, 1);
    return this.raw(b);
  }
  /** SHORT_BINSTRING for < 256 bytes, else BINSTRING (Python 2 str, as in the official files). */
  str8(s: string | Uint8Array): this {
    const b = typeof s === 'string' ? Buffer.from(s, 'latin1') : Buffer.from(s);
    if (b.length < 256) return this.op(0x55, b.length).raw(b);
    const h = Buffer.alloc(5);
    h[0] = 0x54;
    h.writeInt32LE(b.length, 1);
    return this.raw(h).raw(b);
  }
  unicode(s: string): this {
    const b = Buffer.from(s, 'utf8');
    const h = Buffer.alloc(5);
    h[0] = 0x58;
    h.writeUInt32LE(b.length, 1);
    return this.raw(h).raw(b);
  }
  global(mod: string, name: string): this {
    return this.raw(Buffer.from(`c${mod}\n${name}\n`, 'latin1'));
  }
  reduce(): this {
    return this.op(0x52);
  }
  build(): this {
    return this.op(0x62);
  }
  stop(): this {
    return this.op(0x2e);
  }
  /** A uint8 ndarray of `shape`, written like numpy 1.x under Python 2 does. */
  ndarrayU8(shape: number[], data: Uint8Array): this {
    this.global('numpy.core.multiarray', '_reconstruct').put();
    this.global('numpy', 'ndarray').put();
    this.int(0).tupleN(1).str8('b').tupleN(3).reduce().put();
    this.mark().int(1);
    this.mark();
    for (const d of shape) this.int(d);
    this.tuple();
    this.global('numpy', 'dtype').put().str8('u1').int(0).int(1).tupleN(3).reduce().put();
    this.mark().int(3).str8('|').none().none().none().int(-1).int(-1).int(0).tuple().build();
    this.bool(false).str8(data).tuple().build();
    return this;
  }
  bytes(): Buffer {
    return Buffer.concat(this.parts);
  }
}

/** Synthetic planar CIFAR rows: row i has R = (i*7 + p) & 255, G = R ^ 0x55, B = 255 - R. */
export function syntheticRows(n: number): Uint8Array {
  const out = new Uint8Array(n * 3072);
  for (let i = 0; i < n; i++) {
    for (let p = 0; p < 1024; p++) {
      const r = (i * 7 + p) & 255;
      out[i * 3072 + p] = r;
      out[i * 3072 + 1024 + p] = r ^ 0x55;
      out[i * 3072 + 2048 + p] = 255 - r;
    }
  }
  return out;
}

/** A CIFAR python batch as the official files lay it out (dict of batch_label, labels, data). */
export function cifarPickle(labels: number[], rows: Uint8Array, opts: { dataRows?: number } = {}): Buffer {
  const w = new PickleWriter();
  w.emptyDict().put().mark();
  w.str8('batch_label').put().str8('synthetic batch').put();
  w.str8('labels').put().emptyList().put().mark();
  for (const l of labels) w.int(l);
  w.appends();
  w.str8('data').put().ndarrayU8([opts.dataRows ?? labels.length, 3072], rows);
  w.setitems().stop();
  return w.bytes();
}

/** A CIFAR `.bin` batch: per record one label byte then 3072 planar pixel bytes. */
export function cifarBin(labels: number[], rows: Uint8Array): Buffer {
  const out = Buffer.alloc(labels.length * 3073);
  labels.forEach((l, i) => {
    out[i * 3073] = l;
    out.set(rows.subarray(i * 3072, (i + 1) * 3072), i * 3073 + 1);
  });
  return out;
}

/** The `batches.meta` pickle with `label_names`. */
export function cifarMetaPickle(names: string[]): Buffer {
  const w = new PickleWriter();
  w.emptyDict().put().mark().str8('label_names').put().emptyList().put().mark();
  for (const n of names) w.str8(n).put();
  w.appends().str8('num_vis').int(3072).setitems().stop();
  return w.bytes();
}

/** An IDX file: magic (0x0000 08 ndim), big-endian dims, then bytes. */
export function idxFile(dims: number[], data: Uint8Array, magicOverride?: number): Buffer {
  const h = Buffer.alloc(4 + 4 * dims.length);
  h.writeUInt32BE(magicOverride ?? (0x0800 | dims.length), 0);
  dims.forEach((d, i) => h.writeUInt32BE(d, 4 + 4 * i));
  return Buffer.concat([h, Buffer.from(data)]);
}

/** Writes a small MNIST-format dataset (train + t10k) into `dir`; gzipped when `gz`. */
export function writeMnistLike(dir: string, nTrain: number, nTest: number, gz = true): void {
  fs.mkdirSync(dir, { recursive: true });
  for (const [kind, n] of [['train', nTrain], ['t10k', nTest]] as const) {
    const img = new Uint8Array(n * 28 * 28).map((_, k) => (k * 3 + n) & 255);
    const lab = new Uint8Array(n).map((_, i) => i % 10);
    const files: Array<[string, Buffer]> = [
      [`${kind}-images-idx3-ubyte`, idxFile([n, 28, 28], img)],
      [`${kind}-labels-idx1-ubyte`, idxFile([n], lab)],
    ];
    for (const [name, buf] of files) {
      if (gz) fs.writeFileSync(path.join(dir, `${name}.gz`), zlib.gzipSync(buf));
      else fs.writeFileSync(path.join(dir, name), buf);
    }
  }
}

/** Writes a tiny CIFAR-10 in the python (and optionally bin) layout under `root`. */
export function writeTinyCifar(root: string, perBatch: number, layouts: Array<'py' | 'bin'> = ['py']): void {
  const names = ['airplane', 'automobile', 'bird', 'cat', 'deer', 'dog', 'frog', 'horse', 'ship', 'truck'];
  for (const layout of layouts) {
    const dir = path.join(root, `cifar-10-batches-${layout}`);
    fs.mkdirSync(dir, { recursive: true });
    const batches = ['data_batch_1', 'data_batch_2', 'data_batch_3', 'data_batch_4', 'data_batch_5', 'test_batch'];
    batches.forEach((b, bi) => {
      const labels = Array.from({ length: perBatch }, (_, i) => (i + bi) % 10);
      const rows = syntheticRows(perBatch);
      if (layout === 'py') fs.writeFileSync(path.join(dir, b), cifarPickle(labels, rows));
      else fs.writeFileSync(path.join(dir, `${b}.bin`), cifarBin(labels, rows));
    });
    if (layout === 'py') fs.writeFileSync(path.join(dir, 'batches.meta'), cifarMetaPickle(names));
    else fs.writeFileSync(path.join(dir, 'batches.meta.txt'), names.join('\n') + '\n\n');
  }
}
