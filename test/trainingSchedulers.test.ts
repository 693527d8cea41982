import ndarray from 'ndarray';
import { Parameter } from '../src/nn/parameter';
import {
  Adagrad, Adam, ChainedScheduler, CosineAnnealingLR, LinearLR, MultiStepLR, OneCycleLR, RMSprop, SequentialLR, SGD, StepLR,
  type AnyOptimizer, type LRScheduler, type Scheduler,
} from '../src/training';
import fixture from './fixtures/training/schedulers.json';

type Spec = { type: string; options?: Record<string, unknown>; schedulers?: Spec[]; milestones?: number[] };
type Case = { name: string; optimizer: string; options: Record<string, unknown>; groupLrs: number[] | null; scheduler: Spec; lastLr: number[][]; lr: number[][]; momentum: number[][] };
const cases = fixture.cases as unknown as Case[];
const OPTS = { SGD, Adam, RMSprop, Adagrad } as const;
const SCHEDS = { StepLR, MultiStepLR, CosineAnnealingLR, LinearLR, OneCycleLR } as const;

function makeOptimizer(c: Case): AnyOptimizer {
  const Ctor = OPTS[c.optimizer as keyof typeof OPTS] as unknown as new (p: unknown, o: unknown) => AnyOptimizer;
  const param = (): Parameter => new Parameter(ndarray(new Float64Array(1), [1]));
  const params = c.groupLrs ? c.groupLrs.map((lr) => ({ params: [param()], lr })) : [param()];
  return new Ctor(params, c.options);
}

function build(opt: AnyOptimizer, spec: Spec): Scheduler {
  if (spec.type === 'SequentialLR') return new SequentialLR(opt, spec.schedulers!.map((s) => build(opt, s) as LRScheduler), spec.milestones!);
  if (spec.type === 'ChainedScheduler') return new ChainedScheduler(spec.schedulers!.map((s) => build(opt, s)));
  const Ctor = SCHEDS[spec.type as keyof typeof SCHEDS] as unknown as new (o: AnyOptimizer, opts: unknown) => Scheduler;
  return new Ctor(opt, spec.options);
}

function momenta(opt: AnyOptimizer): number[] {
  return opt.paramGroups.flatMap((g) => {
    const x = g as unknown as { betas?: number[]; momentum?: number };
    return x.betas ? [x.betas[0]] : x.momentum !== undefined ? [x.momentum] : [];
  });
}

function close(a: number[], b: number[], what: string): void {
  expect(a.length).toBe(b.length);
  a.forEach((v, i) => {
    // Relative 1e-12 (learning rates are small: an absolute bound would say little).
    if (!(Math.abs(v - b[i]) <= 1e-12 * Math.max(1e-6, Math.abs(b[i])))) {
      throw new Error(`${what}[${i}]: ours ${v}, PyTorch ${b[i]}`);
    }
  });
}

describe('schedulers equal PyTorch 1.13 step by step', () => {
  test.each(cases.map((c) => [c.name, c] as const))('%s', (_n, c) => {
    const opt = makeOptimizer(c);
    const s = build(opt, c.scheduler);
    for (let k = 0; k < c.lastLr.length; k++) {
      if (k > 0) {
        opt.step();
        s.step();
      }
      close(s.getLastLr(), c.lastLr[k], `${c.name} getLastLr after ${k} steps`);
      close(opt.paramGroups.map((g) => g.lr), c.lr[k], `${c.name} group lr after ${k} steps`);
      close(momenta(opt), c.momentum[k], `${c.name} momentum after ${k} steps`);
    }
  });

  test.each(cases.map((c) => [c.name, c] as const))('%s: a state dict saved midway resumes the same sequence', (_n, c) => {
    const half = Math.floor((c.lastLr.length - 1) / 2);
    const optA = makeOptimizer(c);
    const a = build(optA, c.scheduler);
    for (let k = 0; k < half; k++) a.step();
    const sdOpt = optA.stateDict();
    const sd = JSON.parse(JSON.stringify(a.stateDict()));
    const optB = makeOptimizer(c);
    const b = build(optB, c.scheduler);
    optB.loadStateDict(sdOpt);
    b.loadStateDict(sd);
    for (let k = half + 1; k < c.lastLr.length; k++) {
      b.step();
      close(b.getLastLr(), c.lastLr[k], `${c.name} resumed, step ${k}`);
      close(momenta(optB), c.momentum[k], `${c.name} resumed momentum, step ${k}`);
    }
  });
});

describe('scheduler behaviour', () => {
  const sgd = (): SGD => new SGD([new Parameter(ndarray(new Float64Array(1), [1]))], { lr: 0.1, momentum: 0.9 });

  test('closed forms agree with the chained forms at every epoch', () => {
    const mk: Array<(o: SGD) => LRScheduler> = [
      (o) => new StepLR(o, { stepSize: 3, gamma: 0.7 }),
      (o) => new MultiStepLR(o, { milestones: [2, 5, 5, 9] }),
      (o) => new CosineAnnealingLR(o, { tMax: 7, etaMin: 0.002 }),
      (o) => new LinearLR(o, { startFactor: 0.25, totalIters: 6 }),
    ];
    for (const f of mk) {
      const chained = f(sgd());
      const jumped = f(sgd());
      for (let e = 1; e < 30; e++) {
        chained.step();
        jumped.step(e);
        const [x, y] = [chained.getLastLr()[0], jumped.getLastLr()[0]];
        if (!(Math.abs(x - y) <= 1e-15)) throw new Error(`${chained.constructor.name} epoch ${e}: chained ${x}, closed form ${y}`);
      }
    }
  });

  test('bad options are refused naming the option', () => {
    expect(() => new StepLR(sgd(), { stepSize: 0 })).toThrow(/StepLR: stepSize: expected a positive integer, got 0/);
    expect(() => new MultiStepLR(sgd(), { milestones: [3, -1] })).toThrow(/milestones\[1\]: expected an integer >= 0, got -1/);
    expect(() => new CosineAnnealingLR(sgd(), { tMax: 0 })).toThrow(/tMax: expected a number > 0, got 0/);
    expect(() => new LinearLR(sgd(), { startFactor: 0 })).toThrow(/startFactor: expected a number in \(0, 1\], got 0/);
    expect(() => new OneCycleLR(sgd(), { maxLr: 0.1 })).toThrow(/totalSteps: expected totalSteps, or epochs and stepsPerEpoch/);
    expect(() => new OneCycleLR(sgd(), { maxLr: [0.1, 0.2], totalSteps: 10 })).toThrow(/maxLr: expected 1 values \(one per parameter group\), got 2/);
    const ada = new Adagrad([new Parameter(ndarray(new Float64Array(1), [1]))]);
    expect(() => new OneCycleLR(ada, { maxLr: 0.1, totalSteps: 10 })).toThrow(/cycleMomentum: Adagrad has no momentum or betas/);
    const o = sgd();
    expect(() => new SequentialLR(o, [new StepLR(o, { stepSize: 2 }), new LinearLR(o)], [])).toThrow(/milestones: expected 1 milestones/);
    expect(() => new SequentialLR(o, [new StepLR(sgd(), { stepSize: 2 })], [])).toThrow(/schedulers\[0\]: expected a scheduler of the same optimizer/);
  });

  test('OneCycleLR refuses to step past totalSteps', () => {
    const s = new OneCycleLR(sgd(), { maxLr: 0.1, totalSteps: 4 });
    for (let i = 0; i < 4; i++) s.step();
    expect(() => s.step()).toThrow(/tried to step 6 times; the schedule has totalSteps 4/);
  });

  test('loading a state dict of another schedule is refused', () => {
    const a = new StepLR(sgd(), { stepSize: 3 });
    const b = new StepLR(sgd(), { stepSize: 4 });
    expect(() => b.loadStateDict(a.stateDict())).toThrow(/StepLR\.loadStateDict: config: expected \{"stepSize":4,"gamma":0\.1\}, got \{"stepSize":3,"gamma":0\.1\}/);
    const c = new CosineAnnealingLR(sgd(), { tMax: 3 });
    expect(() => c.loadStateDict(a.stateDict())).toThrow(/kind: expected 'CosineAnnealingLR', got 'StepLR'/);
  });
});
