import { createHash } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import ndarray from 'ndarray';
import type { RandomStateSnapshot } from '../core/random';
import type { Tensor } from '../core/tensor';
import { DataFormatError } from '../data/errors';
import { parseSafetensors, serializeSafetensors, type SafetensorsDType, type SafetensorsTensor } from '../data/safetensors';
import type { Module, StateDict } from '../nn/module';
import { CheckpointError, readArrayFile, writeArrayFile, type StoredArray } from '../solver/arrayFile';
import { writeFileAtomic } from '../util/atomicWrite';
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

/** The model's weights in a checkpoint directory: a plain safetensors file PyTorch and `cs231n eval` read. */
export const MODEL_FILE = 'model.safetensors';
/** The rest of a checkpoint: optimizer, scheduler, generators and history, in the array-file format. */
export const STATE_FILE = 'training.ckpt';
/** The sub-directory holding the checkpoint of the epoch before. */
export const PREVIOUS_DIR = 'prev';

const KIND = 'cs231n-ts training checkpoint';
const FORMAT = 2;

interface ModelRef {
  file: string;
  bytes: number;
  sha256: string;
}

/** The parts a checkpoint saves and restores. */
export interface CheckpointParts {
  model: Module;
  optimizer: Optimizer<BaseOptimizerOptions>;
  scheduler?: Scheduler;
  loaders: Record<string, DataLoader>;
}

/**
 * Writes one training checkpoint into directory `dir`: the model's state dict as
 * `model.safetensors` (int32 buffers stored as I64, PyTorch's type for `num_batches_tracked`),
 * then `training.ckpt` in the package's checksummed array-file format (src/solver/arrayFile.ts)
 * with the optimizer's state tensors as `optimizer.<index>.<key>`, the data loaders' generator
 * keys as `rng.<name>`, and in its JSON meta the optimizer's groups and scalar state, the
 * scheduler's state, the generators' positions, the run's progress, and the size and SHA-256
 * of the model file.
 *
 * WHY the digest: the two files are two atomic writes, not one. Safetensors has no checksum of
 * its own, and a crash between the writes leaves a model of epoch e beside the state of epoch
 * e − 1; the digest makes both cases a refused checkpoint instead of a silently wrong resume.
 */
export function saveTrainingCheckpoint<H>(dir: string, parts: CheckpointParts & { progress: TrainingProgress<H> }): void {
  fs.mkdirSync(dir, { recursive: true });
  const sd = parts.model.stateDict();
  const dtypes: Record<string, SafetensorsDType> = {};
  for (const [k, v] of Object.entries(sd)) if (v.data instanceof Int32Array) dtypes[k] = 'I64';
  const bytes = serializeSafetensors(sd as Record<string, SafetensorsTensor>, { writer: 'cs231n-ts', epoch: String(parts.progress.epoch) }, { dtypes });
  writeFileAtomic(path.join(dir, MODEL_FILE), bytes);
  const model: ModelRef = { file: MODEL_FILE, bytes: bytes.length, sha256: sha256(bytes) };

  const arrays: Record<string, StoredArray> = {};
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
    format: FORMAT,
    model,
    progress: parts.progress,
    optimizer: { kind: parts.optimizer.constructor.name, paramGroups: osd.paramGroups, scalars },
    scheduler: parts.scheduler ? parts.scheduler.stateDict() : null,
    rngs,
  };
  writeArrayFile(path.join(dir, STATE_FILE), meta, arrays);
}

/** The checkpoint directory `where` names: a directory, or the `training.ckpt` or `model.safetensors` inside one. */
export function checkpointDirOf(where: string): string {
  const base = path.basename(where);
  return base === STATE_FILE || base === MODEL_FILE ? path.dirname(where) : where;
}

/**
 * Reads the checkpoint in `where` (see {@link checkpointDirOf}) written by
 * {@link saveTrainingCheckpoint} and restores the model, optimizer, scheduler and loaders'
 * generators from it. Both files are checked first (size, checksums, the model file's digest
 * against the one the state recorded, kind, which optimizer and scheduler), and each part
 * checks its own state before taking it; every problem is a {@link CheckpointError} naming the
 * file, and when the directory has a `prev/` checkpoint the message points to it.
 */
export function loadTrainingCheckpoint<H>(where: string, parts: CheckpointParts): TrainingProgress<H> {
  const dir = checkpointDirOf(where);
  const stateFile = path.join(dir, STATE_FILE);
  const modelFile = path.join(dir, MODEL_FILE);
  const prev = path.join(dir, PREVIOUS_DIR);
  const hint = fs.existsSync(path.join(prev, STATE_FILE)) ? `; the previous checkpoint ${prev} is still usable (resume from it)` : '';
  const refuse = (file: string, problem: string): never => {
    throw new CheckpointError(file, problem + hint);
  };
  let read: ReturnType<typeof readArrayFile>;
  try {
    read = readArrayFile(stateFile);
  } catch (e) {
    if (e instanceof CheckpointError) refuse(e.file, e.problem);
    throw e;
  }
  const { meta, arrays } = read;
  const m = meta as {
    kind?: string;
    format?: number;
    model?: ModelRef;
    progress: TrainingProgress<H>;
    optimizer: { kind: string; paramGroups: OptimizerStateDict['paramGroups']; scalars: Record<string, Record<string, number | null>> };
    scheduler: SchedulerStateDict | null;
    rngs: Record<string, Omit<RandomStateSnapshot, 'key'>>;
  };
  if (!m || m.kind !== KIND) refuse(stateFile, `not a training checkpoint (kind ${JSON.stringify(m?.kind)})`);
  if (m.format !== FORMAT || !m.model || typeof m.model.sha256 !== 'string' || !Number.isSafeInteger(m.model.bytes)) {
    refuse(stateFile, `checkpoint format ${JSON.stringify(m.format)} without a model file reference; this version reads format ${FORMAT}`);
  }
  const ref = m.model as ModelRef;
  let modelBytes: Buffer;
  try {
    modelBytes = fs.readFileSync(modelFile);
  } catch (e) {
    return refuse(modelFile, `cannot read the model weights (${(e as NodeJS.ErrnoException).code ?? (e as Error).message})`);
  }
  if (modelBytes.length !== ref.bytes) {
    refuse(modelFile, `model weights are ${modelBytes.length} bytes, ${stateFile} (epoch ${m.progress?.epoch}) says ${ref.bytes}: the file was cut short or comes from another epoch`);
  }
  const digest = sha256(modelBytes);
  if (digest !== ref.sha256) {
    refuse(modelFile, `model weights are corrupt or from another epoch: SHA-256 ${digest.slice(0, 16)}…, ${stateFile} (epoch ${m.progress?.epoch}) recorded ${ref.sha256.slice(0, 16)}…`);
  }
  if (m.optimizer?.kind !== parts.optimizer.constructor.name) {
    refuse(stateFile, `optimizer: expected ${parts.optimizer.constructor.name}, the checkpoint holds ${m.optimizer?.kind}`);
  }
  if (Boolean(m.scheduler) !== Boolean(parts.scheduler)) {
    refuse(stateFile, `scheduler: the checkpoint ${m.scheduler ? `holds a ${m.scheduler.kind}` : 'has none'}, the run ${parts.scheduler ? 'has one' : 'has none'}`);
  }
  let sd: StateDict;
  try {
    sd = parseSafetensors(modelBytes, modelFile).tensors as StateDict;
  } catch (e) {
    if (e instanceof DataFormatError) return refuse(modelFile, e.problem);
    throw e;
  }
  const state: Record<number, ParamState> = {};
  for (const [idx, sc] of Object.entries(m.optimizer.scalars ?? {})) state[Number(idx)] = { ...sc };
  const keys: Record<string, Uint32Array> = {};
  for (const [name, a] of Object.entries(arrays)) {
    if (name.startsWith('optimizer.')) {
      const [, idx, key] = name.split('.');
      (state[Number(idx)] ??= {})[key] = a as Tensor;
    } else if (name.startsWith('rng.')) keys[name.slice(4)] = a.data as Uint32Array;
  }
  for (const name of Object.keys(parts.loaders)) {
    if (!keys[name] || !m.rngs?.[name]) refuse(stateFile, `rng.${name}: the checkpoint has no generator state for the '${name}' loader`);
  }
  // Each part checks all of its own state before changing anything.
  try {
    parts.model.loadStateDict(sd);
    parts.optimizer.loadStateDict({ state, paramGroups: m.optimizer.paramGroups });
    if (parts.scheduler && m.scheduler) parts.scheduler.loadStateDict(m.scheduler);
    for (const [name, loader] of Object.entries(parts.loaders)) loader.rng.setState({ key: keys[name], ...m.rngs[name] });
  } catch (e) {
    throw new CheckpointError(dir, `does not fit this run: ${(e as Error).message}`);
  }
  return m.progress;
}

/**
 * Makes the checkpoint now in `dir` the previous one (`dir/prev/`) before a new one replaces
 * it: both files hard-linked into a fresh directory that is then renamed into place. The new
 * files are later renamed over the old names, so the links keep the old bytes; at every
 * instant `dir` or `dir/prev` holds a complete checkpoint.
 */
export function keepPrevious(dir: string): void {
  const files = [MODEL_FILE, STATE_FILE];
  if (!files.every((f) => fs.existsSync(path.join(dir, f)))) return;
  const tmp = path.join(dir, `.${PREVIOUS_DIR}.${process.pid}.tmp`);
  fs.rmSync(tmp, { recursive: true, force: true });
  fs.mkdirSync(tmp);
  for (const f of files) fs.linkSync(path.join(dir, f), path.join(tmp, f));
  const prev = path.join(dir, PREVIOUS_DIR);
  // A directory cannot be renamed over a non-empty one: the old prev goes first, while the
  // current checkpoint is still whole.
  fs.rmSync(prev, { recursive: true, force: true });
  fs.renameSync(tmp, prev);
}

function sha256(b: Uint8Array): string {
  return createHash('sha256').update(b).digest('hex');
}
