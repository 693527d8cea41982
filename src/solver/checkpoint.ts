import ndarray from 'ndarray';
import type { RandomStateSnapshot } from '../core/random';
import { valueStr } from '../core/check';
import { copy, type Tensor } from '../core/tensor';
import type { OptimConfig } from '../optim';
import { CheckpointError, readArrayFile, writeArrayFile, type StoredArray } from './arrayFile';

/*
 * What a Solver checkpoint holds, and its mapping onto the array-file container (arrayFile.ts).
 * Metadata (hyperparameters, histories, counters, scalar optimizer settings, the generator's
 * position) goes into the JSON header; every array goes into the payload under an index-based
 * name, so parameter names never need escaping:
 *   params/<i>, best/<i>            model.params and the best-validation snapshot (i indexes meta.paramNames)
 *   optim/<i>/<key>                 optimizer state arrays (velocity, cache, m, v)
 *   buffers/<j>                     model buffers (e.g. batch-norm running statistics; j indexes meta.bufferNames)
 *   rng/key                         the MT19937 key (624 uint32 words) of the solver's RandomState
 */

/** Everything needed to continue training exactly where a checkpoint was written. */
export interface SolverCheckpoint {
  /** Name of the update rule ('sgd', 'adam', … or a custom function's name). */
  updateRule: string;
  /** The optimConfig template the solver was created with (its scalar entries). */
  optimConfig: OptimConfig;
  lrDecay: number;
  batchSize: number;
  numEpochs: number;
  numTrainSamples: number | null;
  numValSamples: number | null;
  printEvery: number;
  /** Completed epochs. */
  epoch: number;
  /** Completed iterations (minibatch steps). */
  iteration: number;
  bestValAcc: number;
  lossHistory: number[];
  trainAccHistory: number[];
  valAccHistory: number[];
  params: Record<string, Tensor>;
  /** Best-validation parameters (empty before the first accuracy check). */
  bestParams: Record<string, Tensor>;
  /** Per-parameter optimizer configs, with their state arrays. */
  optimConfigs: Record<string, OptimConfig>;
  /** Model buffers (batch-norm running statistics, …); empty when the model has none. */
  buffers: Record<string, Tensor>;
  /** State of the solver's generator, so minibatches continue as in an uninterrupted run. */
  rngState: RandomStateSnapshot | null;
}

const KIND = 'cs231n-ts/solver-checkpoint';

type Scalar = number | string | boolean | null;

function isTensor(v: unknown): v is Tensor {
  return Boolean(v) && typeof v === 'object' && Array.isArray((v as Tensor).shape) && ((v as Tensor).data instanceof Float64Array || (v as Tensor).data instanceof Float32Array);
}

/** Splits a config into JSON scalars and arrays; anything else is an error naming the key. */
function splitConfig(where: string, c: OptimConfig): { scalars: Record<string, Scalar>; arrays: Record<string, Tensor> } {
  const scalars: Record<string, Scalar> = {};
  const arrays: Record<string, Tensor> = {};
  for (const [k, v] of Object.entries(c ?? {})) {
    if (v === undefined) continue;
    if (isTensor(v)) arrays[k] = v;
    else if (v === null || typeof v === 'string' || typeof v === 'boolean' || (typeof v === 'number' && Number.isFinite(v))) scalars[k] = v;
    else throw new TypeError(`${where}.${k}: cannot be saved in a checkpoint (expected a finite number, string, boolean or float array), got ${String(v)}`);
  }
  return { scalars, arrays };
}

/** Writes `ck` to `file` atomically (see arrayFile.ts for the byte layout). */
export function saveCheckpoint(file: string, ck: SolverCheckpoint): void {
  const paramNames = Object.keys(ck.params);
  const bestNames = Object.keys(ck.bestParams);
  const bufferNames = Object.keys(ck.buffers);
  const arrays: Record<string, StoredArray> = {};
  paramNames.forEach((k, i) => (arrays[`params/${i}`] = ck.params[k]));
  bestNames.forEach((k) => {
    const i = paramNames.indexOf(k);
    if (i < 0) throw new RangeError(`bestParams.${k}: not one of the model's params (${paramNames.join(', ')})`);
    arrays[`best/${i}`] = ck.bestParams[k];
  });
  const optimScalars: Record<string, Record<string, Scalar>> = {};
  const optimArrays: Record<string, string[]> = {};
  paramNames.forEach((k, i) => {
    const { scalars, arrays: st } = splitConfig(`optimConfigs.${k}`, ck.optimConfigs[k] ?? {});
    optimScalars[k] = scalars;
    optimArrays[k] = Object.keys(st);
    for (const [key, a] of Object.entries(st)) arrays[`optim/${i}/${key}`] = a;
  });
  bufferNames.forEach((k, j) => (arrays[`buffers/${j}`] = ck.buffers[k]));
  if (ck.rngState) arrays['rng/key'] = ndarray(Uint32Array.from(ck.rngState.key), [ck.rngState.key.length]);
  const template = splitConfig('optimConfig', ck.optimConfig);
  const meta = {
    kind: KIND,
    updateRule: ck.updateRule,
    optimConfig: template.scalars,
    lrDecay: ck.lrDecay,
    batchSize: ck.batchSize,
    numEpochs: ck.numEpochs,
    numTrainSamples: ck.numTrainSamples,
    numValSamples: ck.numValSamples,
    printEvery: ck.printEvery,
    epoch: ck.epoch,
    iteration: ck.iteration,
    bestValAcc: ck.bestValAcc,
    lossHistory: ck.lossHistory,
    trainAccHistory: ck.trainAccHistory,
    valAccHistory: ck.valAccHistory,
    paramNames,
    bestNames,
    bufferNames,
    optimScalars,
    optimArrays,
    rng: ck.rngState ? { pos: ck.rngState.pos, hasGauss: ck.rngState.hasGauss, gauss: ck.rngState.gauss } : null,
  };
  writeArrayFile(file, meta, arrays);
}

/**
 * Reads a checkpoint written by {@link saveCheckpoint}. A missing, truncated or corrupt file
 * throws a {@link CheckpointError} whose message starts with the file name.
 */
export function loadCheckpoint(file: string): SolverCheckpoint {
  const { meta, arrays } = readArrayFile(file);
  const m = meta as Record<string, any>;
  if (!m || m.kind !== KIND) throw new CheckpointError(file, `not a Solver checkpoint (kind ${JSON.stringify(m?.kind)}, expected ${JSON.stringify(KIND)})`);
  const need = (name: string): StoredArray => {
    const a = arrays[name];
    if (!a) throw new CheckpointError(file, `checkpoint lacks array ${name}`);
    return a;
  };
  const float = (name: string): Tensor => {
    const a = need(name);
    if (!(a.data instanceof Float64Array || a.data instanceof Float32Array)) throw new CheckpointError(file, `array ${name}: expected float64 or float32`);
    return a as Tensor;
  };
  checkMeta(file, m);
  const paramNames: string[] = m.paramNames;
  const params: Record<string, Tensor> = {};
  const bestParams: Record<string, Tensor> = {};
  const optimConfigs: Record<string, OptimConfig> = {};
  paramNames.forEach((k, i) => {
    params[k] = float(`params/${i}`);
    const cfg: Record<string, unknown> = { ...(m.optimScalars?.[k] ?? {}) };
    for (const key of m.optimArrays?.[k] ?? []) cfg[key] = float(`optim/${i}/${key}`);
    optimConfigs[k] = cfg as OptimConfig;
  });
  for (const k of m.bestNames as string[]) bestParams[k] = float(`best/${paramNames.indexOf(k)}`);
  const buffers: Record<string, Tensor> = {};
  (m.bufferNames as string[]).forEach((k, j) => (buffers[k] = float(`buffers/${j}`)));
  let rngState: RandomStateSnapshot | null = null;
  if (m.rng) {
    const key = need('rng/key');
    if (!(key.data instanceof Uint32Array)) throw new CheckpointError(file, 'array rng/key: expected uint32');
    rngState = { key: key.data, pos: m.rng.pos, hasGauss: m.rng.hasGauss, gauss: m.rng.gauss };
  }
  return {
    updateRule: m.updateRule,
    optimConfig: m.optimConfig,
    lrDecay: m.lrDecay,
    batchSize: m.batchSize,
    numEpochs: m.numEpochs,
    numTrainSamples: m.numTrainSamples,
    numValSamples: m.numValSamples,
    printEvery: m.printEvery,
    epoch: m.epoch,
    iteration: m.iteration,
    bestValAcc: m.bestValAcc,
    lossHistory: m.lossHistory,
    trainAccHistory: m.trainAccHistory,
    valAccHistory: m.valAccHistory,
    params,
    bestParams,
    optimConfigs,
    buffers,
    rngState,
  };
}

/**
 * Checks every metadata field's type and range. The checksum only proves the file is the one
 * that was written; a file written by other code (or edited and re-hashed) can still hold an
 * `epoch` of "abc" or a negative iteration, which must not reach the Solver.
 */
function checkMeta(file: string, m: Record<string, any>): void {
  const bad = (field: string, expected: string, v: unknown): never => {
    throw new CheckpointError(file, `meta.${field}: expected ${expected}, got ${valueStr(typeof v === 'string' ? JSON.stringify(v) : v)}`);
  };
  const int = (field: string, lo: number): number => {
    const v = m[field];
    if (typeof v !== 'number' || !Number.isInteger(v) || v < lo) bad(field, `an integer >= ${lo}`, v);
    return v;
  };
  const countOrNull = (field: string): void => {
    if (m[field] !== null) int(field, 1);
  };
  const numbers = (field: string, lo: number, hi: number): number[] => {
    const v = m[field];
    if (!Array.isArray(v)) bad(field, 'an array of numbers', v);
    v.forEach((x: unknown, i: number) => {
      if (typeof x !== 'number' || !Number.isFinite(x) || x < lo || x > hi) bad(`${field}[${i}]`, `a finite number in [${lo}, ${hi}]`, x);
    });
    return v;
  };
  const names = (field: string): string[] => {
    const v = m[field];
    if (!Array.isArray(v) || v.some((x) => typeof x !== 'string') || new Set(v).size !== v.length) bad(field, 'an array of distinct names', v);
    return v;
  };
  const object = (field: string): void => {
    const v = m[field];
    if (v === null || typeof v !== 'object' || Array.isArray(v)) bad(field, 'an object', v);
  };
  if (typeof m.updateRule !== 'string' || m.updateRule === '') bad('updateRule', 'an update rule name', m.updateRule);
  object('optimConfig');
  if (typeof m.lrDecay !== 'number' || !Number.isFinite(m.lrDecay) || m.lrDecay <= 0) bad('lrDecay', 'a positive finite number', m.lrDecay);
  int('batchSize', 1);
  const numEpochs = int('numEpochs', 0);
  countOrNull('numTrainSamples');
  countOrNull('numValSamples');
  int('printEvery', 1);
  const epoch = int('epoch', 0);
  const iteration = int('iteration', 0);
  if (epoch > numEpochs) bad('epoch', `at most numEpochs (${numEpochs})`, epoch);
  if (epoch > iteration) bad('epoch', `at most iteration (${iteration}): every epoch has at least one iteration`, epoch);
  if (typeof m.bestValAcc !== 'number' || !(m.bestValAcc >= 0 && m.bestValAcc <= 1)) bad('bestValAcc', 'an accuracy in [0, 1]', m.bestValAcc);
  const loss = numbers('lossHistory', -Infinity, Infinity);
  if (loss.length !== iteration) bad('lossHistory', `one loss per iteration (${iteration})`, `${loss.length} entries`);
  const trainAcc = numbers('trainAccHistory', 0, 1);
  const valAcc = numbers('valAccHistory', 0, 1);
  if (trainAcc.length !== valAcc.length) bad('valAccHistory', `as many entries as trainAccHistory (${trainAcc.length})`, `${valAcc.length} entries`);
  if (valAcc.length && Math.max(...valAcc) !== m.bestValAcc) bad('bestValAcc', `the best of valAccHistory (${Math.max(...valAcc)})`, m.bestValAcc);
  const params = names('paramNames');
  const best = names('bestNames');
  best.forEach((k, i) => params.includes(k) || bad(`bestNames[${i}]`, `one of paramNames (${params.join(', ')})`, JSON.stringify(k)));
  names('bufferNames');
  object('optimScalars');
  object('optimArrays');
  if (m.rng !== null) {
    const r = m.rng;
    if (r === undefined || typeof r !== 'object') bad('rng', 'the generator position or null', r);
    if (!Number.isInteger(r.pos) || r.pos < 0 || r.pos > 624) bad('rng.pos', 'an integer in [0, 624]', r.pos);
    if (typeof r.hasGauss !== 'boolean') bad('rng.hasGauss', 'a boolean', r.hasGauss);
    if (typeof r.gauss !== 'number' || !Number.isFinite(r.gauss)) bad('rng.gauss', 'a finite number', r.gauss);
  }
}

/** Deep copy of a config: state arrays are copied so two configs never share them. */
export function copyConfig(c: OptimConfig): OptimConfig {
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(c ?? {})) out[k] = isTensor(v) ? copy(v) : v;
  return out as OptimConfig;
}
