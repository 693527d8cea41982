/*
 * One harness for every op and module (not a test file itself), in the spirit of tinygrad's
 * `helper_test_op`:
 *
 * - `checkOp(op, { inputs, attrs, … })`: a Float64 gradient check of every differentiable input
 *   against the centred difference (rel. error < 1e-7, measured by `gradError`), and, given a
 *   PyTorch fixture, the forward output and every input gradient compared with PyTorch's —
 *   1e-10 in Float64, 1e-4 in Float32 (the same inputs cast to float32, the op run in float32,
 *   against PyTorch's float32 run). It also checks that the op leaves its inputs and dout alone
 *   and returns gradients of each input's shape and dtype.
 * - `checkModule(module, input, …)`: the same through the module API — the input gradient
 *   returned by `backward` and every parameter's accumulated `grad`.
 *
 * Fixtures are written by test/fixtures/ops/make_ops.py (PyTorch 1.13, seeded): one JSON file
 * per op family, a list of cases; see `OpFixture` / `ModuleFixture` for the fields.
 */
import { readFileSync } from 'fs';
import { join } from 'path';
import ndarray from 'ndarray';
import { copy, astype, dtypeOf, fromData, type Tensor } from '../src/core/tensor';
import { RandomState } from '../src/core/random';
import type { DType } from '../src/core/dtype';
import { evalNumericalGradientArray } from '../src/gradientCheck';
import type { Op } from '../src/ops/op';
import { noGrad } from '../src/nn/gradMode';
import type { Module, StateTensor } from '../src/nn/module';
import { gradError } from './layerTestUtils';

/** A tensor as the fixture script writes it (NaN and ±Infinity as the strings "NaN", "Infinity", "-Infinity"). */
export interface TensorJson {
  shape: number[];
  data: Array<number | string>;
}

/** One op case written by make_ops.py. */
export interface OpFixture {
  name: string;
  /** The op's attributes (camelCase, as the TypeScript op takes them). */
  attrs: Record<string, unknown>;
  inputs: TensorJson[];
  dout: TensorJson;
  out: TensorJson;
  /** PyTorch's gradient of each input (null where the input is not differentiable). */
  grads: Array<TensorJson | null>;
  out32: TensorJson;
  grads32: Array<TensorJson | null>;
}

/** One module case written by make_ops.py: a module's state, an input, and PyTorch's results. */
export interface ModuleFixture {
  name: string;
  /** The module's constructor options (camelCase). */
  options: Record<string, unknown>;
  training: boolean;
  state: Record<string, TensorJson>;
  input: TensorJson;
  dout: TensorJson;
  out: TensorJson;
  dx: TensorJson;
  grads: Record<string, TensorJson>;
  out32: TensorJson;
  dx32: TensorJson;
  grads32: Record<string, TensorJson>;
}

const FIXTURES = join(__dirname, 'fixtures', 'ops');

/** Parses one fixture file (`test/fixtures/ops/<file>.json`): a `cases` list. */
export function loadFixtures<F = OpFixture>(file: string): F[] {
  const parsed = JSON.parse(readFileSync(join(FIXTURES, file), 'utf8')) as { cases: F[] };
  if (!Array.isArray(parsed.cases) || parsed.cases.length === 0) throw new Error(`${file}: expected a non-empty "cases" list`);
  return parsed.cases;
}

/** The named case of a fixture list (throws listing the names when absent). */
export function fixtureCase<F extends { name: string }>(cases: F[], name: string): F {
  const c = cases.find((k) => k.name === name);
  if (!c) throw new Error(`no fixture case '${name}' (have: ${cases.map((k) => k.name).join(', ')})`);
  return c;
}

/** A fixture tensor as a dense tensor of `dtype`. */
export function fromJson(j: TensorJson, dtype: DType = 'float64'): Tensor {
  const vals = j.data.map((v) => (typeof v === 'number' ? v : v === 'NaN' ? NaN : v === 'Infinity' ? Infinity : v === '-Infinity' ? -Infinity : Number.NaN));
  const data = dtype === 'float32' ? Float32Array.from(vals) : Float64Array.from(vals);
  return fromData(data, j.shape);
}

/**
 * Largest |a − b| / max(1, |b|) over all elements: absolute near zero, relative for large values.
 * NaN must meet NaN and ±Infinity the same infinity; any other mismatch is Infinity.
 */
export function closeness(actual: Tensor, expected: Tensor): number {
  const a = copy(actual).data;
  const b = copy(expected).data;
  if (a.length !== b.length) return Infinity;
  let m = 0;
  for (let i = 0; i < a.length; i++) {
    const x = a[i];
    const y = b[i];
    if (Number.isNaN(x) || Number.isNaN(y) || !Number.isFinite(x) || !Number.isFinite(y)) {
      if (!(Object.is(x, y) || (Number.isNaN(x) && Number.isNaN(y)) || x === y)) return Infinity;
      continue;
    }
    const r = Math.abs(x - y) / Math.max(1, Math.abs(y));
    if (r > m) m = r;
  }
  return m;
}

function expectClose(what: string, actual: Tensor, expected: Tensor, tol: number): void {
  if (actual.shape.join() !== expected.shape.join()) throw new Error(`${what}: shape (${actual.shape}) ≠ expected (${expected.shape})`);
  const err = closeness(actual, expected);
  if (!(err <= tol)) {
    const a = Array.from(copy(actual).data.slice(0, 12));
    const b = Array.from(copy(expected).data.slice(0, 12));
    throw new Error(`${what}: differs from PyTorch by ${err} > ${tol}\n  ours   ${a.join(', ')}\n  torch  ${b.join(', ')}`);
  }
}

function expectGradCheck(what: string, analytic: Tensor, numerical: Tensor, tol: number): void {
  const err = gradError(analytic, numerical);
  if (!(err < tol)) {
    const a = Array.from(copy(analytic).data.slice(0, 12));
    const b = Array.from(copy(numerical).data.slice(0, 12));
    throw new Error(`${what}: gradient check rel. error ${err} ≥ ${tol}\n  analytic  ${a.join(', ')}\n  numerical ${b.join(', ')}`);
  }
}

function sameBits(a: Tensor, b: Tensor): boolean {
  const x = copy(a).data;
  const y = copy(b).data;
  return x.length === y.length && x.every((v, i) => Object.is(v, y[i]));
}

/** What {@link checkOp} compares with: PyTorch's results for the same inputs and dout. */
export interface OpExpected {
  out: Tensor;
  grads: Array<Tensor | null>;
  out32?: Tensor;
  grads32?: Array<Tensor | null>;
}

/** Options of {@link checkOp}. */
export interface CheckOpOptions<A> {
  /** The op's inputs in Float64 (not modified: the harness works on copies). */
  inputs: Tensor[];
  /**
   * The attributes, or a factory called before every forward (for stateful attributes: a
   * dropout's `RandomState` must restart from its seed so each evaluation draws the same mask).
   */
  attrs: A | (() => A);
  /** Upstream gradient (default: standard normal of the output's shape from `seed`). */
  dout?: Tensor;
  /** Inputs to gradient-check numerically (default: every input whose analytic gradient is not null). */
  differentiable?: boolean[];
  /** Skip the numerical check (for ops compared only with PyTorch, e.g. at kinks). Default true. */
  gradCheck?: boolean;
  /** Gradient-check tolerance. Default 1e-7. */
  tol?: number;
  /**
   * Step of the centred difference. Default 1e-5; a loss (one scalar of size ~|L|, round-off
   * ~1e-16·|L|/h against entries of ~1/N) checks better with 1e-4.
   */
  h?: number;
  /** PyTorch's results to compare with (from a fixture). */
  expected?: OpExpected;
  /** Seed of the default dout. Default 0. */
  seed?: number;
  /**
   * Tolerance of the Float64 gradient comparison with PyTorch. Default 1e-10; loosened only where
   * PyTorch itself is off (hardsigmoid's backward multiplies by the float32 constant 1/6).
   */
  gradTol64?: number;
  /** Also run the op in Float32 and compare with `expected.out32`/`grads32` (default: when those are given). */
  float32?: boolean;
}

/** Forward and backward results of {@link checkOp} (Float64). */
export interface CheckOpResult {
  out: Tensor;
  grads: Array<Tensor | null>;
  dout: Tensor;
}

/** Runs the op's checks (see the file comment); throws with a description on the first failure. */
export function checkOp<A, C>(op: Op<A, C>, opts: CheckOpOptions<A>): CheckOpResult {
  const attrs = (): A => (typeof opts.attrs === 'function' ? (opts.attrs as () => A)() : opts.attrs);
  const tol = opts.tol ?? 1e-7;
  const inputs = opts.inputs.map((t) => copy(t, 'float64'));
  const before = inputs.map((t) => copy(t));
  const { out, cache } = op.forward(inputs, attrs());
  if (dtypeOf(out) !== 'float64') throw new Error(`${op.name}: Float64 inputs gave a ${dtypeOf(out)} output`);
  // A 0-d output (a loss) gets dout = 1 by default.
  const dout = opts.dout ? copy(opts.dout, 'float64') : out.shape.length === 0 ? fromData(Float64Array.of(1), []) : new RandomState(opts.seed ?? 0).randn(...out.shape);
  const doutBefore = copy(dout);
  const grads = op.backward(dout, cache);
  if (grads.length !== inputs.length) throw new Error(`${op.name}.backward: ${grads.length} gradients for ${inputs.length} inputs`);
  grads.forEach((g, i) => {
    if (!g) return;
    if (g.shape.join() !== inputs[i].shape.join()) throw new Error(`${op.name}: gradient ${i} has shape (${g.shape}), input (${inputs[i].shape})`);
    if (dtypeOf(g) !== 'float64') throw new Error(`${op.name}: gradient ${i} is ${dtypeOf(g)} for a float64 input`);
  });
  inputs.forEach((t, i) => {
    if (!sameBits(t, before[i])) throw new Error(`${op.name}: forward or backward modified input ${i}`);
  });
  if (!sameBits(dout, doutBefore)) throw new Error(`${op.name}.backward modified dout`);

  if (opts.gradCheck ?? true) {
    inputs.forEach((x, i) => {
      const want = opts.differentiable ? opts.differentiable[i] : grads[i] !== null;
      if (!want) return;
      const g = grads[i];
      if (!g) throw new Error(`${op.name}: input ${i} should be differentiable but its gradient is null`);
      const f = (v: Tensor): Tensor => copy(op.forward(inputs.map((t, k) => (k === i ? v : t)), attrs()).out);
      expectGradCheck(`${op.name} d(input ${i})`, g, evalNumericalGradientArray(f, x, dout, { h: opts.h }), tol);
    });
  }

  const exp = opts.expected;
  if (exp) {
    expectClose(`${op.name} forward (float64)`, out, exp.out, 1e-10);
    exp.grads.forEach((e, i) => {
      if (e) expectClose(`${op.name} d(input ${i}) (float64)`, grads[i] ?? missing(op.name, i), e, opts.gradTol64 ?? 1e-10);
    });
    if ((opts.float32 ?? exp.out32 !== undefined) && exp.out32) {
      const in32 = opts.inputs.map((t) => astype(t, 'float32'));
      const r = op.forward(in32, attrs());
      if (dtypeOf(r.out) !== 'float32') throw new Error(`${op.name}: Float32 inputs gave a ${dtypeOf(r.out)} output`);
      expectClose(`${op.name} forward (float32)`, r.out, exp.out32, 1e-4);
      const g32 = op.backward(astype(dout, 'float32'), r.cache);
      (exp.grads32 ?? []).forEach((e, i) => {
        if (!e) return;
        const g = g32[i] ?? missing(op.name, i);
        if (dtypeOf(g) !== 'float32') throw new Error(`${op.name}: gradient ${i} is ${dtypeOf(g)} for a float32 input`);
        expectClose(`${op.name} d(input ${i}) (float32)`, g, e, 1e-4);
      });
    }
  }
  return { out, grads, dout };
}

function missing(name: string, i: number): never {
  throw new Error(`${name}: PyTorch has a gradient for input ${i}, the op returned null`);
}

/** {@link checkOp} on a fixture case: its inputs, dout and PyTorch's results; `attrs` maps the JSON attributes to the op's. */
export function checkOpFixture<A, C>(
  op: Op<A, C>,
  fx: OpFixture,
  attrs: (json: Record<string, unknown>) => A = (j) => j as A,
  opts: Partial<CheckOpOptions<A>> = {},
): CheckOpResult {
  const t = (j: TensorJson | null, d: DType = 'float64') => (j ? fromJson(j, d) : null);
  return checkOp(op, {
    inputs: fx.inputs.map((j) => fromJson(j)),
    attrs: () => attrs(fx.attrs),
    dout: fromJson(fx.dout),
    expected: {
      out: fromJson(fx.out),
      grads: fx.grads.map((g) => t(g)),
      out32: fromJson(fx.out32, 'float32'),
      grads32: fx.grads32.map((g) => t(g, 'float32')),
    },
    ...opts,
  });
}

/** Options of {@link checkModule}. */
export interface CheckModuleOptions {
  /** Upstream gradient (default: standard normal of the output's shape from `seed`). */
  dout?: Tensor;
  /** Called before every forward (re-seed a module's generator so each evaluation is the same function). */
  reseed?: () => void;
  /** Gradient-check tolerance. Default 1e-7. */
  tol?: number;
  /** Seed of the default input and dout. Default 0. */
  seed?: number;
  /** Skip the numerical check. Default true. */
  gradCheck?: boolean;
  /** A fixture: its state is loaded (strict), its input used, and the results compared (1e-10 / 1e-4). */
  fixture?: ModuleFixture;
}

/** Float64 results of {@link checkModule}. */
export interface CheckModuleResult {
  out: Tensor;
  dx: Tensor;
  grads: Record<string, Tensor | null>;
}

/**
 * Gradient-checks a module in Float64 (input and every parameter) and compares it with a
 * PyTorch fixture in Float64 and Float32. `input` is a shape (standard normal from `seed`) or a
 * tensor; a fixture's input takes precedence. The module is left in Float64 with the fixture's
 * (or its original) state, its `training` flag unchanged and its gradients cleared.
 */
export function checkModule(module: Module, input: number[] | Tensor, opts: CheckModuleOptions = {}): CheckModuleResult {
  const fx = opts.fixture;
  const tol = opts.tol ?? 1e-7;
  const rng = new RandomState(opts.seed ?? 0);
  module.to('float64');
  if (fx) module.loadStateDict(mapJson(fx.state, 'float64'));
  const state = snapshot(module);
  const x = fx ? fromJson(fx.input) : Array.isArray(input) ? rng.randn(...input) : copy(input, 'float64');
  const fwd = (v: Tensor): Tensor => {
    opts.reseed?.();
    return module.forward(v);
  };
  module.zeroGrad();
  const out = fwd(x);
  const dout = fx ? fromJson(fx.dout) : opts.dout ? copy(opts.dout, 'float64') : rng.randn(...out.shape);
  const dx = module.backward(dout);
  const name = module.constructor.name;
  if (dx.shape.join() !== x.shape.join()) throw new Error(`${name}.backward: dx shape (${dx.shape}) ≠ input shape (${x.shape})`);
  const grads: Record<string, Tensor | null> = {};
  for (const [n, p] of module.namedParameters()) grads[n] = p.grad ? copy(p.grad) : null;

  if (opts.gradCheck ?? true) {
    // Copies: a module may return its input itself (Identity), which the perturbation would change under it.
    const f = (v: Tensor): Tensor => copy(noGrad(() => fwd(v)));
    expectGradCheck(`${name} dx`, dx, evalNumericalGradientArray(f, copy(x), dout), tol);
    for (const [n, p] of module.namedParameters()) {
      const g = grads[n];
      if (!g) throw new Error(`${name}: parameter ${n} got no gradient`);
      const fp = (): Tensor => copy(noGrad(() => fwd(x)));
      expectGradCheck(`${name} d${n}`, g, evalNumericalGradientArray(fp, p.data, dout), tol);
    }
  }

  if (fx) {
    expectClose(`${name} forward (float64)`, out, fromJson(fx.out), 1e-10);
    expectClose(`${name} dx (float64)`, dx, fromJson(fx.dx), 1e-10);
    for (const [n, j] of Object.entries(fx.grads)) expectClose(`${name} d${n} (float64)`, grads[n] ?? missingParam(name, n), fromJson(j), 1e-10);
    module.to('float32');
    module.loadStateDict(mapJson(fx.state, 'float32'));
    module.zeroGrad();
    const out32 = fwd(fromJson(fx.input, 'float32'));
    if (dtypeOf(out32) !== 'float32') throw new Error(`${name}: a float32 module gave a ${dtypeOf(out32)} output`);
    expectClose(`${name} forward (float32)`, out32, fromJson(fx.out32, 'float32'), 1e-4);
    const dx32 = module.backward(fromJson(fx.dout, 'float32'));
    expectClose(`${name} dx (float32)`, dx32, fromJson(fx.dx32, 'float32'), 1e-4);
    const byName = new Map(module.namedParameters());
    for (const [n, j] of Object.entries(fx.grads32)) expectClose(`${name} d${n} (float32)`, byName.get(n)?.grad ?? missingParam(name, n), fromJson(j, 'float32'), 1e-4);
    module.to('float64');
  }
  module.loadStateDict(state);
  module.zeroGrad();
  return { out, dx, grads };
}

function missingParam(name: string, n: string): never {
  throw new Error(`${name}: PyTorch has a gradient for ${n}, the module accumulated none`);
}

function mapJson(m: Record<string, TensorJson>, dtype: DType): Record<string, StateTensor> {
  const out: Record<string, StateTensor> = {};
  for (const [k, v] of Object.entries(m)) out[k] = fromJson(v, dtype);
  return out;
}

function snapshot(module: Module): Record<string, StateTensor> {
  const out: Record<string, StateTensor> = {};
  for (const [k, v] of Object.entries(module.stateDict())) {
    out[k] = v.data instanceof Int32Array ? ndarray(Int32Array.from(v.data), v.shape.slice()) : copy(v as Tensor);
  }
  return out;
}
