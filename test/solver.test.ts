/*
 * Solver: training behaviour (overfitting, history lengths, best-parameter restore, lrDecay,
 * seeded minibatches, accuracy checks, divergence), option errors, and checkpoints (format,
 * round trip, exact resume, truncation, corruption, a crash while writing).
 */
import fc from 'fast-check';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { random, RandomState } from '../src/core/random';
import { fromData, intArray, type IntTensor, type Tensor } from '../src/core/tensor';
import { FullyConnectedNet } from '../src/classifiers';
import { sgd, type OptimConfig } from '../src/optim';
import {
  CheckpointError, decodeArrayFile, encodeArrayFile, loadCheckpoint, saveCheckpoint, Solver, TrainingDivergedError,
  type LossAndGrads, type Model, type SolverData,
} from '../src/solver';

const tmpDirs: string[] = [];
function tmpDir(): string {
  const d = fs.mkdtempSync(path.join(os.tmpdir(), 'solver-test-'));
  tmpDirs.push(d);
  return d;
}
afterAll(() => tmpDirs.forEach((d) => fs.rmSync(d, { recursive: true, force: true })));

/** Random data with labels a small net can learn. */
function toyData(seed: number, n = 40, D = 8, C = 3): SolverData {
  const rng = new RandomState(seed);
  const X = rng.randn(n, D);
  const y = rng.randint(C, null, n) as IntTensor;
  const Xv = rng.randn(n / 2, D);
  const yv = rng.randint(C, null, n / 2) as IntTensor;
  return { XTrain: X, yTrain: y, XVal: Xv, yVal: yv };
}

/**
 * A scalar "model" whose one parameter w moves by +learningRate per sgd step (its gradient is
 * −1) and whose validation accuracy is 1 exactly when w equals `peak`: it makes the
 * best-parameter bookkeeping observable.
 */
class StepModel implements Model {
  params: Record<string, Tensor> = { w: fromData(new Float64Array([0]), [1]) };
  constructor(private readonly peak: number, private readonly lossAt: (w: number) => number = () => 1) {}
  loss(X: Tensor, y?: IntTensor): Tensor | LossAndGrads {
    const w = this.params.w.data[0];
    if (y === undefined) {
      const N = X.shape[0];
      const s = new Float64Array(2 * N);
      for (let i = 0; i < N; i++) s[2 * i + (Math.abs(w - this.peak) < 1e-9 ? 1 : 0)] = 1;
      return fromData(s, [N, 2]);
    }
    return { loss: this.lossAt(w), grads: { w: fromData(new Float64Array([-1]), [1]) } };
  }
}

function stepData(n = 4): SolverData {
  const X = fromData(new Float64Array(n * 2), [n, 2]);
  return { XTrain: X, yTrain: intArray(new Array(n).fill(1)), XVal: X, yVal: intArray(new Array(n).fill(1)) };
}

const quiet = { verbose: false, progress: false };

describe('training', () => {
  test('overfits a tiny training set (train accuracy 1.0)', () => {
    const t = toyData(0, 20, 10, 4);
    // Validation = training rows, so the best-validation parameters restored at the end are the best-fitting ones.
    const data = { ...t, XVal: t.XTrain, yVal: t.yTrain };
    const model = new FullyConnectedNet({ hiddenDims: [50], inputDim: 10, numClasses: 4, weightScale: 0.1, dtype: 'float64', rng: new RandomState(1) });
    const solver = new Solver(model, data, { ...quiet, updateRule: 'adam', optimConfig: { learningRate: 1e-2 }, numEpochs: 30, batchSize: 10, seed: 0 });
    solver.train();
    expect(solver.trainAccHistory[solver.trainAccHistory.length - 1]).toBe(1);
    expect(solver.checkAccuracy(data.XTrain, data.yTrain)).toBe(1);
    expect(solver.lossHistory[solver.lossHistory.length - 1]).toBeLessThan(solver.lossHistory[0] / 5);
  });

  test('history lengths: one loss per iteration; accuracies at the first iteration and every epoch end', () => {
    const data = toyData(1, 40);
    const model = new FullyConnectedNet({ hiddenDims: [5], inputDim: 8, numClasses: 3, dtype: 'float64', rng: new RandomState(2) });
    const s = new Solver(model, data, { ...quiet, numEpochs: 3, batchSize: 10, seed: 1 });
    s.train();
    expect(s.iterationsPerEpoch).toBe(4);
    expect(s.lossHistory).toHaveLength(12);
    expect(s.trainAccHistory).toHaveLength(4);
    expect(s.valAccHistory).toHaveLength(4);
    expect(s.epoch).toBe(3);
    // Batch larger than the data: one iteration per epoch, first iteration = first epoch end.
    const s2 = new Solver(model, data, { ...quiet, numEpochs: 3, batchSize: 100, seed: 1 });
    s2.train();
    expect(s2.lossHistory).toHaveLength(3);
    expect(s2.valAccHistory).toHaveLength(3);
  });

  test('best parameters (by validation accuracy) are put back into the model at the end', () => {
    const model = new StepModel(3);
    const s = new Solver(model, stepData(), { ...quiet, optimConfig: { learningRate: 1 }, numEpochs: 6, batchSize: 4, seed: 0 });
    s.train();
    expect(s.valAccHistory).toEqual([0, 0, 1, 0, 0, 0]);
    expect(s.bestValAcc).toBe(1);
    expect(model.params.w.data[0]).toBe(3);
    expect(s.bestParams.w.data[0]).toBe(3);
  });

  test('a run whose validation accuracy stays 0 still ends with parameters (the first snapshot)', () => {
    const model = new StepModel(100);
    const s = new Solver(model, stepData(), { ...quiet, optimConfig: { learningRate: 1 }, numEpochs: 3, batchSize: 4, seed: 0 });
    s.train();
    expect(model.params.w.data[0]).toBe(1);
  });

  test('lrDecay multiplies every learning rate at each epoch end', () => {
    const model = new StepModel(-1);
    const s = new Solver(model, stepData(8), { ...quiet, optimConfig: { learningRate: 1 }, lrDecay: 0.5, numEpochs: 3, batchSize: 4, seed: 0 });
    // Keep the final params (no best restore interference): read them through the history instead.
    const seen: number[] = [];
    const loss = model.loss.bind(model);
    model.loss = (X: Tensor, y?: IntTensor) => {
      if (y !== undefined) seen.push(model.params.w.data[0]);
      return loss(X, y);
    };
    s.train();
    // Two iterations per epoch: steps of 1, 1, 0.5, 0.5, 0.25, 0.25.
    expect(seen).toEqual([0, 1, 2, 2.5, 3, 3.25]);
    expect(s.optimConfigs.w.learningRate).toBe(0.125);
  });

  test('optimConfig is copied per parameter; the update rule may be a function', () => {
    const calls: string[] = [];
    const template: OptimConfig = { learningRate: 0.1 };
    // An sgd that halves its own learning rate after each step (state kept in its config).
    const rule = function halfSgd(w: Tensor, dw: Tensor, config: OptimConfig = {}) {
      calls.push(String(config.learningRate));
      const { nextW } = sgd(w, dw, { learningRate: config.learningRate });
      config.learningRate = (config.learningRate ?? 1) / 2;
      return { nextW, config };
    };
    const data = toyData(3);
    const model = new FullyConnectedNet({ hiddenDims: [3], inputDim: 8, numClasses: 3, dtype: 'float64', rng: new RandomState(0) });
    const s = new Solver(model, data, { ...quiet, updateRule: rule, optimConfig: template, numEpochs: 1, batchSize: 40, seed: 0 });
    s.train();
    expect(template).toEqual({ learningRate: 0.1 });
    expect(calls).toEqual(['0.1', '0.1', '0.1', '0.1']);
    expect(s.optimConfigs.W1).not.toBe(s.optimConfigs.W2);
    expect(s.optimConfigs.W1.learningRate).toBe(0.05);
    expect(s.options.updateRuleName).toBe('halfSgd');
  });

  test('minibatches are rng.choice(numTrain, batchSize) from the seeded generator; same seed, same run', () => {
    const data = toyData(4);
    const batches: number[][] = [];
    const model = new FullyConnectedNet({ hiddenDims: [4], inputDim: 8, numClasses: 3, dtype: 'float64', rng: new RandomState(0) });
    const loss = model.loss.bind(model);
    model.loss = ((X: Tensor, y?: IntTensor) => {
      if (y) batches.push(Array.from(X.data.subarray(0, 8)));
      return loss(X, y);
    }) as typeof model.loss;
    const s = new Solver(model, data, { ...quiet, numEpochs: 1, batchSize: 10, seed: 77 });
    s.step();
    const idx = new RandomState(77).choice(40, 10).data;
    expect(batches[0]).toEqual(Array.from(data.XTrain.data.subarray(idx[0] * 8, idx[0] * 8 + 8)));
    const run = () => {
      const m = new FullyConnectedNet({ hiddenDims: [4], inputDim: 8, numClasses: 3, dtype: 'float64', rng: new RandomState(0) });
      const r = new Solver(m, data, { ...quiet, updateRule: 'sgdMomentum', numEpochs: 2, batchSize: 8, seed: 5 });
      r.train();
      return r.lossHistory;
    };
    expect(run()).toEqual(run());
  });

  test('without rng/seed the solver draws from the module default RandomState (np.random)', () => {
    const data = toyData(5);
    const mk = () => new FullyConnectedNet({ hiddenDims: [4], inputDim: 8, numClasses: 3, dtype: 'float64', rng: new RandomState(0) });
    random.seed(9);
    const a = new Solver(mk(), data, { ...quiet, numEpochs: 1, batchSize: 10 }).train().lossHistory;
    random.seed(9);
    const b = new Solver(mk(), data, { ...quiet, numEpochs: 1, batchSize: 10 }).train().lossHistory;
    expect(a).toEqual(b);
  });

  test('checkAccuracy: batches, subsampling with replacement, a non-multiple of batchSize', () => {
    const N = 25;
    const X = fromData(Float64Array.from({ length: N }, (_, i) => i), [N, 1]);
    const y = intArray(Array.from({ length: N }, (_, i) => (i % 3 === 0 ? 1 : 0)));
    const sizes: number[] = [];
    const model: Model = {
      params: {},
      loss: (Xb: Tensor) => {
        sizes.push(Xb.shape[0]);
        // Predicts class 1 for every row.
        return fromData(Float64Array.from({ length: 2 * Xb.shape[0] }, (_, k) => k % 2), [Xb.shape[0], 2]);
      },
    };
    const s = new Solver(model, { XTrain: X, yTrain: y, XVal: X, yVal: y }, { ...quiet, seed: 3 });
    // The constructor scores one training row to learn the class count.
    expect(sizes).toEqual([1]);
    sizes.length = 0;
    expect(s.checkAccuracy(X, y, { batchSize: 10 })).toBeCloseTo(9 / 25, 15);
    expect(sizes).toEqual([10, 10, 5]);
    const idx = new RandomState(3).choice(N, 7).data;
    const expected = Array.from(idx).filter((i) => i % 3 === 0).length / 7;
    expect(s.checkAccuracy(X, y, { numSamples: 7 })).toBeCloseTo(expected, 15);
  });

  test('verbose lines go to print in cs231n format', () => {
    const lines: string[] = [];
    const s = new Solver(new StepModel(2), stepData(), { optimConfig: { learningRate: 1 }, numEpochs: 2, batchSize: 2, seed: 0, printEvery: 1, print: (l) => lines.push(l), progress: false });
    s.train();
    expect(lines[0]).toBe('(Iteration 1 / 4) loss: 1.000000');
    expect(lines[1]).toBe('(Epoch 0 / 2) train acc: 0.000000; val_acc: 0.000000');
    expect(lines).toContain('(Epoch 1 / 2) train acc: 1.000000; val_acc: 1.000000');
  });

  test('a NaN or infinite loss stops training with an error naming the iteration', () => {
    for (const bad of [Number.NaN, Number.POSITIVE_INFINITY]) {
      const model = new StepModel(0, (w) => (w >= 2 ? bad : 1));
      const s = new Solver(model, stepData(), { ...quiet, optimConfig: { learningRate: 1 }, numEpochs: 10, batchSize: 4, seed: 0 });
      let err: unknown;
      try {
        s.train();
      } catch (e) {
        err = e;
      }
      expect(err).toBeInstanceOf(TrainingDivergedError);
      expect((err as TrainingDivergedError).iteration).toBe(3);
      expect((err as Error).message).toMatch(new RegExp(`loss became ${bad} at iteration 3 / 10 \\(epoch 3 of 10\\).*learningRate is 1`));
      expect(s.lossHistory).toEqual([1, 1]);
      expect(model.params.w.data[0]).toBe(2);
    }
  });
});

describe('options and inputs', () => {
  const data = toyData(6);
  const model = () => new FullyConnectedNet({ hiddenDims: [3], inputDim: 8, numClasses: 3, rng: new RandomState(0) });

  test('unknown options throw, listing the known ones (with a hint for snake_case)', () => {
    expect(() => new Solver(model(), data, { learningRate: 1 } as never)).toThrow(/Solver: unrecognized option "learningRate"; known options: updateRule, optimConfig, lrDecay, batchSize/);
    expect(() => new Solver(model(), data, { batch_size: 10, foo: 1 } as never)).toThrow(/unrecognized options "batch_size", "foo" \(batch_size is spelled batchSize here\); known options:/);
  });

  test('unknown update rule names list the known rules', () => {
    expect(() => new Solver(model(), data, { updateRule: 'adamw' })).toThrow(/updateRule: unknown update rule "adamw"; known rules: sgd, sgdMomentum, rmsprop, adam/);
    expect(new Solver(model(), data, { updateRule: 'sgd_momentum' }).options.updateRuleName).toBe('sgdMomentum');
  });

  test('bad option values and data name the argument', () => {
    expect(() => new Solver(model(), data, { batchSize: 0 })).toThrow(/batchSize: expected a positive integer, got 0/);
    expect(() => new Solver(model(), data, { numEpochs: -1 })).toThrow(/numEpochs/);
    expect(() => new Solver(model(), data, { numTrainSamples: 2.5 })).toThrow(/numTrainSamples/);
    expect(() => new Solver(model(), data, { lrDecay: Number.NaN })).toThrow(/lrDecay/);
    expect(() => new Solver(model(), data, { rng: new RandomState(0), seed: 1 })).toThrow(/rng, seed/);
    expect(() => new Solver(model(), { ...data, yTrain: intArray([1, 2]) })).toThrow(/data\.yTrain: expected shape \(40,\) to match data\.XTrain/);
    expect(() => new Solver(model(), { XTrain: data.XTrain } as never)).toThrow(/data\.yTrain/);
    expect(() => new Solver({ params: {} } as never, data)).toThrow(/model: expected an object with params/);
  });
});

describe('checkpoints', () => {
  const mkModel = () => new FullyConnectedNet({ hiddenDims: [6, 5], inputDim: 8, numClasses: 3, normalization: 'batchnorm', dropoutKeepRatio: 0.8, weightScale: 0.2, dtype: 'float64', rng: new RandomState(11) });
  const opts = { ...quiet, updateRule: 'adam', optimConfig: { learningRate: 5e-3 }, lrDecay: 0.9, numEpochs: 4, batchSize: 10, numTrainSamples: 15 };

  test('one checkpoint per accuracy check, named <name>_epoch_<e>.ckpt, holding the state of that moment', () => {
    const dir = tmpDir();
    const data = toyData(7);
    random.seed(0);
    const s = new Solver(mkModel(), data, { ...opts, checkpointName: path.join(dir, 'net') });
    s.train();
    expect(fs.readdirSync(dir).sort()).toEqual(['net_epoch_0.ckpt', 'net_epoch_1.ckpt', 'net_epoch_2.ckpt', 'net_epoch_3.ckpt', 'net_epoch_4.ckpt']);
    const ck = loadCheckpoint(path.join(dir, 'net_epoch_4.ckpt'));
    expect(ck.updateRule).toBe('adam');
    expect(ck.epoch).toBe(4);
    expect(ck.iteration).toBe(16);
    expect(ck.lossHistory).toEqual(s.lossHistory);
    expect(ck.valAccHistory).toEqual(s.valAccHistory);
    expect(Object.keys(ck.params)).toEqual(Object.keys(s.model.params));
    expect(Object.keys(ck.optimConfigs.W1).sort()).toEqual(['beta1', 'beta2', 'epsilon', 'learningRate', 'm', 't', 'v']);
    expect(ck.optimConfigs.W1.t).toBe(16);
    expect(ck.optimConfigs.W1.learningRate).toBeCloseTo(5e-3 * 0.9 ** 4, 15);
    expect(Object.keys(ck.buffers)).toEqual(['bn1.runningMean', 'bn1.runningVar', 'bn2.runningMean', 'bn2.runningVar']);
    expect(Array.from(ck.bestParams.W1.data)).toEqual(Array.from(s.bestParams.W1.data));
    expect(ck.rngState?.key).toHaveLength(624);
  });

  test('resume: a run restored from the epoch-2 checkpoint continues exactly like the uninterrupted run', () => {
    const dir = tmpDir();
    const data = toyData(8);
    random.seed(1);
    const full = new Solver(mkModel(), data, { ...opts, checkpointName: path.join(dir, 'a') });
    full.train();
    // Fresh model and solver; everything (params, Adam state, BN running stats, histories, the
    // generator that draws minibatches and dropout masks) comes from the file.
    random.seed(12345);
    const model = mkModel();
    const resumed = Solver.fromCheckpoint(path.join(dir, 'a_epoch_2.ckpt'), model, data, { verbose: false, progress: false });
    expect(resumed.iteration).toBe(8);
    expect(resumed.lossHistory).toEqual(full.lossHistory.slice(0, 8));
    resumed.train();
    expect(resumed.lossHistory).toEqual(full.lossHistory);
    expect(resumed.valAccHistory).toEqual(full.valAccHistory);
    for (const k of Object.keys(full.model.params)) expect(Array.from(model.params[k].data)).toEqual(Array.from(full.model.params[k].data));
    // restore() on an existing solver does the same.
    random.seed(999);
    const again = new Solver(mkModel(), data, opts).restore(path.join(dir, 'a_epoch_2.ckpt'));
    again.train();
    expect(again.lossHistory).toEqual(full.lossHistory);
    // More epochs than the checkpoint's run: options passed to fromCheckpoint win.
    const longer = Solver.fromCheckpoint(path.join(dir, 'a_epoch_4.ckpt'), mkModel(), data, { numEpochs: 5, verbose: false, progress: false });
    longer.train();
    expect(longer.lossHistory).toHaveLength(20);
  });

  test('restore rejects a checkpoint of a different model, and a custom rule must be passed again', () => {
    const dir = tmpDir();
    const data = toyData(9);
    const file = path.join(dir, 'x.ckpt');
    new Solver(mkModel(), data, { ...opts, seed: 0 }).saveCheckpoint(file);
    const other = new FullyConnectedNet({ hiddenDims: [7], inputDim: 8, numClasses: 3, rng: new RandomState(0) });
    expect(() => new Solver(other, data, quiet).restore(file)).toThrow(/x\.ckpt: checkpoint parameters \(W1, b1, gamma1.*\) do not match the model's \(W1, b1, W2, b2\)/);
    const custom = path.join(dir, 'custom.ckpt');
    const myRule = (w: Tensor, dw: Tensor, c?: OptimConfig) => sgd(w, dw, c);
    new Solver(mkModel(), data, { ...quiet, updateRule: myRule }).saveCheckpoint(custom);
    expect(() => Solver.fromCheckpoint(custom, mkModel(), data, quiet)).toThrow(/custom\.ckpt: the checkpoint was trained with update rule "myRule".*pass it again as options\.updateRule/);
    expect(Solver.fromCheckpoint(custom, mkModel(), data, { ...quiet, updateRule: myRule }).iteration).toBe(0);
  });

  test('a checkpoint cut short fails to load with an error naming the file (any truncation length)', () => {
    const dir = tmpDir();
    const file = path.join(dir, 'good.ckpt');
    const s = new Solver(mkModel(), toyData(10), { ...opts, seed: 0 });
    s.step();
    s.saveCheckpoint(file);
    const bytes = fs.readFileSync(file);
    const cut = path.join(dir, 'cut.ckpt');
    fc.assert(
      fc.property(fc.integer({ min: 0, max: bytes.length - 1 }), (len) => {
        fs.writeFileSync(cut, bytes.subarray(0, len));
        expect(() => loadCheckpoint(cut)).toThrow(CheckpointError);
        expect(() => loadCheckpoint(cut)).toThrow(new RegExp(`^${cut.replace(/[.*+?^${}()|[\]\\/]/g, '\\$&')}: checkpoint is truncated: ${len} bytes`));
      }),
      { numRuns: 60 },
    );
    for (const len of [0, 23, 24, 100, bytes.length - 32, bytes.length - 1]) {
      fs.writeFileSync(cut, bytes.subarray(0, len));
      expect(() => loadCheckpoint(cut)).toThrow(/truncated/);
    }
    expect(loadCheckpoint(file).iteration).toBe(1);
  });

  test('corrupt bytes, a foreign file, trailing bytes and a missing file are reported with the file name', () => {
    const dir = tmpDir();
    const file = path.join(dir, 'c.ckpt');
    new Solver(mkModel(), toyData(10), { ...opts, seed: 0 }).saveCheckpoint(file);
    const bytes = fs.readFileSync(file);
    const bad = path.join(dir, 'bad.ckpt');
    const flipped = Buffer.from(bytes);
    flipped[bytes.length - 100] ^= 0x40;
    fs.writeFileSync(bad, flipped);
    expect(() => loadCheckpoint(bad)).toThrow(/bad\.ckpt: checkpoint is corrupt: SHA-256 checksum mismatch/);
    fs.writeFileSync(bad, Buffer.concat([bytes, Buffer.from([0])]));
    expect(() => loadCheckpoint(bad)).toThrow(/bad\.ckpt: checkpoint has 1 unexpected trailing bytes/);
    fs.writeFileSync(bad, Buffer.from('PK\x03\x04 this is a zip file, not a checkpoint at all'));
    expect(() => loadCheckpoint(bad)).toThrow(/bad\.ckpt: not a cs231n-ts checkpoint: expected magic "CS231NCK"/);
    expect(() => loadCheckpoint(path.join(dir, 'nope.ckpt'))).toThrow(/nope\.ckpt: cannot read checkpoint \(ENOENT\)/);
  });

  test('a crash while writing leaves the previous checkpoint intact and loadable', () => {
    const dir = tmpDir();
    const file = path.join(dir, 'net_epoch_1.ckpt');
    const s = new Solver(mkModel(), toyData(11), { ...opts, seed: 0 });
    s.step();
    s.saveCheckpoint(file);
    const before = fs.readFileSync(file);
    s.step();
    // Crash in the middle of writing the bytes: half of them reach the disk, then the write dies.
    const write = jest.spyOn(fs, 'writeSync').mockImplementation(((fd: number, buf: Uint8Array) => {
      fs.writeFileSync(fd, buf.subarray(0, buf.length >> 1));
      throw new Error('simulated crash during write');
    }) as never);
    try {
      expect(() => s.saveCheckpoint(file)).toThrow(/simulated crash during write/);
    } finally {
      write.mockRestore();
    }
    expect(fs.readFileSync(file).equals(before)).toBe(true);
    expect(loadCheckpoint(file).iteration).toBe(1);
    expect(fs.readdirSync(dir)).toEqual(['net_epoch_1.ckpt']);
    // Crash after the bytes are written but before the rename: same outcome.
    const rename = jest.spyOn(fs, 'renameSync').mockImplementation(() => {
      throw new Error('simulated crash before rename');
    });
    try {
      expect(() => s.saveCheckpoint(file)).toThrow(/simulated crash before rename/);
    } finally {
      rename.mockRestore();
    }
    expect(fs.readFileSync(file).equals(before)).toBe(true);
    // A process killed outright leaves its temporary file behind; loading ignores it.
    fs.writeFileSync(path.join(dir, '.net_epoch_1.ckpt.123.456.tmp'), before.subarray(0, 50));
    expect(loadCheckpoint(file).iteration).toBe(1);
    s.saveCheckpoint(file);
    expect(loadCheckpoint(file).iteration).toBe(2);
  });

  test('the container stores float64/float32/int32/uint32 arrays bit-exactly, strided views densified', () => {
    const rng = new RandomState(0);
    const a = rng.randn(3, 4);
    const t = a.transpose(1, 0) as Tensor;
    const f32 = fromData(Float32Array.from([1.5, -2.25, 3e-20]), [3]);
    const i32 = intArray([-5, 7, 2147483647]);
    const u32 = fromData(Uint32Array.from([0, 4294967295]), [2]);
    const enc = encodeArrayFile({ hello: [1, 'x'] }, { a, t, f32, i32, u32 } as never);
    expect(enc.length % 8).toBe(0);
    const { meta, arrays } = decodeArrayFile(enc, 'mem');
    expect(meta).toEqual({ hello: [1, 'x'] });
    expect(Array.from(arrays.a.data)).toEqual(Array.from(a.data));
    expect(arrays.t.shape).toEqual([4, 3]);
    expect(arrays.t.get(2, 1)).toBe(a.get(1, 2));
    expect(arrays.f32.data).toBeInstanceOf(Float32Array);
    expect(Array.from(arrays.f32.data)).toEqual(Array.from(f32.data));
    expect(Array.from(arrays.i32.data)).toEqual([-5, 7, 2147483647]);
    expect(Array.from(arrays.u32.data)).toEqual([0, 4294967295]);
    // The fixed prefix: magic, version 1, header length, payload length.
    const b = Buffer.from(enc);
    expect(b.toString('latin1', 0, 8)).toBe('CS231NCK');
    expect(b.readUInt32LE(8)).toBe(1);
    expect(24 + b.readUInt32LE(12)).toBeLessThanOrEqual(b.length);
  });

  test('saveCheckpoint refuses optimizer entries that cannot be stored', () => {
    const s = new Solver(mkModel(), toyData(12), { ...opts, seed: 0 });
    s.optimConfigs.W1 = { ...s.optimConfigs.W1, learningRate: Number.NaN };
    expect(() => saveCheckpoint(path.join(tmpDir(), 'x.ckpt'), s.snapshot())).toThrow(/optimConfigs\.W1\.learningRate: cannot be saved/);
  });
});
