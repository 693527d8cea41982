import type { DType } from '../core/dtype';
import type { RandomState } from '../core/random';
import type { Module } from '../nn/module';

/** Options every builder takes (torchvision's keyword arguments in camelCase), plus its own. */
export interface ModelOptions {
  /** Output classes (default 1000 for ImageNet models, 10 for the CIFAR variants and small nets). */
  numClasses?: number;
  /** Parameter dtype (default float32). */
  dtype?: DType;
  /** Generator of the initial weights (default: the global RandomState). */
  rng?: RandomState;
  /** Dropout probability before the classifier, where the model has one. */
  dropout?: number;
  /** Channel width multiplier, where the model has one. */
  widthMult?: number;
  /** False skips the weight initialisation (all zeros): to count parameters or load weights next. Default true. */
  init?: boolean;
  [option: string]: unknown;
}

/** A registered model builder. */
export interface ModelEntry {
  /** torchvision's builder name (`resnet18`) or ours (`mobilenet_v1`, `vgg16_cifar`). */
  name: string;
  /** One line: what the model is. */
  description: string;
  /** Default input (C, H, W) for summaries and `cs231n models`. */
  input: [number, number, number];
  /** Default class count. */
  numClasses: number;
  /** The options this builder accepts besides numClasses, dtype and rng. */
  options: readonly string[];
  build(opts: ModelOptions): Module;
}

const entries = new Map<string, ModelEntry>();
const COMMON = ['numClasses', 'dtype', 'rng', 'init'];

/** Adds a builder (called by each family's file when it loads). */
export function registerModel(entry: ModelEntry): void {
  if (entries.has(entry.name)) throw new Error(`model '${entry.name}' is registered twice`);
  entries.set(entry.name, entry);
}

/** Every registered model, in registration order. */
export function listModels(): ModelEntry[] {
  return [...entries.values()];
}

/**
 * Builds the model `name` (torchvision's names for its builders). An unknown name or option
 * is an error that lists what is known.
 */
export function createModel(name: string, opts: ModelOptions = {}): Module {
  const e = entries.get(name);
  if (!e) throw new RangeError(`model: unknown model '${name}'; known models: ${[...entries.keys()].join(', ')}`);
  for (const k of Object.keys(opts)) {
    if (opts[k] !== undefined && !COMMON.includes(k) && !e.options.includes(k)) {
      throw new RangeError(`${k}: not an option of ${name} (its options: ${[...COMMON, ...e.options].join(', ')})`);
    }
  }
  const numClasses = opts.numClasses ?? e.numClasses;
  positiveInt('numClasses', numClasses);
  if (opts.dtype !== undefined && opts.dtype !== 'float32' && opts.dtype !== 'float64') {
    throw new RangeError(`dtype: expected 'float32' or 'float64', got ${JSON.stringify(opts.dtype)}`);
  }
  return e.build({ ...opts, numClasses });
}

/** Checks an option that must be a positive integer. */
export function positiveInt(name: string, v: unknown): number {
  if (typeof v !== 'number' || !Number.isInteger(v) || v <= 0) throw new RangeError(`${name}: expected a positive integer, got ${JSON.stringify(v)}`);
  return v;
}

/** Checks an option that must be a probability in [0, 1). */
export function probability(name: string, v: unknown): number {
  if (typeof v !== 'number' || !(v >= 0 && v < 1)) throw new RangeError(`${name}: expected a probability in [0, 1), got ${JSON.stringify(v)}`);
  return v;
}

/** Checks an option that must be a finite positive number (width multipliers). */
export function positiveNumber(name: string, v: unknown): number {
  if (typeof v !== 'number' || !Number.isFinite(v) || v <= 0) throw new RangeError(`${name}: expected a finite number > 0, got ${JSON.stringify(v)}`);
  return v;
}

/**
 * torchvision's `_make_divisible`: v rounded to the nearest multiple of `divisor` (at least
 * `minValue`), plus one divisor if rounding lost more than 10%.
 */
export function makeDivisible(v: number, divisor = 8, minValue = divisor): number {
  const n = Math.max(minValue, Math.floor((v + divisor / 2) / divisor) * divisor);
  return n < 0.9 * v ? n + divisor : n;
}
