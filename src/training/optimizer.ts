import ndarray from 'ndarray';
import { shapeStr } from '../core/check';
import { allocFloat } from '../core/dtype';
import { dtypeOf, isContiguous, type Tensor } from '../core/tensor';
import { Parameter } from '../nn/parameter';

/** Options every optimizer has: the learning rate. */
export interface BaseOptimizerOptions {
  lr: number;
}

/**
 * Fields learning-rate schedulers keep in a parameter group, as PyTorch keeps `initial_lr`,
 * `max_lr`, … in `param_groups` (so they travel with the optimizer's state dict).
 */
export interface SchedulerGroupFields {
  initialLr?: number;
  maxLr?: number;
  minLr?: number;
  maxMomentum?: number;
  baseMomentum?: number;
}

/** One parameter group: its parameters and its own copy of every option. */
export type ParamGroup<O> = O & SchedulerGroupFields & { params: Parameter[] };

/** A parameter group as given to a constructor: options it leaves out take the optimizer's. */
export type ParamGroupSpec<O> = Partial<O> & { params: Iterable<Parameter> };

/** What an optimizer is built over: parameters (one group) or a list of groups. */
export type ParamsArg<O> = Iterable<Parameter> | Array<ParamGroupSpec<O>>;

/** A state value: a tensor in the parameter's dtype, a step count, or absent (SGD without momentum). */
export type ParamStateValue = Tensor | number | null;
/** An optimizer's state for one parameter, keyed by PyTorch's names (`momentum_buffer`, `exp_avg`, `step`, …). */
export type ParamState = Record<string, ParamStateValue>;

/**
 * An optimizer's state dict, in PyTorch's layout: `state` keyed by the parameter's index
 * (counting through the groups in order), `paramGroups` holding each group's options and its
 * parameters' indices. Tensors are copies: later steps do not change a saved dict.
 */
export interface OptimizerStateDict {
  state: Record<number, ParamState>;
  paramGroups: Array<Record<string, unknown> & { params: number[] }>;
}

/** The check an option value must pass, and how to describe it in an error. */
export interface OptionRule {
  ok: (v: unknown) => boolean;
  expected: string;
}

/** A finite number ≥ 0. */
export const nonNegative: OptionRule = { ok: (v) => typeof v === 'number' && Number.isFinite(v) && v >= 0, expected: 'a finite number >= 0' };
/** Any finite number. */
export const finite: OptionRule = { ok: (v) => typeof v === 'number' && Number.isFinite(v), expected: 'a finite number' };
/** A finite number > 0. */
export const positive: OptionRule = { ok: (v) => typeof v === 'number' && Number.isFinite(v) && v > 0, expected: 'a finite number > 0' };
/** A number in [0, 1). */
export const unitInterval: OptionRule = { ok: (v) => typeof v === 'number' && v >= 0 && v < 1, expected: 'a number in [0, 1)' };
/** A boolean. */
export const bool: OptionRule = { ok: (v) => typeof v === 'boolean', expected: 'true or false' };
/** A pair of numbers in [0, 1) (Adam's betas). */
export const betasRule: OptionRule = {
  ok: (v) => Array.isArray(v) && v.length === 2 && v.every((b) => unitInterval.ok(b)),
  expected: 'two numbers in [0, 1)',
};

function describe(v: unknown): string {
  return typeof v === 'number' ? String(v) : JSON.stringify(v) ?? String(v);
}

/**
 * The base of the PyTorch-semantics optimizers (`torch.optim.Optimizer`, torch 1.13): parameter
 * groups, each with its own options; `step()` updates every parameter that has a gradient, in
 * place on `p.data`, in the parameter's dtype; per-parameter state created lazily on a
 * parameter's first step; `stateDict()` / `loadStateDict()` in PyTorch's layout.
 *
 * Subclasses give their defaults and option rules and implement {@link updateParam}.
 */
export abstract class Optimizer<O extends BaseOptimizerOptions> {
  /** The options a group leaves out, as PyTorch's `optimizer.defaults`. */
  readonly defaults: O;
  readonly paramGroups: Array<ParamGroup<O>> = [];
  /** Per-parameter state (PyTorch's `optimizer.state`). */
  readonly state = new Map<Parameter, ParamState>();

  protected constructor(params: ParamsArg<O>, defaults: O, private readonly rules: Record<keyof O, OptionRule>) {
    this.defaults = { ...defaults };
    this.checkOptions(this.defaults, 'options');
    const list = [...(params as Iterable<Parameter | ParamGroupSpec<O>>)];
    if (list.length === 0) throw new RangeError(`${this.constructor.name}: params: expected at least one parameter, got an empty list`);
    if (list[0] instanceof Parameter) this.addParamGroup({ params: list as Parameter[] } as unknown as ParamGroupSpec<O>);
    else for (const g of list as Array<ParamGroupSpec<O>>) this.addParamGroup(g);
  }

  /** Adds a group (options it leaves out take the defaults), as PyTorch's `add_param_group`. */
  addParamGroup(spec: ParamGroupSpec<O>): void {
    const where = `paramGroups[${this.paramGroups.length}]`;
    if (spec === null || typeof spec !== 'object' || !('params' in spec)) {
      throw new TypeError(`${this.constructor.name}: ${where}: expected { params, …options }, got ${describe(spec)}`);
    }
    const params = [...spec.params];
    const seen = new Set(this.paramGroups.flatMap((g) => g.params));
    params.forEach((p, i) => {
      if (!(p instanceof Parameter)) throw new TypeError(`${this.constructor.name}: ${where}.params[${i}]: expected a Parameter, got ${describe(p)}`);
      if (seen.has(p)) throw new RangeError(`${this.constructor.name}: ${where}.params[${i}]: this parameter is already in a parameter group`);
      seen.add(p);
    });
    const group = { ...this.defaults } as ParamGroup<O>;
    for (const [k, v] of Object.entries(spec)) {
      if (k === 'params' || v === undefined) continue;
      if (!(k in this.rules) && !isSchedulerField(k)) throw new RangeError(`${this.constructor.name}: ${where}.${k}: unknown option`);
      (group as unknown as Record<string, unknown>)[k] = Array.isArray(v) ? [...v] : v;
    }
    group.params = params;
    this.checkOptions(group, where);
    this.paramGroups.push(group);
  }

  /** Checks every known option of `o`, naming it and its value in the error. */
  protected checkOptions(o: Partial<O>, where: string): void {
    for (const [k, rule] of Object.entries(this.rules) as Array<[string, OptionRule]>) {
      const v = (o as Record<string, unknown>)[k];
      if (!rule.ok(v)) throw new RangeError(`${this.constructor.name}: ${where}.${k}: expected ${rule.expected}, got ${describe(v)}`);
    }
  }

  /** The first group's learning rate (with one group, the learning rate). */
  get lr(): number {
    return this.paramGroups[0].lr;
  }

  /** Sets every group's learning rate. */
  set lr(value: number) {
    if (!nonNegative.ok(value)) throw new RangeError(`${this.constructor.name}: lr: expected ${nonNegative.expected}, got ${describe(value)}`);
    for (const g of this.paramGroups) g.lr = value;
  }

  /**
   * One update of every parameter that has a gradient. Parameters whose `grad` is null or
   * that do not require gradients are skipped (no state is created for them), as PyTorch skips
   * parameters whose `.grad` is None.
   */
  step(): void {
    for (const group of this.paramGroups) {
      for (const p of group.params) {
        if (p.grad === null || !p.requiresGrad) continue;
        const w = denseStore(p.data, 'parameter data');
        const g = gradStore(p);
        let st = this.state.get(p);
        if (st === undefined) {
          st = this.initState(p, group);
          this.state.set(p, st);
        }
        this.updateParam(w, g, st, group, p);
      }
    }
  }

  /** Clears the gradients of every parameter: to null (the default, as `Module.zeroGrad`) or zero-filled. */
  zeroGrad(opts: { setToNone?: boolean } = {}): void {
    const toNone = opts.setToNone ?? true;
    for (const g of this.paramGroups) {
      for (const p of g.params) {
        if (toNone) p.grad = null;
        else if (p.grad) p.grad.data.fill(0);
      }
    }
  }

  /** The state a parameter starts with, made on its first step. */
  protected abstract initState(p: Parameter, group: ParamGroup<O>): ParamState;

  /** Updates `w` (the parameter's store) in place from its gradient `g`, and its state. */
  protected abstract updateParam(w: Float64Array | Float32Array, g: Float64Array | Float32Array, st: ParamState, group: ParamGroup<O>, p: Parameter): void;

  /** Every parameter in group order: the index a parameter has in {@link stateDict}. */
  private allParams(): Parameter[] {
    return this.paramGroups.flatMap((g) => g.params);
  }

  /** A snapshot of the state and the groups' options (see {@link OptimizerStateDict}). */
  stateDict(): OptimizerStateDict {
    const index = new Map<Parameter, number>();
    this.allParams().forEach((p, i) => index.set(p, i));
    const state: Record<number, ParamState> = {};
    for (const [p, st] of this.state) {
      const i = index.get(p);
      if (i === undefined) continue;
      const copy: ParamState = {};
      for (const [k, v] of Object.entries(st)) copy[k] = v !== null && typeof v === 'object' ? cloneTensor(v) : v;
      state[i] = copy;
    }
    const paramGroups = this.paramGroups.map((g) => {
      const out: Record<string, unknown> & { params: number[] } = { params: g.params.map((p) => index.get(p) as number) };
      for (const [k, v] of Object.entries(g)) if (k !== 'params') out[k] = Array.isArray(v) ? [...v] : v;
      return out;
    });
    return { state, paramGroups };
  }

  /**
   * Restores a {@link stateDict} taken from an optimizer of the same kind over parameters of
   * the same shapes, in the same groups. Everything is checked before anything changes;
   * tensors are copied into each parameter's dtype.
   */
  loadStateDict(sd: OptimizerStateDict): void {
    const name = this.constructor.name;
    if (!sd || typeof sd !== 'object' || !Array.isArray(sd.paramGroups) || typeof sd.state !== 'object' || sd.state === null) {
      throw new TypeError(`${name}.loadStateDict: expected { state, paramGroups }, got ${describe(sd)}`);
    }
    if (sd.paramGroups.length !== this.paramGroups.length) {
      throw new RangeError(`${name}.loadStateDict: paramGroups: expected ${this.paramGroups.length} groups, got ${sd.paramGroups.length}`);
    }
    const params = this.allParams();
    const groups: Array<ParamGroup<O>> = [];
    sd.paramGroups.forEach((saved, gi) => {
      const mine = this.paramGroups[gi];
      if (!Array.isArray(saved.params) || saved.params.length !== mine.params.length) {
        throw new RangeError(`${name}.loadStateDict: paramGroups[${gi}].params: expected ${mine.params.length} parameters, got ${Array.isArray(saved.params) ? saved.params.length : describe(saved.params)}`);
      }
      const g = { ...mine } as ParamGroup<O>;
      for (const [k, v] of Object.entries(saved)) {
        if (k === 'params') continue;
        if (!(k in this.rules) && !isSchedulerField(k)) throw new RangeError(`${name}.loadStateDict: paramGroups[${gi}].${k}: unknown option`);
        (g as unknown as Record<string, unknown>)[k] = Array.isArray(v) ? [...v] : v;
      }
      this.checkOptions(g, `loadStateDict: paramGroups[${gi}]`);
      groups.push(g);
    });
    // Saved indices map onto our parameters by position within each group, as PyTorch's load.
    const byIndex = new Map<number, Parameter>();
    sd.paramGroups.forEach((saved, gi) => saved.params.forEach((idx, j) => byIndex.set(idx, this.paramGroups[gi].params[j])));
    const newState = new Map<Parameter, ParamState>();
    for (const [key, st] of Object.entries(sd.state)) {
      const p = byIndex.get(Number(key));
      if (p === undefined) throw new RangeError(`${name}.loadStateDict: state[${key}]: no parameter has index ${key} (there are ${params.length})`);
      const out: ParamState = {};
      for (const [k, v] of Object.entries(st)) {
        if (v === null || typeof v === 'number') {
          if (typeof v === 'number' && !Number.isFinite(v)) throw new RangeError(`${name}.loadStateDict: state[${key}].${k}: expected a finite number, got ${v}`);
          out[k] = v;
          continue;
        }
        if (!v || !Array.isArray(v.shape) || v.size !== p.data.size || v.shape.length !== p.data.shape.length || v.shape.some((d, i) => d !== p.data.shape[i])) {
          throw new RangeError(`${name}.loadStateDict: state[${key}].${k}: expected shape ${shapeStr(p.data.shape)}, got ${v && Array.isArray(v.shape) ? shapeStr(v.shape) : describe(v)}`);
        }
        out[k] = cloneTensor(v, p.data);
      }
      newState.set(p, out);
    }
    groups.forEach((g, gi) => Object.assign(this.paramGroups[gi], g));
    this.state.clear();
    for (const [p, st] of newState) this.state.set(p, st);
  }
}

function isSchedulerField(k: string): boolean {
  return k === 'initialLr' || k === 'maxLr' || k === 'minLr' || k === 'maxMomentum' || k === 'baseMomentum';
}

/** The dense store of `t`; optimizers update it in place, so a strided view is refused. */
export function denseStore(t: Tensor, what: string): Float64Array | Float32Array {
  if (!isContiguous(t)) throw new RangeError(`optimizer: ${what}: expected a dense row-major array, got a strided view of shape ${shapeStr(t.shape)}`);
  return t.data;
}

/** The gradient's elements in the parameter's dtype and layout (a copy only when they differ). */
function gradStore(p: Parameter): Float64Array | Float32Array {
  const g = p.grad as Tensor;
  if (g.size !== p.data.size) throw new RangeError(`optimizer: gradient: expected ${p.data.size} elements for a parameter of shape ${shapeStr(p.data.shape)}, got ${g.size}`);
  if (isContiguous(g) && dtypeOf(g) === dtypeOf(p.data)) return g.data;
  return cloneTensor(g, p.data).data;
}

/** A dense copy of `t` in the dtype and shape of `like` (default: its own). */
export function cloneTensor(t: Tensor, like: Tensor = t): Tensor {
  const Ctor = like.data instanceof Float32Array ? Float32Array : Float64Array;
  const out = new Ctor(t.size);
  if (isContiguous(t)) out.set(t.data);
  else {
    const idx = new Array<number>(t.shape.length).fill(0);
    for (let i = 0; i < t.size; i++) {
      out[i] = t.get(...idx);
      for (let d = idx.length - 1; d >= 0; d--) {
        if (++idx[d] < t.shape[d]) break;
        idx[d] = 0;
      }
    }
  }
  return ndarray(out, like.shape.slice());
}

/**
 * A zero tensor (or one filled with `value`) shaped and typed like the parameter; a large one
 * in shared memory (allocFloat), so an update can run on every thread.
 */
export function stateLike(p: Parameter, value = 0): Tensor {
  const out = allocFloat(p.data.data instanceof Float32Array ? 'float32' : 'float64', p.data.size);
  if (value !== 0) out.fill(value);
  return ndarray(out, p.data.shape.slice());
}

/** The store of a tensor held in a parameter's state. */
export function stateStore(st: ParamState, key: string): Float64Array | Float32Array {
  const v = st[key];
  if (v === null || typeof v !== 'object') throw new Error(`optimizer state: '${key}' is missing`);
  return v.data;
}
