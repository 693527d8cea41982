/**
 * What the buffer pool (src/core/bufferPool.ts) buys: whole train steps and eval forwards of a
 * zoo model with the pool off and on, alternating in one process (batch 64, float32), so the
 * machine's state is the same for both. Prints ms per step, best of `--reps` after a warm-up.
 *
 *   npx tsx bench/bufferPool.ts [model] [--reps 2]     (CS231N_THREADS sets the threads)
 */
import { bufferPoolStats, configureBufferPool } from '../src/core/bufferPool';
import { setup } from './cnn';

const args = process.argv.slice(2);
const name = args.find((a) => !a.startsWith('--')) ?? 'mobilenet_v2_cifar';
const ri = args.indexOf('--reps');
const reps = ri >= 0 ? Number(args[ri + 1]) : 2;
if (!Number.isInteger(reps) || reps < 1) throw new RangeError(`--reps: expected a positive integer, got ${args[ri + 1]}`);

const { train, evalForward } = setup(name, 64);
const best = (f: () => void): number => {
  let b = Infinity;
  for (let i = 0; i < reps; i++) {
    const t0 = performance.now();
    f();
    b = Math.min(b, performance.now() - t0);
  }
  return b;
};
train();
console.log(`${name}, batch 64, float32, CS231N_THREADS=${process.env.CS231N_THREADS ?? '(all cores)'}`);
console.log('| pool | train step (ms) | eval forward (ms) | stores reused / new so far |');
console.log('|---|---:|---:|---|');
for (const on of [false, true, false, true]) {
  configureBufferPool({ enabled: on });
  train();
  evalForward();
  const t = best(train);
  const e = best(evalForward);
  const s = bufferPoolStats();
  console.log(`| ${on ? 'on' : 'off'} | ${t.toFixed(0)} | ${e.toFixed(0)} | ${s.taken} / ${s.fresh} |`);
}
