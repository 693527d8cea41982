import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import ndarray from 'ndarray';
import { RandomState } from '../src/core/random';
import type { Tensor } from '../src/core/tensor';
import { Module } from '../src/nn/module';
import { Parameter } from '../src/nn/parameter';
import { CheckpointError } from '../src/solver/arrayFile';
import { loadSafetensors } from '../src/data/safetensors';
import { CosineAnnealingLR, DataLoader, fit, NonFiniteLossError, randomHorizontalFlip, SGD, type Transform } from '../src/training';

/** A linear softmax classifier on flattened images, forward and backward by hand. */
class Linear extends Module {
  readonly weight: Parameter;
  readonly bias: Parameter;
  constructor(readonly inputs: number, readonly classes: number, seed: number) {
    super();
    const r = new RandomState(seed);
    this.weight = this.addParameter('weight', new Parameter(ndarray(Float64Array.from(r.randn(inputs * classes).data, (v) => 0.01 * v), [inputs, classes])));
    this.bias = this.addParameter('bias', new Parameter(ndarray(new Float64Array(classes), [classes])));
  }
  forward(x: Tensor): Tensor {
    const N = x.shape[0];
    const D = this.inputs;
    const K = this.classes;
    const w = this.weight.data.data;
    const out = new Float64Array(N * K);
    for (let n = 0; n < N; n++) for (let k = 0; k < K; k++) {
      let s = this.bias.data.data[k];
      for (let d = 0; d < D; d++) s += x.data[n * D + d] * w[d * K + k];
      out[n * K + k] = s;
    }
    this.saveForBackward(Float64Array.from(x.data.subarray(0, N * D)));
    return ndarray(out, [N, K]);
  }
  backward(dout: Tensor): Tensor {
    const x = this.popCache<Float64Array>();
    const K = this.classes;
    const D = this.inputs;
    const N = dout.shape[0];
    const dw = new Float64Array(D * K);
    const db = new Float64Array(K);
    const dx = new Float64Array(N * D);
    for (let n = 0; n < N; n++) for (let k = 0; k < K; k++) {
      const g = dout.data[n * K + k];
      db[k] += g;
      for (let d = 0; d < D; d++) {
        dw[d * K + k] += x[n * D + d] * g;
        dx[n * D + d] += this.weight.data.data[d * K + k] * g;
      }
    }
    this.weight.accumulate(ndarray(dw, [D, K]));
    this.bias.accumulate(ndarray(db, [K]));
    return ndarray(dx, [N, 1, 4, 4]);
  }
}

/** 4×4 grey images: class 0 is bright on top, class 1 bright at the bottom (a flip keeps the class). */
function dataset(n: number, seed: number): { X: ndarray.NdArray<Uint8Array>; y: ndarray.NdArray<Int32Array> } {
  const r = new RandomState(seed);
  const X = new Uint8Array(n * 16);
  const y = new Int32Array(n);
  for (let i = 0; i < n; i++) {
    y[i] = i % 2;
    for (let p = 0; p < 16; p++) {
      const top = p < 8;
      X[i * 16 + p] = (top === (y[i] === 0) ? 150 : 60) + r.randint(0, 100);
    }
  }
  return { X: ndarray(X, [n, 4, 4, 1]), y: ndarray(y, [n]) };
}

const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'cs231n-fit-'));
afterAll(() => fs.rmSync(tmp, { recursive: true, force: true }));

function setup(transform?: Transform) {
  const tr = dataset(64, 1);
  const te = dataset(32, 2);
  const model = new Linear(16, 2, 3);
  const optimizer = new SGD([{ params: [model.weight], weightDecay: 5e-4 }, { params: [model.bias], weightDecay: 0 }], { lr: 0.1, momentum: 0.9, nesterov: true });
  const scheduler = new CosineAnnealingLR(optimizer, { tMax: 4 });
  const train = new DataLoader(tr.X, tr.y, { batchSize: 10, shuffle: true, seed: 11, dtype: 'float64', transform: transform ?? randomHorizontalFlip() });
  const test = new DataLoader(te.X, te.y, { batchSize: 16, dtype: 'float64' });
  return { model, optimizer, scheduler, train, test };
}

describe('fit', () => {
  test('learns the toy task; history, lr schedule and best accuracy are recorded', () => {
    const s = setup();
    const r = fit(s.model, { ...s, epochs: 4, progress: false });
    expect(r.history.map((h) => h.epoch)).toEqual([1, 2, 3, 4]);
    expect(r.stopReason).toBe('completed');
    expect(r.history[3].testAccuracy).toBeGreaterThanOrEqual(0.9);
    expect(r.history[3].trainLoss).toBeLessThan(r.history[0].trainLoss);
    expect(r.bestTestAccuracy).toBe(Math.max(...r.history.map((h) => h.testAccuracy as number)));
    // The cosine schedule steps once per epoch: lr during epoch e is 0.05·(1 + cos(π(e−1)/4)).
    r.history.forEach((h) => expect(h.lr).toBeCloseTo(0.05 * (1 + Math.cos((Math.PI * (h.epoch - 1)) / 4)), 15));
    expect(s.model.training).toBe(true);
  });

  test('a run stopped after epoch 1 and resumed ends with the same bits as an uninterrupted 3-epoch run', () => {
    const a = setup();
    const full = fit(a.model, { ...a, epochs: 3, progress: false, checkpointDir: path.join(tmp, 'full') });
    const b = setup();
    fit(b.model, { ...b, epochs: 1, progress: false, checkpointDir: path.join(tmp, 'split') });
    const c = setup(); // fresh objects: everything comes from the checkpoint
    const resumed = fit(c.model, { ...c, epochs: 3, progress: false, checkpointDir: path.join(tmp, 'split'), resume: true });
    expect(Array.from(c.model.weight.data.data)).toEqual(Array.from(a.model.weight.data.data));
    expect(Array.from(c.model.bias.data.data)).toEqual(Array.from(a.model.bias.data.data));
    expect(resumed.history.map((h) => [h.trainLoss, h.testAccuracy, h.lr])).toEqual(full.history.map((h) => [h.trainLoss, h.testAccuracy, h.lr]));
    expect(c.optimizer.lr).toBe(a.optimizer.lr);
  });

  test('the checkpoint directory holds model.safetensors (the live weights) beside training.ckpt, and prev/ the epoch before', () => {
    const dir = path.join(tmp, 'layout');
    const a = setup();
    fit(a.model, { ...a, epochs: 2, progress: false, checkpointDir: dir });
    const { tensors, metadata } = loadSafetensors(path.join(dir, 'model.safetensors'));
    expect(Object.keys(tensors)).toEqual(['bias', 'weight']);
    expect(Array.from(tensors.weight.data)).toEqual(Array.from(a.model.weight.data.data));
    expect(metadata.epoch).toBe('2');
    expect(loadSafetensors(path.join(dir, 'prev', 'model.safetensors')).metadata.epoch).toBe('1');
    expect(fs.existsSync(path.join(dir, 'prev', 'training.ckpt'))).toBe(true);
    expect(fs.readdirSync(dir).sort()).toEqual(['model.safetensors', 'prev', 'training.ckpt']); // no temporary files left
  });

  test('a cut-short or corrupted checkpoint is refused with a clear error; the previous one still resumes bit-exactly', () => {
    const dir = path.join(tmp, 'bad');
    const ref = setup();
    fit(ref.model, { ...ref, epochs: 3, progress: false });
    const a = setup();
    fit(a.model, { ...a, epochs: 2, progress: false, checkpointDir: dir });
    const resume = () => {
      const b = setup();
      return fit(b.model, { ...b, epochs: 3, progress: false, checkpointDir: dir, resume: true });
    };
    const modelFile = path.join(dir, 'model.safetensors');
    const stateFile = path.join(dir, 'training.ckpt');
    const model = fs.readFileSync(modelFile);
    const state = fs.readFileSync(stateFile);
    fs.writeFileSync(modelFile, model.subarray(0, model.length - 40));
    expect(resume).toThrow(/model\.safetensors: model weights are \d+ bytes, .*training\.ckpt \(epoch 2\) says \d+: the file was cut short .*previous checkpoint .*prev is still usable/);
    const flipped = Buffer.from(model);
    flipped[flipped.length - 3] ^= 0x10; // inside a weight: safetensors itself would accept it
    fs.writeFileSync(modelFile, flipped);
    expect(resume).toThrow(/model\.safetensors: model weights are corrupt or from another epoch: SHA-256/);
    fs.rmSync(modelFile);
    expect(resume).toThrow(/model\.safetensors: cannot read the model weights \(ENOENT\)/);
    // A crash between the two writes: the model of epoch 1 beside the state of epoch 2.
    fs.copyFileSync(path.join(dir, 'prev', 'model.safetensors'), modelFile);
    expect(resume).toThrow(/model weights are corrupt or from another epoch/);
    fs.writeFileSync(modelFile, model);
    fs.writeFileSync(stateFile, state.subarray(0, state.length - 100));
    expect(resume).toThrow(/training\.ckpt: checkpoint is truncated/);
    const bad = Buffer.from(state);
    bad[bad.length - 200] ^= 0xff;
    fs.writeFileSync(stateFile, bad);
    expect(resume).toThrow(CheckpointError);
    // Refused checkpoints changed nothing: the previous one (epoch 1) resumes to the uninterrupted run's bits.
    const c = setup();
    const r = fit(c.model, { ...c, epochs: 3, progress: false, checkpointDir: dir, resume: path.join(dir, 'prev') });
    expect(r.history.map((h) => h.epoch)).toEqual([1, 2, 3]);
    expect(Array.from(c.model.weight.data.data)).toEqual(Array.from(ref.model.weight.data.data));
    expect(Array.from(c.model.bias.data.data)).toEqual(Array.from(ref.model.bias.data.data));
    // …and the run from it wrote a good checkpoint again.
    const d = setup();
    expect(fit(d.model, { ...d, epochs: 3, progress: false, checkpointDir: dir, resume: true }).epochsDone).toBe(3);
  });

  test('a checkpoint of another optimizer or model is refused naming the mismatch', () => {
    const dir = path.join(tmp, 'other');
    const a = setup();
    fit(a.model, { ...a, epochs: 1, progress: false, checkpointDir: dir });
    const b = setup();
    const wider = new Linear(16, 3, 3);
    const opt = new SGD(wider.parameters(), { lr: 0.1 });
    expect(() => fit(wider, { ...b, optimizer: opt, scheduler: undefined, epochs: 2, checkpointDir: dir, resume: true, progress: false })).toThrow(/scheduler: the checkpoint holds a CosineAnnealingLR, the run has none/);
    const sched = new CosineAnnealingLR(opt, { tMax: 4 });
    expect(() => fit(wider, { ...b, optimizer: opt, scheduler: sched, epochs: 2, checkpointDir: dir, resume: true, progress: false })).toThrow(/does not fit this run: .*weight: expected \(16, 3\), got \(16, 2\)/);
  });

  test('NaN loss from non-finite inputs is reported as such', () => {
    const poison: Transform = (x) => {
      x.data[5] = NaN;
      return x;
    };
    const s = setup(poison);
    expect(() => fit(s.model, { ...s, epochs: 1, progress: false })).toThrow(/inputs went non-finite \(input element 5 of the batch is NaN\)/);
  });

  test('NaN loss from non-finite parameters names them', () => {
    const s = setup();
    s.model.bias.data.data[1] = Infinity;
    let err: unknown;
    try {
      fit(s.model, { ...s, epochs: 1, progress: false });
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(NonFiniteLossError);
    expect((err as Error).message).toMatch(/epoch 1, batch 1 because the parameters went non-finite \(bias\)/);
  });

  test('timeBudget stops after the epoch in progress', () => {
    const s = setup();
    const r = fit(s.model, { ...s, epochs: 5, timeBudget: 1e-9, progress: false });
    expect(r.stopReason).toBe('timeBudget');
    expect(r.history.length).toBe(1);
  });
});
