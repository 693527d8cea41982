/*
 * Fuzzing of every reader of outside files: mutated safetensors files, pickles (plain and CIFAR
 * batches), IDX files (raw and gzipped) and Solver checkpoints. Each reader must either return or
 * throw a DataFormatError (or a subclass: PickleError, CheckpointError), and must never allocate
 * a typed array much larger than its input: the largest single store is measured with
 * trackAllocations.ts (the global typed-array constructors wrapped during the run) and must stay
 * within 2 × the input's bytes + 1 KiB (F16/BF16 widen to float32, hence the 2).
 * The runs start from the fixed seed of setupFastCheck.ts.
 */
import { createHash } from 'crypto';
import * as fs from 'fs';
import * as path from 'path';
import * as zlib from 'zlib';
import fc from 'fast-check';
import ndarray from 'ndarray';
import { loadCifarBatch } from '../src/data/cifar';
import { DataFormatError } from '../src/data/errors';
import { parseIdx, readIdx } from '../src/data/idx';
import { readPickle } from '../src/data/pickle';
import { parseSafetensors, serializeSafetensors, type SafetensorsTensor } from '../src/data/safetensors';
import { decodeArrayFile, encodeArrayFile } from '../src/solver/arrayFile';
import { loadCheckpoint, saveCheckpoint, type SolverCheckpoint } from '../src/solver/checkpoint';
import { cifarBin, cifarPickle, idxFile, syntheticRows, tmpDir } from './dataFixtures';
import { installAllocationTracker, largestAllocation } from './trackAllocations';

const FIX = path.resolve(__dirname, 'fixtures');
const FILE_SLACK = 16384;

/**
 * Runs a reader on `input` and checks the two promises; returns what it threw (if anything).
 * `slack` is the constant allowance: 1 KiB for readers of bytes in memory; readers of files get
 * 16 KiB, because `fs.readFileSync` itself reads a file it cannot size up front in 8 KiB chunks.
 */
function checkReader(input: Uint8Array, read: () => unknown, opts: { extraBytes?: number; slack?: number } = {}): unknown {
  const { bytes, error } = largestAllocation(read);
  if (error !== undefined && !(error instanceof DataFormatError)) {
    throw new Error(`reader threw ${(error as Error)?.name}: ${(error as Error)?.message}\n${(error as Error)?.stack}`);
  }
  const limit = 2 * (input.length + (opts.extraBytes ?? 0)) + (opts.slack ?? 1024);
  if (bytes > limit) throw new Error(`reader allocated a ${bytes}-byte store for a ${input.length}-byte input (limit ${limit})`);
  return error;
}

// ---- mutations ---------------------------------------------------------------------------

type Mutation = (b: Uint8Array) => Uint8Array;
/** Always a copy (a Buffer's own `slice` would be a view and let mutations leak into the seeds). */
const copyOf = (b: Uint8Array, end = b.length): Uint8Array => new Uint8Array(b.subarray(0, end));

const truncate = (len: number): Mutation => (b) => copyOf(b, len % (b.length + 1));
const flip = (at: number, value: number): Mutation => (b) => {
  const c = copyOf(b);
  if (c.length) c[at % c.length] = value;
  return c;
};
const insert = (at: number, bytes: number[]): Mutation => (b) => {
  const i = at % (b.length + 1);
  return Uint8Array.from([...b.subarray(0, i), ...bytes, ...b.subarray(i)]);
};
/** Overwrites 4 or 8 bytes with a hostile integer, little- or big-endian (lengths, dims, offsets). */
const forgeInt = (at: number, value: bigint, width: 4 | 8, little: boolean): Mutation => (b) => {
  const c = copyOf(b);
  if (c.length < width) return c;
  const i = at % (c.length - width + 1);
  const dv = new DataView(c.buffer);
  if (width === 8) dv.setBigUint64(i, BigInt.asUintN(64, value), little);
  else dv.setUint32(i, Number(BigInt.asUintN(32, value)), little);
  return c;
};

const hostileInts = fc.constantFrom(0n, 1n, 7n, 255n, 3072n, 0x7fffffffn, 0x80000000n, 0xffffffffn, 2n ** 53n, 2n ** 63n, 2n ** 64n - 1n, 100_000_001n);

/** One or more byte-level mutations (truncation, flipped bytes, inserted bytes, forged integers). */
const byteMutations: fc.Arbitrary<Mutation[]> = fc.array(
  fc.oneof(
    fc.nat().map(truncate),
    fc.tuple(fc.nat(), fc.integer({ min: 0, max: 255 })).map(([a, v]) => flip(a, v)),
    fc.tuple(fc.nat(), fc.array(fc.integer({ min: 0, max: 255 }), { minLength: 1, maxLength: 8 })).map(([a, v]) => insert(a, v)),
    fc.tuple(fc.nat(), hostileInts, fc.constantFrom(4 as const, 8 as const), fc.boolean()).map(([a, v, w, le]) => forgeInt(a, v, w, le)),
  ),
  { minLength: 1, maxLength: 4 },
);

const apply = (b: Uint8Array, ms: Mutation[]): Uint8Array => ms.reduce((x, m) => m(x), b);

// ---- safetensors seeds and header forgery --------------------------------------------------

const stFixture = new Uint8Array(fs.readFileSync(path.join(FIX, 'safetensors/tensors.safetensors')));
const stSmall = serializeSafetensors(
  {
    w: ndarray(Float32Array.from([1, 2, 3, 4, 5, 6]), [2, 3]) as SafetensorsTensor,
    h: ndarray(Float32Array.from([0.5, -1]), [2]) as SafetensorsTensor,
    n: ndarray(Int32Array.from([3]), []) as SafetensorsTensor,
    u: ndarray(Uint8Array.from([9, 8, 7]), [3]) as SafetensorsTensor,
  },
  { format: 'pt' },
  { dtypes: { h: 'BF16', n: 'I64' } },
);
const stSeeds = [stFixture, stSmall];

/** Splits a safetensors file into its header object and data bytes. */
function splitSt(b: Uint8Array): { header: Record<string, any>; data: Uint8Array } {
  const n = Number(new DataView(b.buffer, b.byteOffset).getBigUint64(0, true));
  return { header: JSON.parse(Buffer.from(b.subarray(8, 8 + n)).toString('utf8')), data: b.subarray(8 + n) };
}

function joinSt(text: string, data: Uint8Array, declared?: bigint): Uint8Array {
  const t = Buffer.from(text, 'utf8');
  const out = new Uint8Array(8 + t.length + data.length);
  new DataView(out.buffer).setBigUint64(0, declared ?? BigInt(t.length), true);
  out.set(t, 8);
  out.set(data, 8 + t.length);
  return out;
}

const hostileNumber = fc.oneof(
  fc.integer({ min: -3, max: 400 }),
  fc.constantFrom(2 ** 31, 2 ** 32, 2 ** 40, 2 ** 53, 2 ** 53 + 2, 2 ** 60, 1e300, 1.5, -0.5),
);
const hostileValue = fc.oneof(hostileNumber, fc.constantFrom<unknown>('F32', 'I64', 'BF16', 'U64', 'X', null, true, [], {}, [1, 2, 3], 'a'));

/** Header forgeries: change one field of one tensor, duplicate or drop keys, bad metadata, lying lengths. */
const headerForgery = fc.tuple(
  fc.constantFrom(...stSeeds),
  fc.nat(),
  fc.constantFrom('dtype', 'shape', 'shapeDim', 'offsets', 'offset', 'entry', 'metadata', 'duplicate', 'drop', 'length'),
  hostileValue,
  hostileNumber,
  fc.constantFrom(0n, 7n, 2n ** 32n, 2n ** 63n, 100_000_000n),
).map(([seed, pick, what, value, num, len]) => {
  const { header, data } = splitSt(seed);
  const keys = Object.keys(header).filter((k) => k !== '__metadata__');
  const key = keys[pick % keys.length];
  const e = header[key];
  let text: string | null = null;
  let declared: bigint | undefined;
  switch (what) {
    case 'dtype': e.dtype = value; break;
    case 'shape': e.shape = Array.isArray(value) ? value : [num, num]; break;
    case 'shapeDim': e.shape = e.shape.length ? e.shape.map((d: number, i: number) => (i === pick % e.shape.length ? num : d)) : [num]; break;
    case 'offsets': e.data_offsets = value; break;
    case 'offset': e.data_offsets[pick % 2] = num; break;
    case 'entry': header[key] = value; break;
    case 'metadata': header.__metadata__ = pick % 2 ? { k: value } : value; break;
    case 'duplicate': {
      const body = JSON.stringify(header);
      text = `${body.slice(0, -1)},${JSON.stringify(key)}:${JSON.stringify(e)}}`;
      break;
    }
    case 'drop': delete header[key]; break;
    case 'length': declared = BigInt(JSON.stringify(header).length) + len; break;
  }
  return joinSt(text ?? JSON.stringify(header), data, declared);
});

// ---- checkpoint seeds ------------------------------------------------------------------------

const ckMeta = { kind: 'cs231n-ts/solver-checkpoint', paramNames: ['W1', 'b1'], epoch: 1 };
const ckArrays = {
  'params/0': ndarray(Float64Array.from([1, 2, 3, 4, 5, 6]), [2, 3]),
  'params/1': ndarray(Float32Array.from([0.5, 0.25]), [2]),
  'rng/key': ndarray(Uint32Array.from([1, 2, 3, 4]), [4]),
  counts: ndarray(Int32Array.from([-1, 7]), [2]),
};
const ckSeed = new Uint8Array(encodeArrayFile(ckMeta, ckArrays));

/** Re-signs a mutated array file so the reader gets past the checksum to the header. */
function resign(b: Uint8Array): Uint8Array {
  if (b.length < 32) return b;
  const c = copyOf(b);
  c.set(createHash('sha256').update(c.subarray(0, c.length - 32)).digest(), c.length - 32);
  return c;
}

/** An array file whose JSON header has one array entry forged (dtype, shape, offset, byteLength, name…). */
const ckForgery = fc.tuple(fc.nat(), fc.constantFrom('dtype', 'shape', 'offset', 'byteLength', 'name', 'entry', 'arrays', 'duplicate'), hostileValue, hostileNumber).map(
  ([pick, what, value, num]) => {
    const b = Buffer.from(ckSeed);
    const h = b.readUInt32LE(12);
    const payloadLength = Number(b.readBigUInt64LE(16));
    const start = (24 + h + 7) & ~7;
    const header = JSON.parse(b.toString('utf8', 24, 24 + h));
    const e = header.arrays[pick % header.arrays.length];
    switch (what) {
      case 'dtype': e.dtype = value; break;
      case 'shape': e.shape = Array.isArray(value) ? value : [num, num]; break;
      case 'offset': e.offset = num; break;
      case 'byteLength': e.byteLength = num; break;
      case 'name': e.name = pick % 3 === 0 ? '__proto__' : value; break;
      case 'entry': header.arrays[pick % header.arrays.length] = value; break;
      case 'arrays': header.arrays = value; break;
      case 'duplicate': header.arrays.push({ ...e }); break;
    }
    const text = Buffer.from(JSON.stringify(header), 'utf8');
    const newStart = (24 + text.length + 7) & ~7;
    const out = Buffer.alloc(newStart + payloadLength + 32);
    b.copy(out, 0, 0, 24);
    out.writeUInt32LE(text.length, 12);
    text.copy(out, 24);
    b.copy(out, newStart, start, start + payloadLength);
    return resign(out);
  },
);

// ---- the runs --------------------------------------------------------------------------------

let uninstall: () => void = () => undefined;
beforeAll(() => {
  uninstall = installAllocationTracker();
});
afterAll(() => uninstall());

describe('the allocation tracker', () => {
  test('sees typed arrays, ArrayBuffers, Buffer.alloc and slice, and not views', () => {
    expect(largestAllocation(() => new Float64Array(1000)).bytes).toBe(8000);
    expect(largestAllocation(() => Int32Array.from([1, 2, 3])).bytes).toBe(12);
    expect(largestAllocation(() => new ArrayBuffer(77)).bytes).toBe(77);
    expect(largestAllocation(() => Buffer.alloc(4096)).bytes).toBe(4096);
    const big = new Uint8Array(5000);
    expect(largestAllocation(() => big.slice(0, 3000)).bytes).toBe(3000);
    expect(largestAllocation(() => new Float32Array(big.buffer, 0, 1000)).bytes).toBe(0);
    expect(new Float64Array(2)).toBeInstanceOf(Float64Array);
  });
});

describe('fuzzing safetensors (2400 mutated files)', () => {
  test('byte mutations: truncations, flipped and inserted bytes, forged integers (1200 files)', () => {
    fc.assert(
      fc.property(fc.constantFrom(...stSeeds), byteMutations, (seed, ms) => {
        const input = apply(seed, ms);
        checkReader(input, () => parseSafetensors(input, 'fuzz.safetensors'));
      }),
      { numRuns: 1200 },
    );
  });

  test('forged headers: bad dtypes, huge shapes, bad offsets, duplicate keys, lying lengths (1200 files)', () => {
    let rejected = 0;
    fc.assert(
      fc.property(headerForgery, (input) => {
        const err = checkReader(input, () => parseSafetensors(input, 'forged.safetensors'));
        if (err) {
          rejected++;
          expect((err as Error).message).toMatch(/^forged\.safetensors: /);
        }
      }),
      { numRuns: 1200 },
    );
    // Most forgeries must be caught (a few are harmless, e.g. a dtype replaced by itself).
    expect(rejected).toBeGreaterThan(1000);
  });
});

describe('fuzzing the pickle reader', () => {
  const seeds = [
    ...['arrays.p2.pkl', 'arrays.p4.pkl', 'scalars.p2.pkl', 'scalars.p4.pkl'].map((f) => new Uint8Array(fs.readFileSync(path.join(FIX, 'pickle', f)))),
    new Uint8Array(cifarPickle([1, 2], syntheticRows(2))),
  ];
  test('mutated pickles: only PickleError (a DataFormatError), no oversized store (800 files)', () => {
    fc.assert(
      fc.property(fc.constantFrom(...seeds), byteMutations, (seed, ms) => {
        const input = apply(seed, ms);
        checkReader(input, () => readPickle(input, { file: 'fuzz.pkl' }));
      }),
      { numRuns: 800 },
    );
  });

  test('mutated CIFAR batches (pickle and .bin files): only DataFormatError (200 files)', () => {
    const t = tmpDir();
    const py = new Uint8Array(cifarPickle([3, 1], syntheticRows(2)));
    const bin = new Uint8Array(cifarBin([3, 1], syntheticRows(2)));
    fc.assert(
      fc.property(fc.boolean(), byteMutations, (isBin, ms) => {
        const input = apply(isBin ? bin : py, ms);
        const file = path.join(t.dir, isBin ? 'b.bin' : 'b');
        fs.writeFileSync(file, input);
        checkReader(input, () => loadCifarBatch(file), { slack: FILE_SLACK });
      }),
      { numRuns: 200 },
    );
    t.cleanup();
  });
});

describe('fuzzing the IDX reader', () => {
  const seeds = [
    new Uint8Array(idxFile([3, 4, 5], new Uint8Array(60).map((_, i) => i))),
    new Uint8Array(idxFile([7], Uint8Array.from([1, 2, 3, 4, 5, 6, 7]))),
  ];
  test('mutated IDX bytes: only DataFormatError, no oversized store (600 files)', () => {
    fc.assert(
      fc.property(fc.constantFrom(...seeds), byteMutations, (seed, ms) => {
        const input = apply(seed, ms);
        checkReader(input, () => parseIdx(input, 'fuzz-idx'));
      }),
      { numRuns: 600 },
    );
  });

  test('mutated gzipped IDX files, compressed and decompressed bytes both fuzzed (200 files)', () => {
    const t = tmpDir();
    const file = path.join(t.dir, 'x-idx3-ubyte.gz');
    fc.assert(
      fc.property(fc.constantFrom(...seeds), byteMutations, fc.boolean(), (seed, ms, before) => {
        const input = before ? new Uint8Array(zlib.gzipSync(apply(seed, ms))) : apply(new Uint8Array(zlib.gzipSync(seed)), ms);
        fs.writeFileSync(file, input);
        // The bound is on the decompressed bytes, which are the file's content here.
        checkReader(input, () => readIdx(file), { extraBytes: before ? apply(seed, ms).length : 4 * seed.length, slack: FILE_SLACK });
      }),
      { numRuns: 200 },
    );
    t.cleanup();
  });
});

describe('fuzzing Solver checkpoints', () => {
  test('mutated array files, with the checksum fixed up so the header is reached (600 files)', () => {
    fc.assert(
      fc.property(byteMutations, fc.boolean(), (ms, sign) => {
        const mutated = apply(ckSeed, ms);
        const input = sign ? resign(mutated) : mutated;
        checkReader(input, () => decodeArrayFile(input, 'fuzz.ckpt'));
      }),
      { numRuns: 600 },
    );
  });

  test('forged array-file headers: bad dtypes, shapes, offsets, names (600 files)', () => {
    fc.assert(
      fc.property(ckForgery, (input) => {
        checkReader(input, () => decodeArrayFile(input, 'forged.ckpt'));
      }),
      { numRuns: 600 },
    );
  });

  test('loadCheckpoint on mutated checkpoint files: only CheckpointError (200 files)', () => {
    const t = tmpDir();
    const good = path.join(t.dir, 'good.ckpt');
    const ck: SolverCheckpoint = {
      updateRule: 'sgd', optimConfig: { learningRate: 0.1 }, lrDecay: 1, batchSize: 2, numEpochs: 1, numTrainSamples: null, numValSamples: null,
      printEvery: 10, epoch: 0, iteration: 0, bestValAcc: 0, lossHistory: [1.5], trainAccHistory: [], valAccHistory: [],
      params: { W: ndarray(Float64Array.from([1, 2]), [2]) }, bestParams: {}, optimConfigs: { W: {} }, buffers: {}, rngState: null,
    };
    saveCheckpoint(good, ck);
    const seed = new Uint8Array(fs.readFileSync(good));
    const file = path.join(t.dir, 'm.ckpt');
    fc.assert(
      fc.property(byteMutations, (ms) => {
        const input = apply(seed, ms);
        fs.writeFileSync(file, input);
        checkReader(input, () => loadCheckpoint(file), { slack: FILE_SLACK });
      }),
      { numRuns: 200 },
    );
    t.cleanup();
  });
});
