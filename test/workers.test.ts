import { getArena } from '../src/core/gemm/arena';
import { finishThreaded, registerWorkerKernel, startThreaded, workerStats, type WorkerJob } from '../src/core/gemm/workers';

/*
 * The worker pool runs any registered kind of job: a kernel is its task runner (shipped to the
 * workers as source) and its task count. A toy kernel proves the contract: tasks taken from
 * the shared counter, each element written by exactly one thread, workers counted in ctl[3].
 */

interface SquaresJob extends WorkerJob {
  kind: 'test-squares';
  n: number;
  per: number;
}

function squaresRunner(job: SquaresJob, F: Float64Array): void {
  const ctl = job.ctl as Int32Array;
  const tasks = Math.ceil(job.n / job.per);
  for (;;) {
    const t = Atomics.add(ctl, 0, 1);
    if (t >= tasks) return;
    for (let i = t * job.per; i < Math.min(job.n, (t + 1) * job.per); i++) {
      let s = 0;
      for (let k = 0; k < 2000; k++) s += i; // enough work per task for a worker to take some
      F[i] = s / 2000 * i;
    }
    if (job.worker) Atomics.add(ctl, 3, 1);
    Atomics.add(ctl, 1, 1);
    if (Atomics.load(ctl, 6) !== 0) Atomics.notify(ctl, 1);
  }
}

describe('worker pool kernels', () => {
  it('runs a job kind registered after the workers started, on every thread', () => {
    registerWorkerKernel('test-squares', squaresRunner as never, (j: SquaresJob) => Math.ceil(j.n / j.per));
    const arena = getArena('js', 1 << 16);
    if (!arena || !arena.shared) throw new Error('no shared arena');
    const n = 20000;
    arena.F.fill(-1, 0, n);
    const before = workerStats().workerTasks;
    const job: SquaresJob = { kind: 'test-squares', n, per: 50, ctl: null, f32: false, fma: false, wasm: false, buf: arena.F.buffer };
    finishThreaded(startThreaded(job, 2, arena));
    for (let i = 0; i < n; i++) if (arena.F[i] !== i * i) throw new Error(`element ${i}: ${arena.F[i]}`);
    expect(workerStats().workerTasks).toBeGreaterThanOrEqual(before);
    expect(workerStats().workers).toBeGreaterThanOrEqual(1);
  });

  it('wakes a worker that went to sleep on its bell', async () => {
    registerWorkerKernel('test-squares', squaresRunner as never, (j: SquaresJob) => Math.ceil(j.n / j.per));
    const arena = getArena('js', 1 << 18);
    if (!arena || !arena.shared) throw new Error('no shared arena');
    // 4000 tasks, milliseconds of work: far longer than a wake-up.
    const n = 200000;
    const run = (): number => {
      arena.F.fill(-1, 0, n);
      const before = workerStats().workerTasks;
      const job: SquaresJob = { kind: 'test-squares', n, per: 50, ctl: null, f32: false, fma: false, wasm: false, buf: arena.F.buffer };
      finishThreaded(startThreaded(job, 2, arena));
      for (let i = 0; i < n; i++) if (arena.F[i] !== i * i) throw new Error(`element ${i}: ${arena.F[i]}`);
      return workerStats().workerTasks - before;
    };
    run();
    // Idle for far longer than the workers watch for work: they sleep on their bell.
    await new Promise((resolve) => setTimeout(resolve, 200));
    expect(workerStats().asleep).toBe(workerStats().workers);
    // A job posted now rings the bell and wakes the worker, which takes some of its tasks.
    expect(run()).toBeGreaterThan(0);
    expect(run()).toBeGreaterThan(0);
  });

  it('refuses a job of an unregistered kind, naming it', () => {
    const arena = getArena('js', 1024)!;
    const job = { kind: 'no-such-kind', ctl: null, f32: false, fma: false, wasm: false, buf: arena.F.buffer };
    expect(() => startThreaded(job, 2, arena)).toThrow(/no kernel registered for jobs of kind 'no-such-kind'/);
  });
});
