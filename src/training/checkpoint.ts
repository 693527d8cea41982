import fs from 'node:fs';
import ndarray from 'ndarray';
import type { RandomStateSnapshot } from '../core/random';
import type { Tensor } from '../core/tensor';
import type { Module, StateDict } from '../nn/module';
import { CheckpointError, readArrayFile, writeArrayFile, type StoredArray } from '../solver/arrayFile';
import type { DataLoader } from './dataLoader';
import type { Scheduler, SchedulerStateDict } from './lrScheduler';
import type { BaseOptimizerOptions, Optimizer, OptimizerStateDict, ParamState } from './optimizer';

/** Everything {@link fit} needs to continue a run, apart from the model, optimizer and scheduler objects. */
export interface TrainingProgress<H> {
  /** Epochs completed. */
  epoch: number;
  history: H[];
  bestTestAccuracy: number | null;
  /** Seconds of training before this checkpoint (for `timeBudget` across resumes). */
  seconds: number;
}

const KIND = 'cs231n-ts training checkpoint';

/**
 * Writes one training checkpoint atomically, in the package's array-file format
 * (src/solver/arrayFile.ts: checksummed, refused when cut short): the model's state dict as
 * `model.<name>`, the optimizer's state tensors as `optimizer.<index>.<key>`, the data
 * loaders' generator keys as `rng.<train|test>`, and in the JSON meta the optimizer's groups
 * and scalar state, the scheduler's state, the generators' positions and the run's progress.
 * One file holds all of it, so the parts can never come from different epochs.
 */
export function saveTrainingCheckpoint<H>(
  file: string,
  parts: { model: Module; optimizer: Optimizer<BaseOptimizerOptions>; scheduler?: Scheduler; loaders: Record<string, DataLoader>; progress: TrainingProgress<H> },
): void {
  const arrays: Record<string, StoredArray> = {};
  for (const [k, v] of Object.entries(parts.model.stateDict())) arrays[`model.${k}`] = v as StoredArray;
  const osd = parts.optimizer.stateDict();
  const scalars: Record<string, Record<string, number | null>> = {};
  for (const [idx, st] of Object.entries(osd.state)) {
    scalars[idx] = {};
    for (const [k, v] of Object.entries(st)) {
      if (v !== null && typeof v === 'object') arrays[`optimizer.${idx}.${k}`] = v as StoredArray;
      else scalars[idx][k] = v;
    }
  }
  const rngs: Record<string, Omit<RandomStateSnapshot, 'key'>> = {};
  for (const [name, loader] of Object.entries(parts.loaders)) {
    const s = loader.rng.getState();
    arrays[`rng.${name}`] = ndarray(s.key, [s.key.length]);
    rngs[name] = { pos: s.pos, hasGauss: s.hasGauss, gauss: s.gauss };
  }
  const meta = {
    kind: KIND,
    progress: parts.progress,
    optimizer: { kind: parts.optimizer.constructor.name, paramGroups: osd.paramGroups, scalars },
    scheduler: parts.scheduler ? parts.scheduler.stateDict() : null,
    rngs,
  };
  writeArrayFile(file, meta, arrays);
}

/**
 * Reads a checkpoint written by {@link saveTrainingCheckpoint} and restores the model,
 * optimizer, scheduler and loaders' generators from it. The file is checked (size, checksum,
 * kind, which optimizer and scheduler) before anything is changed, and each part checks its
 * own state before taking it; problems throw a {@link CheckpointError} naming the file.
 */
export function loadTrainingCheckpoint<H>(
  file: string,
  parts: { model: Module; optimizer: Optimizer<BaseOptimizerOptions>; scheduler?: Scheduler; loaders: Record<string, DataLoader> },
): TrainingProgress<H> {
  const { meta, arrays } = readArrayFile(file);
  const m = meta as {
    kind?: string;
    progress: TrainingProgress<H>;
    optimizer: { kind: string; paramGroups: OptimizerStateDict['paramGroups']; scalars: Record<string, Record<string, number | null>> };
    scheduler: SchedulerStateDict | null;
    rngs: Record<string, Omit<RandomStateSnapshot, 'key'>>;
  };
  if (!m || m.kind !== KIND) throw new CheckpointError(file, `not a training checkpoint (kind ${JSON.stringify(m?.kind)})`);
  if (m.optimizer?.kind !== parts.optimizer.constructor.name) {
    throw new CheckpointError(file, `optimizer: expected ${parts.optimizer.constructor.name}, the checkpoint holds ${m.optimizer?.kind}`);
  }
  if (Boolean(m.scheduler) !== Boolean(parts.scheduler)) {
    throw new CheckpointError(file, `scheduler: the checkpoint ${m.scheduler ? `holds a ${m.scheduler.kind}` : 'has none'}, the run ${parts.scheduler ? 'has one' : 'has none'}`);
  }
  const sd: StateDict = {};
  const state: Record<number, ParamState> = {};
  for (const [idx, sc] of Object.entries(m.optimizer.scalars ?? {})) state[Number(idx)] = { ...sc };
  const keys: Record<string, Uint32Array> = {};
  for (const [name, a] of Object.entries(arrays)) {
    if (name.startsWith('model.')) sd[name.slice(6)] = a as Tensor;
    else if (name.startsWith('optimizer.')) {
      const [, idx, key] = name.split('.');
      (state[Number(idx)] ??= {})[key] = a as Tensor;
    } else if (name.startsWith('rng.')) keys[name.slice(4)] = a.data as Uint32Array;
  }
  for (const name of Object.keys(parts.loaders)) {
    if (!keys[name] || !m.rngs?.[name]) throw new CheckpointError(file, `rng.${name}: the checkpoint has no generator state for the '${name}' loader`);
  }
  // Each part checks all of its own state before changing anything.
  try {
    parts.model.loadStateDict(sd);
    parts.optimizer.loadStateDict({ state, paramGroups: m.optimizer.paramGroups });
    if (parts.scheduler && m.scheduler) parts.scheduler.loadStateDict(m.scheduler);
    for (const [name, loader] of Object.entries(parts.loaders)) loader.rng.setState({ key: keys[name], ...m.rngs[name] });
  } catch (e) {
    throw new CheckpointError(file, `does not fit this run: ${(e as Error).message}`);
  }
  return m.progress;
}

/**
 * Keeps the current `file` as `prev` before a new checkpoint replaces it: a hard link renamed
 * into place, so at every instant both names hold complete checkpoints (the new one is then
 * written with an atomic rename too).
 */
export function keepPrevious(file: string, prev: string): void {
  if (!fs.existsSync(file)) return;
  const tmp = `${prev}.${process.pid}.tmp`;
  fs.rmSync(tmp, { force: true });
  fs.linkSync(file, tmp);
  fs.renameSync(tmp, prev);
}
