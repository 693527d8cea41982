import ndarray from 'ndarray';
import { allocFloat } from '../src/core/dtype';
import { workerStats } from '../src/core/gemm/workers';
import { Parameter } from '../src/nn/parameter';
import { Adagrad, Adam, AdamW, RMSprop, SGD, type Optimizer } from '../src/training';
import fixture from './fixtures/training/optimizers.json';
import { withThreads } from './threads';

type Case = (typeof fixture.cases)[number];
const CLASSES = { SGD, Adam, AdamW, RMSprop, Adagrad } as const;
const { X, y } = fixture;
const N = X.length;
const D = X[0].length;
const C = fixture.W0[0].length;

function makeParams(): { W: Parameter; b: Parameter; unused: Parameter } {
  return {
    W: new Parameter(ndarray(Float64Array.from(fixture.W0.flat()), [D, C])),
    b: new Parameter(ndarray(Float64Array.from(fixture.b0), [C])),
    unused: new Parameter(ndarray(new Float64Array([1, 1]), [2])),
  };
}

/** Mean cross-entropy of softmax(X W + b) and its gradient, written out by hand. */
function setGrads(W: Parameter, b: Parameter): void {
  const w = W.data.data;
  const bb = b.data.data;
  const dW = new Float64Array(D * C);
  const db = new Float64Array(C);
  const z = new Float64Array(C);
  for (let n = 0; n < N; n++) {
    let m = -Infinity;
    for (let c = 0; c < C; c++) {
      let s = bb[c];
      for (let d = 0; d < D; d++) s += X[n][d] * w[d * C + c];
      z[c] = s;
      m = Math.max(m, s);
    }
    let sum = 0;
    for (let c = 0; c < C; c++) sum += Math.exp(z[c] - m);
    for (let c = 0; c < C; c++) {
      const g = (Math.exp(z[c] - m) / sum - (c === y[n] ? 1 : 0)) / N;
      db[c] += g;
      for (let d = 0; d < D; d++) dW[d * C + c] += X[n][d] * g;
    }
  }
  W.grad = ndarray(dW, [D, C]);
  b.grad = ndarray(db, [C]);
}

function build(c: Case, p: ReturnType<typeof makeParams>): Optimizer<any> {
  const Ctor = CLASSES[c.optimizer as keyof typeof CLASSES] as unknown as new (params: unknown, opts: unknown) => Optimizer<any>;
  const params = c.groups ? [{ params: [p.W, p.unused], ...c.groups[0] }, { params: [p.b], ...c.groups[1] }] : [p.W, p.b, p.unused];
  return new Ctor(params, c.options);
}

function expectClose(actual: ArrayLike<number>, expected: number[], what: string): void {
  expect(actual.length).toBe(expected.length);
  let worst = 0;
  for (let i = 0; i < expected.length; i++) worst = Math.max(worst, Math.abs(actual[i] - expected[i]) / Math.max(1, Math.abs(expected[i])));
  if (!(worst <= 1e-12)) throw new Error(`${what}: max relative difference ${worst} > 1e-12`);
}

describe('optimizers equal PyTorch 1.13 on a softmax regression over 60 steps', () => {
  test.each(fixture.cases.map((c) => [c.name, c] as const))('%s', (_name, c) => {
    const p = makeParams();
    const opt = build(c, p);
    let k = 0;
    for (let step = 1; step <= fixture.steps; step++) {
      opt.zeroGrad();
      setGrads(p.W, p.b);
      opt.step();
      if (c.snapshots[k]?.step === step) {
        expectClose(p.W.data.data, c.snapshots[k].W, `${c.name} W after step ${step}`);
        expectClose(p.b.data.data, c.snapshots[k].b, `${c.name} b after step ${step}`);
        k++;
      }
    }
    expect(k).toBe(c.snapshots.length);
    // The unused parameter never had a gradient: untouched and, except for Adagrad, stateless.
    expect(Array.from(p.unused.data.data)).toEqual(c.unused);
    const sd = opt.stateDict();
    expect(Object.keys(sd.state).sort()).toEqual(Object.keys(c.state).sort());
    for (const [idx, st] of Object.entries(c.state)) {
      const mine = sd.state[Number(idx)];
      expect(Object.keys(mine).sort()).toEqual(Object.keys(st).sort());
      for (const [key, v] of Object.entries(st as Record<string, number | number[] | null>)) {
        if (v === null || typeof v === 'number') expect(mine[key]).toBe(v);
        else expectClose((mine[key] as ndarray.NdArray<Float64Array>).data, v, `${c.name} state[${idx}].${key}`);
      }
    }
  });
});

describe('optimizer state dicts', () => {
  test.each(fixture.cases.map((c) => [c.name, c] as const))('%s: save after 25 steps, load into a fresh optimizer, continue: same bits as uninterrupted', (_n, c) => {
    const a = makeParams();
    const optA = build(c, a);
    for (let i = 0; i < 40; i++) {
      optA.zeroGrad();
      setGrads(a.W, a.b);
      optA.step();
    }
    const b = makeParams();
    let optB = build(c, b);
    for (let i = 0; i < 25; i++) {
      optB.zeroGrad();
      setGrads(b.W, b.b);
      optB.step();
    }
    // Round-trip through JSON-like copies: the dict must not share storage with the live state.
    const sd = optB.stateDict();
    optB.zeroGrad();
    setGrads(b.W, b.b);
    optB.step(); // changes optB's state; sd must not follow
    // A fresh optimizer over parameters brought to the same step-25 values by a replay.
    const b2 = makeParams();
    optB = build(c, b2);
    const replay = build(c, b2);
    for (let i = 0; i < 25; i++) {
      replay.zeroGrad();
      setGrads(b2.W, b2.b);
      replay.step();
    }
    optB.loadStateDict(sd);
    for (let i = 25; i < 40; i++) {
      optB.zeroGrad();
      setGrads(b2.W, b2.b);
      optB.step();
    }
    expect(Array.from(b2.W.data.data)).toEqual(Array.from(a.W.data.data));
    expect(Array.from(b2.b.data.data)).toEqual(Array.from(a.b.data.data));
  });
});

describe('optimizer behaviour', () => {
  const p = (v: number[]): Parameter => new Parameter(ndarray(Float64Array.from(v), [v.length]));

  test('bad options are refused with the option and its value named', () => {
    expect(() => new SGD([p([1])], { lr: -0.1 })).toThrow(/SGD: options\.lr: expected a finite number >= 0, got -0\.1/);
    expect(() => new SGD([p([1])], { lr: 0.1, nesterov: true })).toThrow(/nesterov.*momentum > 0 and dampening 0, got momentum 0/);
    expect(() => new SGD([p([1])], { lr: 0.1, weightDecay: NaN })).toThrow(/weightDecay: expected a finite number >= 0, got NaN/);
    expect(() => new Adam([p([1])], { betas: [0.9, 1] })).toThrow(/Adam: options\.betas: expected two numbers in \[0, 1\), got \[0\.9,1\]/);
    expect(() => new Adam([p([1])], { eps: -1 })).toThrow(/eps: expected a finite number >= 0, got -1/);
    expect(() => new RMSprop([p([1])], { alpha: -0.5 })).toThrow(/alpha/);
    expect(() => new Adagrad([p([1])], { lrDecay: -1 })).toThrow(/lrDecay: expected a finite number >= 0, got -1/);
    expect(() => new SGD([{ params: [p([1])], lr: -1 }], { lr: 0.1 })).toThrow(/SGD: paramGroups\[0\]\.lr: expected a finite number >= 0, got -1/);
    expect(() => new SGD([{ params: [p([1])], weight_decay: 1 } as never], { lr: 0.1 })).toThrow(/paramGroups\[0\]\.weight_decay: unknown option/);
    const q = p([1]);
    expect(() => new SGD([{ params: [q] }, { params: [q] }], { lr: 0.1 })).toThrow(/paramGroups\[1\]\.params\[0\]: this parameter is already in a parameter group/);
    expect(() => new SGD([], { lr: 0.1 })).toThrow(/params: expected at least one parameter/);
    const opt = new SGD([q], { lr: 0.1 });
    expect(() => {
      opt.lr = -1;
    }).toThrow(/lr: expected a finite number >= 0, got -1/);
  });

  test('lr reads the first group and sets every group', () => {
    const opt = new SGD([{ params: [p([1])] }, { params: [p([2])], lr: 0.5 }], { lr: 0.1 });
    expect(opt.lr).toBe(0.1);
    expect(opt.paramGroups.map((g) => g.lr)).toEqual([0.1, 0.5]);
    opt.lr = 0.01;
    expect(opt.paramGroups.map((g) => g.lr)).toEqual([0.01, 0.01]);
  });

  test('parameters that do not require gradients or have none are skipped, with no state', () => {
    const frozen = p([1, 2]);
    frozen.requiresGrad = false;
    frozen.grad = ndarray(new Float64Array([1, 1]), [2]);
    const noGrad = p([3]);
    const live = p([4]);
    live.grad = ndarray(new Float64Array([2]), [1]);
    const opt = new Adam([frozen, noGrad, live], { lr: 0.1, weightDecay: 0.1 });
    opt.step();
    expect(Array.from(frozen.data.data)).toEqual([1, 2]);
    expect(Array.from(noGrad.data.data)).toEqual([3]);
    expect(live.data.data[0]).toBeCloseTo(4 - 0.1, 8); // Adam's first step moves by lr·sign(g), up to ε
    expect(Object.keys(opt.stateDict().state)).toEqual(['2']);
  });

  test('zeroGrad clears to null by default, or fills with zeros', () => {
    const a = p([1]);
    a.grad = ndarray(new Float64Array([3]), [1]);
    const opt = new SGD([a], { lr: 1 });
    opt.zeroGrad({ setToNone: false });
    expect(Array.from(a.grad!.data)).toEqual([0]);
    opt.zeroGrad();
    expect(a.grad).toBeNull();
  });

  test('float32 parameters are updated in place in float32, with float32 state', () => {
    const a = new Parameter(ndarray(new Float32Array([1, -2]), [2]));
    const store = a.data.data;
    a.grad = ndarray(new Float32Array([0.5, 0.25]), [2]);
    const opt = new SGD([a], { lr: 0.1, momentum: 0.9 });
    opt.step();
    opt.step();
    expect(a.data.data).toBe(store);
    expect(store[0]).toBe(Math.fround(Math.fround(1 - 0.1 * 0.5) - 0.1 * Math.fround(0.9 * 0.5 + 0.5)));
    const buf = opt.stateDict().state[0].momentum_buffer as ndarray.NdArray<Float32Array>;
    expect(buf.data).toBeInstanceOf(Float32Array);
  });

  test('the momentum step of a large parameter runs on every thread with the bits of one, in both dtypes', () => {
    // 600k elements: above the pool's threshold, so the update is cut into ranges across threads.
    const n = 600_000;
    for (const dtype of ['float32', 'float64'] as const) {
      const run = (threads: string) => withThreads(threads, () => {
        const w0 = allocFloat(dtype, n);
        for (let i = 0; i < n; i++) w0[i] = Math.sin(i) * 3;
        const a = new Parameter(ndarray(w0, [n]));
        const opt = new SGD([a], { lr: 0.05, momentum: 0.9 });
        const before = workerStats().threadedJobs;
        for (let step = 0; step < 3; step++) {
          const g = allocFloat(dtype, n);
          for (let i = 0; i < n; i++) g[i] = Math.cos(i * (step + 1)) + (i % 7 === 0 ? 1e-30 : 0);
          a.grad = ndarray(g, [n]);
          opt.step();
        }
        const buf = (opt.stateDict().state[0].momentum_buffer as ndarray.NdArray<Float32Array | Float64Array>).data;
        return { w: Array.from(a.data.data), b: Array.from(buf), jobs: workerStats().threadedJobs - before };
      });
      const one = run('1');
      const two = run('2');
      expect(one.jobs).toBe(0);
      // Steps 2 and 3 take the plain momentum loop, each one pooled job.
      expect(two.jobs).toBeGreaterThanOrEqual(2);
      expect(two.w).toEqual(one.w);
      expect(two.b).toEqual(one.b);
      // The loop's arithmetic: element 5 by hand, in the dtype.
      const r = dtype === 'float32' ? Math.fround : (v: number) => v;
      let w = r(Math.sin(5) * 3), b = 0;
      for (let step = 0; step < 3; step++) {
        const g = r(Math.cos(5 * (step + 1)));
        b = step === 0 ? g : r(b * 0.9 + g);
        w = r(w - 0.05 * b);
      }
      expect(one.w[5]).toBe(w);
      expect(one.b[5]).toBe(b);
    }
  });

  test('loadStateDict refuses a dict that does not fit, and changes nothing', () => {
    const a = p([1, 2]);
    a.grad = ndarray(new Float64Array([1, 1]), [2]);
    const opt = new Adam([a], { lr: 0.1 });
    opt.step();
    const sd = opt.stateDict();
    const other = new Adam([p([1, 2, 3])], { lr: 0.1 });
    expect(() => other.loadStateDict(sd)).toThrow(/Adam\.loadStateDict: state\[0\]\.exp_avg: expected shape \(3,\), got \(2,\)/);
    expect(other.state.size).toBe(0);
    const two = new Adam([{ params: [p([1])] }, { params: [p([1])] }]);
    expect(() => two.loadStateDict(sd)).toThrow(/paramGroups: expected 2 groups, got 1/);
    const bad = { ...sd, paramGroups: [{ ...sd.paramGroups[0], lr: -3 }] };
    expect(() => new Adam([p([1, 2])]).loadStateDict(bad)).toThrow(/loadStateDict: paramGroups\[0\]\.lr: expected a finite number >= 0, got -3/);
  });
});
