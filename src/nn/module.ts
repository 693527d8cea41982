import ndarray from 'ndarray';
import { shapeStr } from '../core/check';
import { arrayCtor, type DType } from '../core/dtype';
import { dtypeOf, type Tensor } from '../core/tensor';
import { isGradEnabled, withInputGrad } from './gradMode';
import { Parameter } from './parameter';

/** A tensor held in a state dict: float parameters and buffers, or an integer counter (`num_batches_tracked`). */
export type StateTensor = Tensor | ndarray.NdArray<Int32Array>;
/** A state dict: PyTorch's dotted names, in PyTorch's order. */
export type StateDict = Record<string, StateTensor>;

/** What {@link Module.loadStateDict} found wrong (empty lists when the dict fits exactly). */
export interface LoadStateDictResult {
  missingKeys: string[];
  unexpectedKeys: string[];
  /** Keys present on both sides with different shapes: `key: expected (…), got (…)`. */
  shapeMismatches: string[];
}

/** Thrown by a strict {@link Module.loadStateDict} that does not fit; lists every problem at once. */
export class StateDictError extends Error {
  constructor(readonly result: LoadStateDictResult) {
    const parts: string[] = [];
    if (result.missingKeys.length) parts.push(`missing keys: ${result.missingKeys.join(', ')}`);
    if (result.unexpectedKeys.length) parts.push(`unexpected keys: ${result.unexpectedKeys.join(', ')}`);
    if (result.shapeMismatches.length) parts.push(`wrong shapes: ${result.shapeMismatches.join('; ')}`);
    super(`loadStateDict: the state dict does not fit the model (${parts.join('. ')})`);
    this.name = 'StateDictError';
  }
}

/*
 * Forward passes and caches. A module may run more than once in one pass (ResNet's BasicBlock
 * calls its one ReLU twice), so what it keeps for backward is a stack consumed in reverse.
 * A "pass" is one outermost forward call; a module that saves a cache during a new pass first
 * drops what is left of older ones, so a forward that is never followed by backward (computing
 * a training accuracy) costs at most one pass of memory, not a leak.
 */
let depth = 0;
let passId = 0;

/** Called around every module's forward (see {@link addForwardHook}). */
export interface ForwardHook {
  /** Before the forward, with the module and its input. */
  pre?(module: Module, input: Tensor): void;
  /** After the forward, with the module, its input and its output. */
  post?(module: Module, input: Tensor, output: Tensor): void;
}
const forwardHooks = new Set<ForwardHook>();

/**
 * Calls `hook` around every module's forward until the returned function is called (what
 * `nn.summary` uses to see each layer's output shape; PyTorch's global forward hooks).
 */
export function addForwardHook(hook: ForwardHook): () => void {
  forwardHooks.add(hook);
  return () => {
    forwardHooks.delete(hook);
  };
}

/** True while some forward hook is registered (layer fusion is then off, so hooks see every layer). */
export function forwardHooksActive(): boolean {
  return forwardHooks.size > 0;
}

/**
 * The base of every layer and network, in the shape of `torch.nn.Module`: children,
 * parameters and buffers registered by name (dotted names in registration order, as
 * PyTorch's), `train()/eval()`, `forward(x)` and `backward(dout)` → dx with parameter
 * gradients added into `Parameter.grad`, `stateDict()` / `loadStateDict()`.
 *
 * Subclasses register what they own in their constructor with {@link addModule},
 * {@link addParameter} and {@link addBuffer}, and implement `forward` and `backward`.
 */
export abstract class Module {
  /** Train mode (batch statistics, dropout on) or eval mode. */
  training = true;
  private readonly _modules = new Map<string, Module>();
  private readonly _parameters = new Map<string, Parameter | null>();
  private readonly _buffers = new Map<string, StateTensor | null>();
  private readonly _nonPersistent = new Set<string>();
  private _caches: unknown[] = [];
  private _cachePass = -1;

  constructor() {
    // Wrap the subclass's forward so the outermost call starts a new pass (see above).
    const impl = this.forward;
    Object.defineProperty(this, 'forward', {
      value: (x: Tensor): Tensor => {
        if (depth === 0) passId++;
        depth++;
        try {
          for (const h of forwardHooks) h.pre?.(this, x);
          const out = impl.call(this, x);
          for (const h of forwardHooks) h.post?.(this, x, out);
          return out;
        } finally {
          depth--;
        }
      },
      writable: true,
      configurable: true,
      enumerable: false,
    });
  }

  /** Computes the output for `x` (and, when gradients are on, keeps what backward needs). */
  abstract forward(x: Tensor): Tensor;

  /**
   * Gradient with respect to the input of the most recent forward not yet back-propagated,
   * given the gradient of its output; adds the parameters' gradients into their `grad`.
   */
  abstract backward(dout: Tensor): Tensor;

  /**
   * The parameters' gradients of the most recent forward, without the input's: what PyTorch's
   * `loss.backward()` computes when the input does not require grad, and what a training loop
   * needs. The layers that read the model's input skip their input gradient (a first
   * convolution's dx: a third of a small net's backward); every parameter gradient has the
   * bits {@link backward} gives it.
   */
  backwardParams(dout: Tensor): void {
    withInputGrad(false, () => this.backward(dout));
  }

  /** Registers a child module under `name` (its parameters become `name.…`). Returns it. */
  addModule<M extends Module>(name: string, m: M): M {
    checkName(name, this._modules.has(name) || this._parameters.has(name) || this._buffers.has(name));
    this._modules.set(name, m);
    return m;
  }

  /** Registers a parameter (null: declared but absent, as `bias=False`). Returns it. */
  addParameter(name: string, p: Parameter): Parameter;
  addParameter(name: string, p: Parameter | null): Parameter | null;
  addParameter(name: string, p: Parameter | null): Parameter | null {
    checkName(name, this._modules.has(name) || this._parameters.has(name) || this._buffers.has(name));
    this._parameters.set(name, p);
    return p;
  }

  /** Registers a buffer (state that is not trained: running statistics). Returns it. */
  addBuffer<T extends StateTensor | null>(name: string, t: T, persistent = true): T {
    checkName(name, this._modules.has(name) || this._parameters.has(name) || this._buffers.has(name));
    this._buffers.set(name, t);
    if (!persistent) this._nonPersistent.add(name);
    return t;
  }

  /** The current value of a registered buffer. */
  getBuffer(name: string): StateTensor | null {
    if (!this._buffers.has(name)) throw new RangeError(`buffer: no buffer named '${name}'`);
    return this._buffers.get(name) ?? null;
  }

  /** Replaces a registered buffer's value (same name, any shape). */
  setBuffer(name: string, t: StateTensor | null): void {
    if (!this._buffers.has(name)) throw new RangeError(`buffer: no buffer named '${name}'`);
    this._buffers.set(name, t);
  }

  /** The registered parameter `name` (null when registered as absent). */
  getParameter(name: string): Parameter | null {
    if (!this._parameters.has(name)) throw new RangeError(`parameter: no parameter named '${name}'`);
    return this._parameters.get(name) ?? null;
  }

  /** Direct children with their names, in registration order. */
  namedChildren(): Array<[string, Module]> {
    return [...this._modules.entries()];
  }

  /** Direct children. */
  children(): Module[] {
    return [...this._modules.values()];
  }

  /** This module and every descendant, pre-order, with dotted names ('' for this one). Shared modules appear once. */
  namedModules(prefix = '', seen = new Set<Module>()): Array<[string, Module]> {
    if (seen.has(this)) return [];
    seen.add(this);
    const out: Array<[string, Module]> = [[prefix, this]];
    for (const [n, m] of this._modules) out.push(...m.namedModules(prefix ? `${prefix}.${n}` : n, seen));
    return out;
  }

  /** This module and every descendant. */
  modules(): Module[] {
    return this.namedModules().map(([, m]) => m);
  }

  /** Every parameter with its dotted name, PyTorch's order; a shared parameter appears once. */
  namedParameters(): Array<[string, Parameter]> {
    const out: Array<[string, Parameter]> = [];
    const seen = new Set<Parameter>();
    for (const [prefix, m] of this.namedModules()) {
      for (const [n, p] of m._parameters) {
        if (p === null || seen.has(p)) continue;
        seen.add(p);
        out.push([prefix ? `${prefix}.${n}` : n, p]);
      }
    }
    return out;
  }

  /** Every parameter. */
  parameters(): Parameter[] {
    return this.namedParameters().map(([, p]) => p);
  }

  /** Every buffer with its dotted name, PyTorch's order. */
  namedBuffers(): Array<[string, StateTensor]> {
    const out: Array<[string, StateTensor]> = [];
    for (const [prefix, m] of this.namedModules()) {
      for (const [n, t] of m._buffers) if (t !== null) out.push([prefix ? `${prefix}.${n}` : n, t]);
    }
    return out;
  }

  /** Every buffer. */
  buffers(): StateTensor[] {
    return this.namedBuffers().map(([, t]) => t);
  }

  /** Total number of parameter elements (trainable only with `trainableOnly`). */
  numParameters(trainableOnly = false): number {
    let n = 0;
    for (const p of this.parameters()) if (!trainableOnly || p.requiresGrad) n += p.numel();
    return n;
  }

  /** Sets train (true) or eval (false) mode on this module and every descendant. Returns this. */
  train(mode = true): this {
    for (const m of this.modules()) m.training = mode;
    return this;
  }

  /** Eval mode: running statistics, no dropout. Returns this. */
  eval(): this {
    return this.train(false);
  }

  /** Clears every parameter's gradient: zero-filled, or null with `setToNone` (PyTorch's default). */
  zeroGrad(opts: { setToNone?: boolean } = {}): void {
    for (const p of this.parameters()) {
      if (opts.setToNone ?? true) p.grad = null;
      else if (p.grad) p.grad.data.fill(0);
    }
  }

  /** Calls `fn` on every module, children first, as PyTorch's `apply`. Returns this. */
  apply(fn: (m: Module) => void): this {
    for (const c of this.children()) c.apply(fn);
    fn(this);
    return this;
  }

  /**
   * Parameters and persistent buffers by dotted name, in PyTorch's order (per module, its
   * parameters, then its buffers, then its children's). Values are the live tensors.
   */
  stateDict(): StateDict {
    const out: StateDict = {};
    const walk = (m: Module, prefix: string): void => {
      for (const [n, p] of m._parameters) if (p !== null) out[prefix + n] = p.data;
      for (const [n, t] of m._buffers) if (t !== null && !m._nonPersistent.has(n)) out[prefix + n] = t;
      for (const [n, c] of m._modules) walk(c, `${prefix}${n}.`);
    };
    walk(this, '');
    return out;
  }

  /**
   * Copies `sd` into the parameters and buffers by name, converting to each one's dtype. With
   * `strict` (the default) any missing or unexpected key or wrong shape throws one
   * {@link StateDictError} listing all of them, before anything is changed; with
   * `strict: false` the keys that fit are loaded and the rest reported.
   */
  loadStateDict(sd: Record<string, StateTensor>, opts: { strict?: boolean } = {}): LoadStateDictResult {
    const strict = opts.strict ?? true;
    const targets = new Map<string, { set: (t: StateTensor) => void; shape: number[] }>();
    const walk = (m: Module, prefix: string): void => {
      for (const [n, p] of m._parameters) {
        if (p !== null) targets.set(prefix + n, { shape: p.data.shape, set: (t) => { p.data = converted(t, p.data) as Tensor; } });
      }
      for (const [n, t] of m._buffers) {
        if (t !== null && !m._nonPersistent.has(n)) targets.set(prefix + n, { shape: t.shape, set: (v) => { m._buffers.set(n, converted(v, t)); } });
      }
      for (const [n, c] of m._modules) walk(c, `${prefix}${n}.`);
    };
    walk(this, '');
    const result: LoadStateDictResult = { missingKeys: [], unexpectedKeys: [], shapeMismatches: [] };
    for (const k of targets.keys()) if (!(k in sd)) result.missingKeys.push(k);
    for (const k of Object.keys(sd)) {
      const t = targets.get(k);
      if (!t) result.unexpectedKeys.push(k);
      else if (!sameShape(t.shape, sd[k].shape)) result.shapeMismatches.push(`${k}: expected ${shapeStr(t.shape)}, got ${shapeStr(sd[k].shape)}`);
    }
    const bad = result.missingKeys.length + result.unexpectedKeys.length + result.shapeMismatches.length;
    if (strict && bad > 0) throw new StateDictError(result);
    for (const [k, t] of targets) {
      const v = sd[k];
      if (v !== undefined && sameShape(t.shape, v.shape)) t.set(v);
    }
    return result;
  }

  /** Converts every parameter and buffer (and gradient) to `dtype` in place. Returns this. */
  to(dtype: DType): this {
    for (const m of this.modules()) {
      for (const p of m._parameters.values()) {
        if (p === null) continue;
        p.data = castFloat(p.data, dtype);
        if (p.grad) p.grad = castFloat(p.grad, dtype);
      }
      for (const [n, t] of m._buffers) {
        if (t !== null && !(t.data instanceof Int32Array)) m._buffers.set(n, castFloat(t as Tensor, dtype));
      }
    }
    return this;
  }

  /** Keeps `cache` for the backward of the current forward (nothing when gradients are off). */
  protected saveForBackward(cache: unknown): void {
    if (!isGradEnabled()) return;
    if (this._cachePass !== passId) {
      this._caches = [];
      this._cachePass = passId;
    }
    this._caches.push(cache);
  }

  /** The cache of the latest forward not yet back-propagated; throws naming the module when none is left. */
  protected popCache<C>(): C {
    if (this._caches.length === 0) {
      throw new Error(`${this.constructor.name}.backward: no forward pass to go back through (backward called twice, before forward, or after a forward under noGrad)`);
    }
    return this._caches.pop() as C;
  }

  /**
   * Multiply-accumulates of this module's own arithmetic for one forward from `input` to
   * `output` shapes, counted as torchvision does (convolutions and linear layers only; 0 for
   * everything else and for containers, whose children count their own).
   */
  countMacs(_input: readonly number[], _output: readonly number[]): number {
    return 0;
  }

  /** One line of settings for `toString()` (as PyTorch's `extra_repr`). */
  extraRepr(): string {
    return '';
  }

  /** The module tree, printed like PyTorch's `print(model)`. */
  toString(): string {
    const head = `${this.constructor.name}(${this.extraRepr()}`;
    const kids = this.namedChildren();
    if (kids.length === 0) return `${head})`;
    const body = kids.map(([n, m]) => `  (${n}): ${m.toString().split('\n').join('\n  ')}`).join('\n');
    return `${head}\n${body}\n)`;
  }
}

function checkName(name: string, taken: boolean): void {
  if (typeof name !== 'string' || name === '' || name.includes('.')) {
    throw new RangeError(`name: expected a non-empty name without '.', got ${JSON.stringify(name)}`);
  }
  if (taken) throw new RangeError(`name: '${name}' is already registered on this module`);
}

function sameShape(a: readonly number[], b: readonly number[]): boolean {
  return a.length === b.length && a.every((d, i) => d === b[i]);
}

/** A dense copy of `t` in `like`'s element type (float dtype or Int32). */
function converted(t: StateTensor, like: StateTensor): StateTensor {
  const Ctor = like.data instanceof Int32Array ? Int32Array : like.data instanceof Float32Array ? Float32Array : Float64Array;
  const out = new Ctor(t.size);
  const dense = t.data.length === t.size && t.offset === 0 && isRowMajor(t);
  if (dense) out.set(t.data as ArrayLike<number>);
  else {
    const idx = new Array(t.shape.length).fill(0);
    for (let i = 0; i < t.size; i++) {
      out[i] = (t as ndarray.NdArray<Float64Array>).get(...idx);
      for (let d = idx.length - 1; d >= 0; d--) {
        if (++idx[d] < t.shape[d]) break;
        idx[d] = 0;
      }
    }
  }
  return ndarray(out as any, like.shape.slice()) as StateTensor;
}

function isRowMajor(t: StateTensor): boolean {
  let expected = 1;
  for (let i = t.shape.length - 1; i >= 0; i--) {
    if (t.shape[i] !== 1 && t.stride[i] !== expected) return false;
    expected *= t.shape[i];
  }
  return true;
}

function castFloat(t: Tensor, dtype: DType): Tensor {
  if (dtypeOf(t) === dtype) return t;
  const C = arrayCtor(dtype);
  return ndarray(C.from(t.data), t.shape.slice());
}
