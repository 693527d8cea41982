import os from 'os';
import { MessageChannel, Worker, type MessagePort } from 'worker_threads';
import { arenaTiles, type Arena } from './arena';
import type { FloatArray } from '../dtype';
import type { BlockFn, BlockSFn, RowsFn, WasmMemory } from './wasm';
import { convJobTasks, convTasks } from './convTasks';
import { awaitUnits, CTL_LEN, gemmBlock, jobTasks } from './kernel';

/**
 * What the pool runs: a job of some registered kind (a GEMM step when it has no `kind`, a
 * fused conv chunk, or any kernel registered with {@link registerWorkerKernel}). The fields
 * here are the ones the pool itself reads.
 */
export interface WorkerJob {
  /** The registered kernel that runs it; absent for a GEMM step. */
  kind?: string;
  /** Shared counters (see kernel.ts); the pool gives every job a fresh block when it starts. */
  ctl: Int32Array | null;
  /** Compute on the float32 view of the arena. */
  f32: boolean;
  /** Float32 tiles with relaxed-SIMD FMA. */
  fma: boolean;
  /** Use the thread's WebAssembly tiles (and the shared wasm memory) rather than the JS ones on `buf`. */
  wasm: boolean;
  buf: ArrayBufferLike | null;
  worker?: boolean;
}

/**
 * A task runner: takes tasks of `job` from its shared counter until none are left, on the
 * arena view `F` with the thread's tiles (null: the JS tile), the GEMM tile loop `gemm` and
 * the thread's other wasm functions `ex` (wasm.ts; addresses are bytes of the arena).
 *
 * WHY source text: each runner is shipped to the workers as its source (`run.toString()`), so
 * it must be self-contained — it may use its arguments and globals, nothing it closes over.
 */
export type TaskRunner = (
  job: any, F: FloatArray, block: BlockFn | null, blockS: BlockSFn | null, rows: RowsFn | null, gemm: typeof gemmBlock,
  /** The thread's wasm exports (a job with `wasm` set, when the instance exists), else null. */
  ex: Record<string, unknown> | null,
) => void;

interface WorkerKernel {
  run: TaskRunner;
  /** What the workers evaluate to get `run`. */
  source: string;
  /** Tasks of a job (its ctl[1] count when done). */
  tasks(job: any): number;
}

const kernels = new Map<string, WorkerKernel>();

/**
 * Registers a kind of job with the worker pool: its task runner (shipped to every worker as
 * source, see {@link TaskRunner}) and its task count. New kernels — a Winograd or depthwise
 * job — slot in with this call; the pool itself lists no job kinds. `source` is a JS
 * expression the workers evaluate to get the runner — by default the runner's own text; a
 * runner built around constants (tables, a loop given as source) passes the expression that
 * built it, so every thread runs the same code.
 */
export function registerWorkerKernel(kind: string, run: TaskRunner, tasks: (job: any) => number, source: string = run.toString()): void {
  kernels.set(kind, { run, tasks, source });
  for (const w of workers) send(w, { type: 'kernel', kind, source });
}

function kernelOf(job: WorkerJob): WorkerKernel {
  const k = kernels.get(job.kind ?? 'gemm');
  if (!k) throw new WorkerFailure(`worker pool: no kernel registered for jobs of kind '${job.kind}'`);
  return k;
}

/** Runs tasks of `job` on this thread until none are left. */
function runTasks(job: WorkerJob, arena: Arena): void {
  const F = job.f32 ? arena.F32 : arena.F;
  const { block, blockS, rows } = arenaTiles(arena, job.f32, job.fma);
  kernelOf(job).run(job, F, block, blockS, rows, gemmBlock, job.wasm ? arena.exports : null);
}

/**
 * Most threads (main included) a product is split over, whatever the machine or
 * CS231N_THREADS says: a bound on workers started, not a tuning (every kernel's scratch plan
 * fits its budget at any count up to this; tasks are taken from a shared counter).
 */
export const MAX_THREADS = 64;
/** A job whose finished-task count does not move for this long is declared lost. */
const STALL_MS = 60_000;
/**
 * Milliseconds a thread that has run out of work watches for more before it sleeps: a worker
 * for its next message, the main thread for the workers' last tasks.
 *
 * WHY: waking a sleeping thread is a futex or event-loop wake-up, measured at ~40 µs for the
 * thread that posts or notifies on the dev VMs (an inter-processor interrupt through the
 * hypervisor) and more before the sleeper runs; a ShuffleNet V2 training step posts ~250 jobs,
 * most of them under a millisecond, so sleeping workers cost more time than the short jobs
 * themselves. Jobs of a step come a few milliseconds apart, so a worker that watches for
 * SPIN_MS is awake for the next one; an idle pool goes to sleep after SPIN_MS. Not when the
 * threads outnumber the cores (CS231N_THREADS above them): see spinMsFor.
 */
const SPIN_MS = 2;

/**
 * Milliseconds to watch for work with `threads` threads busy: SPIN_MS, or none when they
 * outnumber the cores — a watching thread would then take a core from one with work.
 */
function spinMsFor(threads: number): number {
  return threads <= coreCount() ? SPIN_MS : 0;
}

let cores = 0;
/**
 * The cores this process may use, asked once. WHY once: node 22's os.availableParallelism()
 * reads the cgroup's CPU quota from /sys on every call, ~20 µs here — and it was asked for
 * every job (~300 a ShuffleNet V2 training step).
 */
function coreCount(): number {
  if (cores === 0) cores = Math.max(1, typeof os.availableParallelism === 'function' ? os.availableParallelism() : os.cpus().length);
  return cores;
}

/** Queues `msg` for worker `w` and rings its bell (waking it only if it sleeps). */
function send(w: PoolWorker, msg: unknown, spinMs = 0): void {
  Atomics.store(w.bell, 2, Math.round(spinMs * 1000));
  w.port.postMessage(msg);
  Atomics.add(w.bell, 0, 1);
  if (Atomics.load(w.bell, 1) !== 0) Atomics.notify(w.bell, 0);
}

/** Thrown when the worker pool failed mid-product; the caller redoes the work on one thread. */
export class WorkerFailure extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'WorkerFailure';
  }
}

/*
 * The worker is built from source text rather than a file: the same text then works under
 * tsx (TypeScript source), from compiled dist/ JS and under ts-jest, none of which can hand
 * plain node a .ts worker file. `__name` is defined because tsx/esbuild may reference it.
 * A 'kernel' message hands over a registered task runner's source (every kernel, as the
 * worker starts, and any registered later); a 'wasm' message the shared wasm memory and module
 * once; every other message is a job, run by the runner of its kind. Should the wasm instance fail here, the JS tile on the same memory gives the
 * very same numbers — except for a float32 FMA job, which the worker then reports as failed,
 * so the main thread redoes the product alone rather than mix roundings.
 */
const WORKER_SOURCE = `'use strict';
var __name = function (f) { return f; };
const { workerData, receiveMessageOnPort } = require('worker_threads');
const { port, bell } = workerData;
const awaitUnits = (${awaitUnits.toString()});
const gemmBlock = (${gemmBlock.toString()});
gemmBlock.awaitUnits = awaitUnits;
const runners = {};
let memory = null;
let ex = null;
// The native tiles (core/gemm/native.ts), bound to the memory at natLen bytes.
let nat = null;
let natLen = 0;
function handle(msg) {
  if (msg.type === 'kernel') {
    runners[msg.kind] = new Function('__name', 'awaitUnits', 'return (' + msg.source + ')')(__name, awaitUnits);
    return;
  }
  if (msg.type === 'wasm') {
    memory = msg.memory;
    try {
      ex = new WebAssembly.Instance(msg.module, { env: { mem: memory } }).exports;
    } catch (e) {
      ex = null;
    }
    nat = null;
    if (ex !== null && msg.native) {
      // The main thread's FMA tiles are native: these take the wasm FMA tiles' names (the same
      // bits). Should loading fail here, an FMA job finds the wasm tiles (node 22) or none, and
      // throws: the main thread then redoes it.
      try {
        const n = require(msg.native);
        natLen = memory.buffer.byteLength;
        n.bind(new Float32Array(memory.buffer));
        ex = Object.assign({}, ex, { block32f: n.block32, blockS32f: n.blockS32, bnRows32: n.bnRows32 });
        nat = n;
      } catch (e) {
        nat = null;
      }
    }
    return;
  }
  const job = msg;
  try {
    job.worker = true;
    if (nat !== null && job.wasm && memory.buffer.byteLength !== natLen) {
      natLen = memory.buffer.byteLength;
      nat.bind(new Float32Array(memory.buffer));
    }
    const buf = job.wasm ? memory.buffer : job.buf;
    // No buffer: no view. A runner that writes the arena anyway then fails loudly (and the
    // main thread redoes the job) instead of writing into an empty array, where writes vanish.
    const F = buf ? (job.f32 ? new Float32Array(buf) : new Float64Array(buf)) : null;
    const w = job.wasm && ex !== null;
    if (job.fma && !w) throw new Error('no wasm FMA tiles in this worker');
    const sfx = job.f32 ? (job.fma ? '32f' : '32') : '';
    const b = w ? ex['block' + sfx] : null;
    const bS = w ? ex['blockS' + sfx] : null;
    const r = w ? ex[job.f32 ? 'rows32' : 'rows'] : null;
    runners[job.kind || 'gemm'](job, F, b, bS, r, gemmBlock, w ? ex : null);
  } catch (e) {
    // Count the task that failed as finished so the main thread's join still completes
    // (after every other in-flight tile), then sees the flag and redoes the product alone.
    Atomics.store(job.ctl, 2, 1);
    Atomics.add(job.ctl, 1, 1);
    Atomics.notify(job.ctl, 1);
  }
}
// Messages arrive on the port; the bell's count says one is there. The thread never returns to
// its event loop: it takes what is queued, then watches the bell for bell[2] µs before it sleeps.
let seen = 0;
for (;;) {
  for (let m = receiveMessageOnPort(port); m !== undefined; m = receiveMessageOnPort(port)) handle(m.message);
  let v = Atomics.load(bell, 0);
  if (v === seen) {
    const until = performance.now() + Atomics.load(bell, 2) / 1000;
    for (let i = 1; (v = Atomics.load(bell, 0)) === seen; i++) {
      if ((i & 255) === 0 && performance.now() > until) {
        Atomics.store(bell, 1, 1);
        Atomics.wait(bell, 0, seen);
        Atomics.store(bell, 1, 0);
      }
    }
  }
  seen = v;
}
`;

/** A started worker, the port its messages go through and its bell (see {@link send}). */
interface PoolWorker {
  thread: Worker;
  port: MessagePort;
  /** [0]: messages sent, [1]: 1 while the worker sleeps on [0], [2]: µs it watches [0] before sleeping. */
  bell: Int32Array;
}
const workers: PoolWorker[] = [];
/** The wasm memory each worker has been given (index-aligned with `workers`). */
const wasmSent: Array<WasmMemory | null> = [];
let broken = false;
let threadedJobs = 0;
let workerTasks = 0;

/**
 * Diagnostics (tests use them to prove the threaded path ran): jobs sent through the pool,
 * tiles of C computed by workers rather than the main thread, workers started, and workers
 * asleep now (idle for longer than SPIN_MS).
 */
export function workerStats(): { threadedJobs: number; workerTasks: number; workers: number; usable: boolean; asleep: number } {
  const asleep = workers.reduce((k, w) => k + (Atomics.load(w.bell, 1) !== 0 ? 1 : 0), 0);
  return { threadedJobs, workerTasks, workers: workers.length, usable: workersUsable(), asleep };
}

/**
 * Threads (main included) to use for large products: `CS231N_THREADS` when it is a positive
 * integer (1 forces the single-thread path), else os.availableParallelism() — every core —
 * both capped at MAX_THREADS. Read on every call so tests and scripts may change it at run
 * time. Results are the same bits whatever it is.
 */
export function threadCount(): number {
  const env = process.env.CS231N_THREADS;
  if (env !== undefined && env.trim() !== '') {
    const v = Number(env);
    if (Number.isInteger(v) && v >= 1) return Math.min(v, MAX_THREADS);
  }
  return Math.min(coreCount(), MAX_THREADS);
}

/** True when this runtime can share memory with workers and the pool has not failed. */
export function workersUsable(): boolean {
  return !broken && typeof SharedArrayBuffer === 'function' && typeof Atomics === 'object';
}

/**
 * Makes sure `count` workers exist and know the wasm memory of `arena` if it has one. They
 * are started lazily, once, and unref()ed: an idle pool never keeps the process alive.
 * Returns null (and disables the pool) if a worker cannot be created.
 */
function ensureWorkers(count: number, arena: Arena): PoolWorker[] | null {
  try {
    while (workers.length < count) {
      const { port1, port2 } = new MessageChannel();
      const bell = new Int32Array(new SharedArrayBuffer(12));
      const thread = new Worker(WORKER_SOURCE, { eval: true, workerData: { port: port2, bell }, transferList: [port2] });
      thread.unref();
      port1.unref();
      // Seen only when the main event loop runs, i.e. between products; it retires the pool.
      thread.on('error', () => { broken = true; });
      thread.on('exit', () => { broken = true; });
      const w: PoolWorker = { thread, port: port1, bell };
      for (const [kind, k] of kernels) send(w, { type: 'kernel', kind, source: k.source });
      workers.push(w);
      wasmSent.push(null);
    }
    for (let i = 0; i < count; i++) {
      if (arena.memory !== null && wasmSent[i] !== arena.memory) {
        send(workers[i], { type: 'wasm', memory: arena.memory, module: arena.module, native: arena.native?.path ?? null });
        wasmSent[i] = arena.memory;
      }
    }
  } catch {
    broken = true;
    return null;
  }
  return workers.slice(0, count);
}

/** A job handed to the pool and not yet joined (see {@link startThreaded}). */
export interface ThreadedRun {
  job: WorkerJob;
  arena: Arena;
  total: number;
  /** How long the threads watch for work rather than sleep (see spinMsFor). */
  spinMs: number;
}

/**
 * Posts `job` to `threads - 1` workers and returns at once, so the main thread can prepare
 * the next step (pack panels, copy out a finished C chunk) while they compute; then
 * {@link finishThreaded} makes the main thread take the tasks that are left and join.
 * The arena must be shared (SharedArrayBuffer or shared wasm memory).
 * Throws {@link WorkerFailure} if the workers cannot be started.
 */
export function startThreaded<J extends WorkerJob>(job: J, threads: number, arena: Arena): ThreadedRun {
  const ws = ensureWorkers(threads - 1, arena);
  if (ws === null) throw new WorkerFailure('matmul: could not start worker threads');
  // A fresh control block per job: a worker that picks up a stale message finds its
  // counter exhausted and touches nothing.
  const ctl = new Int32Array(new SharedArrayBuffer(4 * CTL_LEN));
  threadedJobs++;
  const shared: J = { ...job, ctl };
  const spin = spinMsFor(threads);
  for (const w of ws) send(w, shared, spin);
  return { job: shared, arena, total: kernelOf(job).tasks(job), spinMs: spin };
}

/** Tells the workers of a streamed job that its first `units` units are packed. */
export function publish(run: ThreadedRun, units: number): void {
  const ctl = run.job.ctl as Int32Array;
  Atomics.store(ctl, 4, units);
  // Sequentially consistent: a worker that registered as a sleeper after this check reads
  // the new count before it would sleep, so it never misses it.
  if (Atomics.load(ctl, 5) !== 0) Atomics.notify(ctl, 4);
}

/**
 * Releases workers that wait for units which will never come (the main thread failed while
 * packing): they compute on whatever is in the arena, which is discarded.
 */
export function abandon(run: ThreadedRun): void {
  publish(run, 0x3fffffff);
}

/**
 * Runs the tasks of a started job that no worker has taken yet on the main thread, then
 * waits (Atomics.wait) until every task is done, so the caller stays synchronous. A worker
 * that is still booting or busy only means the main thread does more of the work.
 * Throws {@link WorkerFailure} if a worker reported an error or stopped making progress.
 */
export function finishThreaded(run: ThreadedRun): void {
  const { job, arena, total } = run;
  const ctl = job.ctl as Int32Array;
  publish(run, 0x3fffffff);
  runTasks(job, arena);
  // The workers' last tasks are usually moments from done: watch (no wake-up to pay on either
  // side, see SPIN_MS) before asking them to notify and sleeping.
  if (run.spinMs > 0 && Atomics.load(ctl, 1) < total) {
    const until = performance.now() + run.spinMs;
    for (let i = 1; Atomics.load(ctl, 1) < total; i++) if ((i & 255) === 0 && performance.now() > until) break;
  }
  let seen = Atomics.load(ctl, 1);
  let since = Date.now();
  // From here on workers notify each finished task (see the ctl layout in kernel.ts).
  Atomics.store(ctl, 6, 1);
  for (;;) {
    const done = Atomics.load(ctl, 1);
    if (done >= total) {
      if (Atomics.load(ctl, 2) !== 0) break;
      workerTasks += Atomics.load(ctl, 3);
      return;
    }
    const now = Date.now();
    if (done !== seen) {
      seen = done;
      since = now;
    } else if (now - since > STALL_MS) {
      broken = true;
      throw new WorkerFailure(`matmul: worker threads made no progress for ${STALL_MS / 1000} s`);
    }
    Atomics.wait(ctl, 1, done, 100);
  }
  broken = true;
  throw new WorkerFailure('matmul: a worker thread failed');
}

/**
 * Runs `job` on `threads` threads (the main one included) to the end: true when it did, false
 * when the pool failed (the caller then runs the job on this thread; the arena's contents are
 * undefined). Errors other than a {@link WorkerFailure} propagate.
 */
export function tryThreaded<J extends WorkerJob>(job: J, threads: number, arena: Arena): boolean {
  let run: ThreadedRun | null = null;
  try {
    run = startThreaded(job, threads, arena);
    finishThreaded(run);
    return true;
  } catch (e) {
    if (run !== null) abandon(run);
    if (!(e instanceof WorkerFailure)) throw e;
    return false;
  }
}

// The built-in kinds: GEMM steps (no `kind`) and the fused convolution's chunks.
registerWorkerKernel('gemm', gemmBlock as TaskRunner, jobTasks);
registerWorkerKernel('convFwd', convTasks, convJobTasks);
registerWorkerKernel('convBwd', convTasks, convJobTasks);
